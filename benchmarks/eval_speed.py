#!/usr/bin/env python
"""Evaluation speed of a trained run: puzzle-steps/s of `latentloop eval`'s loop, eager against compiled.

Evaluation is no-grad and batched (`evaluate.runner.collect`, every batch padded to the same shape);
this times that loop on the run's own test split with the run's model loaded twice, once eager and once
with its block stacks compiled as the trainer compiles them (the compile and its warm-up batch are timed
apart), in alternating rounds, and checks that both give the same answers.

    .venv/bin/python -m benchmarks.eval_speed RUN_DIR --steps 16 --examples 500
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from benchmarks import common
from latentloop.api import load_run
from latentloop.data.format import read_split
from latentloop.evaluate.runner import collect
from latentloop.train.trainer import compile_stacks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="a run directory or pretrained:NAME")
    p.add_argument("--data", help="dataset directory (default: the run's)")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--examples", type=int, default=500)
    p.add_argument("--batch", type=int, default=0, help="puzzles per batch (default: the run's eval.batch_size)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    runs = {"eager": load_run(args.run_dir), "compiled": load_run(args.run_dir)}
    cfg = runs["eager"].cfg
    split = read_split(f"{args.data or cfg.data.path}/test")
    batch = args.batch or cfg.eval.batch_size
    n = min(args.examples, split.num_examples)
    warm = {}
    for name, run in runs.items():
        if name == "compiled":
            compile_stacks(run.model)
        start = time.perf_counter()
        collect(run.model, split, args.steps, batch, max_examples=min(batch, n))
        warm[name] = time.perf_counter() - start
    wall = dict.fromkeys(runs, 0.0)
    answers = {}
    for _ in range(args.rounds):
        for name, run in runs.items():
            watch = common.CpuWatch()
            records = collect(run.model, split, args.steps, batch, max_examples=n)
            wall[name] += watch.stop()[0]
            answers[name] = records.exact[:, -1]
    rate = {k: args.rounds * n * args.steps / w for k, w in wall.items()}
    agree = float(np.mean(answers["eager"] == answers["compiled"]))
    print(
        f"{common.cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads; {args.run_dir}: "
        f"{n} puzzles x {args.steps} steps, batch {batch}, {cfg.model.forward_dtype}\n"
    )
    print("| evaluation | puzzle-steps/s | vs. eager | first batch (s) | exact |\n|---|---:|---:|---:|---:|")
    for name in runs:
        exact = float(answers[name].mean())
        print(f"| {name} | {rate[name]:.1f} | {rate[name] / rate['eager']:.2f}x | {warm[name]:.1f} | {exact:.4f} |")
    print(f"\nsame exact/not-exact verdict on {agree:.1%} of the puzzles", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
