"""Worker side of benchmarks/drift.py: run ONE drift tool on one data set and report as JSON.

benchmarks/drift.py starts one process per (tool, size), so that each tool's memory high-water mark
is its own. The peers (Evidently, NannyML, alibi-detect, Frouros) need numpy < 2 and pandas < 3, so
they run in benchmarks/.peers-venv (made by benchmarks/setup-peers.sh) with this file as the entry
point; the floor and modelwatch run in the main venv through the same ``run_worker`` harness, which
drift.py imports from here. So this module imports only the standard library at the top: numpy
and pandas come from whichever venv runs it, and a peer's library only inside its adapter.

    benchmarks/.peers-venv/bin/python benchmarks/peers.py TOOL DATA_DIR OUT_JSON [--repeat N]

Every adapter has two steps, as the libraries do: ``prepare(reference)`` (the reference-side work a
library lets you do once: fitting a detector, building a profile) and ``detect(state, window)``
(the rest). Both are timed separately, in wall-clock and in the process's CPU time; reading the
Parquet files is not. Each adapter returns, per column, the test statistic and the RAW
(uncorrected) p-value, or None where the tool does not give one, with a note saying why.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

#: Column -> (statistic, p_value); either may be None when the tool does not report it.
Columns = dict[str, tuple[float | None, float | None]]

#: Repeat a tool's run while its runs so far took less than this many seconds in all.
REPEAT_BUDGET_S = 30.0


# --------------------------------------------------------------------------------------------
# measurement harness (shared with drift.py)
# --------------------------------------------------------------------------------------------

def proc_status_kib(field: str) -> int | None:
    """A ``VmHWM`` / ``VmRSS`` line of /proc/self/status, in KiB (None off Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def versions(*dists: str) -> dict[str, str]:
    """Installed versions of the given distributions, plus Python's."""
    found = {"python": platform.python_version()}
    for dist in dists:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value  # NaN -> None


def run_worker(adapter: Any, data_dir: Path, out: Path, repeat: int) -> None:
    """Load the data, run ``adapter`` up to ``repeat`` times, write the measurements to ``out``."""
    import pandas as pd

    spec = json.loads((data_dir / "spec.json").read_text())
    reference = pd.read_parquet(data_dir / "reference.parquet")
    window = pd.read_parquet(data_dir / "window.parquet")
    numeric, categorical = spec["numeric"], spec["categorical"]
    if hasattr(adapter, "untimed"):  # work an adapter needs done but not counted
        adapter.untimed(reference, window, numeric, categorical)
    gc.collect()
    loaded = {"rss_kib": proc_status_kib("VmRSS"), "hwm_kib": proc_status_kib("VmHWM")}

    runs: list[dict[str, float]] = []
    columns: Columns = {}
    while len(runs) < repeat:
        cpu_started, started = time.process_time(), time.perf_counter()
        state = adapter.prepare(reference, numeric, categorical)
        cpu_prepared, prepared = time.process_time(), time.perf_counter()
        columns = adapter.detect(state, window, numeric, categorical)
        cpu_finished, finished = time.process_time(), time.perf_counter()
        runs.append({"reference_s": prepared - started, "window_s": finished - prepared,
                     "total_s": finished - started, "reference_cpu_s": cpu_prepared - cpu_started,
                     "window_cpu_s": cpu_finished - cpu_prepared,
                     "total_cpu_s": cpu_finished - cpu_started})
        del state
        if sum(run["total_s"] for run in runs) > REPEAT_BUDGET_S:
            break

    result = {
        "tool": adapter.name,
        "versions": adapter.versions(),
        "runs": runs,
        "columns": {column: [_as_float(stat), _as_float(p)] for column, (stat, p) in columns.items()},
        "notes": list(getattr(adapter, "notes", [])),
        "memory": {
            "after_load_rss_kib": loaded["rss_kib"],
            "after_load_hwm_kib": loaded["hwm_kib"],
            "final_hwm_kib": proc_status_kib("VmHWM"),
            "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        },
    }
    out.write_text(json.dumps(result, indent=1))


def main(adapters: dict[str, type], argv: list[str] | None = None) -> int:
    """Command line of a worker: ``TOOL DATA_DIR OUT_JSON [--repeat N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=sorted(adapters))
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        adapter = adapters[args.tool]()
        run_worker(adapter, args.data_dir, args.out, args.repeat)
    except Exception as exc:  # noqa: BLE001 - the parent prints this line and goes on
        traceback.print_exc()
        print(f"ERROR {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# the scipy floor (either venv) and the peer adapters (benchmarks/.peers-venv)
# --------------------------------------------------------------------------------------------

STACK = ("numpy", "scipy", "pandas", "pyarrow")


class ScipyFloor:
    """What any code doing the same tests must at least spend: scipy itself, column by column.

    drift.py runs it in the main venv (the floor every difference is measured against) and, as
    ``scipy-floor-peers-venv``, in the peers' venv, to show how much the older numpy / scipy /
    pandas there cost by themselves."""

    name = "scipy-floor"
    notes = ["ks_2samp(method='auto') on the raw columns; chi2_contingency on the 2 x k table of "
             "value_counts (k >= 3 here, so no Yates correction)"]

    def __init__(self) -> None:
        from scipy import stats

        self._stats = stats

    def versions(self) -> dict[str, str]:
        return versions(*STACK)

    def prepare(self, reference, numeric, categorical):
        return reference

    def detect(self, reference, window, numeric, categorical) -> Columns:
        import pandas as pd

        columns: Columns = {}
        for column in numeric:
            result = self._stats.ks_2samp(reference[column].to_numpy(), window[column].to_numpy())
            columns[column] = (float(result.statistic), float(result.pvalue))
        for column in categorical:
            counts = pd.concat([reference[column].value_counts(), window[column].value_counts()],
                               axis=1).fillna(0)
            chi2, p_value, _, _ = self._stats.chi2_contingency(counts.to_numpy().T)
            columns[column] = (float(chi2), float(p_value))
        return columns


class Evidently:
    """Evidently 0.7: a Report of one ``ValueDrift`` metric per column.

    ``method="ks"`` runs ``scipy.stats.ks_2samp`` on the two columns. Evidently has no chi2
    contingency test: its ``chisquare`` method is a goodness-of-fit test of the window's counts
    against the reference's proportions scaled to the window's size (``scipy.stats.chisquare``),
    which ignores the reference's own sampling noise, so its p-values are systematically smaller
    than the 2 x k contingency test's. ``ValueDrift``'s value is the p-value for both methods.
    """

    name = "evidently"
    notes = ["chi2 = Evidently's 'chisquare' method, a goodness-of-fit test "
             "(scipy.stats.chisquare), not the 2 x k contingency test: p-values differ by design"]

    def __init__(self) -> None:
        os.environ.setdefault("DO_NOT_TRACK", "1")
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import ValueDrift

        self._definition, self._dataset, self._report, self._metric = (
            DataDefinition, Dataset, Report, ValueDrift)

    def versions(self) -> dict[str, str]:
        return versions("evidently", *STACK)

    def prepare(self, reference, numeric, categorical):
        definition = self._definition(numerical_columns=list(numeric),
                                      categorical_columns=list(categorical))
        return definition, self._dataset.from_pandas(reference, data_definition=definition)

    def detect(self, state, window, numeric, categorical) -> Columns:
        definition, reference = state
        current = self._dataset.from_pandas(window, data_definition=definition)
        metrics = ([self._metric(column=c, method="ks") for c in numeric]
                   + [self._metric(column=c, method="chisquare") for c in categorical])
        snapshot = self._report(metrics, include_tests=False).run(current, reference)
        p_values = {}
        for item in snapshot.dict()["metrics"]:
            config = item["config"]
            p_values[config["column"]] = item["value"]
        return {column: (None, p_values[column]) for column in [*numeric, *categorical]}


class NannyML:
    """NannyML 0.13: ``UnivariateDriftCalculator`` with one chunk for the reference and one for
    the window (``chunk_number=1``).

    Kolmogorov-Smirnov: NannyML reports the D statistic and no p-value. With 10,000 reference
    rows or more (its default ``calculation_method="auto"``) it does not even compute the exact D:
    it bins the reference into 10,000 equal-width bins and estimates D from the two binned CDFs.
    Chi2: ``scipy.stats.chi2_contingency`` on the 2 x k table; the results frame holds the
    statistic and an alert flag, the p-value only the method object's private ``_p_value``, which
    is read here.
    """

    name = "nannyml"
    notes = ["KS: NannyML gives the D statistic only (no p-value), estimated from 10,000 "
             "equal-width bins when the reference has >= 10,000 rows",
             "chi2 p-value read from the method's private attribute _p_value (not in its results)"]

    def __init__(self) -> None:
        os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
        import nannyml

        self._nml = nannyml

    def versions(self) -> dict[str, str]:
        return versions("nannyml", *STACK)

    def prepare(self, reference, numeric, categorical):
        calculator = self._nml.UnivariateDriftCalculator(
            column_names=[*numeric, *categorical],
            treat_as_numerical=list(numeric),
            treat_as_categorical=list(categorical),
            continuous_methods=["kolmogorov_smirnov"],
            categorical_methods=["chi2"],
            chunk_number=1,
        )
        return calculator.fit(reference)

    def detect(self, state, window, numeric, categorical) -> Columns:
        result = state.calculate(window)
        data = result.data
        analysis = data[data[("chunk", "chunk", "period")] == "analysis"]
        if len(analysis) != 1:
            raise RuntimeError(f"expected one analysis chunk, got {len(analysis)}")
        row = analysis.iloc[0]
        columns: Columns = {}
        for column in numeric:
            columns[column] = (row[(column, "kolmogorov_smirnov", "value")], None)
        for column in categorical:
            (method,) = state._column_to_models_mapping[column]
            columns[column] = (row[(column, "chi2", "value")], method._p_value)
        return columns


class AlibiDetect:
    """alibi-detect 0.13: ``TabularDrift`` (K-S per numeric feature, ``chi2_contingency`` per
    categorical one), ``p_val=0.05``.

    ``correction`` accepts only "bonferroni" or "fdr" (anything else raises with more than one
    feature); it applies only to the batch-level verdict, and ``predict(drift_type="feature")``
    returns the raw per-feature p-values, which are what is compared here. TabularDrift takes one
    numeric matrix, so categorical columns are encoded to integer codes (timed: it is part of
    using it). Its p-values are stored as float32: about 7 significant digits, and anything below
    ~1e-45 becomes 0.
    """

    name = "alibi-detect"
    notes = ["per-feature p-values are float32 (7 digits; below ~1e-45 they become 0)",
             "correction must be bonferroni/fdr ('none' raises); per-feature p-values are raw"]

    def __init__(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from alibi_detect.cd import TabularDrift

        self._tabular_drift = TabularDrift

    def versions(self) -> dict[str, str]:
        return versions("alibi-detect", *STACK)

    @staticmethod
    def _matrix(frame, numeric, categorical, categories):
        import numpy as np
        import pandas as pd

        codes = [pd.Categorical(frame[c], categories=categories[c]).codes for c in categorical]
        return np.column_stack([frame[c].to_numpy(dtype=float) for c in numeric]
                               + [np.asarray(code, dtype=float) for code in codes])

    def prepare(self, reference, numeric, categorical):
        categories = {c: reference[c].dropna().unique() for c in categorical}
        x_ref = self._matrix(reference, numeric, categorical, categories)
        detector = self._tabular_drift(
            x_ref, p_val=0.05,
            categories_per_feature={len(numeric) + i: None for i in range(len(categorical))})
        return detector, categories

    def detect(self, state, window, numeric, categorical) -> Columns:
        detector, categories = state
        x = self._matrix(window, numeric, categorical, categories)
        data = detector.predict(x, drift_type="feature", return_p_val=True,
                                return_distance=True)["data"]
        names = [*numeric, *categorical]
        return {name: (data["distance"][i], data["p_val"][i]) for i, name in enumerate(names)}


class Frouros:
    """Frouros 0.9: one ``KSTest`` (``scipy.stats.ks_2samp``) per numeric column and one
    ``ChiSquareTest`` (``scipy.stats.chi2_contingency`` on counts made with
    ``collections.Counter``) per categorical column, each fitted on its reference column."""

    name = "frouros"
    notes: list[str] = []

    def __init__(self) -> None:
        from frouros.detectors.data_drift import ChiSquareTest, KSTest

        self._ks, self._chi2 = KSTest, ChiSquareTest

    def versions(self) -> dict[str, str]:
        return versions("frouros", *STACK)

    def prepare(self, reference, numeric, categorical):
        detectors = {}
        for column in numeric:
            detectors[column] = self._ks()
            detectors[column].fit(X=reference[column].to_numpy())
        for column in categorical:
            detectors[column] = self._chi2()
            detectors[column].fit(X=reference[column].to_numpy())
        return detectors

    def detect(self, state, window, numeric, categorical) -> Columns:
        columns: Columns = {}
        for column in [*numeric, *categorical]:
            result, _ = state[column].compare(X=window[column].to_numpy())
            columns[column] = (result.statistic, result.p_value)
        return columns


PEERS = {"scipy-floor-peers-venv": ScipyFloor, "evidently": Evidently, "nannyml": NannyML, "alibi-detect": AlibiDetect,
         "frouros": Frouros}

if __name__ == "__main__":
    sys.exit(main(PEERS))
