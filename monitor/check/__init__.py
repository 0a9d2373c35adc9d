"""The check chain's domain side: windows, the six stages and the run summary.

``tasks.check`` wraps each stage in a Celery task; everything here takes a run id and settings,
reads from and writes to the database, and is idempotent.
"""
