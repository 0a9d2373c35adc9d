"""Ingestion throughput per path against a floor measured in the same run.

    .venv/bin/python benchmarks/ingest.py                 # 1M rows, SQLite and PostgreSQL (~10 min on 2 cores)
    .venv/bin/python benchmarks/ingest.py --rows 100000   # a quick run
    .venv/bin/python benchmarks/ingest.py --rows 200000 --engines sqlite --paths http-json,http-arrow

Builds one file of ``--rows`` predictions with 25 features (20 numeric + 5 categorical) as CSV and
Parquet, then measures rows/s of each path, each in its own process (its peak RSS read from the
kernel when it exits):

- floor: pyarrow reads the file and PostgreSQL ``COPY`` loads the same rows into an UNLOGGED table
  (no validation, no duplicate check): what the storage and the reader alone cost;
- ``modelwatch ingest predictions`` of the CSV and of the Parquet file (the CLI, wall time);
- HTTP: ``POST /v1/models/{name}/predictions`` in 10k-row batches to a uvicorn server (time of
  the requests; the client's JSON encoding is not counted; RSS is the server's);
- ``Client.log_predictions`` in 10k-row batches (time of the calls; building the dicts is not counted).

Each path writes to its own model in a fresh database: a SQLite file, and a throwaway database on
the PostgreSQL server at ``--pg`` (default 127.0.0.1:5432), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMERIC = [f"n{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
BATCH = 10_000


def build(rows: int, folder: Path) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    start = np.datetime64("2026-01-01T00:00:00", "us")
    columns = {
        "request_id": pa.array([f"req-{i:09d}" for i in range(rows)]),
        "ts": pa.array(start + np.arange(rows).astype("timedelta64[ms]"), pa.timestamp("us", tz="UTC")),
        "prediction": pa.array(rng.integers(0, 2, rows)),
        "score": pa.array(rng.random(rows).round(4)),
        "latency_ms": pa.array(rng.gamma(2.0, 10.0, rows).round(2)),
        "status": pa.array(np.where(rng.random(rows) < 0.99, "ok", "timeout")),
    }
    for name in NUMERIC:
        columns[name] = pa.array(rng.normal(0, 1, rows).round(5))
    for i, name in enumerate(CATEGORICAL):
        levels = np.array([f"{name}_v{j}" for j in range(3 + 10 * i)])
        columns[name] = pa.array(levels[rng.integers(0, len(levels), rows)])
    table = pa.table(columns)
    parquet, csv = folder / "predictions.parquet", folder / "predictions.csv"
    pq.write_table(table, parquet)
    pacsv.write_csv(table, csv)
    return csv, parquet


def spec_for(name: str) -> dict:
    return {"name": name, "task": "binary_classification", "every": "5m", "window": "1h",
            "columns": {"numeric": NUMERIC, "categorical": CATEGORICAL}}


# --- children: each measurement in its own process, printing one JSON line --------------------

def child_floor(path: str, pg: str) -> dict:
    import io

    import psycopg
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    started = time.perf_counter()
    table = pq.read_table(path) if path.endswith(".parquet") else pacsv.read_csv(path)
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
    types = {"request_id": "text", "ts": "timestamptz", "status": "text", **{c: "text" for c in CATEGORICAL}}
    columns = ", ".join(f'"{c}" {types.get(c, "double precision")}' for c in table.column_names)
    with psycopg.connect(pg, autocommit=True) as connection:
        name = f"floor_{uuid.uuid4().hex[:8]}"
        connection.execute(f"CREATE UNLOGGED TABLE {name} ({columns})")
        with connection.cursor() as cursor, cursor.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
            view = buffer.getbuffer()
            for offset in range(0, len(view), 1 << 20):
                copy.write(view[offset:offset + (1 << 20)])
        connection.execute(f"DROP TABLE {name}")
    return {"rows": table.num_rows, "seconds": time.perf_counter() - started}


def _batches(path: str):
    import pyarrow.parquet as pq

    yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH)


def child_http(path: str, url: str, body: str = "json", model: str = "bench_http") -> dict:
    import httpx
    import pyarrow as pa
    import pyarrow.compute as pc

    spent = rows = 0
    accepted = 0
    with httpx.Client(base_url=url, headers={"Authorization": "Bearer bench"}, timeout=600) as client:
        for batch in _batches(path):
            if body == "arrow":
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, batch.schema) as writer:
                    writer.write_batch(batch)
                content, kind = sink.getvalue().to_pybytes(), "application/vnd.apache.arrow.stream"
            else:
                # "%S" of a microsecond timestamp is "05.123456": ISO 8601 as a client sends it
                batch = batch.set_column(1, "ts", pc.strftime(batch.column(1), "%Y-%m-%dT%H:%M:%S+00:00"))
                content, kind = json.dumps({"rows": batch.to_pylist()}).encode(), "application/json"
            started = time.perf_counter()
            answer = client.post(f"/v1/models/{model}/predictions", content=content, headers={"Content-Type": kind})
            spent += time.perf_counter() - started
            answer.raise_for_status()
            accepted += answer.json()["accepted"]
            rows += batch.num_rows
    return {"rows": rows, "accepted": accepted, "seconds": spent}


def child_validate(path: str) -> dict:
    """Validation alone (no database): the file readers, and validate_records on 10k-row dicts."""
    from monitor.ingest import read_batches, validate_records
    from monitor.spec import ModelSpec

    spec = ModelSpec.model_validate(spec_for("bench"))
    result = {}
    started = time.perf_counter()
    rows = sum(b.table.num_rows for b in read_batches(path, "predictions", spec, batch_size=50_000))
    result["file"] = {"rows": rows, "seconds": time.perf_counter() - started}
    if path.endswith(".parquet"):
        spent = rows = 0
        for batch in _batches(path):
            records = batch.to_pylist()
            started = time.perf_counter()
            rows += validate_records(records, "predictions", spec).table.num_rows
            spent += time.perf_counter() - started
        result["dicts"] = {"rows": rows, "seconds": spent}
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


def child_client(path: str, shape: str = "dicts", model: str = "bench_client") -> dict:
    """``Client.log_predictions`` per 10k rows: row dicts (``dicts``) or a pyarrow Table (``table``);
    CPU is the process's (all its threads) during the calls."""
    import pyarrow as pa

    from monitor.client import Client

    client = Client(model)
    spent = cpu = rows = accepted = 0
    for batch in _batches(path):
        records = batch.to_pylist() if shape == "dicts" else pa.Table.from_batches([batch])
        started, started_cpu = time.perf_counter(), time.process_time()
        result = client.log_predictions(records)
        spent += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        accepted += result.accepted
        rows += len(records)
    return {"rows": rows, "accepted": accepted, "seconds": spent, "cpu": cpu,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


# --- the parent -------------------------------------------------------------------------------

def _popen_rss(command: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float, int, float]:
    """Run to the end: the result, wall seconds, peak RSS (KiB) and CPU seconds (user + system)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out, err = process.stdout.read(), process.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,):
        raise SystemExit(f"{' '.join(command)} exited {code}:\n{err.decode()[-3000:]}")
    return (subprocess.CompletedProcess(command, code, out, err), wall, usage.ru_maxrss,
            usage.ru_utime + usage.ru_stime)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API server did not answer /healthz")


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process so far (Linux /proc), to time a server's share."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


MODELS = ("bench_csv", "bench_parquet", "bench_http", "bench_arrow", "bench_client", "bench_table")
PATHS = ("csv", "parquet", "http-json", "http-arrow", "client-dicts", "client-table")


def measure_engine(engine: str, url: str, csv: Path, parquet: Path, folder: Path, results: list,
                   paths: tuple[str, ...] = PATHS) -> None:
    """Each path of one engine: (engine, path, rows, seconds, peak RSS KiB, rows stored, CPU s)."""
    from monitor.db.engine import dispose_all, session_scope
    from monitor.db.migrate import upgrade
    from monitor.spec import ModelSpec
    from monitor.store import models as store

    upgrade(url)
    with session_scope(url) as session:
        for name in MODELS:
            store.upsert_model(session, ModelSpec.model_validate(spec_for(name)))
    dispose_all()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MODELWATCH_DATABASE_URL": url,
           "MODELWATCH_DATA_DIR": str(folder / f"data-{engine}"), "MODELWATCH_LOGSTORE_URL": str(folder / f"segments-{engine}"),
           "MODELWATCH_API_TOKEN": "bench", "MODELWATCH_MAX_BODY_BYTES": str(256 << 20), "MODELWATCH_AUTO_MIGRATE": "0"}

    def note(label: str, rows: int, seconds: float, rss: int, accepted: int, cpu: float) -> None:
        results.append((engine, label, rows, seconds, rss, accepted, cpu))
        print(f"  {engine:10} {label:24} {rows / seconds:>10,.0f} rows/s  {cpu:6.1f} CPU-s", flush=True)

    for label, path, model in (("CLI CSV", csv, "bench_csv"), ("CLI Parquet", parquet, "bench_parquet")):
        if model.removeprefix("bench_") not in paths:
            continue
        done, wall, rss, cpu = _popen_rss(_python("-m", "frontdoors.cli", "ingest", "predictions", str(path),
                                                  "--model", model, "--json"), env)
        counts = json.loads(done.stdout)
        note(label, counts["accepted"] + counts["duplicates"] + counts["quarantined"], wall, rss, counts["accepted"], cpu)
    served = [(label, body, model) for label, body, model in (("HTTP JSON 10k batches", "json", "bench_http"),
                                                              ("HTTP Arrow 10k batches", "arrow", "bench_arrow"))
              if f"http-{body}" in paths]
    if served:
        http, rss = _measure_http(served, parquet, env)
        for label, measured, cpu in http:
            note(label, measured["rows"], measured["seconds"], rss, measured["accepted"], cpu)
    for label, shape, model in (("Client.log_predictions", "dicts", "bench_client"),
                                ("Client, pyarrow Table", "table", "bench_table")):
        if f"client-{shape}" not in paths:
            continue
        done, _, rss, _ = _popen_rss(_python(__file__, "--child", "client", str(parquet), shape, model), env)
        client = json.loads(done.stdout.decode().splitlines()[-1])
        note(label, client["rows"], client["seconds"], rss, client["accepted"], client["cpu"])


def _measure_http(served: list[tuple[str, str, str]], parquet: Path, env: dict) -> tuple[list, int]:
    """Each (label, body, model) of ``served`` against one uvicorn server: the measurements with the
    server's CPU seconds during each, and the server's peak RSS (KiB)."""
    port = _free_port()
    server = subprocess.Popen(_python("-m", "uvicorn", "--factory", "frontdoors.api.app:app_from_env",
                                      "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                              env=env, cwd=ROOT)
    http = []
    try:
        _wait_http(f"http://127.0.0.1:{port}")
        for label, body, model in served:
            before = _cpu_seconds(server.pid)
            done, _, _, _ = _popen_rss(_python(__file__, "--child", "http", str(parquet), f"http://127.0.0.1:{port}",
                                               body, model), env)
            http.append((label, json.loads(done.stdout.decode().splitlines()[-1]), _cpu_seconds(server.pid) - before))
    finally:
        server.terminate()
        _, _, usage = os.wait4(server.pid, 0)
    return http, usage.ru_maxrss


def measure_floors(csv: Path, parquet: Path, pg: str, env: dict) -> dict[str, tuple[float, int, tuple]]:
    floors = {}
    for label, path in (("csv", csv), ("parquet", parquet)):
        done, _, rss, _ = _popen_rss(_python(__file__, "--child", "floor", str(path), pg), env)
        floor = json.loads(done.stdout.decode().splitlines()[-1])
        floors[label] = (floor["rows"] / floor["seconds"], rss, ())
        print(f"  floor      {label:16} {floors[label][0]:>10,.0f} rows/s", flush=True)
    return floors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="an admin URL of a PostgreSQL server this run may create a database on")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"which paths to measure, comma-separated (default: all of {','.join(PATHS)})")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and segments")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        children = {"floor": child_floor, "http": child_http, "client": child_client, "validate": child_validate}
        result = children[kind](*rest)
        print(json.dumps(result))
        return
    sys.path.insert(0, str(ROOT))
    import psycopg

    folder = Path(tempfile.mkdtemp(prefix="mw-ingest-bench-"))
    database = f"mw_bench_{uuid.uuid4().hex[:10]}"
    try:
        started = time.perf_counter()
        csv, parquet = build(args.rows, folder)
        print(f"built {args.rows:,} rows x 25 features in {time.perf_counter() - started:.1f} s "
              f"(CSV {csv.stat().st_size / 1e6:.0f} MB, Parquet {parquet.stat().st_size / 1e6:.0f} MB); "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        floors = measure_floors(csv, parquet, args.pg, env)
        validation = []
        for label, path in (("CSV", csv), ("Parquet", parquet)):
            done, _, rss, _ = _popen_rss(_python(__file__, "--child", "validate", str(path)), env)
            measured = json.loads(done.stdout.decode().splitlines()[-1])
            validation.append((f"read + validate {label}", measured["file"], rss))
            if "dicts" in measured:
                validation.append(("validate 10k-row dicts", measured["dicts"], rss))
        for label, measured, _ in validation:
            print(f"  no database {label:24} {measured['rows'] / measured['seconds']:>10,.0f} rows/s", flush=True)
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        base = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        urls = {"sqlite": f"sqlite:///{folder / 'state.db'}", "postgresql": f"{base}/{database}"}
        results: list = []
        paths = tuple(args.paths.split(","))
        unknown = sorted(set(paths) - set(PATHS))
        if unknown:
            parser.error(f"unknown path(s) {unknown}; known: {', '.join(PATHS)}")
        for engine in args.engines.split(","):
            measure_engine(engine, urls[engine], csv, parquet, folder, results, paths)
        after = measure_floors(csv, parquet, args.pg, env)  # the load may change during a long run
        floors = {label: ((rate + after[label][0]) / 2, max(rss, after[label][1]), (rate, after[label][0]))
                  for label, (rate, rss, _) in floors.items()}
        report(args.rows, floors, validation, results)
    finally:
        from monitor.db.engine import dispose_all

        dispose_all()
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")


def report(rows: int, floors: dict, validation: list, results: list) -> None:
    print(f"\n{rows:,} rows, 25 features; load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("x floor: rows/s over the mean of the floor measured before and after the paths; CPU-s: the "
          "CLI process, the API server during the requests, the client process during the calls "
          "(not the database server's)")
    print(f"{'engine':<11} {'path':<30} {'rows/s':>10} {'x floor':>8} {'CPU-s':>7} {'peak RSS':>9} {'stored':>10}")
    for label, (rate, rss, (before, after)) in floors.items():
        print(f"{'postgresql':<11} {'floor (' + label + ': read + COPY)':<30} {rate:>10,.0f} {1:>8.2f} {'':>7} "
              f"{rss / 1024:>6.0f} MB {'':>10}  (before {before:,.0f}, after {after:,.0f})")
    for label, measured, rss in validation:
        floor = floors["csv" if "CSV" in label else "parquet"][0]
        rate = measured["rows"] / measured["seconds"]
        print(f"{'(none)':<11} {label:<30} {rate:>10,.0f} {rate / floor:>8.2f} {'':>7} {rss / 1024:>6.0f} MB {'':>10}")
    for engine, label, count, seconds, rss, accepted, cpu in results:
        floor = floors["csv" if "CSV" in label else "parquet"][0]
        rate = count / seconds
        print(f"{engine:<11} {label:<30} {rate:>10,.0f} {rate / floor:>8.2f} {cpu:>7.1f} {rss / 1024:>6.0f} MB "
              f"{accepted:>10,}")


if __name__ == "__main__":
    main()
