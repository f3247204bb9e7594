"""``python -m pytest_anyint.contracts``: make the shipped index's JSON form again after editing ``index.yaml``."""

from .shipped import main

raise SystemExit(main())
