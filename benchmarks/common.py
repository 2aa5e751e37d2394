"""What the benchmarks share: matmul peaks, timing with a check on other processes' CPU use, peak memory,
one training step of a preset on random tokens (as the trainer runs it), FLOP counting.

The benchmarks are run from the repository root as modules (`python -m benchmarks.throughput`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from latentloop.config import RunConfig, load_config
from latentloop.data.loader import Batch
from latentloop.model.reasoner import Reasoner
from latentloop.train.optim import AdamATan2, SparseSignSGD
from latentloop.train.trainer import Carry, compile_stacks, draw_exploration, micro_batch_step

# setting name -> (model.forward_dtype, train.compile)
SETTINGS: dict[str, tuple[str, bool]] = {
    "fp32": ("float32", False),
    "fp32+compile": ("float32", True),
    "bf16": ("bfloat16", False),
    "bf16+compile": ("bfloat16", True),
}
PEAK_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
FOREIGN_LIMIT = 0.15  # cores used by other processes above which a timing is flagged


@dataclass
class Peak:
    """Best `torch.mm` rate of one dtype."""

    dtype: str
    size: int
    gflops: float


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


def synchronize(device: torch.device) -> None:
    if device.type != "cpu":
        torch.accelerator.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak: the accelerator's allocator, or the process's RSS high-water mark (Linux)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    # Freed tensors of earlier settings stay resident in malloc's heap (the high-water mark would start
    # there): collect them and hand the free pages back before resetting.
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak memory since `reset_peak_memory`: allocator bytes on a GPU, VmHWM (RSS) on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def matmul_peak(dtype: torch.dtype, size: int, reps: int, device: torch.device | None = None) -> Peak:
    """Best of `reps` timings of `torch.mm` on [size, size] matrices (each timing >= ~50 ms of work)."""
    device = device or torch.device("cpu")
    a, b = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    flops = 2.0 * size**3
    torch.mm(a, b)
    synchronize(device)
    t0 = time.perf_counter()
    torch.mm(a, b)
    synchronize(device)
    inner = max(1, math.ceil(0.05 / max(time.perf_counter() - t0, 1e-6)))
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b)
        synchronize(device)
        best = min(best, (time.perf_counter() - t0) / inner)
    return Peak(str(dtype).removeprefix("torch."), size, flops / best / 1e9)


def matmul_peaks(size: int, reps: int, device: torch.device | None = None) -> dict[str, Peak]:
    """`matmul_peak` of fp32 and bf16, keyed "fp32" and "bf16"."""
    return {name: matmul_peak(dtype, size, reps, device) for name, dtype in PEAK_DTYPES.items()}


# ---------------------------------------------------------------------------------------------
# The model and one training step


def width_overrides(width: int | None) -> list[str]:
    """Overrides that run a preset at another hidden size (heads of 64 channels, at least 2)."""
    return [] if width is None else [f"model.hidden_size={width}", f"model.num_heads={max(2, width // 64)}"]


def make_config(preset: str, setting: str, overrides: list[str], device: str = "cpu") -> RunConfig:
    """The preset with the setting's dtype / compile, no halting exploration, on `device`, plus overrides."""
    dtype, compiled = SETTINGS[setting]
    return load_config(
        preset,
        [
            f"model.forward_dtype={dtype}",
            f"train.compile={str(compiled).lower()}",
            "model.halt_exploration_prob=0",
            f"train.device={device}",
            *overrides,
        ],
    )


def random_batch(batch: int, seq_len: int, vocab: int, generator: torch.Generator) -> Batch:
    """Random tokens: inputs in [1, vocab), labels in [2, vocab), one puzzle identifier, all valid."""
    inputs = torch.randint(1, vocab, (batch, seq_len), generator=generator, dtype=torch.int32)
    labels = torch.randint(2, vocab, (batch, seq_len), generator=generator, dtype=torch.int64)
    return Batch(inputs, labels, torch.zeros(batch, dtype=torch.int32), torch.ones(batch, dtype=torch.bool))


def warm_up(bench: Bench, steps: int) -> float:
    """Compile when the config says so, then run `steps` training steps (+1 when compiled); seconds taken."""
    t0 = time.perf_counter()
    if bench.cfg.train.compile:
        torch._dynamo.reset()  # fresh caches per model, so earlier settings cannot exhaust the recompile limit
        bench.compile()
    for _ in range(steps + (1 if bench.cfg.train.compile else 0)):
        bench.train_step()
    return time.perf_counter() - t0


class Bench:
    """A model, its optimizers (as the trainer builds them) and a fixed batch and carry."""

    def __init__(self, cfg: RunConfig, batch: int, seed: int = 0) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.train.device)
        seq_len, vocab = cfg.data.seq_len, cfg.data.vocab_size
        if not seq_len or not vocab:
            raise SystemExit(f"preset {cfg.preset!r} must set data.seq_len and data.vocab_size")
        torch.manual_seed(seed)
        self.model = Reasoner(cfg.model, vocab, seq_len, num_puzzle_identifiers=1).to(self.device)
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
        self.batch = random_batch(batch, seq_len, vocab, gen).to(self.device)
        self.generator = torch.Generator(self.device).manual_seed(seed + 1)
        self.carry = Carry.start(self.model, self.batch)

    def train_step(self) -> None:
        """One supervision step for every slot (`train.micro_batch` slots at a time, as the trainer), backward on
        the batch mean, optimizer step."""
        size = self.batch.inputs.shape[0]
        min_steps = draw_exploration(self.cfg, size, self.generator)
        self.carry, _ = micro_batch_step(self.model, self.carry, self.batch, self.cfg, min_steps, size)
        for opt in self.optimizers:
            opt.step()
            opt.zero_grad(set_to_none=True)

    @torch.no_grad()
    def eval_step(self) -> None:
        """One no-grad supervision step from the initial states (what evaluation does per step)."""
        b = self.batch
        self.model(self.model.initial_states(b.inputs.shape[0]), b.inputs, b.puzzle_identifiers)

    def compile(self) -> None:
        compile_stacks(self.model)  # as the trainer does


def count_flops(fn) -> float:
    """FLOPs of one call of `fn` (matmuls, attention; forward and backward) by FlopCounterMode."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def counting_config(cfg: RunConfig) -> RunConfig:
    """The config whose FLOPs are the model's, not the kernels': without the zero positions that
    `model.mixer_pad_to` adds, in one piece (micro-batches change no matmul's count)."""
    return replace(cfg, model=replace(cfg.model, mixer_pad_to=1), train=replace(cfg.train, micro_batch=0))


def model_flops(cfg: RunConfig, batch: int) -> float:
    """Model FLOPs of one training step of `batch` slots (see `counting_config`)."""
    return count_flops(Bench(counting_config(cfg), batch).train_step)


def time_steps(fn, seconds: float, min_steps: int, device: torch.device) -> tuple[int, float, float | None]:
    """Call `fn` until `seconds` have passed and at least `min_steps` calls ran: (steps, wall s, foreign cores)."""
    synchronize(device)
    watch = CpuWatch()
    steps = 0
    while steps < min_steps or time.perf_counter() - watch.wall0 < seconds:
        fn()
        steps += 1
        if steps % 8 == 0:  # an accelerator runs ahead: check the clock on finished work
            synchronize(device)
    synchronize(device)
    wall, foreign = watch.stop()
    return steps, wall, foreign


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
