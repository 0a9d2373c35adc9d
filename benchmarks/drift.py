"""Drift benchmark: modelwatch's per-feature drift check against its peers and a scipy floor.

    .venv/bin/python benchmarks/drift.py
    .venv/bin/python benchmarks/drift.py --sizes 200k:50k --peers frouros,alibi-detect --timeout 300

For each size (reference rows : window rows; default 200k:50k and 1M:200k) it generates seeded
data with 20 numeric and 5 categorical columns, writes it to Parquet in a temporary directory, and
runs every tool on it in a process of its own:

- ``scipy-floor``: a per-column loop of ``scipy.stats.ks_2samp`` on the raw columns and
  ``scipy.stats.chi2_contingency`` on 2 x k count tables (counts by pandas ``value_counts``),
  in the main venv. Every p-value difference is measured against it.
- ``pvalue-bound``: only the ``kstwo.sf`` / ``chi2.sf`` calls that turn the statistics into
  p-values (statistics computed beforehand): the least a tool with scipy's p-values can spend.
- ``modelwatch``: ``monitor.drift.detect_drift`` with the reference profile precomputed
  (``DriftReference.from_frame``, once per model version, as the service runs): the time is the
  check alone; the profile's build time is printed beside it.
- ``modelwatch-cold``: ``detect_drift`` straight from the two DataFrames.
- ``modelwatch-capped``: as ``modelwatch``, with the profile capped at the service's
  ``DRIFT_REFERENCE_ROWS`` stored values per column (a random sample of larger references).
- ``scipy-floor-peers-venv`` (with any peer): the floor's code in the peers' venv, whose older
  numpy / scipy / pandas alone make a difference.
- the peers (``--peers``), in benchmarks/.peers-venv (``bash benchmarks/setup-peers.sh``),
  through the adapters of benchmarks/peers.py, each configured for KS on numeric and chi-squared
  on categorical columns.

Measured per tool and size: wall time of the drift computation only (reading Parquet and importing
are excluded; the fastest of up to ``--repeat`` runs per process, fewer once a tool's runs add up
to 30 s, pooled over ``--rounds``; the process's CPU time of that run beside it), the window-side
part of it where the library has a reference step that can be done once, the peak RSS of the
tool's process (``ru_maxrss`` of that child from ``os.wait4``: its RSS high-water mark over its
whole life, interpreter, imports and loaded data included, nothing subtracted), and the largest
relative difference of its raw p-values from the floor's, ``|p - q| / max(p, q)`` over all
columns (0 when both are 0). A tool that cannot be imported, fails or runs past ``--timeout``
gets a row saying so and the benchmark goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import peers  # noqa: E402 - the shared worker harness, next to this file
from peers import ScipyFloor  # noqa: E402

PEERS_VENV = HERE / ".peers-venv"
ALL_PEERS = ("evidently", "nannyml", "alibi-detect", "frouros")
LOCAL_TOOLS = ("scipy-floor", "pvalue-bound", "modelwatch", "modelwatch-cold", "modelwatch-capped")
#: Tools whose headline time is their window-side step alone.
WINDOW_TIMED = ("modelwatch", "modelwatch-capped", "pvalue-bound")
LABELS = {
    "scipy-floor": "scipy floor",
    "scipy-floor-peers-venv": "scipy floor, run in the peers' venv",
    "pvalue-bound": "p-value evaluation alone (bound)",
    "modelwatch": "modelwatch (profile precomputed)",
    "modelwatch-cold": "modelwatch (cold, two DataFrames)",
    "modelwatch-capped": "modelwatch (profile precomputed, service's 200k-row cap)",
}
N_NUMERIC, N_CATEGORICAL = 20, 5


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------

#: (distribution, drift of the window): shifts are in units of the column's spread, chosen so
#: that the p-values range from ~1 through the 1e-2..1e-15 region to underflow (p = 0).
NUMERIC_COLUMNS = [
    ("normal", None), ("normal", ("shift", 0.003)), ("normal", ("shift", 0.01)),
    ("normal", ("shift", 0.03)), ("normal", ("shift", 0.15)), ("normal", ("shift", 0.5)),
    ("lognormal", None), ("lognormal", ("scale", 1.01)), ("exponential", None),
    ("exponential", ("scale", 1.02)), ("uniform", None), ("uniform", ("shift", 0.006)),
    ("poisson", None), ("poisson", ("scale", 1.01)),          # integers: heavy ties
    ("rounded", None), ("rounded", ("shift", 0.02)),          # one decimal: ties
    ("student_t", None), ("student_t", ("shift", 0.01)),
    ("bimodal", None), ("bimodal", ("mix", 0.02)),
]
#: (number of categories, share of the window drawn from a uniform over the categories instead).
CATEGORICAL_COLUMNS = [(3, 0.0), (6, 0.01), (12, 0.03), (25, 0.0), (60, 0.2)]


def _numeric(kind: str, drift: tuple[str, float] | None, n: int, rng) -> Any:
    import numpy as np

    shift = drift[1] if drift and drift[0] == "shift" else 0.0
    scale = drift[1] if drift and drift[0] == "scale" else 1.0
    mix = drift[1] if drift and drift[0] == "mix" else 0.0
    if kind == "normal":
        return rng.normal(shift, 1.0, n)
    if kind == "lognormal":
        return rng.lognormal(0.0, 1.0, n) * scale
    if kind == "exponential":
        return rng.exponential(scale, n)
    if kind == "uniform":
        return rng.uniform(shift, 1.0 + shift, n)
    if kind == "poisson":
        return rng.poisson(4.0 * scale, n).astype(np.float64)
    if kind == "rounded":
        return np.round(rng.normal(10.0 + shift, 1.0, n), 1)
    if kind == "student_t":
        return rng.standard_t(3, n) + shift
    if kind == "bimodal":
        upper = rng.random(n) < 0.5 + mix
        return np.where(upper, rng.normal(2.0, 0.5, n), rng.normal(-2.0, 0.5, n))
    raise ValueError(kind)


def _categorical(k: int, uniform_share: float, n: int, rng) -> Any:
    import numpy as np

    probs = 1.0 / np.arange(1, k + 1) ** 0.8
    probs /= probs.sum()
    probs = (1.0 - uniform_share) * probs + uniform_share / k
    labels = np.array([f"v{i:02d}" for i in range(k)], dtype=object)
    return labels[rng.choice(k, size=n, p=probs)]


def generate(n_reference: int, n_window: int, seed: int, directory: Path) -> dict[str, Any]:
    """Write reference.parquet, window.parquet and spec.json for one size into ``directory``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, n_reference, n_window])
    numeric = [f"num_{i:02d}" for i in range(N_NUMERIC)]
    categorical = [f"cat_{i}" for i in range(N_CATEGORICAL)]
    frames = {}
    for side, n in (("reference", n_reference), ("window", n_window)):
        data = {}
        for name, (kind, drift) in zip(numeric, NUMERIC_COLUMNS):
            data[name] = _numeric(kind, drift if side == "window" else None, n, rng)
        for name, (k, share) in zip(categorical, CATEGORICAL_COLUMNS):
            data[name] = _categorical(k, share if side == "window" else 0.0, n, rng)
        frames[side] = pd.DataFrame(data)
        frames[side].to_parquet(directory / f"{side}.parquet", index=False)
    spec = {"numeric": numeric, "categorical": categorical, "n_reference": n_reference,
            "n_window": n_window, "seed": seed}
    (directory / "spec.json").write_text(json.dumps(spec))
    return spec


# --------------------------------------------------------------------------------------------
# tools of the main venv (run through peers.run_worker in a child process)
# --------------------------------------------------------------------------------------------

class PValueBound:
    """The p-value evaluations alone: what any tool returning scipy's p-values must spend.

    Every statistic is computed beforehand, uncounted (``untimed``); the time is that of
    ``scipy.stats.kstwo.sf(D, round(m n / (m + n)))``, which is how ``ks_2samp`` turns D into a
    p-value for samples above 10,000 rows, and of ``scipy.stats.chi2.sf(statistic, k - 1)``. For
    a drifted column of a large window ``kstwo.sf`` evaluates the exact Smirnov distribution,
    which costs tens to hundreds of milliseconds, so this bounds how fast a check can be while
    keeping scipy-identical p-values.
    """

    name = "pvalue-bound"
    notes = ["time = only the p-value evaluations (kstwo.sf / chi2.sf) on statistics computed "
             "beforehand: the least any tool returning scipy's exact p-values spends"]

    def __init__(self) -> None:
        from scipy import stats

        self._stats = stats
        self._statistics: dict[str, tuple[str, float, float]] = {}

    def versions(self) -> dict[str, str]:
        return peers.versions(*peers.STACK)

    def untimed(self, reference, window, numeric, categorical) -> None:
        import numpy as np

        n1, n2 = len(reference), len(window)
        if max(n1, n2) <= 10_000:
            raise ValueError("pvalue-bound needs a side above 10,000 rows (scipy's asymptotic KS)")
        m, n = sorted([float(n1), float(n2)], reverse=True)
        for column in numeric:
            d = self._stats.ks_2samp(reference[column].to_numpy(), window[column].to_numpy()).statistic
            self._statistics[column] = ("ks", float(d), float(np.round(m * n / (m + n))))
        floor = ScipyFloor()
        for column, (chi2, _) in floor.detect(reference, window, [], categorical).items():
            k = len(set(reference[column].unique()) | set(window[column].unique()))
            self._statistics[column] = ("chi2", chi2, k - 1)

    def prepare(self, reference, numeric, categorical):
        return None

    def detect(self, state, window, numeric, categorical) -> peers.Columns:
        import numpy as np

        columns: peers.Columns = {}
        for column, (test, statistic, parameter) in self._statistics.items():
            if test == "ks":
                p_value = float(np.clip(self._stats.kstwo.sf(statistic, parameter), 0, 1))
            else:
                p_value = float(self._stats.chi2.sf(statistic, parameter))
            columns[column] = (statistic, p_value)
        return columns


def _mw_columns(findings) -> peers.Columns:
    return {f.column: (f.statistic, f.p_value) for f in findings}


class Modelwatch:
    """``detect_drift`` against a ``DriftReference`` built beforehand (the service's path)."""

    name = "modelwatch"
    notes = ["time = detect_drift(reference_profile, window) alone; the profile "
             "(DriftReference.from_frame) is built once per model version",
             "detect_drift also computes effect sizes (Wasserstein, Jensen-Shannon) and the "
             "BH correction, which the peers and the floor do not"]

    def __init__(self) -> None:
        from monitor.drift import detect_drift
        from monitor.drift.reference import DriftReference

        self._detect, self._reference = detect_drift, DriftReference

    def versions(self) -> dict[str, str]:
        import hashlib

        digest = hashlib.sha256()
        for source in sorted((ROOT / "monitor" / "drift").glob("*.py")):
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
        return {**peers.versions("modelwatch", *peers.STACK),
                "monitor/drift sources sha256": digest.hexdigest()[:12]}

    def prepare(self, reference, numeric, categorical):
        return self._reference.from_frame(reference, numeric, categorical)

    def detect(self, profile, window, numeric, categorical) -> peers.Columns:
        return _mw_columns(self._detect(profile, window, numeric=numeric, categorical=categorical))


class ModelwatchCold(Modelwatch):
    """``detect_drift`` from the two DataFrames: the profile is built inside the call."""

    name = "modelwatch-cold"
    notes = ["time = detect_drift(reference_df, window_df): the reference is sorted and counted "
             "inside the call"]

    def prepare(self, reference, numeric, categorical):
        return reference

    def detect(self, reference, window, numeric, categorical) -> peers.Columns:
        return _mw_columns(self._detect(reference, window, numeric=numeric, categorical=categorical))


class ModelwatchServiceCap(Modelwatch):
    """As ``Modelwatch``, with the profile the service builds: at most ``DRIFT_REFERENCE_ROWS``
    (200k) stored values per numeric column, a seeded random sample beyond that, so above 200k
    reference rows the KS test is that of the sample, not of the full reference."""

    name = "modelwatch-capped"
    notes = ["profile built as the service builds it (monitor.reference.build_drift_reference): "
             "max_sample=DRIFT_REFERENCE_ROWS; above that many reference rows KS runs on a random "
             "sample of the reference, so its p-values are not the full reference's"]

    def __init__(self) -> None:
        super().__init__()
        from monitor.reference import DRIFT_REFERENCE_ROWS

        self.cap = DRIFT_REFERENCE_ROWS

    def prepare(self, reference, numeric, categorical):
        return self._reference.from_frame(reference, numeric, categorical, max_sample=self.cap)


LOCAL = {"scipy-floor": ScipyFloor, "pvalue-bound": PValueBound, "modelwatch": Modelwatch,
         "modelwatch-cold": ModelwatchCold, "modelwatch-capped": ModelwatchServiceCap}


# --------------------------------------------------------------------------------------------
# running one tool
# --------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One tool on one size: its measurements, or why there are none."""

    tool: str
    size: str
    error: str | None = None
    runs: list[dict[str, float]] = field(default_factory=list)
    columns: dict[str, list[float | None]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    peak_kib: int | None = None
    wall_s: float = 0.0
    load: tuple[float, ...] = ()

    def best(self, key: str) -> float | None:
        """The fastest run's ``key`` (the least disturbed by anything else on the machine)."""
        return min(r[key] for r in self.runs) if self.runs else None

    @property
    def time_s(self) -> float | None:
        """The headline time: the check alone for modelwatch, the whole computation otherwise."""
        return self.best("window_s" if self.tool in WINDOW_TIMED else "total_s")

    @property
    def cpu_s(self) -> float | None:
        return self.best("window_cpu_s" if self.tool in WINDOW_TIMED else "total_cpu_s")


def merge(earlier: Outcome | None, later: Outcome) -> Outcome:
    """One outcome from two rounds of the same tool: all runs, the higher peak, an error wins."""
    if earlier is None or later.error:
        return later
    earlier.runs += later.runs
    earlier.peak_kib = max(earlier.peak_kib or 0, later.peak_kib or 0)
    earlier.load += later.load
    earlier.wall_s += later.wall_s
    return earlier


def _error_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("ERROR "):
            return line[len("ERROR "):]
    return lines[-1] if lines else "no output"


def run_tool(tool: str, size: str, data_dir: Path, work: Path, timeout: float,
             repeat: int) -> Outcome:
    """Run ``tool`` on ``data_dir`` in its own process and collect what it wrote."""
    outcome = Outcome(tool, size)
    if tool in LOCAL:
        command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    else:
        python = PEERS_VENV / "bin" / "python"
        if not python.exists():
            outcome.error = f"{python} missing: run bash benchmarks/setup-peers.sh"
            return outcome
        command = [str(python), str(HERE / "peers.py")]
    out, log_path = work / f"{tool}.json", work / f"{tool}.log"
    command += [tool, str(data_dir), str(out), "--repeat", str(repeat)]
    env = dict(os.environ, NML_DISABLE_USAGE_LOGGING="1", DO_NOT_TRACK="1", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    if tool in LOCAL:  # the main venv's tools import monitor/ from this checkout
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with open(log_path, "w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                 start_new_session=True)  # its own group: a timeout kills it all
        timed_out = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                os.killpg(child.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(child.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    outcome.wall_s = time.monotonic() - started
    outcome.load = (load_before, os.getloadavg()[0])
    outcome.peak_kib = usage.ru_maxrss  # KiB on Linux: this child's RSS high-water mark
    if timed_out:
        outcome.error = f"timeout after {timeout:.0f} s"
    elif child.returncode != 0 or not out.exists():
        outcome.error = _error_line(log_path.read_text(errors="replace"))
    else:
        result = json.loads(out.read_text())
        outcome.runs, outcome.columns = result["runs"], result["columns"]
        outcome.versions, outcome.notes = result["versions"], result["notes"]
        outcome.memory = result["memory"]
    return outcome


# --------------------------------------------------------------------------------------------
# comparing and printing
# --------------------------------------------------------------------------------------------

def relative_difference(p: float, q: float) -> float:
    """``|p - q| / max(|p|, |q|)``, 0 when equal (both 0 included): in [0, 1] for p-values."""
    if p == q:
        return 0.0
    return abs(p - q) / max(abs(p), abs(q))


@dataclass
class Agreement:
    """How far a tool's p-values are from the floor's, per kind of column."""

    worst: dict[str, tuple[float, str] | None]  # kind -> (largest relative difference, column)
    missing: dict[str, int]  # kind -> columns without a p-value

    @property
    def overall(self) -> float | None:
        values = [w[0] for w in self.worst.values() if w is not None]
        return max(values) if values else None


def agreement(outcome: Outcome, floor: Outcome, spec: dict[str, Any]) -> Agreement:
    worst: dict[str, tuple[float, str] | None] = {}
    missing: dict[str, int] = {}
    for kind in ("numeric", "categorical"):
        worst[kind], missing[kind] = None, 0
        for column in spec[kind]:
            p = (outcome.columns.get(column) or [None, None])[1]
            q = (floor.columns.get(column) or [None, None])[1]
            if p is None or q is None:
                missing[kind] += 1
                continue
            difference = relative_difference(p, q)
            if worst[kind] is None or difference > worst[kind][0]:
                worst[kind] = (difference, column)
    return Agreement(worst, missing)


def _fmt_p_diff(agree: Agreement, spec: dict[str, Any], kind: str) -> str:
    if agree.missing[kind] == len(spec[kind]):
        return "n/a"
    worst = agree.worst[kind]
    text = "0" if worst[0] == 0 else f"{worst[0]:.1e}"
    return text + (f" ({agree.missing[kind]} n/a)" if agree.missing[kind] else "")


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    ratio = a / b
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.0f}x"


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def table(size: str, outcomes: list[Outcome], spec: dict[str, Any]) -> list[str]:
    """The Markdown rows of one size."""
    by_tool = {o.tool: o for o in outcomes}
    floor, mw, cold = by_tool.get("scipy-floor"), by_tool.get("modelwatch"), by_tool.get("modelwatch-cold")
    t_floor = floor.time_s if floor and not floor.error else None
    t_mw = mw.time_s if mw and not mw.error else None
    t_cold = cold.time_s if cold and not cold.error else None
    rows = []
    for o in outcomes:
        label = LABELS.get(o.tool, o.tool)
        if o.error:
            rows.append(f"| {size} | {label} | {o.error} | | | | | | | | | |")
            continue
        if floor and not floor.error:
            agree = agreement(o, floor, spec)
            ks_diff, chi_diff = _fmt_p_diff(agree, spec, "numeric"), _fmt_p_diff(agree, spec, "categorical")
        else:
            ks_diff = chi_diff = "no floor"
        window = _fmt_s(o.best("window_s"))
        if o.tool in ("modelwatch", "modelwatch-capped"):
            window += f" (+ profile {_fmt_s(o.best('reference_s'))})"
        rows.append(
            f"| {size} | {label} | {_fmt_s(o.time_s)} | {_fmt_s(o.cpu_s)} | {window} | {len(o.runs)} "
            f"| {_mib(o.peak_kib)} | {_mib(o.memory.get('after_load_hwm_kib'))} "
            f"| {ks_diff} | {chi_diff} | {_fmt_ratio(o.time_s, t_mw)} / {_fmt_ratio(o.time_s, t_cold)} "
            f"| {_fmt_ratio(o.time_s, t_floor)} |")
    return rows


HEADER = [
    "| size (ref:window) | tool | time s | CPU s | window-side s | runs | peak RSS MiB "
    "| RSS after load MiB | max rel Δp KS | max rel Δp chi2 | time ÷ modelwatch (pre / cold) "
    "| time ÷ floor |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
]


def targets(size: str, outcomes: list[Outcome], spec: dict[str, Any]) -> list[str]:
    """The three targets of the product issue, for one size."""
    by_tool = {o.tool: o for o in outcomes if not o.error}
    mw, cold, floor = by_tool.get("modelwatch"), by_tool.get("modelwatch-cold"), by_tool.get("scipy-floor")
    lines = [f"{size}:"]
    ran = [o for o in by_tool.values() if o.tool in ALL_PEERS]
    if mw and ran:
        fastest = min(ran, key=lambda o: o.time_s)
        speedup = fastest.time_s / mw.time_s
        line = (f"  fastest peer {fastest.tool} {_fmt_s(fastest.time_s)} s: modelwatch "
                f"(profile precomputed) is {speedup:.1f}x faster (target >= 10x: "
                f"{'met' if speedup >= 10 else 'MISSED'})")
        if cold:
            line += f"; cold {fastest.time_s / cold.time_s:.1f}x"
        fastest_window = min(ran, key=lambda o: o.best("window_s"))
        line += (f"; against the fastest peer's window-side step alone ({fastest_window.tool}, "
                 f"{_fmt_s(fastest_window.best('window_s'))} s): "
                 f"{fastest_window.best('window_s') / mw.time_s:.1f}x")
        if floor:
            without = sum(agreement(fastest_window, floor, spec).missing.values())
            if without:
                line += f" ({fastest_window.tool} gives no p-value for {without} of the columns)"
        bound = by_tool.get("pvalue-bound")
        if bound:
            line += (f"\n  p-value evaluation alone takes {_fmt_s(bound.time_s)} s: no tool with "
                     f"scipy's p-values can beat {fastest.tool} by more than "
                     f"{fastest.time_s / bound.time_s:.1f}x")
        lines.append(line)
    elif mw:
        lines.append("  no peer ran: nothing to compare modelwatch with")
    floor_there = by_tool.get("scipy-floor-peers-venv")
    if floor and floor_there:
        lines.append(f"  the same floor takes {floor_there.time_s / floor.time_s:.2f}x as long in the "
                     f"peers' venv (its older numpy / scipy / pandas): that much of any lead over a "
                     f"peer is the environment's, not the code's")
    if floor:
        for o, label in ((mw, "profile precomputed"), (cold, "cold")):
            if o:
                ratio = o.time_s / floor.time_s
                lines.append(f"  modelwatch ({label}) / floor = {ratio:.2f} (target <= 1.5: "
                             f"{'met' if ratio <= 1.5 else 'MISSED'})")
        capped = by_tool.get("modelwatch-capped")
        for o, label in ((mw, "profile precomputed"), (cold, "cold"), (capped, "service's 200k cap, informational")):
            if o:
                agree = agreement(o, floor, spec)
                worst = agree.overall
                verdict = ("identical" if worst == 0 else
                           "MISSED" if worst is None or worst > 1e-12 else "equal to 1e-12")
                where = max((w for w in agree.worst.values() if w), default=(0.0, "-"))
                shown = "n/a" if worst is None else "0" if worst == 0 else f"{worst:.1e} at {where[1]}"
                lines.append(f"  modelwatch ({label}) p-values vs floor: max rel diff {shown} "
                             f"(target identical: {verdict})")
    if not mw:
        lines.append("  modelwatch did not run: targets not measured")
    return lines


def details(outcomes: list[Outcome], spec: dict[str, Any]) -> list[str]:
    """Where each tool's p-values differ most from the floor's, and its notes."""
    floor = next((o for o in outcomes if o.tool == "scipy-floor" and not o.error), None)
    lines = []
    for o in outcomes:
        if o.error or floor is None:
            continue
        agree = agreement(o, floor, spec)
        parts = []
        for kind in ("numeric", "categorical"):
            worst = agree.worst[kind]
            if worst and worst[0] > 0:
                column = worst[1]
                parts.append(f"{column}: {worst[0]:.1e} (p {o.columns[column][1]:.6g} vs floor "
                             f"{floor.columns[column][1]:.6g})")
        sizeable = [(relative_difference(o.columns[c][1], floor.columns[c][1]), c)
                    for c in [*spec["numeric"], *spec["categorical"]]
                    if o.columns.get(c) and o.columns[c][1] is not None and floor.columns[c][1] >= 1e-6]
        if sizeable and max(sizeable)[0] > 0:
            difference, column = max(sizeable)
            parts.append(f"where the floor's p >= 1e-6: {column}: {difference:.1e} "
                         f"({o.columns[column][1]:.6g} vs {floor.columns[column][1]:.6g})")
        ks_stat = [relative_difference(o.columns[c][0], floor.columns[c][0]) for c in spec["numeric"]
                   if o.columns.get(c) and o.columns[c][0] is not None]
        if ks_stat and max(ks_stat) > 0:
            parts.append(f"KS D max rel diff {max(ks_stat):.1e}")
        if parts:
            lines.append(f"  {o.tool}: " + "; ".join(parts))
    return lines


def parse_size(text: str) -> tuple[int, int]:
    def count(token: str) -> int:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", token.strip())
        if not match:
            raise argparse.ArgumentTypeError(f"bad row count {token!r} (e.g. 200k, 1M, 5000)")
        factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
        return int(float(match.group(1)) * factor)

    reference, _, window = text.partition(":")
    if not window:
        raise argparse.ArgumentTypeError(f"size {text!r} must be REFERENCE:WINDOW, e.g. 200k:50k")
    return count(reference), count(window)


def checkout() -> str:
    """The commit benchmarked, and whether monitor/ differs from it (read-only git calls)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "monitor"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown checkout"
    return f"commit {commit or 'unknown'}" + (" + uncommitted changes in monitor/" if changed else "")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return peers.main(LOCAL, argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200k:50k,1M:200k",
                        help="comma-separated REFERENCE:WINDOW row counts (default %(default)s)")
    parser.add_argument("--peers", default=",".join(ALL_PEERS),
                        help="comma-separated peers, '' for none (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per tool and size")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per tool (fewer once they add up to 30 s); the fastest is shown")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the whole set of tools this many times, interleaved (runs pooled)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
    sizes = [(token.strip(), parse_size(token)) for token in args.sizes.split(",") if token.strip()]
    chosen = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(ALL_PEERS))
    if unknown:
        parser.error(f"unknown peer(s) {unknown}; choose from {list(ALL_PEERS)}")
    tools = [*LOCAL_TOOLS, *(["scipy-floor-peers-venv"] if chosen else []), *chosen]

    started = datetime.now(timezone.utc)
    work = Path(tempfile.mkdtemp(prefix="modelwatch-drift-bench-"))
    results: dict[str, tuple[dict[str, Any], list[Outcome]]] = {}
    try:
        for label, (n_reference, n_window) in sizes:
            data_dir = work / label.replace(":", "_")
            data_dir.mkdir()
            print(f"[{label}] generating {n_reference:,} + {n_window:,} rows "
                  f"({N_NUMERIC} numeric, {N_CATEGORICAL} categorical columns)", file=sys.stderr)
            spec = generate(n_reference, n_window, args.seed, data_dir)
            outcomes: dict[str, Outcome] = {}
            for round_ in range(args.rounds):  # interleaved, so a burst of load hits one round
                for tool in tools:
                    if outcomes.get(tool) and outcomes[tool].error:
                        continue  # failed or timed out once: not again
                    tool_dir = data_dir / f"{tool}.{round_}"
                    tool_dir.mkdir()
                    outcome = run_tool(tool, label, data_dir, tool_dir, args.timeout, args.repeat)
                    shown = outcome.error or f"{_fmt_s(outcome.time_s)} s, peak {_mib(outcome.peak_kib)} MiB"
                    print(f"[{label}] {tool:<22} {shown}", file=sys.stderr)
                    outcomes[tool] = merge(outcomes.get(tool), outcome)
            results[label] = (spec, list(outcomes.values()))
    finally:
        if args.keep:
            print(f"data kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"# drift benchmark, {started:%Y-%m-%d %H:%M} UTC, machine: {machine()}, {checkout()}")
    print(f"# {N_NUMERIC} numeric columns (KS) + {N_CATEGORICAL} categorical (chi2), seed {args.seed}; "
          f"time = fastest of up to {args.repeat} runs x {args.rounds} round(s) of the drift computation only "
          f"(no I/O, no imports)")
    loads = [value for _, (_, outcomes) in results.items() for o in outcomes for value in o.load]
    if loads:
        print(f"# 1-minute load average around the tools' runs: {min(loads):.1f} to {max(loads):.1f} "
              f"(on {os.cpu_count()} cores; above that, something else was competing for them)")
    print()
    print("\n".join(HEADER))
    for label, (spec, outcomes) in results.items():
        print("\n".join(table(label, outcomes, spec)))
    print()
    print("Targets (product issue): modelwatch >= 10x faster than the fastest peer, "
          "<= 1.5x the floor, identical p-values")
    for label, (spec, outcomes) in results.items():
        print("\n".join(targets(label, outcomes, spec)))
    print()
    print("Largest p-value differences from the floor:")
    for label, (spec, outcomes) in results.items():
        lines = details(outcomes, spec)
        print(f"{label}:" + ("" if lines else " none"))
        print("\n".join(lines))
    print()
    print("Versions:")
    seen: dict[str, str] = {}
    for _, (_, outcomes) in results.items():
        for o in outcomes:
            if o.versions and o.tool not in seen:
                seen[o.tool] = ", ".join(f"{k} {v}" for k, v in o.versions.items())
    for tool, text in seen.items():
        print(f"  {tool}: {text}")
    print()
    print("Notes:")
    noted: set[str] = set()
    for _, (_, outcomes) in results.items():
        for o in outcomes:
            for note in o.notes:
                if (o.tool, note) not in noted:
                    noted.add((o.tool, note))
                    print(f"  {o.tool}: {note}")
    print("  peak RSS = ru_maxrss of the tool's own process (os.wait4): its high-water mark over its "
          "whole life (interpreter, imports, the loaded DataFrames, the computation), nothing "
          "subtracted; 'RSS after load' = VmHWM once the data was read, before any drift work")
    if args.json:
        args.json.write_text(json.dumps(
            {label: {"spec": spec, "outcomes": [o.__dict__ for o in outcomes]}
             for label, (spec, outcomes) in results.items()}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
