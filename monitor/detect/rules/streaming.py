"""The window check's word on streaming alerts (``monitor.stream``): confirm, keep or clear.

A streaming alarm is raised on a chunk of a few dozen rows as they arrive; the window check stays
the authority. The context carries, per open streaming alert, the statistic measured over the
window's rows from the alarm on (``monitor.stream.confirm.open_alarms``); this rule turns each into
an ordinary finding under the streaming rule's name, so hysteresis and notifications apply
unchanged (``firing`` keeps the alert without a second notification, ``ok`` counts a clean check).
"""

from __future__ import annotations

from monitor.detect.findings import Finding
from monitor.detect.rule import Rule, WindowContext
from monitor.plugins import rule


@rule("streaming")
class StreamingConfirmation(Rule):
    """Judges each open streaming alert (error rate, latency, score) on the whole window."""

    kinds = ("streaming",)
    order = 1000

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        from monitor.stream.detectors import STATISTICS

        return tuple(STATISTICS)

    def evaluate(self, context: WindowContext) -> list[Finding]:
        from monitor.stream.confirm import verdict

        return [verdict(name, value, alarm) for name, value, alarm in context.streaming]
