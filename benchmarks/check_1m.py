"""A 1M-row check: wall time per stage and the worker's peak RSS, against the goals (10 s, 500 MB).

    .venv/bin/python benchmarks/check_1m.py                       # 1M-row window, 200k-row reference
    .venv/bin/python benchmarks/check_1m.py --rows 200k --reference 50k --database postgresql+psycopg://...

One command, three processes (SQLite in a temporary folder unless ``--database`` names another):

1. ``seed``: registers a binary classifier (20 numeric + 5 categorical features, segments on
   ``c0``; benchmarks/check_data.py) with a ``--reference``-row reference, stores a labelled
   ``--rows``-row window through ``logs.save_batch`` as Arrow tables (CONTRACT.md layout, 100k-row
   batches; some features drifted) and opens one check run over it.
2. ``check``: a fresh process that imports the worker's code and runs the six stages of that run
   through ``monitor.check.stages.run_stage`` (what the Celery tasks call), as one worker process
   would, timing each stage (wall and CPU seconds). Its peak RSS (``ru_maxrss``: the high-water
   mark of its whole life, interpreter and imports included) is the worker's.
3. ``idle``: the same imports and nothing else: the floor of a worker's RSS on this machine.

Printed: seconds per stage, total, peak RSS, and each against its goal; the load average beside
them (the machine is shared: CPU seconds are the steadier figure under contention).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
GOAL_SECONDS, GOAL_MB = 10.0, 500.0
BATCH = 100_000
STAGES = ("collect", "evaluate", "detect", "alert", "schedule_recovery", "report")


def _count(text: str) -> int:
    text = text.lower()
    scale = 1_000_000 if text.endswith("m") else 1000 if text.endswith("k") else 1
    return int(float(text.rstrip("mk")) * scale)


def _tables(frame, default_version: str):
    """Predictions and labels of a ``load_window``-layout frame as CONTRACT.md's Arrow tables."""
    import pyarrow as pa

    import check_data

    columns = {"request_id": pa.array(frame["request_id"].to_numpy(), pa.string()),
               "ts": pa.array(frame["ts"].to_numpy(), pa.timestamp("us", tz="UTC")),
               "version": pa.nulls(len(frame), pa.string()),
               "prediction": pa.array(frame["prediction"].to_numpy(), pa.int64()),
               "score": pa.array(frame["score"].to_numpy(), pa.float64()),
               "latency_ms": pa.array(frame["latency_ms"].to_numpy(), pa.float64()),
               "status": pa.array(frame["status"].to_numpy(), pa.string())}
    columns.update({f"f.{name}": pa.array(frame[name].to_numpy(), pa.float64(), from_pandas=True)
                    for name in check_data.NUMERIC})
    columns.update({f"f.{name}": pa.array(frame[name].to_numpy(), pa.string(), from_pandas=True)
                    for name in check_data.CATEGORICAL})
    labels = pa.table({"request_id": columns["request_id"], "label": pa.array(frame["label"].to_numpy(), pa.int64()),
                       "ts": pa.nulls(len(frame), pa.timestamp("us", tz="UTC"))})
    return pa.table(columns), labels


def seed(url: str, rows: int, reference_rows: int, end: dt.datetime) -> dict:
    import check_data
    from monitor.db.engine import session_scope
    from monitor.db.migrate import upgrade
    from monitor.registry import builtin
    from monitor.spec import parse_spec
    from monitor.store import logs, models, runs

    upgrade(url)
    spec = parse_spec({**check_data.spec_document(), "window": "1h", "alerts": [{"log": {}}]}, "bench")[0]
    started = time.perf_counter()
    with session_scope(url) as session:
        model, _ = models.upsert_model(session, spec)
        builtin.register(session, model, spec, "v1", reference=check_data.reference_frame(reference_rows))
        model_id = model.id
    registered = time.perf_counter() - started
    started = time.perf_counter()
    window = check_data.window_frame(rows, start=(end - dt.timedelta(minutes=55)).isoformat(), span_s=3000.0)
    for first in range(0, rows, BATCH):
        predictions, labels = _tables(window.iloc[first:first + BATCH], "v1")
        with session_scope(url) as session:
            for kind, table in (("predictions", predictions), ("labels", labels)):
                logs.save_batch(session, model_id, kind, SimpleNamespace(table=table, rejected=[], duplicates=0, rows=[]),
                                "benchmark", "v1")
    stored = time.perf_counter() - started
    with session_scope(url) as session:
        run, _ = runs.open_run(session, model_id=model_id, model_name=spec.name, version="v1", trigger="manual",
                               start=end - dt.timedelta(hours=1), end=end)
        run_id = run.id
    return {"run_id": run_id, "register_s": registered, "store_s": stored}


def rerun(url: str, run_id: str) -> dict:
    """A new run over the window of ``run_id`` (a forced re-run), so one seed serves many checks."""
    from monitor.db.engine import session_scope
    from monitor.store import runs

    os.environ["MODELWATCH_DATABASE_URL"] = url
    with session_scope(url) as session:
        old = runs.get_run(session, run_id)
        run, _ = runs.open_run(session, model_id=old.model_id, model_name="bench1m", version=old.version,
                               trigger="manual", start=old.window_start, end=old.window_end, rerun=True)
        return {"run_id": run.id}


def _imports() -> None:
    import workers  # noqa: F401  (first, as in a worker: it picks Arrow's allocator)
    import monitor.check.stages  # noqa: F401  (what a worker has loaded before its first task)
    import monitor.detect.rules  # noqa: F401
    import monitor.plugins  # noqa: F401


def _high_water_mb() -> float:
    """VmHWM: the process's peak RSS so far (what ``ru_maxrss`` reports at the end)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))


def check(url: str, run_id: str, profile: str | None = None) -> dict:
    os.environ["MODELWATCH_DATABASE_URL"] = url
    _imports()
    from monitor.check.stages import STAGES as BODIES, run_stage
    from monitor.config import Settings
    from monitor.plugins import RULES  # noqa: F401  (rules register on import, as in the worker)

    settings = Settings()
    seconds, cpu, high_water = {}, {}, {"imports": _high_water_mb()}
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for name in STAGES:
        started, started_cpu = time.perf_counter(), time.process_time()
        run_stage(settings, run_id, name, BODIES[name])
        seconds[name], cpu[name] = time.perf_counter() - started, time.process_time() - started_cpu
        high_water[name] = _high_water_mb()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    from monitor.db.engine import session_scope
    from monitor.store import runs

    with session_scope(url) as session:
        run = runs.get_run(session, run_id)
        status, firing = run.status, sorted({f.rule for f in runs.findings_of(session, run_id) if f.status == "firing"})
        labelled = (run.results.get("counts") or {}).get("labelled_rows")
    return {"seconds": seconds, "cpu": cpu, "high_water": high_water, "status": status, "firing": firing, "labelled_rows": labelled,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def idle() -> dict:
    _imports()
    return {"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(*args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True,
                         cwd=str(ROOT))
    if out.returncode:
        raise SystemExit(f"{args[0]} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1M")
    parser.add_argument("--reference", default="200k")
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database (default: SQLite in a temp folder)")
    parser.add_argument("--profile", help="write cProfile stats of the check process's stages to this file")
    parser.add_argument("--reuse", nargs=2, metavar=("URL", "RUN_ID"),
                        help="skip seeding: re-check this run of an earlier seed (a new run of its window)")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        action, url, *rest = args.child
        if action == "seed":
            os.environ.setdefault("MODELWATCH_DATABASE_URL", url)
            result = seed(url, int(rest[0]), int(rest[1]), dt.datetime.fromisoformat(rest[2]))
        elif action == "check":
            result = check(url, rest[0], rest[1] if len(rest) > 1 else None)
        elif action == "rerun":
            result = rerun(url, rest[0])
        else:
            result = idle()
        print(json.dumps(result))
        return
    rows, reference_rows = _count(args.rows), _count(args.reference)
    folder = tempfile.mkdtemp(prefix="mw-check-1m-")
    os.environ.setdefault("MODELWATCH_DATA_DIR", folder)
    url = args.database or f"sqlite:///{folder}/modelwatch.db"
    end = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    print(f"{rows:,}-row labelled window, {reference_rows:,}-row reference, 20 numeric + 5 categorical; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.reuse:
        url, run_id = args.reuse
        run_id = _child("rerun", url, run_id)["run_id"]
    else:
        seeded = _child("seed", url, str(rows), str(reference_rows), end.isoformat())
        run_id = seeded["run_id"]
        print(f"seeded: registered (reference profile) in {seeded['register_s']:.1f} s, stored the window in "
              f"{seeded['store_s']:.1f} s ({rows / seeded['store_s']:,.0f} rows/s with labels); "
              f"reuse with --reuse {url} {run_id}", flush=True)
    floor = _child("idle", url)
    load_before = os.getloadavg()[0]
    result = _child("check", url, run_id, *([args.profile] if args.profile else []))
    print(f"{'stage':<20}{'wall s':>9}{'CPU s':>9}{'peak MB so far':>16}")
    print(f"{'(imports)':<20}{'':>18}{result['high_water']['imports']:>16.0f}")
    for name in STAGES:
        print(f"{name:<20}{result['seconds'][name]:>9.2f}{result['cpu'][name]:>9.2f}{result['high_water'][name]:>16.0f}")
    total, total_cpu = sum(result["seconds"].values()), sum(result["cpu"].values())
    print(f"{'total':<20}{total:>9.2f}{total_cpu:>9.2f}   goal {GOAL_SECONDS:.0f} s: "
          f"{'met' if total <= GOAL_SECONDS else f'{total / GOAL_SECONDS:.1f}x over'}")
    peak = result["peak_mb"]
    verdict = "met" if peak <= GOAL_MB else f"{peak / GOAL_MB:.1f}x over"
    print(f"worker peak RSS {peak:.0f} MB (idle worker with the same imports {floor['peak_mb']:.0f} MB)"
          f"   goal {GOAL_MB:.0f} MB: {verdict}")
    print(f"run {result['status']}, {result['labelled_rows']:,} labelled rows, firing: {', '.join(result['firing'])}")
    print(f"load average before the check {load_before:.2f}, after {os.getloadavg()[0]:.2f}; data in {folder}")


if __name__ == "__main__":
    main()
