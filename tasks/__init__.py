"""Celery tasks, thin: take ids, call ``monitor``, return a small JSON dict."""
