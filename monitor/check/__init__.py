"""The check chain's domain side: windows, the six stages and the run summary.

``stages.py`` is the list of stages; ``evaluate.py`` computes a window's KPIs, ``context.py``
loads the one context every detect rule reads, ``results.py`` holds the typed results the stages
hand each other. ``tasks.check`` wraps each stage in a Celery task; everything here takes a run id
and settings, reads from and writes to the database, and is idempotent.
"""
