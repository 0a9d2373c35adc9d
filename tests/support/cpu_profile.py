"""Where the suite's CPU goes: per test and per kind of process a test starts.

Why: the suite is CPU-bound (about 1,270 CPU-s on 2 cores), and wall-clock durations on a shared,
loaded machine say little about what to cut. This runs pytest under Linux process accounting
(``acct(2)``: the kernel writes every exiting process's exact user + system CPU, its pid, parent
and start time) while a sampler (psutil, every 0.5 s) records the command line of each process
pytest starts and the ``PYTEST_CURRENT_TEST`` it inherited, which names the test that started it.
A process too short-lived to be sampled is charged to its nearest sampled ancestor. The pytest
workers themselves are measured by a hook (``pytest_runtest_protocol`` in tests/conftest.py,
active when ``MODELWATCH_CPU_PROFILE`` names a folder): ``os.times()`` around each test.

Usage (as root, since ``acct(2)`` needs CAP_SYS_PACCT)::

    python -m tests.support.cpu_profile run OUT_DIR -- -n 4 --dist worksteal tests
    python -m tests.support.cpu_profile report OUT_DIR [--top 40]

PostgreSQL's server processes belong to the server, not to pytest; ``report`` lists them
apart (every session's ``postgres`` backends on the machine, so other users' load shows up too).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ACCT_V3 = struct.Struct("<ccHIIIIIIf8H16s")  # linux/acct.h struct acct_v3, 64 bytes
AHZ = 100
INTERVAL = 0.5
#: The variable that turns the per-test hook on (tests/conftest.py); its value is the output folder.
HOOK_ENV = "MODELWATCH_CPU_PROFILE"


def comp_t(value: int) -> float:
    """A ``comp_t`` (13-bit mantissa, 3-bit base-8 exponent, in 1/AHZ s) as seconds."""
    return ((value & 0x1FFF) << (3 * (value >> 13))) / AHZ


def read_acct(path: Path) -> list[dict]:
    data = path.read_bytes()
    records = []
    for offset in range(0, len(data) - ACCT_V3.size + 1, ACCT_V3.size):
        (_flag, version, _tty, _exit, _uid, _gid, pid, ppid, btime, etime, utime, stime,
         *_rest, comm) = ACCT_V3.unpack_from(data, offset)
        if version != b"\x03":
            continue
        records.append({"pid": pid, "ppid": ppid, "btime": btime, "etime": etime,
                        "cpu": comp_t(utime) + comp_t(stime), "comm": comm.split(b"\0")[0].decode(errors="replace")})
    return records


class Sampler(threading.Thread):
    """Records, for every process descending from ``root``, its command line and test."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.root = root
        self.seen: dict[int, dict] = {}  # pid -> the latest process with that pid
        self.history: list[dict] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(INTERVAL):
            self.sample()

    def sample(self) -> None:
        psutil = self.psutil
        for proc in psutil.process_iter(["pid", "ppid", "create_time"]):
            info = proc.info
            pid, ctime = info["pid"], info["create_time"]
            known = self.seen.get(pid)
            if known is not None and abs(known["ctime"] - ctime) < 0.01:
                try:
                    known["cpu"] = sum(proc.cpu_times()[:2])
                except psutil.Error:
                    pass
                continue
            parent = self.seen.get(info["ppid"])
            ours = pid == self.root or (parent is not None and parent["ours"])
            entry = {"pid": pid, "ppid": info["ppid"], "ctime": ctime, "ours": ours, "cmd": "", "test": "",
                     "cpu": 0.0, "worker": ""}
            try:
                cmd = proc.cmdline()
                entry["cmd"] = " ".join(cmd)[:300]
                if ours or "postgres" in entry["cmd"]:
                    env = proc.environ()
                    entry["test"] = env.get("PYTEST_CURRENT_TEST", "")
                    entry["worker"] = env.get("PYTEST_XDIST_WORKER", "")
                entry["cpu"] = sum(proc.cpu_times()[:2])
            except psutil.Error:
                pass
            self.seen[pid] = entry
            self.history.append(entry)


def run(out: Path, pytest_args: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    acct_file = out / "acct"
    acct_file.write_bytes(b"")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.acct(str(acct_file).encode()) != 0:
        raise SystemExit(f"acct({acct_file}) failed: errno {ctypes.get_errno()} (needs root)")
    env = dict(os.environ, **{HOOK_ENV: str(out)})
    start, t0 = time.time(), time.monotonic()
    times0 = os.times()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args], env=env)
        sampler = Sampler(proc.pid)
        sampler.start()
        code = proc.wait()
        sampler.stopped.set()
        sampler.join()
    finally:
        libc.acct(None)
    times1 = os.times()
    (out / "processes.json").write_text(json.dumps(sampler.history))
    (out / "run.json").write_text(json.dumps({
        "start": start, "wall": time.monotonic() - t0, "args": pytest_args, "exit": code,
        "children_cpu": (times1.children_user - times0.children_user) + (times1.children_system - times0.children_system),
        "loadavg_end": os.getloadavg()}))
    return code


KINDS = [
    ("modelwatch serve", re.compile(r"modelwatch(\.\w+)? serve|uvicorn")),
    ("celery worker", re.compile(r"celery.* worker|modelwatch worker")),
    ("celery beat", re.compile(r"celery.* beat|modelwatch beat")),
    ("celery other", re.compile(r"-m celery|bin/celery")),
    ("modelwatch cli", re.compile(r"bin/modelwatch|-m frontdoors|-m modelwatch")),
    ("redis", re.compile(r"redis-(server|sentinel)")),
    ("browser", re.compile(r"chrom|playwright|headless_shell")),
    ("node", re.compile(r"\bnode\b|n8n|npm")),
    ("pytest worker", re.compile(r"pytest|xdist|execnet")),
    ("postgres", re.compile(r"postgres|pg_ctl|initdb")),
    ("python other", re.compile(r"python")),
]


def kind_of(cmd: str, comm: str) -> str:
    for name, pattern in KINDS:
        if pattern.search(cmd or comm):
            return name
    return f"other ({comm})"


def report(out: Path, top: int) -> None:
    meta = json.loads((out / "run.json").read_text())
    sampled = json.loads((out / "processes.json").read_text())
    records = read_acct(out / "acct")
    by_pid: dict[int, list[dict]] = defaultdict(list)
    for entry in sampled:
        by_pid[entry["pid"]].append(entry)

    def sampled_entry(pid: int, btime: float) -> dict | None:
        for entry in by_pid.get(pid, []):
            if abs(entry["ctime"] - btime) <= 1.5:
                return entry
        return None

    acct_by_pid = {}
    for record in records:
        acct_by_pid[record["pid"]] = record  # the latest is enough for ancestry of short processes

    def attribution(record: dict, depth: int = 0) -> dict | None:
        entry = sampled_entry(record["pid"], record["btime"])
        if entry is not None:
            return entry
        if depth > 20:
            return None
        parent = acct_by_pid.get(record["ppid"])
        if parent is None:
            for entry in by_pid.get(record["ppid"], []):
                return entry if entry["ctime"] <= record["btime"] + 1.5 else None
            return None
        return attribution(parent, depth + 1)

    per_kind: dict[str, float] = defaultdict(float)
    per_test: dict[str, float] = defaultdict(float)
    per_test_kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    count_kind: dict[str, int] = defaultdict(int)
    postgres = 0.0
    matched = set()
    for record in records:
        entry = attribution(record)
        own = sampled_entry(record["pid"], record["btime"])
        if own is not None:
            matched.add((own["pid"], own["ctime"]))
        if entry is None or not entry["ours"]:
            if record["comm"] == "postgres":
                postgres += record["cpu"]
            continue
        cmd = own["cmd"] if own is not None else ""
        kind = kind_of(cmd, record["comm"]) if own is not None else kind_of(entry["cmd"], record["comm"])
        if kind == "pytest worker":
            continue  # measured per test by the hook
        test = (entry["test"] or "(session)").rsplit(" (", 1)[0]
        per_kind[kind] += record["cpu"]
        count_kind[kind] += 1
        per_test[test] += record["cpu"]
        per_test_kind[test][kind] += record["cpu"]
    # processes still alive at the end (not in acct): their last sampled CPU
    for entry in sampled:
        if entry["ours"] and (entry["pid"], entry["ctime"]) not in matched and entry["pid"] != meta.get("root"):
            kind = kind_of(entry["cmd"], "")
            if kind in ("pytest worker",):
                continue
            per_kind[kind + " (sampled)"] += entry["cpu"]

    hook: dict[str, dict] = {}
    for path in out.glob("tests-*.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            hook[row["nodeid"]] = row
    worker_cpu = sum(r["self_cpu"] for r in hook.values())
    print(f"pytest wall {meta['wall']:.0f} s, exit {meta['exit']}, CPU of pytest and its waited "
          f"children {meta['children_cpu']:.0f} s, load at end {meta['loadavg_end']}")
    print(f"pytest workers in tests (hook): {worker_cpu:.0f} CPU-s over {len(hook)} tests")
    print("\nCPU-s by kind of process (acct):")
    for kind, cpu in sorted(per_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {cpu:8.1f}  {count_kind.get(kind, 0):5d}  {kind}")
    print(f"  (postgres server processes on the machine, not pytest's: {postgres:.0f} CPU-s)")
    totals = {t: per_test.get(t, 0.0) + hook.get(t, {}).get("self_cpu", 0.0) for t in set(per_test) | set(hook)}
    print(f"\nTop {top} tests by CPU-s (pytest worker + processes it started):")
    for test, cpu in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(per_test_kind[test].items(), key=lambda kv: -kv[1]))
        row = hook.get(test, {})
        print(f"  {cpu:7.1f}  wall {row.get('wall', 0):6.1f}  self {row.get('self_cpu', 0):5.1f}  {test}  [{parts}]")
    per_file: dict[str, float] = defaultdict(float)
    for test, cpu in totals.items():
        per_file[test.split("::")[0]] += cpu
    print("\nCPU-s by test file:")
    for name, cpu in sorted(per_file.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {cpu:7.1f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run")
    run_p.add_argument("out", type=Path)
    run_p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    report_p = sub.add_parser("report")
    report_p.add_argument("out", type=Path)
    report_p.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    if args.command == "run":
        pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
        return run(args.out, pytest_args)
    report(args.out, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
