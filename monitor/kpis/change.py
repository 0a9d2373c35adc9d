"""One meaning of "change" for every KPI, wherever it is shown: the CLI table, ``--json``, the report.

A change is signed the way arithmetic signs it, ``new - old`` (and ``(new - old) / |old|`` in
percent), and judged separately by what is better *for that KPI*: log loss rising 0.579 -> 0.681 is
"+17.6%, worse", accuracy falling 0.742 -> 0.739 is "-0.4%, worse". Colour follows the judgement,
never the sign, so a reader never has to remember which KPIs are errors. KPIs with no better
direction (throughput) are "changed", shown neutral.

>>> c = kpi_change("log_loss", 0.681, 0.579)
>>> c.text, c.verdict, c.colour
('+17.6%, worse', 'worse', 'red')
>>> kpi_change("accuracy", 0.739, 0.742).text
'-0.4%, worse'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from monitor.kpis.base import LOWER_IS_BETTER

#: KPIs (model and service) where a larger value is worse, beyond the model's error metrics
LOWER_IS_BETTER_SERVICE = frozenset({
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "error_rate", "probe_latency_p95_ms",
    "host_cpu_pct_p95", "host_memory_pct_p95", "host_disk_pct_max", "host_rss_mb_max",
})
#: KPIs with no better direction: more traffic is neither good nor bad for the model
NEUTRAL = frozenset({"throughput_rpm"})
#: the colour of each verdict (CLI names; the report maps them to CSS classes)
COLOURS = {"better": "green", "worse": "red", "same": None, "changed": None}

Verdict = Literal["better", "worse", "same", "changed"]


def lower_is_better(kpi: str) -> bool:
    return kpi in LOWER_IS_BETTER or kpi in LOWER_IS_BETTER_SERVICE


@dataclass(frozen=True)
class Change:
    """A KPI's change against its baseline: ``delta = value - baseline``, ``pct`` relative to
    ``|baseline|`` (None when the baseline is 0), and the verdict for this KPI."""

    kpi: str
    value: float
    baseline: float
    delta: float
    pct: float | None
    verdict: Verdict

    @property
    def colour(self) -> str | None:
        return COLOURS[self.verdict]

    @property
    def text(self) -> str:
        """``+17.6%, worse``; the absolute change when there is no percentage (a zero baseline)."""
        amount = f"{self.pct:+.1f}%" if self.pct is not None else f"{self.delta:+.4g}"
        return amount if self.verdict in ("same", "changed") else f"{amount}, {self.verdict}"

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("kpi", "value", "baseline")}


def kpi_change(kpi: str, value: float | None, baseline: float | None) -> Change | None:
    """The change of ``kpi`` from ``baseline`` to ``value``; None when either is missing."""
    if value is None or baseline is None:
        return None
    delta = float(value) - float(baseline)
    pct = delta / abs(baseline) * 100 if baseline else None
    if delta == 0:
        verdict: Verdict = "same"
    elif kpi in NEUTRAL:
        verdict = "changed"
    else:
        verdict = "better" if (delta < 0) == lower_is_better(kpi) else "worse"
    return Change(kpi, float(value), float(baseline), delta, pct, verdict)
