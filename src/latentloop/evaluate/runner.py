"""Evaluation over a test split: accuracy after every supervision step (the refinement curve).

Every example runs `steps` supervision steps from the initial states, as the references do at
test time (no early exit), and the metrics are read at the last step. The step at which the
halting head would have stopped is recorded too, with the accuracy of the answer at that step.
"""

from __future__ import annotations

import torch
from tqdm import tqdm

from latentloop.data.format import Split
from latentloop.data.loader import eval_batches
from latentloop.evaluate.metrics import token_and_exact
from latentloop.model.reasoner import Reasoner


def wants_halt(q_halt: torch.Tensor, q_continue: torch.Tensor, mode: str) -> torch.Tensor:
    """Would the halting head stop here? (TRM: q_halt > 0; HRM: q_halt > q_continue.)"""
    if mode in ("q_learning", "q_compare"):
        return q_halt > q_continue
    if mode == "bce":
        return q_halt > 0
    return torch.zeros_like(q_halt, dtype=torch.bool)


@torch.no_grad()
def evaluate(
    model: Reasoner,
    split: Split,
    steps: int,
    batch_size: int = 256,
    max_examples: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> dict:
    """Exact and token accuracy after each of `steps` supervision steps, plus halting statistics."""
    model.eval()
    n = 0
    exact_curve = torch.zeros(steps, dtype=torch.float64)
    token_curve = torch.zeros(steps, dtype=torch.float64)
    halt_steps_sum, halted_exact = 0.0, 0.0
    halt_hist = torch.zeros(steps, dtype=torch.int64)
    batches = eval_batches(split, batch_size, max_examples)
    total = min(max_examples or len(split.inputs), len(split.inputs))
    for _, batch in tqdm(batches, total=-(-total // batch_size), disable=not progress, desc="eval", leave=False):
        batch = batch.to(device)
        valid = batch.valid
        B = batch.inputs.shape[0]
        states = model.initial_states(B, batch.inputs.device)
        halt_at = torch.full((B,), steps, dtype=torch.int64, device=batch.inputs.device)
        exact_at_halt = torch.zeros(B, dtype=torch.bool, device=batch.inputs.device)
        for t in range(steps):
            out = model(states, batch.inputs, batch.puzzle_identifiers)
            states = out.states
            tok, exact = token_and_exact(out.logits.argmax(-1), batch.labels)
            exact_curve[t] += exact[valid].sum().item()
            token_curve[t] += tok[valid].sum().item()
            first = (halt_at == steps) & (wants_halt(out.q_halt, out.q_continue, model.cfg.halting) | (t == steps - 1))
            halt_at = torch.where(first, t + 1, halt_at)
            exact_at_halt = torch.where(first, exact, exact_at_halt)
        n += int(valid.sum())
        halt_steps_sum += halt_at[valid].sum().item()
        halted_exact += exact_at_halt[valid].sum().item()
        halt_hist += torch.bincount(halt_at[valid].cpu() - 1, minlength=steps)[:steps]
    n = max(n, 1)
    return {
        "count": n,
        "steps": steps,
        "exact_accuracy": exact_curve[-1].item() / n,
        "token_accuracy": token_curve[-1].item() / n,
        "exact_accuracy_per_step": (exact_curve / n).tolist(),
        "token_accuracy_per_step": (token_curve / n).tolist(),
        "mean_halt_steps": halt_steps_sum / n,
        "exact_accuracy_at_halt": halted_exact / n,
        "halt_step_histogram": halt_hist.tolist(),
    }
