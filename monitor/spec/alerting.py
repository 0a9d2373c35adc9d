"""The ``alerting`` block of a model spec: severity and hysteresis per rule, and how often a
still-firing alert is repeated.

```yaml
alerting:
  repeat_interval: 4h            # a still-firing, unacknowledged alert is re-notified this often
  rules:                         # keyed by rule name or finding kind (rule wins)
    recall_drop: {severity: critical, resolve_after: 3}
    data_drift: {resolve_after: 5}
```

Severity routing to channels is on the channel itself (``alerts: [{slack: ..., severities:
[critical]}]``, see :class:`monitor.spec.ChannelSpec`). The alert lifecycle that applies this
policy is ``monitor.alerts``; the policy lives in the spec so the spec needs nothing from there.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from monitor.durations import parse_duration
from monitor.spec.base import _Strict
from monitor.spec.rules import finding_kinds, rule_names

SEVERITIES = ("warning", "critical")
Severity = Literal["warning", "critical"]


class RuleAlerting(_Strict):
    severity: Severity | None = Field(None, description="Overrides the severity the detector gave.")
    resolve_after: int | None = Field(None, ge=1, description="Clean checks in a row before the alert resolves.")


class AlertingPolicy(_Strict):
    repeat_interval: float = Field(4 * 3600.0, ge=0, description="Re-notify a still-firing alert this often "
                                   "(a duration; acknowledged alerts are not repeated).")
    rules: dict[str, RuleAlerting] = Field(default_factory=dict)

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, RuleAlerting]) -> dict[str, RuleAlerting]:
        known = set(rule_names()) | set(finding_kinds())
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown rule(s) {unknown}; expected rule names or finding kinds from {sorted(known)}")
        return value

    def _for(self, rule: str, kind: str) -> RuleAlerting:
        return self.rules.get(rule) or self.rules.get(kind) or RuleAlerting()

    def severity_for(self, rule: str, kind: str, detected: str) -> str:
        """The spec's severity for this rule, else the one the detector gave (``warning`` if unknown)."""
        chosen = self._for(rule, kind).severity or detected
        return chosen if chosen in SEVERITIES else "warning"

    def resolve_after_for(self, rule: str, kind: str, default: int) -> int:
        """Clean checks before an alert of this rule resolves: the rule's own, else the model's."""
        return self._for(rule, kind).resolve_after or default
