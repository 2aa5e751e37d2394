#!/usr/bin/env python
"""Where the time of one training step goes: operator shares and the matmul shapes with their rates.

Profiles one trainer step (`common.Bench`, after one warm-up step) with `torch.profiler` and
prints two markdown tables: the operators with the largest self CPU time, and every `aten::mm`
shape with its share of the matmul time and its achieved GFLOP/s. The profiler's own overhead
makes the step ~20-30% slower than unprofiled; the shares are what to read.

    .venv/bin/python -m benchmarks.profile_step --preset trm-mlp-sudoku --batch 64
"""

from __future__ import annotations

import argparse
import sys
import time

from torch.profiler import ProfilerActivity, profile

from benchmarks import common


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="trm-mlp-sudoku")
    p.add_argument("--setting", default="fp32", choices=common.SETTINGS)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=None, help="hidden size (default: the preset's)")
    p.add_argument("--top", type=int, default=10, help="rows per table")
    args = p.parse_args(argv)

    cfg = common.make_config(args.preset, args.setting, common.width_overrides(args.width))
    bench = common.Bench(cfg, args.batch)
    if cfg.train.compile:  # a "+compile" setting profiles the compiled step, as the trainer runs it
        bench.compile()
    for _ in range(2 if cfg.train.compile else 1):  # warm-up (and compile)
        bench.train_step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        t0 = time.perf_counter()
        bench.train_step()
        wall = time.perf_counter() - t0
    print(
        f"{args.preset} hidden {cfg.model.hidden_size} {args.setting} batch {args.batch}: "
        f"{wall:.1f} s per profiled step ({args.batch / wall:.2f} example-steps/s under the profiler)\n"
    )

    ops = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ops)
    print("| operator | share of self CPU time | calls |\n|---|---:|---:|")
    for e in sorted(ops, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        print(f"| `{e.key}` | {100 * e.self_cpu_time_total / total:.1f}% | {e.count} |")

    mms = [e for e in prof.key_averages(group_by_input_shape=True) if e.key == "aten::mm"]
    mm_total = sum(e.self_cpu_time_total for e in mms)
    mm_flops = sum(2 * e.input_shapes[0][0] * e.input_shapes[0][1] * e.input_shapes[1][1] * e.count for e in mms)
    print(f"\nmatmul: {100 * mm_total / total:.1f}% of the time at {mm_flops / (mm_total / 1e6) / 1e9:.1f} GFLOP/s\n")
    print("| [M, K] x [K, N] | calls | share of matmul time | GFLOP/s |\n|---|---:|---:|---:|")
    for e in sorted(mms, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        (m, k), (_, n) = e.input_shapes[0], e.input_shapes[1]
        rate = 2 * m * k * n * e.count / (e.self_cpu_time_total / 1e6) / 1e9
        print(f"| [{m}, {k}] x [{k}, {n}] | {e.count} | {100 * e.self_cpu_time_total / mm_total:.1f}% | {rate:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
