#!/usr/bin/env bash
# GPU check (under 5 minutes on one GPU): bf16-vs-fp32 correctness on the golden TRM cases,
# TRM-MLP Sudoku and TRM-Att Maze throughput at paper width, MFU against the card's bf16 peak.
# Needs a CUDA build of torch in the environment: pip install -e . (then your CUDA torch).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
mkdir -p "${OUT:-benchmarks}"
timeout 300 "$PY" -m benchmarks.gpu_check --device "${DEVICE:-cuda}" --json "${OUT:-benchmarks}/gpu_check.json" "$@"
