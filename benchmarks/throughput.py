#!/usr/bin/env python
"""Training and evaluation throughput of latentloop presets on this machine, against its own matmul peak.

For every (preset, setting) pair the script builds the preset's model on random token batches,
counts the FLOPs of one full training step (supervision step + backward) with
`torch.utils.flop_counter.FlopCounterMode`, warms up (a compile counts as warm-up), then times
training steps for about `--seconds`. One example-step is one supervision step for one example,
so example-steps/s = batch x timed steps / time. Achieved model GFLOP/s is divided by the fp32 and
bf16 `torch.mm` rates measured in the same run (best of its start and end); no reference figure is
hard-coded.

Usage:
    python -m benchmarks.throughput                 # full measurement (several minutes)
    python -m benchmarks.throughput --quick         # smoke run, < 30 s
    python -m benchmarks.throughput --presets trm-mlp-sudoku --settings fp32,bf16 --batch 32 --json out.json

Run it on an otherwise idle machine: the "foreign cores" column reports how many cores other
processes used during the timed window; above ~0.15 the figure is not clean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from benchmarks.common import (
    FOREIGN_LIMIT,
    SETTINGS,
    Bench,
    Peak,
    count_flops,
    counting_config,
    cpu_name,
    log,
    make_config,
    matmul_peaks,
    peak_memory_mb,
    reset_peak_memory,
    time_steps,
    warm_up,
    warn_if_busy,
    width_overrides,
)

DEMO_WIDTH = 128  # hidden size of the CPU demo recipe


@dataclass(frozen=True)
class Plan:
    """One row group of the default measurement: a preset at a width with its settings and batch."""

    preset: str
    width: int | None  # None = the preset's own (paper) width
    settings: tuple[str, ...]
    batch: int = 64


# The main presets at paper width and at the demo width, plus the demo recipe itself.
DEFAULT_PLAN: tuple[Plan, ...] = (
    Plan("trm-sudoku6-cpu", None, ("fp32", "bf16+compile")),  # the demo trains fp32 + compile; 9x9, maze bf16
    Plan("trm-mlp-sudoku", None, ("fp32", "bf16")),  # TRM-MLP, 5,028,866 parameters
    Plan("trm-mlp-sudoku", DEMO_WIDTH, ("fp32", "bf16+compile")),
    Plan("trm-att-sudoku", None, ("fp32", "bf16")),  # TRM-Att, 6,828,034 parameters
    Plan("trm-att-sudoku", DEMO_WIDTH, ("fp32", "bf16+compile")),
    Plan("hrm", None, ("fp32", "bf16")),  # HRM, 27,275,266 parameters
    Plan("trm-att-maze", None, ("fp32", "bf16"), batch=8),  # 900 cells: a small batch keeps a step short
    Plan("trm-att-maze", DEMO_WIDTH, ("fp32", "bf16+compile"), batch=16),
)
DEFAULT_PRESETS = ",".join(dict.fromkeys(p.preset for p in DEFAULT_PLAN))


@dataclass
class Result:
    """One (preset, setting) measurement."""

    preset: str
    setting: str
    forward_dtype: str
    compile: bool
    hidden_size: int
    mixer: str
    seq_len: int
    params: int
    batch: int
    device: str
    flops_per_example_step: float
    warmup_s: float
    timed_steps: int
    timed_s: float
    example_steps_per_s: float
    gflops: float
    frac_fp32_peak: float
    frac_bf16_peak: float
    foreign_cores: float | None
    peak_memory_mb: float | None = None
    eval_flops_per_puzzle: float = 0.0
    eval_puzzles_per_s: float | None = None  # puzzle-steps/s: one supervision step without gradient
    eval_steps: int = 16  # supervision steps of a full evaluation (eval.steps or N_sup)
    eval_foreign_cores: float | None = None
    overrides: list[str] = field(default_factory=list)


def measure(
    preset: str,
    setting: str,
    args: argparse.Namespace,
    peaks: dict[str, Peak],
    width: int | None = None,
    batch: int | None = None,
) -> Result:
    """Count FLOPs, warm up, time training steps (and optionally evaluation steps) for one setting."""
    cfg = make_config(preset, setting, [*width_overrides(width), *args.override], args.device)
    batch = args.batch or batch or min(cfg.train.global_batch_size, 64)
    device = torch.device(args.device)
    reset_peak_memory(device)
    bench = Bench(cfg, batch)
    tag = f"[{preset} d={cfg.model.hidden_size} {setting} B={batch}]"
    log(f"{tag} params {bench.model.num_parameters():,}; counting FLOPs of one training step")
    # FLOPs do not depend on dtype or compile: count on the eager model (this step is also a warm-up), without
    # the speed options' padding (see counting_config).
    counted = bench if counting_config(cfg) == cfg else Bench(counting_config(cfg), batch)
    flops_train = count_flops(counted.train_step) / batch
    counted.model.eval()
    flops_eval = count_flops(counted.eval_step) / batch
    counted.model.train()
    if counted is not bench:
        bench.train_step()
        del counted
    log(f"{tag} {flops_train / 1e9:.3f} GFLOP/example-step, eval {flops_eval / 1e9:.3f} GFLOP/puzzle-step")

    warmup = warm_up(bench, args.warmup)
    log(
        f"{tag} warm-up{' + compile' if cfg.train.compile else ''} {warmup:.1f} s; "
        f"timing >= {args.seconds:g} s and >= {args.steps} steps"
    )

    steps, wall, foreign = time_steps(bench.train_step, args.seconds, args.steps, device)
    rate = batch * steps / wall
    gflops = rate * flops_train / 1e9
    result = Result(
        preset=preset,
        setting=setting,
        forward_dtype=cfg.model.forward_dtype,
        compile=cfg.train.compile,
        hidden_size=cfg.model.hidden_size,
        mixer=cfg.model.mixer,
        seq_len=cfg.data.seq_len,
        params=bench.model.num_parameters(),
        batch=batch,
        device=str(device),
        flops_per_example_step=flops_train,
        warmup_s=warmup,
        timed_steps=steps,
        timed_s=wall,
        example_steps_per_s=rate,
        gflops=gflops,
        frac_fp32_peak=gflops / peaks["fp32"].gflops,  # against the start peak; main() applies the best
        frac_bf16_peak=gflops / peaks["bf16"].gflops,
        foreign_cores=foreign,
        peak_memory_mb=peak_memory_mb(device),
        eval_flops_per_puzzle=flops_eval,
        eval_steps=cfg.eval.steps or cfg.model.halt_max_steps,
        overrides=[*width_overrides(width), *args.override],
    )
    log(
        f"{tag} {steps} steps in {wall:.1f} s: {rate:.2f} example-steps/s, {gflops:.1f} GFLOP/s"
        + (f", foreign cores {foreign:.2f}" if foreign is not None else "")
    )

    if not args.no_eval:
        bench.model.eval()
        for _ in range(1 + (1 if cfg.train.compile else 0)):  # warm-up (and the no-grad recompile)
            bench.eval_step()
        steps, wall, foreign = time_steps(bench.eval_step, args.seconds / 4, args.steps, device)
        result.eval_puzzles_per_s, result.eval_foreign_cores = batch * steps / wall, foreign
        log(
            f"{tag} eval: {result.eval_puzzles_per_s:.1f} puzzle-steps/s = "
            f"{result.eval_puzzles_per_s / result.eval_steps:.2f} puzzles/s at {result.eval_steps} steps"
        )
    return result


# ---------------------------------------------------------------------------------------------
# Output


def markdown(results: list[Result], peaks: dict[str, Peak], threads: int) -> str:
    """The header lines and the results table."""
    p32, p16 = peaks["fp32"], peaks["bf16"]
    lines = [
        f"CPU: {cpu_name()}; torch {torch.__version__}; {threads} threads",
        f"Peak (torch.mm {p32.size}x{p32.size}, best of start and end): fp32 {p32.gflops:.0f} GFLOP/s, "
        f"bf16 {p16.gflops:.0f} GFLOP/s",
        "",
        "| preset | setting | hidden | params | batch | ex-steps/s | GFLOP/ex-step | GFLOP/s | % fp32 peak "
        "| % bf16 peak | peak MiB | eval puzzle-steps/s | puzzles/s (full eval) | warm-up s | foreign cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    flagged = False
    for r in results:
        dirty = r.foreign_cores is not None and r.foreign_cores > FOREIGN_LIMIT
        flagged |= dirty
        ev = f"{r.eval_puzzles_per_s:.1f}" if r.eval_puzzles_per_s is not None else "-"
        full = f"{r.eval_puzzles_per_s / r.eval_steps:.2f} ({r.eval_steps})" if r.eval_puzzles_per_s else "-"
        mem = f"{r.peak_memory_mb:,.0f}" if r.peak_memory_mb is not None else "?"
        fc = f"{r.foreign_cores:.2f}{'*' if dirty else ''}" if r.foreign_cores is not None else "?"
        lines.append(
            f"| {r.preset} | {r.setting} | {r.hidden_size} | {r.params:,} | {r.batch} | {r.example_steps_per_s:.2f} "
            f"| {r.flops_per_example_step / 1e9:.3f} | {r.gflops:.1f} | {100 * r.frac_fp32_peak:.0f}% "
            f"| {100 * r.frac_bf16_peak:.0f}% | {mem} | {ev} | {full} | {r.warmup_s:.1f} | {fc} |"
        )
    if flagged:
        lines += [
            "",
            f"\\* other processes used more than {FOREIGN_LIMIT} cores during the timed window: "
            "the figure is lower than on an idle machine.",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line


def _plan_text() -> str:
    return "; ".join(f"{p.preset}@{p.width or 'paper'}: {','.join(p.settings)}" for p in DEFAULT_PLAN)


def plan(args: argparse.Namespace) -> list[Plan]:
    """What to measure: the default plan, or the given presets at their width (and --width)."""
    if args.quick:
        return [Plan("trm-sudoku6-cpu", None, tuple(args.settings.split(",")), 4)]
    if args.presets is None and args.settings is None and args.width is None:
        return list(DEFAULT_PLAN)
    presets = [s.strip() for s in (args.presets or DEFAULT_PRESETS).split(",") if s.strip()]
    settings = tuple(args.settings.split(",")) if args.settings else ("fp32", "bf16")
    return [Plan(p, args.width, settings) for p in presets]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (< 30 s): demo preset, fp32 and bf16 eager, batch 4, 2 timed steps, 512^2 matmul, "
        "1 thread (so a busy machine cannot make it crawl)",
    )
    p.add_argument("--presets", default=None, help=f"comma-separated preset names (default plan: {DEFAULT_PRESETS})")
    p.add_argument("--width", type=int, default=None, help="hidden size for every preset (default: its own)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (the matmul peak is measured there too)")
    p.add_argument(
        "--settings",
        default=None,
        help=f"comma-separated subset of {','.join(SETTINGS)} for every preset "
        f"(default per preset: {_plan_text()}; "
        "others fp32,bf16+compile)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        help="examples per step (default: the plan's, else min(preset's global batch, 64); 4 with --quick)",
    )
    p.add_argument("--seconds", type=float, default=None, help="timed training seconds per setting (default 30)")
    p.add_argument("--steps", type=int, default=None, help="minimum timed steps per setting (default 3; 2 quick)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up steps after the FLOP count (+1 when compiled)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"torch threads (default torch's, here {torch.get_num_threads()}; 1 with --quick)",
    )
    p.add_argument("--matmul-size", type=int, default=None, help="matmul size for the peak (default 2048; 512 quick)")
    p.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override for every preset, e.g. model.hidden_size=256 (repeatable)",
    )
    p.add_argument("--no-eval", action="store_true", help="skip the eval-only forward throughput")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = p.parse_args(argv)
    args.batch = args.batch or (4 if args.quick else None)
    args.seconds = args.seconds if args.seconds is not None else (0.0 if args.quick else 30.0)
    args.steps = args.steps or (2 if args.quick else 3)
    args.matmul_size = args.matmul_size or (512 if args.quick else 2048)
    args.threads = args.threads or (1 if args.quick else None)
    if args.quick and args.settings is None:
        args.settings = "fp32,bf16"
    for s in (args.settings or "").split(","):
        if s and s not in SETTINGS:
            p.error(f"unknown setting {s!r} (known: {', '.join(SETTINGS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    start = time.perf_counter()
    warn_if_busy(threads)
    reps = 3 if args.quick else 5
    device = torch.device(args.device)

    def measure_peaks(when: str) -> dict[str, Peak]:
        peaks = matmul_peaks(args.matmul_size, reps, device)
        log(
            f"matmul peak {when} ({args.matmul_size}^2, {threads} threads): "
            f"fp32 {peaks['fp32'].gflops:.1f} GFLOP/s, bf16 {peaks['bf16'].gflops:.1f} GFLOP/s"
        )
        return peaks

    peaks_start = measure_peaks("at start")
    results = [
        measure(item.preset, setting, args, peaks_start, width=item.width, batch=item.batch)
        for item in plan(args)
        for setting in item.settings
    ]
    # A shared machine's matmul rate drifts by 10-25% over a long run: the peak is the best of the
    # measurements before and after, so every ratio is against the fastest rate seen.
    peaks_end = peaks_start if args.quick else measure_peaks("at end")
    peaks = {k: max(peaks_start[k], peaks_end[k], key=lambda p: p.gflops) for k in peaks_start}
    for r in results:
        r.frac_fp32_peak, r.frac_bf16_peak = r.gflops / peaks["fp32"].gflops, r.gflops / peaks["bf16"].gflops

    table = markdown(results, peaks, threads)
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "machine": {
                "cpu": cpu_name(),
                "platform": platform.platform(),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "threads": threads,
                "cpu_count": os.cpu_count(),
            },
            "peak": {k: asdict(v) for k, v in peaks.items()},
            "peak_start": {k: asdict(v) for k, v in peaks_start.items()},
            "peak_end": {k: asdict(v) for k, v in peaks_end.items()},
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "results": [asdict(r) for r in results],
            "total_s": time.perf_counter() - start,
        }
        args.json.write_text(json.dumps(record, indent=1) + "\n")
        log(f"wrote {args.json}")
    log(f"total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
