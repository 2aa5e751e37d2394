"""Test-time compute beyond one deterministic run: K noisy trajectories per puzzle and a rule that picks one.

PTRM (Sghaier, Parviz & Jolicoeur-Martineau 2026) adds Gaussian noise to the latent state before
every supervision step of a trained TRM, runs K trajectories and answers with the one its halting
head is most sure of; halt-first and voting ensembles (Dillon 2026, GRAM) pick by agreement. The K
samples of a puzzle run as K rows of one batch. Selection rules, applied after every step:

    halt   the sample with the highest halting logit (PTRM's best-Q@K)
    vote   the most frequent answer among the K (ties: the highest halting logit among them)
    check  the most confident sample whose answer passes the task's own rule check, which needs no
           label (a Sudoku that obeys the rules and keeps its givens): self-verification; the halt
           rule when none passes

With `augment` the K trajectories of a puzzle see it in K symmetric views instead of (or besides) noise:
the task's `views` (a maze's 8 dihedral transforms; a Sudoku's identity and random relabellings of
digits, bands, rows, stacks and columns), each answer mapped back before the rule picks, as the
references' ARC evaluation votes over augmented copies. With K = 1 and no noise this is exactly the
plain evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch

from latentloop.errors import LatentloopError
from latentloop.evaluate.inference import Step, supervision_steps
from latentloop.model.reasoner import Noise, Reasoner
from latentloop.tasks.base import Task, View

RULES = ("halt", "vote", "check")
SWEEP_NOISE = 0.2  # the noise of `eval --sweep` when none is given


@dataclass(frozen=True)
class Sampling:
    """How many trajectories, how noisy, and which one answers."""

    samples: int = 1
    noise: float = 0.0
    select: str = "halt"
    at: str = "step"  # where the noise goes: before every supervision step, or after every module call
    seed: int = 0
    augment: bool = False  # each of the K samples sees the puzzle in another of the task's views

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise LatentloopError(f"--samples must be >= 1, got {self.samples}")
        if self.noise < 0:
            raise LatentloopError(f"--noise must be >= 0, got {self.noise}")
        if self.select not in RULES:
            raise LatentloopError(f"--select {self.select!r}: expected one of {', '.join(RULES)}")
        if self.at not in ("step", "call"):
            raise LatentloopError(f"--noise-at {self.at!r}: expected step or call")

    @property
    def plain(self) -> bool:
        return self.samples == 1 and self.noise == 0


def sampled_steps(
    model: Reasoner,
    inputs: torch.Tensor,
    puzzle_identifiers: torch.Tensor,
    steps: int,
    sampling: Sampling,
    task: Task | None = None,
) -> Iterator[Step]:
    """Like `supervision_steps`, for `sampling.samples` noisy trajectories of every puzzle, one picked per step.

    Yields per step a `Step` of the B puzzles holding the chosen sample's logits and halting logits
    (its `states` are those of all B * K trajectories).
    """
    if sampling.plain:
        yield from supervision_steps(model, inputs, puzzle_identifiers, steps)
        return
    K, B = sampling.samples, inputs.shape[0]
    for out in trajectories(model, inputs, puzzle_identifiers, steps, sampling, task):
        preds = out.logits.argmax(-1).view(B, K, -1)
        ok = rule_check(task, inputs, preds) if sampling.select == "check" else None
        pick = choose(preds, out.q_halt.float().view(B, K), sampling.select, ok)
        rows = torch.arange(B, device=inputs.device) * K + pick.to(inputs.device)
        yield Step(out.logits[rows], out.q_halt[rows], out.q_continue[rows], out.wants_halt[rows], out.states)


def trajectories(
    model: Reasoner,
    inputs: torch.Tensor,
    puzzle_identifiers: torch.Tensor,
    steps: int,
    sampling: Sampling,
    task: Task | None = None,
) -> Iterator[Step]:
    """The K = `sampling.samples` trajectories of each of the B puzzles as rows b*K .. b*K+K-1 of one batch
    (noisy, and with `sampling.augment` each in the task's view k, its logits mapped back to the puzzle's)."""
    K = sampling.samples
    generator = torch.Generator(device=inputs.device).manual_seed(sampling.seed)
    noise = Noise(sampling.noise, sampling.at, generator=generator) if sampling.noise else None
    rows = inputs.repeat_interleave(K, 0)
    views = RowViews.of(task, sampling, inputs.shape[0], inputs.device) if sampling.augment else None
    if views is not None:
        rows = views.apply(rows)
    for out in supervision_steps(model, rows, puzzle_identifiers.repeat_interleave(K, 0), steps, noise):
        yield out if views is None else replace(out, logits=views.undo(out.logits))


@dataclass
class RowViews:
    """The task's view k for row b*K + k of a batch of B puzzles x K samples, as index tensors."""

    positions: torch.Tensor  # [B*K, L]: the puzzle position each view position reads
    inverse: torch.Tensor  # [B*K, L]: the view position holding each puzzle position
    tokens: torch.Tensor  # [B*K, V]: the view's token for each puzzle token

    @classmethod
    def of(cls, task: Task | None, sampling: Sampling, batch: int, device: torch.device) -> RowViews:
        views: list[View] | None = task.views(sampling.samples, sampling.seed) if task is not None else None
        if views is None:
            raise LatentloopError(
                "--augment needs a task with symmetries (Sudoku, maze); ARC votes over augmentations in its own "
                "evaluation"
            )
        positions = torch.from_numpy(np.stack([v.positions for v in views]).astype(np.int64))
        tokens = torch.from_numpy(np.stack([v.tokens for v in views]).astype(np.int64))
        return cls(*(t.repeat(batch, 1).to(device) for t in (positions, positions.argsort(1), tokens)))

    def apply(self, inputs: torch.Tensor) -> torch.Tensor:
        """Token ids [B*K, L] of the puzzles -> those of their views."""
        return self.tokens.gather(1, inputs.long().gather(1, self.positions)).to(inputs.dtype)

    def undo(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits [B*K, L, V] over a view's tokens -> over the puzzle's (position q, token v of the puzzle: position
        inverse[q], token tokens[v] of the view)."""
        L, V = logits.shape[1:]
        if self.tokens.shape[1] != V:
            raise LatentloopError(f"the task's views have {self.tokens.shape[1]} token ids; the model predicts {V}")
        by_position = logits.gather(1, self.inverse[:, :, None].expand(-1, -1, V))
        return by_position.gather(2, self.tokens[:, None, :].expand(-1, L, -1))


def rule_check(task: Task | None, inputs: torch.Tensor, preds: torch.Tensor) -> torch.Tensor:
    """The task's label-free rule check of every sample's answer, [B, K] bool."""
    B, K, L = preds.shape
    rows_in = inputs.repeat_interleave(K, 0).cpu().numpy()
    ok = task.check(rows_in, preds.reshape(B * K, L).cpu().numpy()) if task is not None else None
    if ok is None:
        raise LatentloopError("--select check needs a task with a rule check (Sudoku, maze); this one has none")
    return torch.from_numpy(np.asarray(ok, dtype=bool)).view(B, K)


def choose(preds: torch.Tensor, q: torch.Tensor, rule: str, ok: torch.Tensor | None = None) -> torch.Tensor:
    """The chosen sample of each puzzle, [B] long.

    Args:
        preds: answers [B, K, L]; q: halting logits [B, K]; ok: the rule check's verdict [B, K] (check).
    """
    if rule == "vote":
        same = (preds[:, :, None, :] == preds[:, None, :, :]).all(-1)  # [B, K, K]
        count = same.sum(-1)
        q = q.masked_fill(count < count.max(1, keepdim=True).values, -torch.inf)
    elif rule == "check":
        passing = ok.to(q.device)
        q = torch.where(passing.any(1, keepdim=True), q.masked_fill(~passing, -torch.inf), q)
    return q.argmax(1)


def compute_per_puzzle(model: Reasoner, steps: int, samples: int) -> int:
    """Module calls spent on one puzzle: samples x supervision steps x calls per step."""
    return samples * steps * sum(p.op.kind == "call" for p in model.plan)


def subset_accuracy(
    exact: np.ndarray, q: np.ndarray, keys: np.ndarray, ok: np.ndarray | None, k: int, rule: str
) -> np.ndarray:
    """Exact accuracy per step when only the first `k` of the recorded samples are kept and `rule` picks.

    Args:
        exact, q, keys, ok: [N, K, S] per sample and step: right or not, halting logit, a hash of the answer,
            and the rule check (for check).
    Returns:
        [S] accuracy.
    """
    e, qq = exact[:, :k], q[:, :k].astype(np.float64)
    if rule == "vote":
        same = keys[:, :k, None, :] == keys[:, None, :k, :]  # [N, k, k, S]
        count = same.sum(2)
        qq = np.where(count == count.max(1, keepdims=True), qq, -np.inf)
    elif rule == "check":
        passing = ok[:, :k]
        qq = np.where(passing.any(1, keepdims=True) & ~passing, -np.inf, qq)
    pick = qq.argmax(1)  # [N, S]
    return np.take_along_axis(e, pick[:, None, :], 1)[:, 0].mean(0)


# ---------------------------------------------------------------------------------------------
# Sweeps: accuracy against compute for more steps, more samples, and both, from one recorded run


@dataclass
class SampleRecords:
    """Every sample of every puzzle after every step, [N, K, S]."""

    exact: np.ndarray  # bool: every scored token right
    q: np.ndarray  # float32: halting logit
    keys: np.ndarray  # int64: a hash of the answer (equal answers, equal keys)
    ok: np.ndarray | None  # bool: the task's rule check, for tasks that have one


@torch.no_grad()
def collect_samples(
    model: Reasoner,
    split,
    steps: int,
    sampling: Sampling,
    batch_size: int = 256,
    max_examples: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
    check: bool = True,
) -> SampleRecords:
    """Run `sampling.samples` trajectories of every example for `steps` steps and record every sample
    (with the task's rule check of every answer when `check` and the task has one)."""
    from tqdm import tqdm

    from latentloop.data.loader import eval_batches
    from latentloop.evaluate.metrics import token_and_exact

    model.eval()
    meta = split.metadata
    task = split.task()
    K = sampling.samples
    per_batch = max(1, batch_size // K)
    total = min(max_examples or split.num_examples, split.num_examples)
    weights = torch.randint(1, 2**61, (meta.seq_len,), generator=torch.Generator().manual_seed(0), device=device)
    parts = []
    batches = eval_batches(split, per_batch, max_examples)
    for idx, batch in tqdm(batches, total=-(-total // per_batch), disable=not progress, desc="samples", leave=False):
        batch, n = batch.to(device), len(idx)
        B = batch.inputs.shape[0]
        exact = np.zeros((n, K, steps), bool)
        q = np.zeros((n, K, steps), np.float32)
        keys = np.zeros((n, K, steps), np.int64)
        ok = np.zeros((n, K, steps), bool)
        has_check = True
        labels = batch.labels.repeat_interleave(K, 0)
        for t, out in enumerate(trajectories(model, batch.inputs, batch.puzzle_identifiers, steps, sampling, task)):
            preds = out.logits.argmax(-1)  # [B * K, L]
            exact[:, :, t] = token_and_exact(preds, labels)[1].view(B, K)[:n].cpu().numpy()
            q[:, :, t] = out.q_halt.float().view(B, K)[:n].cpu().numpy()
            keys[:, :, t] = (preds.long() * weights).sum(-1).view(B, K)[:n].cpu().numpy()
            checked = (
                task.check(batch.inputs.repeat_interleave(K, 0).cpu().numpy(), preds.cpu().numpy()) if check else None
            )
            has_check = checked is not None
            if has_check:
                ok[:, :, t] = np.asarray(checked).reshape(B, K)[:n]
        parts.append((exact, q, keys, ok if has_check else None))
    cat = [np.concatenate([p[i] for p in parts]) for i in range(3)]
    oks = [p[3] for p in parts]
    return SampleRecords(*cat, None if any(o is None for o in oks) else np.concatenate(oks))


def sweep(
    records: SampleRecords,
    plain: list[float],
    calls_per_step: int,
    steps_grid: list[int],
    samples_grid: list[int],
) -> list[dict]:
    """Exact accuracy at every (steps, samples, rule) of the grids, with its compute in module calls per puzzle;
    `plain` (the deterministic model's accuracy per step) gives the baseline rows."""
    rules = [r for r in RULES if r != "check" or records.ok is not None]
    rows = [
        {"rule": "plain", "samples": 1, "steps": s, "module_calls": s * calls_per_step, "exact_accuracy": plain[s - 1]}
        for s in steps_grid
    ]
    for k in samples_grid:
        for rule in rules:
            acc = subset_accuracy(records.exact, records.q, records.keys, records.ok, k, rule)
            rows += [
                {
                    "rule": rule,
                    "samples": k,
                    "steps": s,
                    "module_calls": k * s * calls_per_step,
                    "exact_accuracy": float(acc[s - 1]),
                }
                for s in steps_grid
            ]
    return rows
