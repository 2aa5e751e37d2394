#!/usr/bin/env python
"""What makes training fastest on a small CPU: threads, batch size, dtype, compile.

Times the trainer's step (`common.Bench`) for one preset over a grid of settings, each against
the first row measured in the same run, and prints a markdown table of example-steps/s and the
ratio. Threads and compile change results only through floating-point rounding; bf16 is a
precision choice; the batch size changes the recipe (measured here for the speed alone).

    .venv/bin/python -m benchmarks.cpu_tuning --preset trm-mlp-sudoku --seconds 10
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmarks import common

# (label, threads, batch, setting)
GRID = (
    ("baseline: 2 threads, batch 64, fp32", 2, 64, "fp32"),
    ("1 thread", 1, 64, "fp32"),
    ("batch 16", 2, 16, "fp32"),
    ("batch 32", 2, 32, "fp32"),
    ("batch 128", 2, 128, "fp32"),
    ("fp32 + compile", 2, 64, "fp32+compile"),
    ("bf16", 2, 64, "bf16"),
    ("bf16 + compile", 2, 64, "bf16+compile"),
    ("bf16 + compile, batch 32", 2, 32, "bf16+compile"),
)


def measure(preset: str, overrides: list[str], threads: int, batch: int, setting: str, seconds: float):
    torch.set_num_threads(threads)
    cfg = common.make_config(preset, setting, overrides)
    bench = common.Bench(cfg, batch)
    common.warm_up(bench, 2)
    steps, wall, foreign = common.time_steps(bench.train_step, seconds, 3, torch.device("cpu"))
    return batch * steps / wall, foreign


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="trm-mlp-sudoku")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rows", default=None, help="comma-separated row numbers of the grid to run (row 0 is always run)")
    args = p.parse_args(argv)
    rows_wanted = {0} | {int(r) for r in args.rows.split(",")} if args.rows else set(range(len(GRID)))
    start = time.perf_counter()
    rows, base = [], None
    for i, (label, threads, batch, setting) in enumerate(GRID):
        if i not in rows_wanted:
            continue
        rate, foreign = measure(args.preset, args.override, threads, batch, setting, args.seconds)
        base = base or rate
        rows.append((label, rate, rate / base, foreign))
        print(f"{label}: {rate:.2f} example-steps/s ({rate / base:.2f}x)", file=sys.stderr, flush=True)
    print(f"preset {args.preset} {' '.join(args.override)}; {common.cpu_name()}; torch {torch.__version__}\n")
    print("| setting | example-steps/s | vs. baseline | foreign cores |\n|---|---:|---:|---:|")
    for label, rate, ratio, foreign in rows:
        print(f"| {label} | {rate:.2f} | {ratio:.2f}x | {foreign if foreign is None else round(foreign, 2)} |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
