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

PostgreSQL's server processes belong to the server, not to pytest, and are not counted (the
tests' databases live on a shared server whose backends serve other users too).
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
        "children_cpu": (times1.children_user - times0.children_user)
        + (times1.children_system - times0.children_system),
        "loadavg_end": os.getloadavg()}))
    return code


KINDS = [
    ("xdist worker", re.compile(r"exec\(eval\(sys\.stdin")),
    ("modelwatch serve", re.compile(r"modelwatch(\.\w+)? serve|uvicorn")),
    ("celery beat", re.compile(r"celery.* beat|modelwatch beat")),
    ("celery worker", re.compile(r"celery.* worker|modelwatch worker")),
    ("celery other", re.compile(r"-m celery|bin/celery")),
    ("modelwatch cli", re.compile(r"bin/modelwatch|-m frontdoors|-m modelwatch")),
    ("mlflow server", re.compile(r"mlflow server")),
    ("redis", re.compile(r"redis-(server|sentinel)")),
    ("browser", re.compile(r"chrom|playwright|headless_shell")),
    ("node", re.compile(r"\bnode\b|n8n|npm")),
    ("pip", re.compile(r"-m pip|pip/")),
    ("pytest", re.compile(r"pytest")),
    ("python other", re.compile(r"python")),
]


def kind_of(cmd: str) -> str:
    for name, pattern in KINDS:
        if pattern.search(cmd):
            return name
    return "other"


def attribute(records: list[dict], sampled: list[dict]) -> list[tuple[dict, dict, bool]]:
    """Each exited process of the run as (acct record, sampled entry, sampled itself?): a process the
    sampler saw is its own entry; one too short-lived to be seen takes its nearest seen ancestor's."""
    by_pid: dict[int, list[dict]] = defaultdict(list)
    for entry in sampled:
        if entry["ours"]:
            by_pid[entry["pid"]].append(entry)

    def seen(record: dict) -> dict | None:
        return next((e for e in by_pid.get(record["pid"], []) if abs(e["ctime"] - record["btime"]) <= 1.5), None)

    known: dict[int, dict] = {}
    rows = []
    for record in sorted(records, key=lambda r: r["btime"]):
        entry = seen(record)
        if entry is not None:
            known[record["pid"]] = entry
            rows.append((record, entry, True))
        elif record["ppid"] in known:  # a child exits before its parent, so the parent is known
            known[record["pid"]] = known[record["ppid"]]
            rows.append((record, known[record["ppid"]], False))
    return rows


def report(out: Path, top: int) -> None:
    meta = json.loads((out / "run.json").read_text())
    sampled = json.loads((out / "processes.json").read_text())
    rows = attribute(read_acct(out / "acct"), sampled)
    parents = {e["pid"]: e for e in sampled if e["ours"]}
    per_kind: dict[str, list] = defaultdict(lambda: [0, 0.0])
    per_test: dict[str, float] = defaultdict(float)
    per_test_kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_command: dict[str, list] = defaultdict(lambda: [0, 0.0])
    for record, entry, itself in rows:
        kind = kind_of(entry["cmd"])
        if kind in ("celery worker", "celery beat") and "celery" in parents.get(entry["ppid"], {}).get("cmd", ""):
            kind += " (pool child)"
        if not itself:
            kind = f"child of {kind}"
        per_kind[kind][0] += 1
        per_kind[kind][1] += record["cpu"]
        if itself and kind in ("modelwatch cli", "modelwatch serve"):
            command = re.search(r"modelwatch(?:\.\w+)? (\w+)", entry["cmd"])
            per_command[command.group(1) if command else "?"][0] += 1
            per_command[command.group(1) if command else "?"][1] += record["cpu"]
        if kind != "xdist worker":  # its CPU per test comes from the hook
            test = (entry["test"] or "(session)").rsplit(" (", 1)[0]
            per_test[test] += record["cpu"]
            per_test_kind[test][kind] += record["cpu"]
    hook: dict[str, dict] = {}
    for path in out.glob("tests-*.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            hook[row["nodeid"]] = row
    total = sum(cpu for _, cpu in per_kind.values())
    print(f"pytest wall {meta['wall']:.0f} s, exit {meta['exit']}; CPU of every exited process of the run "
          f"{total:.0f} s (acct); load average at the end {', '.join(f'{x:.1f}' for x in meta['loadavg_end'])}")
    inside = sum(row["self_cpu"] for row in hook.values())
    print(f"pytest workers inside tests (hook): {inside:.0f} CPU-s over {len(hook)} tests")
    print("\nCPU-s  processes  kind")
    for kind, (count, cpu) in sorted(per_kind.items(), key=lambda kv: -kv[1][1]):
        if cpu >= 0.5:
            print(f"  {cpu:7.1f}  {count:5d}  {kind}")
    commands = sorted(per_command.items(), key=lambda kv: -kv[1][1])
    print("\nmodelwatch commands: " + ", ".join(f"{name} {count}x {cpu:.1f}" for name, (count, cpu) in commands))
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
