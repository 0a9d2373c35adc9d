"""modelwatch: ML model performance monitoring.

``monitor`` is the domain: specs, storage, ingestion, metrics, detection, alerting, recovery,
registry adapters and reports. It knows nothing of Celery; ``tasks/`` and ``workers/`` wire it in.
"""

__version__ = "0.1.0"


def report(reference, current, spec=None):
    """KPIs, drift, findings and the HTML report of ``current`` against ``reference``, in this process
    (no server, database or broker): see :func:`monitor.notebook.report`. Imported lazily so that
    ``import monitor`` stays cheap for workers."""
    from monitor.notebook import report as build

    return build(reference, current, spec)
