"""Label-free performance estimation: KPIs of a window before its labels arrive.

:data:`ESTIMATORS` maps the name a spec would use to the estimating function.
"""

from monitor.estimation.cbpe import KPIS, Calibrator, Estimate, estimate

ESTIMATORS = {"cbpe": estimate}

__all__ = ["ESTIMATORS", "KPIS", "Calibrator", "Estimate", "estimate"]
