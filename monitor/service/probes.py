"""Availability probes: is the model's serving endpoint up, and how fast does it answer?

A probe is one ``GET`` of the spec's ``service.health_url`` with a timeout. Any 2xx answer is
up; another status, a timeout or a refused connection is down, with the reason kept. Over a
check window the probes give ``availability`` (share of probes that were up) and
``probe_latency_p95_ms`` (over probes that got an answer), next to the service KPIs the logs give.

Probes are time-slotted (``slot_of``): the probe for one model and slot is stored once however
many beats or redeliveries ask for it (unique ``(model_id, slot)`` in ``probe_results``).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass

import httpx
import numpy as np
import pandas as pd

from monitor.outbound import OutboundRefused, http_client

PROBE_KPIS = ("availability", "probe_latency_p95_ms")


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe saw. ``latency_ms`` is None when no answer came back at all."""

    ts: dt.datetime
    ok: bool
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {**asdict(self), "ts": self.ts.isoformat()}


def slot_of(ts: dt.datetime, every: float) -> int:
    """The probe slot ``ts`` falls in: slots are ``every`` seconds long, counted from the epoch.

    >>> slot_of(dt.datetime(1970, 1, 1, 0, 1, 5, tzinfo=dt.timezone.utc), 30)
    2
    """
    return int(ts.timestamp() // every)


@dataclass(frozen=True)
class ProbeTarget:
    """A model whose current probe slot has no result yet."""

    model: str
    slot: int
    every: float


def due_targets(session, now: dt.datetime | None = None) -> list[ProbeTarget]:
    """Active models with a ``service.health_url`` whose current slot was not probed yet."""
    from monitor.store import models as store_models, operations

    now = now or dt.datetime.now(dt.timezone.utc)
    due = []
    for model in store_models.list_models(session):
        service = store_models.spec_of(model).service
        if model.status != "active" or service is None:
            continue
        slot = slot_of(now, service.probe_every)
        if not operations.probed_slot(session, model.id, slot):
            due.append(ProbeTarget(model.name, slot, service.probe_every))
    return due


def probe(url: str, timeout: float, client: httpx.Client | None = None) -> ProbeOutcome:
    """GET ``url`` once; never raises for a down endpoint (being down is the result).

    Redirects are not followed: a health endpoint that redirects is misconfigured, and a 3xx is
    reported as down with its status code so the operator sees why. The connection goes only to
    an address the outbound guard allows (``monitor.outbound``); a refused one is a down probe
    whose error says why.
    """
    ts = dt.datetime.now(dt.timezone.utc)
    started = time.perf_counter()
    try:
        if client is None:
            with http_client("service.health_url", timeout) as own:
                response = own.get(url)
        else:
            response = client.get(url, timeout=timeout)
    except OutboundRefused as exc:  # a destination the operator did not allow is reported, never polled
        return ProbeOutcome(ts, False, error=str(exc)[:500])
    except httpx.TimeoutException:
        return ProbeOutcome(ts, False, error=f"timed out after {timeout:g}s")
    except httpx.HTTPError as exc:
        return ProbeOutcome(ts, False, error=f"{type(exc).__name__}: {exc}"[:500])
    latency = (time.perf_counter() - started) * 1000
    ok = 200 <= response.status_code < 300
    return ProbeOutcome(ts, ok, response.status_code, round(latency, 3),
                        None if ok else f"HTTP {response.status_code}")


def availability_kpis(probes: pd.DataFrame) -> dict[str, float | None]:
    """``availability`` and ``probe_latency_p95_ms`` of a window's probes (None when there were none).

    >>> frame = pd.DataFrame({"ok": [True, True, False, True], "latency_ms": [10.0, 20.0, None, 30.0]})
    >>> availability_kpis(frame)
    {'availability': 0.75, 'probe_latency_p95_ms': 29.0}
    """
    kpis: dict[str, float | None] = dict.fromkeys(PROBE_KPIS)
    if not len(probes):
        return kpis
    kpis["availability"] = float(probes["ok"].astype(bool).mean())
    latency = pd.to_numeric(probes["latency_ms"], errors="coerce").to_numpy(dtype=float)
    latency = latency[np.isfinite(latency)]
    if latency.size:
        kpis["probe_latency_p95_ms"] = float(np.percentile(latency, 95))
    return kpis
