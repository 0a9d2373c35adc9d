"""Celery wiring: the app (``celery -A workers.app``), its configuration and signals."""
