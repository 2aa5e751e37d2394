"""The one inference loop: supervision steps from the initial states, as the references test.

Every slot runs every step (evaluation semantics: nothing halts early, nothing is reset); the
halting head is read after each step with the preset's rule (`model/halting.py`). Evaluation,
`solve`, the report and the Python API's `rollout` all iterate this loop, so they see the same
model the same way; training has its own loop (the continuous-batching carry in `train/`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from latentloop.model.halting import wants_halt
from latentloop.model.reasoner import Noise, Reasoner


@dataclass
class Step:
    """The model's output after one supervision step, for a batch."""

    logits: torch.Tensor  # [B, L, V]
    q_halt: torch.Tensor  # [B] fp32 halting logit
    q_continue: torch.Tensor  # [B] fp32
    wants_halt: torch.Tensor  # [B] bool: the halting head would stop here
    states: dict[str, torch.Tensor]  # each [B, P+L, D]


def supervision_steps(
    model: Reasoner,
    inputs: torch.Tensor,
    puzzle_identifiers: torch.Tensor,
    steps: int,
    noise: Noise | None = None,
) -> Iterator[Step]:
    """Yield `steps` supervision steps of `model` on one batch, without gradient.

    Args:
        inputs: token ids [B, L]; puzzle_identifiers: [B].
        steps: how many steps to run (may exceed the training N_sup: test-time compute).
        noise: Gaussian noise on the latent states, for sampled trajectories (None = deterministic).
    """
    states = model.initial_states(inputs.shape[0], inputs.device)
    for _ in range(steps):
        with torch.no_grad():
            out = model(states, inputs, puzzle_identifiers, noise)
        states = out.states
        halts = wants_halt(out.q_halt, out.q_continue, model.cfg.halting)
        yield Step(out.logits, out.q_halt, out.q_continue, halts, states)


def rollout(model: Reasoner, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor, steps: int) -> list[Step]:
    """Every step of `supervision_steps`, as a list (per-step logits, halting logits and states)."""
    return list(supervision_steps(model, inputs, puzzle_identifiers, steps))
