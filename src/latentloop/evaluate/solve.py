"""Solving puzzles with a model, step by step: encoded puzzles in, every step's decoded grid out.

The one inference loop (`evaluate/inference.py`) runs the steps; the task decodes and verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from latentloop.config import RunConfig
from latentloop.data.format import Split
from latentloop.evaluate.sampling import Sampling, sampled_steps
from latentloop.model.reasoner import Reasoner
from latentloop.tasks.base import Task


class Run(Protocol):
    """What solving needs of a run (`latentloop.api.Run`): its config and its model."""

    cfg: RunConfig
    model: Reasoner


@dataclass
class Solution:
    """One puzzle run through the model, step by step."""

    task: str  # the task's name
    puzzle: np.ndarray  # the input grid (Sudoku givens, maze without path, ARC test input)
    answer: np.ndarray  # the model's grid after the last step run
    steps_used: int  # first step from which the answer no longer changed
    halt_step: int  # step at which the halting head would stop (the last step when it never does)
    valid: bool  # Sudoku: obeys the rules, keeps the givens; maze: a valid shortest path; ARC: a grid came out
    trajectory: list[np.ndarray]  # the predicted grid after every supervision step
    q_halt: list[float]  # halting logit after every step
    target: np.ndarray | None = None  # the known answer, when there is one
    correct: list[bool] | None = None  # per step, equal to the target (when known)
    tokens: np.ndarray | None = None  # the predicted token sequence [L] after the last step run


@torch.no_grad()
def solve_tokens(
    model: Reasoner,
    task: Task,
    inputs: np.ndarray,
    puzzle_identifiers: np.ndarray | None = None,
    steps: int | None = None,
    halt: bool = False,
    targets: list[np.ndarray | None] | None = None,
    sampling: Sampling | None = None,
) -> list[Solution]:
    """Run encoded puzzles [B, L] for `steps` supervision steps (default N_sup) and decode every step.

    With `halt=True` each puzzle stops at the step where its halting head says so (early exit);
    otherwise all steps run, as the references do at test time. With `sampling`, each step's answer
    is the one its rule picks among K noisy trajectories (`latentloop.evaluate.sampling`).
    """
    inputs = np.asarray(inputs)
    ids = np.zeros(len(inputs), np.int32) if puzzle_identifiers is None else np.asarray(puzzle_identifiers)
    device = model.lm_head.weight.device
    steps = steps or model.cfg.halt_max_steps
    tokens = torch.from_numpy(inputs.astype(np.int32)).to(device)
    trace = list(
        sampled_steps(
            model, tokens, torch.from_numpy(ids.astype(np.int32)).to(device), steps, sampling or Sampling(), task
        )
    )
    preds = [rec.logits.argmax(-1).cpu().numpy() for rec in trace]
    wants = [rec.wants_halt.cpu().numpy() for rec in trace]
    out = []
    for i in range(len(inputs)):
        puzzle = task.decode(inputs[i])
        halt_step = next((t + 1 for t in range(steps) if wants[t][i]), steps)
        last = halt_step if halt else steps
        traj = [task.decode(p[i]) for p in preds[:last]]
        settled = last
        while settled > 1 and np.array_equal(traj[settled - 2], traj[-1]):
            settled -= 1
        target = targets[i] if targets is not None else None
        out.append(
            Solution(
                task.name,
                puzzle,
                traj[-1],
                settled,
                halt_step,
                bool(task.verify(puzzle, traj[-1])),
                traj,
                [float(rec.q_halt[i]) for rec in trace[:last]],
                target,
                None if target is None else [g.shape == target.shape and bool((g == target).all()) for g in traj],
                preds[last - 1][i],
            )
        )
    return out


def solve_split(model: Reasoner, split: Split, indices: list[int], steps: int | None = None) -> list[Solution]:
    """Run examples of a dataset split (by example index), with their labels as targets."""
    task = split.task()
    idx = np.asarray(indices, dtype=np.int64)
    ids = split.puzzle_identifiers[split.example_puzzles[idx]]
    targets = [task.decode(np.asarray(split.labels[i])) for i in idx]
    return solve_tokens(model, task, np.asarray(split.inputs[idx]), ids, steps, targets=targets)
