"""The compute of one check without the store: what evaluate and detect do to a window that is
already in memory (``load_window``'s layout), timed per part, optionally under cProfile.

    .venv/bin/python benchmarks/check_compute.py --rows 1000000 --reference 200000 [--profile out.prof]

It isolates the CPU and memory of KPIs, drift, quality, segments, estimation and the report from
loading (benchmarks/check_1m.py measures the whole check through the real stages).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=200_000)
    parser.add_argument("--profile", help="write cProfile stats of evaluate+detect here")
    args = parser.parse_args()

    import pandas as pd

    import check_data
    from monitor.check.evaluate import compute_window
    from monitor.check.results import EvaluateResult
    from monitor.detect.frames import window_frame
    from monitor.detect.rule import WindowContext, run_rules
    from monitor.reference import build_drift_reference, build_profile
    from monitor.spec.loading import parse_spec

    spec = parse_spec(check_data.spec_document(), "bench")[0]
    reference = check_data.reference_frame(args.reference)
    profile, baseline = build_profile(reference, spec)
    drift_reference = build_drift_reference(reference, spec)
    del reference
    window = check_data.window_frame(args.rows)
    print(f"data ready: window {len(window):,} rows, RSS {_rss_mb():.0f} MB", flush=True)

    timings: dict[str, float] = {}
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    result = compute_window(window, spec, profile, dict(baseline.kpis), window_seconds=3600.0)
    result = EvaluateResult.from_json(json.loads(json.dumps(result.to_json())))
    timings["evaluate"] = time.perf_counter() - started
    rss_after_evaluate = _rss_mb()
    started = time.perf_counter()
    context = WindowContext(spec=spec, window=window, frame=window_frame(window, spec), kpis=result.kpis,
                            labelled_rows=result.labelled_rows, baseline=result.baseline, segments=result.segments,
                            estimated=result.estimated, service=result.service, drift_reference=drift_reference,
                            reference_sample=pd.DataFrame.from_records(profile.get("sample") or []),
                            quality_stats=profile.get("quality"))
    timings["detect.context"] = time.perf_counter() - started
    started = time.perf_counter()
    detection = run_rules(context)
    timings["detect.rules"] = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    firing = sorted({f.rule for f in detection.findings if f.status == "firing"})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, seconds in timings.items():
        print(f"{name:16s} {seconds:7.2f} s")
    print(f"RSS after evaluate {rss_after_evaluate:.0f} MB, peak {peak:.0f} MB; firing: {', '.join(firing)}")


if __name__ == "__main__":
    main()
