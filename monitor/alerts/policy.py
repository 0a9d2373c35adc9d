"""Alert states and the ``alerting`` policy the lifecycle applies.

The policy itself is part of the model spec (:mod:`monitor.spec.alerting`); it is re-exported
here for the alert code that reads it.
"""

from __future__ import annotations

from monitor.spec.alerting import SEVERITIES, AlertingPolicy, RuleAlerting, Severity

#: Alert states that count as open: at most one per (model, rule, segment) (``uq_alerts_open``).
OPEN_STATES = ("firing", "acknowledged")

__all__ = ["OPEN_STATES", "SEVERITIES", "AlertingPolicy", "RuleAlerting", "Severity"]
