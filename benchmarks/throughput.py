#!/usr/bin/env python
"""Training and evaluation throughput of latentloop presets on this machine, against its own matmul peak.

For every (preset, setting) pair the script builds the preset's model on random token batches,
counts the FLOPs of one full training step (supervision step + backward) with
`torch.utils.flop_counter.FlopCounterMode`, warms up (a compile counts as warm-up), then times
training steps for about `--seconds`. One example-step is one supervision step for one example,
so example-steps/s = batch x timed steps / time. Achieved model GFLOP/s is divided by the fp32 and
bf16 `torch.mm` rates measured at the start of the same run; no reference figure is hard-coded.

Usage:
    python benchmarks/throughput.py                 # full measurement (several minutes)
    python benchmarks/throughput.py --quick         # smoke run, < 30 s
    python benchmarks/throughput.py --presets trm-mlp-sudoku --settings fp32,bf16 --batch 32 --json out.json

Run it on an otherwise idle machine: the "foreign cores" column reports how many cores other
processes used during the timed window; above ~0.15 the figure is not clean.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from latentloop.config import RunConfig, load_config
from latentloop.data.loader import Batch
from latentloop.model.reasoner import Reasoner
from latentloop.train.optim import AdamATan2, SparseSignSGD
from latentloop.train.trainer import Carry, supervision_step

# setting name -> (model.forward_dtype, train.compile)
SETTINGS: dict[str, tuple[str, bool]] = {
    "fp32": ("float32", False),
    "fp32+compile": ("float32", True),
    "bf16": ("bfloat16", False),
    "bf16+compile": ("bfloat16", True),
}
# Settings measured per preset when --settings is not given.
DEFAULT_PLAN: dict[str, list[str]] = {
    "trm-sudoku6-cpu": ["fp32", "bf16+compile"],  # bf16 + compile: the demo's real setting
    "trm-mlp-sudoku": ["fp32", "bf16"],  # the paper's TRM-MLP at full width (hidden 512)
}
DEFAULT_PRESETS = "trm-sudoku6-cpu,trm-mlp-sudoku"
FOREIGN_LIMIT = 0.15  # cores used by other processes above which a timing is flagged


@dataclass
class Peak:
    """Best `torch.mm` rate of one dtype."""

    dtype: str
    size: int
    gflops: float


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
    flops_per_example_step: float
    warmup_s: float
    timed_steps: int
    timed_s: float
    example_steps_per_s: float
    gflops: float
    frac_fp32_peak: float
    frac_bf16_peak: float
    foreign_cores: float | None
    eval_flops_per_puzzle: float = 0.0
    eval_puzzles_per_s: float | None = None
    eval_foreign_cores: float | None = None
    overrides: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Timing helpers


class CpuWatch:
    """Wall time, own CPU time and (Linux) CPU time of other processes over a window."""

    def __init__(self) -> None:
        self.wall0, self.own0, self.busy0 = time.perf_counter(), time.process_time(), _busy_seconds()

    def stop(self) -> tuple[float, float | None]:
        """(wall seconds, average cores used by other processes or None where unknown)."""
        wall = time.perf_counter() - self.wall0
        own = time.process_time() - self.own0
        busy = _busy_seconds()
        if busy is None or self.busy0 is None or wall <= 0:
            return wall, None
        return wall, max(0.0, (busy - self.busy0 - own) / wall)


def _busy_seconds() -> float | None:
    """CPU-seconds all processes have spent busy since boot (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def matmul_peak(dtype: torch.dtype, size: int, reps: int) -> Peak:
    """Best of `reps` timings of `torch.mm` on [size, size] matrices (each timing >= ~50 ms of work)."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    flops = 2.0 * size**3
    torch.mm(a, b)
    t0 = time.perf_counter()
    torch.mm(a, b)
    inner = max(1, math.ceil(0.05 / max(time.perf_counter() - t0, 1e-6)))
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - t0) / inner)
    return Peak(str(dtype).removeprefix("torch."), size, flops / best / 1e9)


# ---------------------------------------------------------------------------------------------
# The model and one training step


def make_config(preset: str, setting: str, overrides: list[str]) -> RunConfig:
    """The preset with the setting's dtype / compile, no halting exploration, CPU, plus user overrides."""
    dtype, compiled = SETTINGS[setting]
    return load_config(
        preset,
        [
            f"model.forward_dtype={dtype}",
            f"train.compile={str(compiled).lower()}",
            "model.halt_exploration_prob=0",
            "train.device=cpu",
            *overrides,
        ],
    )


def random_batch(batch: int, seq_len: int, vocab: int, generator: torch.Generator) -> Batch:
    """Random tokens: inputs in [1, vocab), labels in [2, vocab), one puzzle identifier, all valid."""
    inputs = torch.randint(1, vocab, (batch, seq_len), generator=generator, dtype=torch.int32)
    labels = torch.randint(2, vocab, (batch, seq_len), generator=generator, dtype=torch.int64)
    return Batch(inputs, labels, torch.zeros(batch, dtype=torch.int32), torch.ones(batch, dtype=torch.bool))


class Bench:
    """A model, its optimizers (as the trainer builds them) and a fixed batch and carry."""

    def __init__(self, cfg: RunConfig, batch: int, seed: int = 0) -> None:
        self.cfg = cfg
        seq_len, vocab = cfg.data.seq_len, cfg.data.vocab_size
        if not seq_len or not vocab:
            raise SystemExit(f"preset {cfg.preset!r} must set data.seq_len and data.vocab_size")
        torch.manual_seed(seed)
        self.model = Reasoner(cfg.model, vocab, seq_len, num_puzzle_identifiers=1)
        self.model.train()
        t = cfg.train
        self.optimizers: list[torch.optim.Optimizer] = [
            AdamATan2([p for _, p in self.model.dense_parameters()], lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
        ]
        if self.model.puzzle_emb is not None:  # the trainer steps the sparse puzzle table separately
            self.optimizers.append(
                SparseSignSGD([self.model.puzzle_emb], lr=t.puzzle_emb_lr, weight_decay=t.puzzle_emb_weight_decay)
            )
        gen = torch.Generator().manual_seed(seed)
        self.batch = random_batch(batch, seq_len, vocab, gen)
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.carry = Carry.start(self.model, self.batch)

    def train_step(self) -> None:
        """One supervision step for every slot, backward on the batch mean, optimizer step."""
        self.carry, loss = supervision_step(self.model, self.carry, self.batch, self.cfg, self.generator)
        (loss.total / self.batch.inputs.shape[0]).backward()
        for opt in self.optimizers:
            opt.step()
            opt.zero_grad(set_to_none=True)

    @torch.no_grad()
    def eval_step(self) -> None:
        """One no-grad supervision step from the initial states (what evaluation does per step)."""
        b = self.batch
        self.model(self.model.initial_states(b.inputs.shape[0]), b.inputs, b.puzzle_identifiers)

    def compile(self) -> None:
        for stack in self.model.stacks.values():
            stack.compile()


def count_flops(fn) -> float:
    """FLOPs of one call of `fn` (matmuls, attention; forward and backward) by FlopCounterMode."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def time_steps(fn, seconds: float, min_steps: int) -> tuple[int, float, float | None]:
    """Call `fn` until `seconds` have passed and at least `min_steps` calls ran: (steps, wall s, foreign cores)."""
    watch = CpuWatch()
    steps = 0
    while steps < min_steps or time.perf_counter() - watch.wall0 < seconds:
        fn()
        steps += 1
    wall, foreign = watch.stop()
    return steps, wall, foreign


def measure(preset: str, setting: str, args: argparse.Namespace, peaks: dict[str, Peak]) -> Result:
    """Count FLOPs, warm up, time training steps (and optionally evaluation steps) for one setting."""
    cfg = make_config(preset, setting, args.override)
    batch = args.batch or min(cfg.train.global_batch_size, 64)
    bench = Bench(cfg, batch)
    tag = f"[{preset} {setting} B={batch}]"
    log(f"{tag} params {bench.model.num_parameters():,}; counting FLOPs of one training step")
    # FLOPs do not depend on dtype or compile: count on the eager model (this step is also a warm-up).
    flops_train = count_flops(bench.train_step) / batch
    bench.model.eval()
    flops_eval = count_flops(bench.eval_step) / batch
    bench.model.train()
    log(f"{tag} {flops_train / 1e9:.3f} GFLOP/example-step, eval {flops_eval / 1e9:.3f} GFLOP/puzzle-step")

    t0 = time.perf_counter()
    if cfg.train.compile:
        torch._dynamo.reset()  # fresh caches per model, so earlier settings cannot exhaust the recompile limit
        bench.compile()
    for _ in range(args.warmup + (1 if cfg.train.compile else 0)):
        bench.train_step()
    warmup = time.perf_counter() - t0
    log(
        f"{tag} warm-up{' + compile' if cfg.train.compile else ''} {warmup:.1f} s; "
        f"timing >= {args.seconds:g} s and >= {args.steps} steps"
    )

    steps, wall, foreign = time_steps(bench.train_step, args.seconds, args.steps)
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
        flops_per_example_step=flops_train,
        warmup_s=warmup,
        timed_steps=steps,
        timed_s=wall,
        example_steps_per_s=rate,
        gflops=gflops,
        frac_fp32_peak=gflops / peaks["fp32"].gflops,
        frac_bf16_peak=gflops / peaks["bf16"].gflops,
        foreign_cores=foreign,
        eval_flops_per_puzzle=flops_eval,
        overrides=list(args.override),
    )
    log(
        f"{tag} {steps} steps in {wall:.1f} s: {rate:.2f} example-steps/s, {gflops:.1f} GFLOP/s"
        + (f", foreign cores {foreign:.2f}" if foreign is not None else "")
    )

    if not args.no_eval:
        bench.model.eval()
        for _ in range(1 + (1 if cfg.train.compile else 0)):  # warm-up (and the no-grad recompile)
            bench.eval_step()
        steps, wall, foreign = time_steps(bench.eval_step, args.seconds / 4, args.steps)
        result.eval_puzzles_per_s, result.eval_foreign_cores = batch * steps / wall, foreign
        log(f"{tag} eval: {result.eval_puzzles_per_s:.1f} puzzle-steps/s")
    return result


# ---------------------------------------------------------------------------------------------
# Output


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def warn_if_busy(threads: int) -> None:
    """Warn when other processes already use cores this run's threads need (oversubscription: 2-4x slower)."""
    watch = CpuWatch()
    time.sleep(0.5)
    _, foreign = watch.stop()
    cores = os.cpu_count() or 1
    if foreign is not None and foreign > FOREIGN_LIMIT and threads + foreign > cores + FOREIGN_LIMIT:
        hint = " Run on an idle machine" + (", or pass --threads 1." if threads > 1 else ".")
        log(
            f"warning: other processes use {foreign:.1f} of {cores} cores, so {threads} torch thread(s) "
            f"will be oversubscribed and the figures too low.{hint}"
        )


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown(results: list[Result], peaks: dict[str, Peak], threads: int) -> str:
    """The header lines and the results table."""
    p32, p16 = peaks["fp32"], peaks["bf16"]
    lines = [
        f"CPU: {cpu_name()}; torch {torch.__version__}; {threads} threads",
        f"Peak (torch.mm {p32.size}x{p32.size}, best of run): fp32 {p32.gflops:.0f} GFLOP/s, "
        f"bf16 {p16.gflops:.0f} GFLOP/s",
        "",
        "| preset | setting | hidden | params | batch | ex-steps/s | GFLOP/ex-step | GFLOP/s | % fp32 peak "
        "| % bf16 peak | eval puzzle-steps/s | warm-up s | foreign cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    flagged = False
    for r in results:
        dirty = r.foreign_cores is not None and r.foreign_cores > FOREIGN_LIMIT
        flagged |= dirty
        ev = f"{r.eval_puzzles_per_s:.1f}" if r.eval_puzzles_per_s is not None else "-"
        fc = f"{r.foreign_cores:.2f}{'*' if dirty else ''}" if r.foreign_cores is not None else "?"
        lines.append(
            f"| {r.preset} | {r.setting} | {r.hidden_size} | {r.params:,} | {r.batch} | {r.example_steps_per_s:.2f} "
            f"| {r.flops_per_example_step / 1e9:.3f} | {r.gflops:.1f} | {100 * r.frac_fp32_peak:.0f}% "
            f"| {100 * r.frac_bf16_peak:.0f}% | {ev} | {r.warmup_s:.1f} | {fc} |"
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
    return "; ".join(f"{name}: {','.join(settings)}" for name, settings in DEFAULT_PLAN.items())


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
    p.add_argument("--presets", default=None, help=f"comma-separated preset names (default {DEFAULT_PRESETS})")
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
        help="examples per step (default min(preset's global batch, 64); 4 with --quick)",
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
    args.presets = args.presets or ("trm-sudoku6-cpu" if args.quick else DEFAULT_PRESETS)
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
    peaks = {
        "fp32": matmul_peak(torch.float32, args.matmul_size, reps),
        "bf16": matmul_peak(torch.bfloat16, args.matmul_size, reps),
    }
    log(
        f"matmul peak ({args.matmul_size}^2, {threads} threads): fp32 {peaks['fp32'].gflops:.1f} GFLOP/s, "
        f"bf16 {peaks['bf16'].gflops:.1f} GFLOP/s"
    )

    results = []
    for preset in [s.strip() for s in args.presets.split(",") if s.strip()]:
        settings = args.settings.split(",") if args.settings else DEFAULT_PLAN.get(preset, ["fp32", "bf16+compile"])
        for setting in settings:
            results.append(measure(preset, setting, args, peaks))

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
