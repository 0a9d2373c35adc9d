"""The front doors: what people and programs talk to.

``frontdoors/`` holds the ``modelwatch`` command (``cli/``), the HTTP API (``api/``), the web
dashboard (``dashboard/``), the demo and the process runner. They sit outside ``monitor/`` because
they publish Celery tasks (a forced check, a recovery action sent now): the domain in ``monitor/``
never imports ``tasks/`` or ``workers/``, while a front door may import all three.
"""
