"""CPU-s of the ``modelwatch`` commands the suite starts most, for one or more source trees.

Each command runs as its own process (``python -c 'from frontdoors.cli import main; main()' ...``
with ``PYTHONPATH=<tree>``), on the embedded default (SQLite, filesystem broker), and its user +
system CPU is read from ``getrusage(RUSAGE_CHILDREN)``. Trees alternate within each round, so a
burst of load from something else on the machine falls on both. Prints the median per command
and tree, the ratio to the first tree, and the load average before and after.

    .venv/bin/python benchmarks/cli_startup.py --trees /tmp/base,/work/wt/startup --rounds 5

State (a model with a 3,000-row reference, an ingested window, one finished check with its
report) is built once with the first tree; ``apply`` runs on an empty data dir (new state: it
migrates and profiles the reference) and on a fresh copy of that state (existing: the model and
its profile are there), ``ingest``, ``check`` (enqueue) and ``agent --once`` (one host sample
written) on a fresh copy too. ``check --wait`` is served by a real worker (solo pool, the first
tree's code) started on the shared state; only the CLI's CPU is counted.

Project modules are compiled on import when the trees hold no ``__pycache__`` (the suite runs
with ``PYTHONDONTWRITEBYTECODE=1``): compare trees in the same state, e.g. both without.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(work: Path) -> dict[str, list[str]]:
    return {
        "--help": ["--help"],
        "apply -f (new state)": ["apply", "-f", str(work / "models.yaml")],
        "apply -f (existing state)": ["apply", "-f", str(work / "models.yaml")],
        "ingest predictions": ["ingest", "predictions", str(work / "predictions.csv"), "--model", "fraud"],
        "check (enqueue)": ["check", "fraud", "--rerun"],
        "check --wait (finished run)": ["check", "fraud", "--wait", "--fail-on", "never"],
        "report": ["report", "fraud", "-o", str(work / "out.html")],
        "status": ["status"],
        "alerts": ["alerts"],
        "agent --once": ["agent", "--model", "fraud", "--once"],
    }


#: commands that change the state run on a fresh copy each time (``apply``: on an empty data dir)
FRESH = {"apply -f (new state)": "empty", "apply -f (existing state)": "seeded", "ingest predictions": "seeded",
         "check (enqueue)": "seeded", "agent --once": "seeded"}


def seed(tree: Path, work: Path) -> None:
    """The spec, a window's files and a data dir holding one finished check (in-process chain)."""
    code = f"""
import os
from pathlib import Path
from tests.support.scenario import write_model, write_window
work = Path({str(work)!r})
write_model(work, "http://127.0.0.1:9/hook")
predictions, labels = write_window(work, version="1", recall=0.5)
os.replace(predictions, work / "predictions.csv"); os.replace(labels, work / "labels.csv")
"""
    env = {**clean_env(tree), "MODELWATCH_DATA_DIR": str(work / "seeded")}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tree)
    cli = [sys.executable, "-c", "from frontdoors.cli import main; main()"]
    for args in (["apply", "-f", str(work / "models.yaml")],
                 ["ingest", "predictions", str(work / "predictions.csv"), "--model", "fraud"],
                 ["ingest", "labels", str(work / "labels.csv"), "--model", "fraud"]):
        subprocess.run(cli + args, env=env, check=True, cwd=work, capture_output=True)
    chain = ("from tests.support.stages import run_chain; from monitor.config import get_settings; "
             "run_chain(get_settings(), 'fraud')")
    subprocess.run([sys.executable, "-c", chain], env={**env, "PYTHONPATH": f"{tree}"}, check=True, cwd=tree)


def clean_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    return {**env, "PYTHONPATH": str(tree), "MODELWATCH_OUTBOUND_ALLOW_PRIVATE": "true"}


def cpu_of(args: list[str], env: dict[str, str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-c", "from frontdoors.cli import main; main()", *args], env=env,
                            cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", default=str(ROOT), help="comma-separated source trees (first: the baseline)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated command labels (default: all)")
    options = parser.parse_args()
    trees = [Path(t).resolve() for t in options.trees.split(",")]
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as folder:
        work = Path(folder)
        seed(trees[0], work)
        todo = commands(work)
        if options.only:
            todo = {k: v for k, v in todo.items() if k in options.only.split(",")}
        samples: dict[tuple[str, Path], list[float]] = {}
        worker = None
        if "check --wait (finished run)" in todo:  # a real worker (solo pool) runs the chains --wait waits for
            sys.path.insert(0, str(trees[0]))
            from frontdoors import runner

            worker = runner.start_worker({**clean_env(trees[0]), "MODELWATCH_DATA_DIR": str(work / "seeded")},
                                         log=work / "worker.log", concurrency=1, pool="solo")
            runner.wait_ready(worker, "ready.", timeout=120)
        print(f"load before: {os.getloadavg()}", flush=True)
        for _ in range(options.rounds):
            for label, args in todo.items():
                for tree in trees:
                    data = work / "run"
                    shutil.rmtree(data, ignore_errors=True)
                    if FRESH.get(label) == "seeded":
                        shutil.copytree(work / "seeded", data)
                    elif FRESH.get(label) == "empty":
                        data.mkdir()
                    else:
                        data = work / "seeded"
                    env = {**clean_env(tree), "MODELWATCH_DATA_DIR": str(data)}
                    samples.setdefault((label, tree), []).append(cpu_of(args, env, work))
        print(f"load after: {os.getloadavg()}")
        if worker is not None:
            runner.Services([worker]).stop()
        print(f"{'command':30}" + "".join(f"{t.name:>22}" for t in trees) + "   (median CPU-s, ratio to first)")
        for label in todo:
            base = statistics.median(samples[(label, trees[0])])
            cells = []
            for tree in trees:
                median = statistics.median(samples[(label, tree)])
                cells.append(f"{median:.2f} ({median / base:.2f}x)")
            print(f"{label:30}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
