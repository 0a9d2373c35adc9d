"""modelwatch: ML model performance monitoring.

``monitor`` is the domain: specs, storage, ingestion, metrics, detection, alerting, recovery,
registry adapters and reports. It knows nothing of Celery; ``tasks/`` and ``workers/`` wire it in.
"""

__version__ = "0.1.0"
