"""Optimizers and the learning-rate schedule of the references, in plain PyTorch.

- AdamATan2 (Everett et al. 2024, the `adam-atan2` package the references use): Adam with the
  division replaced by atan2, so no epsilon; decoupled weight decay on every parameter.
      p <- p (1 - lr wd);  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
      p <- p - lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t))
- Sparse sign-SGD for the puzzle-embedding table: only the rows present in the batch change,
      p_row <- p_row (1 - lr wd) - lr sign(sum of that row's gradients).
- Schedule: linear warm-up from 0, then cosine decay to lr_min_ratio * lr.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist


class AdamATan2(torch.optim.Optimizer):
    def __init__(
        self, params, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.95), weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"].item()
                m, v, g = state["exp_avg"], state["exp_avg_sq"], p.grad
                p.mul_(1 - lr * wd)
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = v.sqrt() / math.sqrt(1 - b2**t)
                p.add_(torch.atan2(m, denom), alpha=-lr / (1 - b1**t))
        return None


class SparseSignSGD(torch.optim.Optimizer):
    """Sign-SGD with decoupled weight decay on the rows of a sparse-gradient embedding table.

    Under torch.distributed the touched row ids and gradients are all-gathered so that every
    rank applies the same update (the references' distributed sparse embedding optimizer).
    """

    def __init__(self, params, lr: float = 1e-4, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.coalesce() if p.grad.is_sparse else p.grad.to_sparse(1).coalesce()
                ids, rows = grad.indices()[0], grad.values()
                if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
                    ids, rows = _all_gather_rows(ids, rows)
                    merged = torch.sparse_coo_tensor(ids[None], rows, p.shape).coalesce()
                    ids, rows = merged.indices()[0], merged.values()
                p[ids] = p[ids] * (1 - lr * wd) - lr * torch.sign(rows)
        return None


def _all_gather_rows(ids: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    world = dist.get_world_size()
    n = torch.tensor([ids.numel()], device=ids.device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    top = int(max(s.item() for s in sizes))
    pad_ids = torch.zeros(top, dtype=ids.dtype, device=ids.device)
    pad_rows = torch.zeros(top, rows.shape[1], dtype=rows.dtype, device=rows.device)
    pad_ids[: ids.numel()], pad_rows[: ids.numel()] = ids, rows
    all_ids = [torch.zeros_like(pad_ids) for _ in range(world)]
    all_rows = [torch.zeros_like(pad_rows) for _ in range(world)]
    dist.all_gather(all_ids, pad_ids)
    dist.all_gather(all_rows, pad_rows)
    keep = [slice(0, int(s.item())) for s in sizes]
    return (
        torch.cat([a[k] for a, k in zip(all_ids, keep, strict=True)]),
        torch.cat([a[k] for a, k in zip(all_rows, keep, strict=True)]),
    )


def lr_at(step: int, base_lr: float, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Learning rate for optimizer step `step` (1-based): linear warm-up, then cosine to min_ratio."""
    if step < warmup_steps:
        return base_lr * step / max(1, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def optimizer_step(
    optimizers: list[tuple[torch.optim.Optimizer, float]],
    step: int,
    warmup_steps: int,
    total_steps: int,
    min_ratio: float,
    params_to_clip: list[torch.nn.Parameter] | None = None,
    grad_clip: float = 0.0,
) -> float:
    """Clip, set each optimizer's scheduled lr, step, zero grads. Returns the first optimizer's lr."""
    if grad_clip > 0 and params_to_clip:
        torch.nn.utils.clip_grad_norm_(params_to_clip, grad_clip)
    lrs = []
    for opt, base_lr in optimizers:
        lr = lr_at(step, base_lr, warmup_steps, total_steps, min_ratio)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        opt.zero_grad(set_to_none=True)
        lrs.append(lr)
    return lrs[0]
