#!/usr/bin/env python
"""Speed-ups that keep the math, measured against the unmodified step in the same run, alternating.

Every variant is the preset plus overrides (e.g. `model.mixer_pad_to=64`); all are built and
warmed up (compiled) first, then timed in interleaved rounds (variant 1, 2, ..., 1, 2, ...) so that
the machine's drift hits all of them alike. The bf16 matmul peak is timed in every round too, before
the variants, so the ratio compares rates of the same minutes (the peak drifts by up to 30% over a
run). Prints example-steps/s, the ratio to the first variant and model GFLOP/s against the mean of
the rounds' peaks.

    .venv/bin/python -m benchmarks.speedups --preset trm-sudoku6-cpu \\
        --variant "" --variant "model.mixer_pad_to=32" --variant "model.mixer_pad_to=64"
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmarks import common


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="trm-sudoku6-cpu")
    p.add_argument("--setting", default="bf16+compile", choices=common.SETTINGS)
    p.add_argument("--batch", type=int, default=0, help="slots per step (default: the preset's, at most 64)")
    p.add_argument("--variant", action="append", default=[], help="space-separated overrides; '' = the preset")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=4.0, help="timed seconds per variant and round")
    args = p.parse_args(argv)
    variants = args.variant or [""]
    start = time.perf_counter()
    benches, flops = [], []
    for v in variants:
        cfg = common.make_config(args.preset, args.setting, v.split())
        bench = common.Bench(cfg, args.batch or min(64, cfg.train.global_batch_size))
        flops.append(common.model_flops(cfg, bench.batch.inputs.shape[0]))  # the model's, not the padded kernels'
        if cfg.train.compile:  # no dynamo reset between variants: each keeps its compiled code
            bench.compile()
        for _ in range(3):
            bench.train_step()
        benches.append(bench)
    steps = [0] * len(variants)
    wall = [0.0] * len(variants)
    peaks = []
    for _ in range(args.rounds):
        peaks.append(common.matmul_peak(torch.bfloat16, 2048, 3).gflops)
        for i, bench in enumerate(benches):
            n, w, _ = common.time_steps(bench.train_step, args.seconds, 2, torch.device("cpu"))
            steps[i] += n
            wall[i] += w
    peak = sum(peaks) / len(peaks)
    rates = [b.batch.inputs.shape[0] * n / w for b, n, w in zip(benches, steps, wall, strict=True)]
    print(
        f"preset {args.preset}, {args.setting}; {common.cpu_name()}; torch {torch.__version__}; "
        f"bf16 matmul peak {peak:.0f} GFLOP/s (mean of {len(peaks)} rounds, {min(peaks):.0f}-{max(peaks):.0f})\n"
    )
    print("| variant | example-steps/s | vs. first | model GFLOP/s | of bf16 peak |\n|---|---:|---:|---:|---:|")
    for v, rate, f, n, w in zip(variants, rates, flops, steps, wall, strict=True):
        gflops = f * n / w / 1e9
        print(f"| `{v or args.preset}` | {rate:.2f} | {rate / rates[0]:.2f}x | {gflops:.1f} | {gflops / peak:.0%} |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
