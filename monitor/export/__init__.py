"""Exports of a finished check run to outside time-series stores (Graphite today).

Each exporter is a pure line builder plus a small sender; the Celery task that calls them lives in
``tasks/export.py`` so that a slow or dead store never holds up a check.
"""
