"""pytest glue: options, markers, fixtures and hooks. The engine lives in plain modules."""
