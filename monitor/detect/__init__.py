"""The detect stage: rules that turn a window's KPIs (and, later, its data) into findings."""

from monitor.detect.findings import RuleEvaluation
from monitor.detect.performance import detect_performance_drop

__all__ = ["RuleEvaluation", "detect_performance_drop"]
