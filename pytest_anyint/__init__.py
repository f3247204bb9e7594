"""pytest-anyint: prove every model of every route of your AnyInt gateway config in pytest."""

__version__ = "0.1.0"
