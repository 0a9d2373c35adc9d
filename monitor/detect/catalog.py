"""Every rule and kind of finding the detect stage can produce (what recovery policies may name)."""

from __future__ import annotations

from monitor.detect.performance import FINDING_KINDS as PERFORMANCE_KINDS, rule_names as performance_rules

DATA_KINDS = ("data_drift", "prediction_drift", "variance_change", "multivariate_drift", "data_quality")
OTHER_KINDS = ("kpi_anomaly", "estimated_performance_drop", "service_slo", "interaction_drop", "streaming")


def finding_kinds() -> list[str]:
    return [*PERFORMANCE_KINDS, *DATA_KINDS, *OTHER_KINDS]


def rule_names() -> list[str]:
    from monitor.detect.interactions import INTERACTION_RULES
    from monitor.detect.service import SERVICE_RULES
    from monitor.stream.detectors import STATISTICS

    return [*performance_rules(), *(f"estimated_{r}" for r in performance_rules()), *DATA_KINDS, "kpi_anomaly",
            *SERVICE_RULES, *INTERACTION_RULES, *STATISTICS]
