"""The HTTP API (FastAPI): health, read endpoints, forcing a check, reports, ``/metrics``."""
