"""Halting rules for deep supervision, as pure functions over per-slot tensors.

- `none`: every slot runs exactly `max_steps` supervision steps.
- `bce` (TRM): halt when q_halt > 0 (sigmoid > 0.5); q_halt is trained with BCE against exact correctness.
- `q_learning` (HRM): halt when q_halt > q_continue; q_continue is trained towards the bootstrapped
  target sigmoid(max(q_halt', q_continue')) of the next step (sigmoid(q_halt') at the last step).
- `q_compare` (the released transformer baseline): halt when q_halt > q_continue, q_continue untrained.

`wants_halt` is the head's own rule, the one evaluation, `solve` and the report read;
`halt_decision` adds what training needs (the step limit, exploration).

In both learned modes a slot halts at `max_steps` regardless, and during training only; at
evaluation every slot runs the full number of steps, as in the references. Exploration: with
probability p a slot draws a minimum step count uniform in {2..max_steps} and cannot halt earlier.
"""

from __future__ import annotations

import torch


def wants_halt(q_halt: torch.Tensor, q_continue: torch.Tensor, mode: str) -> torch.Tensor:
    """Would the halting head stop after this step? [B] bool (always false for `none`)."""
    if mode == "bce":
        return q_halt > 0
    if mode in ("q_learning", "q_compare"):
        return q_halt > q_continue
    return torch.zeros_like(q_halt, dtype=torch.bool)


def exploration_min_steps(
    batch: int,
    *,
    mode: str,
    max_steps: int,
    prob: float,
    generator: torch.Generator | None,
    device: torch.device,
    shard: tuple[int, int] = (0, 1),
) -> torch.Tensor | None:
    """Training's exploration: per slot, the step count it may not halt before [B] (None: no exploration).

    With probability `prob` a slot draws a minimum uniform in 2..max_steps. `shard` = (rank, world size):
    the draw is made for the global batch of B * world slots from a generator in the same state on every
    rank, and each rank keeps its slice, so a run takes the same decisions on any number of processes
    (and, drawn once per step, with any micro-batching).
    """
    if prob <= 0 or mode == "none" or max_steps <= 1:
        return None
    rank, world = shard
    mine = slice(rank * batch, (rank + 1) * batch)
    explore = torch.rand(batch * world, generator=generator, device=device)[mine] < prob
    low = torch.randint(2, max_steps + 1, (batch * world,), generator=generator, device=device)[mine]
    return torch.where(explore, low, torch.zeros_like(low))


def halt_decision(
    q_halt: torch.Tensor,
    q_continue: torch.Tensor,
    steps: torch.Tensor,
    *,
    mode: str,
    max_steps: int,
    training: bool,
    min_steps: torch.Tensor | None = None,
) -> torch.Tensor:
    """Which slots halt after this supervision step.

    Args:
        q_halt, q_continue: halting logits [B] (fp32).
        steps: supervision steps taken so far *including* this one [B] (int).
        mode: none | bce | q_learning | q_compare.
        min_steps: exploration's minimum step count per slot (`exploration_min_steps`), or None.

    Returns:
        halted [B] bool.
    """
    halted = steps >= max_steps
    if not training or mode == "none" or max_steps <= 1:
        return halted
    halted = halted | wants_halt(q_halt, q_continue, mode)
    return halted if min_steps is None else halted & (steps >= min_steps)


def q_continue_target(next_q_halt: torch.Tensor, next_q_continue: torch.Tensor, is_last: torch.Tensor) -> torch.Tensor:
    """HRM's bootstrapped continue target.

    sigmoid(q_halt') at the last step, else sigmoid(max(q_halt', q_continue')).
    """
    return torch.sigmoid(torch.where(is_last, next_q_halt, torch.maximum(next_q_halt, next_q_continue)))
