"""Loading a check's window from the log store: wall time and peak RSS, against a pyarrow floor.

    .venv/bin/python benchmarks/window_load.py                      # 1M rows x 25 features, SQLite
    .venv/bin/python benchmarks/window_load.py --rows 200k --legacy /path/to/old/checkout

Stores ``--rows`` predictions (20 numeric + 5 categorical features, 10k-row batches, half of them
labelled) with ``monitor.store.logs``, freezes the window, then in a fresh process each:

- ``floor``: ``pyarrow.parquet.read_table`` of the same segment files, all columns, ``to_pandas``
  (no checksum, no dedup, no label join): what reading the bytes costs on this machine now;
- ``load_window``: the check's read (``freeze_window`` + ``load_window``, checksums, dedup, join).

With ``--legacy DIR`` (a checkout before the log store, e.g. main before migration 0012), the same
rows are stored through that code's row tables and its ``load_window`` is timed the same way.
Printed: seconds, peak RSS of the process (MiB, ``ru_maxrss`` of the child) and the ratio to the
floor. Load average is printed beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMERIC, CATEGORICAL = 20, 5


def _count(text: str) -> int:
    text = text.lower()
    scale = 1_000_000 if text.endswith("m") else 1000 if text.endswith("k") else 1
    return int(float(text.rstrip("mk")) * scale)


def _spec() -> dict:
    return {"name": "bench", "task": "binary_classification", "every": "1h", "window": "1d",
            "columns": {"numeric": [f"n{i}" for i in range(NUMERIC)],
                        "categorical": [f"c{i}" for i in range(CATEGORICAL)]},
            "alerts": [{"log": {}}]}


def _batch(start: int, n: int, end: dt.datetime, columnar: bool):
    import numpy as np

    rng = np.random.default_rng(start)
    ts = [end - dt.timedelta(seconds=1 + (start + i) % 80_000) for i in range(n)]
    numeric = {f"n{j}": rng.normal(j, 1 + j / 10, n) for j in range(NUMERIC)}
    categorical = {f"c{j}": rng.choice([f"v{k}" for k in range(3 + 10 * j)], n) for j in range(CATEGORICAL)}
    ids = [f"req-{start + i}" for i in range(n)]
    prediction = rng.integers(0, 2, n)
    score = rng.random(n)
    if columnar:
        import pyarrow as pa

        columns = {"request_id": pa.array(ids), "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                   "version": pa.nulls(n, pa.string()), "prediction": pa.array(prediction),
                   "score": pa.array(score), "latency_ms": pa.array(rng.normal(40, 5, n)),
                   "status": pa.array(["ok"] * n)}
        columns.update({f"f.{k}": pa.array(v) for k, v in numeric.items()})
        columns.update({f"f.{k}": pa.array(v) for k, v in categorical.items()})
        labels = pa.table({"request_id": pa.array(ids[::2]), "label": pa.array(rng.integers(0, 2, len(ids[::2]))),
                           "ts": pa.nulls(len(ids[::2]), pa.timestamp("us", tz="UTC"))})
        return pa.table(columns), labels
    rows = [{"request_id": ids[i], "ts": ts[i], "prediction": int(prediction[i]), "score": float(score[i]),
             "latency_ms": 40.0, "status": "ok",
             "features": {**{k: float(v[i]) for k, v in numeric.items()}, **{k: str(v[i]) for k, v in categorical.items()}}}
            for i in range(n)]
    return rows, [{"request_id": ids[i], "label": int(i % 3 == 0)} for i in range(0, n, 2)]


def store(url: str, rows: int, batch: int, end: dt.datetime, columnar: bool) -> dict:
    from monitor.db.engine import session_scope
    from monitor.db.migrate import upgrade
    from monitor.spec import parse_spec
    from monitor.store import logs, models

    upgrade(url)
    with session_scope(url) as session:
        model_id = models.upsert_model(session, parse_spec(_spec())[0])[0].id
    started = time.perf_counter()
    for start in range(0, rows, batch):
        predictions, labels = _batch(start, min(batch, rows - start), end, columnar)
        with session_scope(url) as session:
            logs.insert_predictions(session, model_id, predictions, "1")
            logs.insert_labels(session, model_id, labels)
    return {"model_id": model_id, "store_s": time.perf_counter() - started}


def load(url: str, model_id: int, end: dt.datetime, what: str) -> dict:
    import resource

    import pyarrow.parquet as pq
    from sqlalchemy import create_engine, text

    from monitor.db.engine import session_scope
    from monitor.store import logs

    started = time.perf_counter()
    if what == "floor":
        with create_engine(url).connect() as connection:
            files = [r[0] for r in connection.execute(text("SELECT location FROM log_segments "
                                                           "WHERE kind = 'predictions' ORDER BY id"))]
        rows = len(pq.read_table(files).to_pandas())
    else:
        with session_scope(url) as session:
            start = end - dt.timedelta(days=1)
            watermark = logs.freeze_window(session, model_id, start, end, None)
            rows = len(logs.load_window(session, model_id, start, end, None, watermark))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=code)
    out = subprocess.run([sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True,
                         check=True, cwd=code)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1M")
    parser.add_argument("--batch", default="10k")
    parser.add_argument("--legacy", help="a checkout with the row-table store, timed the same way")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        action, url, *rest = args.child
        end = dt.datetime.fromisoformat(rest[-1])
        if action == "store":
            print(json.dumps(store(url, int(rest[0]), int(rest[1]), end, rest[2] == "columnar")))
        else:
            print(json.dumps(load(url, int(rest[0]), end, action)))
        return
    rows, batch = _count(args.rows), _count(args.batch)
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    folder = tempfile.mkdtemp(prefix="mw-window-load-")
    print(f"{rows:,} rows x {NUMERIC + CATEGORICAL} features in {batch:,}-row batches; load average "
          f"{os.getloadavg()[0]:.2f}")
    url = f"sqlite:///{folder}/new.db"
    stored = _child(ROOT, "store", url, str(rows), str(batch), "columnar", end.isoformat())
    floor = _child(ROOT, "floor", url, str(stored["model_id"]), end.isoformat())
    new = _child(ROOT, "window", url, str(stored["model_id"]), end.isoformat())
    results = [("pyarrow floor (read + to_pandas)", floor), ("log store load_window", new)]
    if args.legacy:
        old_url = f"sqlite:///{folder}/old.db"
        old_stored = _child(args.legacy, "store", old_url, str(rows), str(batch), "rows", end.isoformat())
        results.append(("row tables load_window (--legacy)", _child(args.legacy, "window", old_url,
                                                                    str(old_stored["model_id"]), end.isoformat())))
        print(f"row tables: stored in {old_stored['store_s']:.1f} s")
    print(f"log store: stored in {stored['store_s']:.1f} s ({rows / stored['store_s']:,.0f} rows/s incl. labels)")
    print(f"{'path':<36}{'rows':>10}{'seconds':>10}{'peak MiB':>10}{'x floor':>9}")
    for name, result in results:
        print(f"{name:<36}{result['rows']:>10,}{result['seconds']:>10.2f}{result['peak_mib']:>10.0f}"
              f"{result['seconds'] / floor['seconds']:>9.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}; data in {folder}")


if __name__ == "__main__":
    main()
