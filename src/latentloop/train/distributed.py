"""Device choice and the (optional) torch.distributed process group; the only module that names devices.

Launched by `torchrun`, every process joins the group (NCCL on GPUs, gloo on CPUs) and works on
its slice of every global batch. The collectives the trainer needs are here: the gradient
all-reduce (one flat buffer per dtype), the all-gather of the carry for a world-size-free
checkpoint, and the agreement on when to stop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from latentloop.errors import ConfigError


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if launched_by_torchrun() else 0


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` takes the accelerator if there is one, else the CPU; each torchrun process its own GPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device={name!r} is not a device name (auto, cpu, cuda, cuda:N, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but no CUDA device is available")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def describe_machine(device: torch.device, world_size: int = 1) -> dict:
    """What a run was trained on (written beside its metrics, so timings can be read against it)."""
    import platform

    cpu = platform.processor() or platform.machine()
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "cpu": cpu,
        "cpu_threads": torch.get_num_threads(),
        "device": gpu or device.type,
        "world_size": world_size,
        "torch": torch.__version__,
    }


def init_distributed(device: torch.device) -> Dist:
    """Join the process group when launched by torchrun (RANK / WORLD_SIZE set); else single process."""
    if not launched_by_torchrun():
        return Dist()
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank())


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_grads(params: list[torch.nn.Parameter]) -> None:
    """Sum the dense gradients over ranks, one flat buffer per dtype (few large messages, not many small)."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for p in params:
        if p.grad is not None:
            by_dtype.setdefault(p.grad.dtype, []).append(p.grad)
    for grads in by_dtype.values():
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a small tensor over ranks (a copy; the input is unchanged)."""
    out = values.clone()
    dist.all_reduce(out)
    return out


def gather_rows(t: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's tensor along dim 0, in rank order (same shape on every rank)."""
    x = t.to(torch.uint8) if t.dtype == torch.bool else t.contiguous()  # gloo has no bool collectives
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x)
    return torch.cat(parts).to(t.dtype)


def any_rank(flags: list[bool], device: torch.device) -> list[bool]:
    """Each flag true on every rank when it is true on at least one (so all ranks stop at the same step)."""
    t = torch.tensor([int(f) for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]
