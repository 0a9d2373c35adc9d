#!/usr/bin/env bash
# Create benchmarks/.peers-venv: the separate environment in which benchmarks/drift.py runs the
# peer drift libraries (Evidently, NannyML, alibi-detect, Frouros). They cannot share modelwatch's
# venv: alibi-detect requires numpy < 2 (also through numba < 0.60) and pandas < 3 (Evidently is
# reported to need pandas < 3 as well, though its metadata does not say so), and Frouros requires
# scipy < 1.15, while modelwatch pins numpy 2, pandas 3 and scipy 1.17.
#
#   bash benchmarks/setup-peers.sh            # create or update the venv
#   PYTHON=/path/to/python3.11 bash benchmarks/setup-peers.sh   # another interpreter
#
# Versions are pinned so that two runs of the benchmark compare the same code. The numeric stack
# (numpy / scipy / pandas / pyarrow) is pinned to the newest versions all four peers accept
# together: pip's own resolution of the four pinned peers plus pandas < 3, except pyarrow, where
# pip picks 26, which imports only with numpy >= 2; 25.0.1 is the newest that runs on numpy 1.26.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.peers-venv"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3

PEERS=(
    "evidently==0.7.23"
    "nannyml==0.13.1"
    "alibi-detect==0.13.0"
    "frouros==0.9.0"
)
STACK=(
    "numpy==1.26.4"
    "scipy==1.14.1"
    "pandas==2.3.3"
    "pyarrow==25.0.1"
)

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "${PEERS[@]}" "${STACK[@]}"

# Say now, not in the middle of a benchmark, whether each peer imports (drift.py prints a
# failing peer's error line and goes on with the others).
"$venv/bin/python" - <<'EOF'
import importlib.metadata as md
for dist, module in [("evidently", "evidently"), ("nannyml", "nannyml"),
                     ("alibi-detect", "alibi_detect.cd"), ("frouros", "frouros"),
                     ("numpy", "numpy"), ("scipy", "scipy"), ("pandas", "pandas"),
                     ("pyarrow", "pyarrow")]:
    try:
        __import__(module)
        status = "ok"
    except Exception as exc:  # noqa: BLE001 - report every peer's failure, not just the first
        status = f"IMPORT FAILED: {exc!r}"
    print(f"  {dist:<13} {md.version(dist):<10} {status}")
EOF
echo "peers venv ready: $venv"
