"""Online detectors of one model's traffic: fed chunk by chunk as prediction rows arrive.

A check run looks at a whole window once per ``every``; a broken deploy (errors jumping from 0% to
40%, scores collapsing) should not wait for it. The stream cuts a model's rows, in arrival order,
into chunks of ``chunk_rows`` and feeds each chunk's statistics to the anomaly family's detectors
(:mod:`monitor.anomaly`), whose ``state`` survives between ticks and restarts:

==================  =====================================  ======================  =====
rule                statistic of a chunk                   detector                 fires
==================  =====================================  ======================  =====
stream_error_rate   share of rows whose status is not ok   Page-Hinkley, up         up
stream_latency      mean ``latency_ms``                    Page-Hinkley, up         up
stream_score        mean ``score``                         CUSUM, two-sided         both
==================  =====================================  ======================  =====

A chunk rather than a row: one failed request among healthy ones is not an anomaly, a fifth of
twenty is. Each detector's baseline spread has a floor (``min_std``) in the statistic's units so
that a spotless warm-up (0% errors, the usual case) does not make the first error an alarm.

>>> stream = ModelStream(None, chunk_rows=10)
>>> healthy = [StreamRow(i, None, 0.7, 20.0, "ok") for i in range(1, 201)]
>>> stream.feed(healthy)
[]
>>> broken = [StreamRow(i, None, 0.1, 20.0, "error" if i % 5 < 2 else "ok") for i in range(201, 211)]
>>> sorted(f.rule for f in stream.feed(broken))
['stream_error_rate', 'stream_score']
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from monitor.anomaly import make_detector, resume
from monitor.service import OK_STATUSES

Direction = Literal["up", "down", "both"]


@dataclass(frozen=True)
class StreamRow:
    """The columns of a prediction row the stream reads (a database result row with these names
    does as well)."""

    id: int
    ts: dt.datetime | None
    score: float | None
    latency_ms: float | None
    status: str | None


@dataclass(frozen=True)
class Statistic:
    """One streamed statistic: its rule, how a chunk measures it and the detector that watches it."""

    rule: str
    label: str
    direction: Direction
    method: str
    params: dict[str, Any]
    min_std: float
    percent: bool = False

    def show(self, value: float) -> str:
        return f"{value * 100:.1f}%" if self.percent else f"{value:.4g}"


STATISTICS: dict[str, Statistic] = {s.rule: s for s in (
    Statistic("stream_error_rate", "error rate", "up", "page_hinkley",
              {"mode": "up", "delta": 0.5, "threshold": 4.0, "warmup": 10}, min_std=0.05, percent=True),
    Statistic("stream_latency", "mean latency (ms)", "up", "page_hinkley",
              {"mode": "up", "delta": 0.5, "threshold": 8.0, "warmup": 10}, min_std=1.0),
    Statistic("stream_score", "mean score", "both", "cusum", {"k": 1.0, "h": 8.0, "warmup": 10}, min_std=0.02),
)}
#: How far past its baseline (in baseline spreads) a window's statistic must be for the window
#: check to confirm a streaming alert (``monitor.stream.confirm``).
CONFIRM_SPREADS = 3.0


@dataclass(frozen=True)
class StreamFinding:
    """A detector's alarm on one chunk: what the streaming alert will say."""

    rule: str
    value: float
    baseline: float
    limit: float
    direction: Direction
    first_id: int
    last_id: int
    rows: int
    message: str
    severity: str

    def alarm(self) -> dict[str, Any]:
        """What the window check needs later to confirm or clear this alarm (kept in the state)."""
        return {"baseline": self.baseline, "limit": self.limit, "direction": self.direction,
                "value": self.value, "first_id": self.first_id, "last_id": self.last_id}


def _empty_chunk() -> dict[str, Any]:
    return {"rows": 0, "first_id": None, "last_id": None, "status_rows": 0, "errors": 0,
            "latency_rows": 0, "latency_sum": 0.0, "score_rows": 0, "score_sum": 0.0}


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class ModelStream:
    """One model's streaming memory: a detector per statistic, the chunk being filled, the alarms.

    Built from (and turned back into) a JSON-able ``state`` so a worker restart resumes exactly.
    """

    saved: dict[str, Any] | None
    chunk_rows: int = 20
    detectors: dict[str, Any] = field(init=False)
    chunk: dict[str, Any] = field(init=False)
    alarms: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        if self.chunk_rows < 2:
            raise ValueError(f"stream chunk_rows must be at least 2, got {self.chunk_rows}")
        saved = self.saved or {}
        self.detectors = {}
        for rule, statistic in STATISTICS.items():
            if rule in saved.get("detectors", {}):
                self.detectors[rule] = resume(saved["detectors"][rule])
            else:
                detector = make_detector(statistic.method, **statistic.params)
                detector.min_std = statistic.min_std
                self.detectors[rule] = detector
        self.chunk = dict(saved.get("chunk") or _empty_chunk())
        self.alarms = dict(saved.get("alarms") or {})

    @property
    def state(self) -> dict[str, Any]:
        return {"detectors": {rule: d.state for rule, d in self.detectors.items()}, "chunk": dict(self.chunk),
                "alarms": dict(self.alarms), "chunk_rows": self.chunk_rows}

    def feed(self, rows: list[StreamRow]) -> list[StreamFinding]:
        """Add rows (in id order); every chunk they complete is measured. Returns the alarms raised."""
        findings = []
        for row in rows:
            self._add(row)
            if self.chunk["rows"] >= self.chunk_rows:
                findings += self._measure()
                self.chunk = _empty_chunk()
        for finding in findings:
            self.alarms[finding.rule] = finding.alarm()
        return findings

    def _add(self, row: StreamRow) -> None:
        chunk = self.chunk
        chunk["rows"] += 1
        chunk["first_id"] = chunk["first_id"] or row.id
        chunk["last_id"] = row.id
        if row.status is not None and str(row.status).strip():
            chunk["status_rows"] += 1
            chunk["errors"] += str(row.status).strip().lower() not in OK_STATUSES
        if (latency := _finite(row.latency_ms)) is not None:
            chunk["latency_rows"] += 1
            chunk["latency_sum"] += latency
        if (score := _finite(row.score)) is not None:
            chunk["score_rows"] += 1
            chunk["score_sum"] += score

    def chunk_values(self) -> dict[str, float | None]:
        chunk = self.chunk
        return {"stream_error_rate": chunk["errors"] / chunk["status_rows"] if chunk["status_rows"] else None,
                "stream_latency": chunk["latency_sum"] / chunk["latency_rows"] if chunk["latency_rows"] else None,
                "stream_score": chunk["score_sum"] / chunk["score_rows"] if chunk["score_rows"] else None}

    def _measure(self) -> list[StreamFinding]:
        findings = []
        for rule, value in self.chunk_values().items():
            detector, statistic = self.detectors[rule], STATISTICS[rule]
            warmed = detector.n >= detector.warmup
            baseline, spread = detector.mean, detector.std  # read before update: an alarm resets them
            if not detector.update(value) or not warmed or value is None:
                continue
            if self._recovered(rule, value):
                continue
            direction = statistic.direction if statistic.direction != "both" else ("up" if value > baseline else "down")
            sign = 1 if direction == "up" else -1
            findings.append(self._finding(statistic, value, baseline, baseline + sign * CONFIRM_SPREADS * spread,
                                          direction))
        return findings

    def _recovered(self, rule: str, value: float) -> bool:
        """A change back to the healthy side of the last alarm's limit is a recovery, not an alarm.

        After an alarm the detector learns the broken level as its baseline, so a rollback looks
        like a second change (scores jumping back up); the window check resolves the alert instead.
        """
        alarm = self.alarms.get(rule)
        if alarm is None or alarm.get("recovered"):
            return False
        back = value < alarm["limit"] if alarm["direction"] == "up" else value > alarm["limit"]
        if back:  # once: a later change in either direction is news again
            self.alarms[rule] = {**alarm, "recovered": True}
        return back

    def _finding(self, statistic: Statistic, value: float, baseline: float, limit: float,
                 direction: Direction) -> StreamFinding:
        chunk = self.chunk
        verb = "above" if direction == "up" else "below"
        message = (f"streaming: {statistic.label} {statistic.show(value)} over rows {chunk['first_id']}-"
                   f"{chunk['last_id']} ({chunk['rows']} rows) is {verb} its running baseline of "
                   f"{statistic.show(baseline)} ({statistic.method}); the next window check confirms or clears it")
        critical = statistic.rule == "stream_error_rate" and value >= 0.2
        return StreamFinding(rule=statistic.rule, value=value, baseline=baseline, limit=limit, direction=direction,
                             first_id=chunk["first_id"], last_id=chunk["last_id"], rows=chunk["rows"],
                             message=message, severity="critical" if critical else "warning")


def to_json(finding: StreamFinding) -> dict[str, Any]:
    return asdict(finding)
