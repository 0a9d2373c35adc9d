"""False alarms and detection delay of the real-time detectors (monitor/stream/detectors.py).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/stream_detectors.py

Seeded and offline (no database, no broker): 40 runs of 200 healthy 20-row chunks (random 1%
errors, scores around 0.6, latency around 40 ms), then a broken deploy (40% errors, scores around
0.15). It prints the false alarms on the healthy traffic and how often the first broken chunk, and
the first two, raised each alarm. The figures are quoted in docs/alerts-and-recovery.md.
"""

from __future__ import annotations

import numpy as np

from monitor.stream.detectors import ModelStream, StreamRow

RUNS, HEALTHY_ROWS, CHUNK = 40, 4000, 20


def traffic(start: int, n: int, error_rate: float, score: float, seed: int) -> list[StreamRow]:
    rng = np.random.default_rng(seed)
    return [StreamRow(i, None, float(np.clip(rng.normal(score, 0.15), 0, 1)), float(rng.normal(40, 5)),
                      "error" if rng.random() < error_rate else "ok") for i in range(start, start + n)]


def main() -> None:
    false_alarms, first = 0, {"stream_error_rate": 0, "stream_score": 0}
    within_two = dict(first)
    for seed in range(RUNS):
        stream = ModelStream(None, chunk_rows=CHUNK)
        false_alarms += len(stream.feed(traffic(1, HEALTHY_ROWS, 0.01, 0.6, seed)))
        one = {f.rule for f in stream.feed(traffic(HEALTHY_ROWS + 1, CHUNK, 0.4, 0.15, seed + 100))}
        two = one | {f.rule for f in stream.feed(traffic(HEALTHY_ROWS + CHUNK + 1, CHUNK, 0.4, 0.15, seed + 200))}
        for rule in first:
            first[rule] += rule in one
            within_two[rule] += rule in two
    print(f"false alarms over {RUNS} runs x {HEALTHY_ROWS // CHUNK} healthy chunks: {false_alarms}")
    for rule in first:
        print(f"{rule}: first broken chunk {first[rule]}/{RUNS}, within two chunks {within_two[rule]}/{RUNS}")


if __name__ == "__main__":
    main()
