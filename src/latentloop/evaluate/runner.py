"""Evaluation over a test split: accuracy after every supervision step (the refinement curve).

Every example runs `steps` supervision steps from the initial states, as the references do at
test time, and the headline metrics are read at the last step; `steps` may exceed the training
maximum (test-time compute). The halting head is read at every step too, which gives, without
running anything twice:

* the accuracy at the step where the head would stop (`halt=True` in `latentloop eval --halt`
  also stops the batch once every example in it has halted);
* a compute/accuracy trade-off: halting at sigmoid(q_halt) > tau for several tau;
* per difficulty bucket (the dataset's `ratings`: Sudoku guesses, maze path length) the accuracy
  and the mean halting step, i.e. whether harder puzzles get more refinement.

Three accuracies per step: `exact` (every scored token equals the label, the papers' metric),
`token`, and `valid` (the task's own check: a Sudoku that obeys the rules and keeps the givens,
a maze path that is a valid shortest path, an ARC grid equal to the target after cropping).
Under torch.distributed every rank evaluates its shard and rank 0 gathers the per-example records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from latentloop.data.format import Split
from latentloop.data.loader import eval_batches
from latentloop.evaluate.metrics import token_and_exact
from latentloop.evaluate.sampling import Sampling, sampled_steps
from latentloop.model.reasoner import Reasoner
from latentloop.tasks import companion, registered

HALT_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
N_BUCKETS = 5
_PER_EXAMPLE = ("index", "exact", "token", "valid", "q_halt", "halt_at")  # Records' array fields
_OPTIONAL = ("predictions", "q_halt_logit")  # Records' fields that may be None


@dataclass
class Records:
    """Per-example results, [N] or [N, steps] (steps not run after an early stop count as the last run)."""

    index: np.ndarray  # [N] example index in the split
    exact: np.ndarray  # [N, S] bool
    token: np.ndarray  # [N, S] float32
    valid: np.ndarray  # [N, S] bool
    q_halt: np.ndarray  # [N, S] float32, sigmoid of the halting logit
    halt_at: np.ndarray  # [N] int, 1-based step where the head stops (S when it never does)
    predictions: np.ndarray | None  # [N, L] uint8 at the last step run, when asked for
    q_halt_logit: np.ndarray | None = None  # [N, S] float32, the raw halting logit (ARC ranks by it in float64)

    @staticmethod
    def concat(parts: list[Records]) -> Records:
        return Records(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _PER_EXAMPLE),
            **{f: _concat_optional([getattr(p, f) for p in parts]) for f in _OPTIONAL},
        )

    def sorted(self) -> Records:
        order = np.argsort(self.index, kind="stable")
        optional = {f: None if getattr(self, f) is None else getattr(self, f)[order] for f in _OPTIONAL}
        return Records(*(getattr(self, f)[order] for f in _PER_EXAMPLE), **optional)


def _concat_optional(arrays: list[np.ndarray | None]) -> np.ndarray | None:
    """The concatenation of per-part arrays, or None when a part lacks its array."""
    return None if not arrays or any(a is None for a in arrays) else np.concatenate(arrays)


@torch.no_grad()
def collect(
    model: Reasoner,
    split: Split,
    steps: int,
    batch_size: int = 256,
    max_examples: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
    keep_predictions: bool = False,
    halt: bool = False,
    sampling: Sampling | None = None,
) -> Records:
    """Run every example of the split for `steps` supervision steps and record each step.

    With `halt`, a batch stops as soon as every example in it has halted; later steps repeat the
    last recorded values (the answer an early-exiting solver would return). With `sampling`, each
    example runs K noisy trajectories and the records follow the one its rule picks at each step
    (see `latentloop.evaluate.sampling`); the batch then holds `batch_size // K` examples.
    """
    sampling = sampling or Sampling()
    batch_size = max(1, batch_size // sampling.samples)
    model.eval()
    task = split.task()
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    parts: list[Records] = []
    total = min(max_examples or split.num_examples, split.num_examples)
    batches = eval_batches(split, batch_size, max_examples, rank, world)
    n_batches = -(-total // batch_size)
    for idx, batch in tqdm(batches, total=n_batches, disable=not progress, desc="eval", leave=False):
        batch = batch.to(device)
        n = len(idx)
        B = batch.inputs.shape[0]
        inputs = batch.inputs[:n].cpu().numpy()
        labels = np.asarray(split.labels[idx])
        exact = np.zeros((n, steps), bool)
        token = np.zeros((n, steps), np.float32)
        valid = np.zeros((n, steps), bool)
        q_prob = np.zeros((n, steps), np.float32)
        q_logit = np.zeros((n, steps), np.float32)
        halt_at = torch.full((B,), steps, dtype=torch.int64, device=batch.inputs.device)
        preds = None
        for t, out in enumerate(sampled_steps(model, batch.inputs, batch.puzzle_identifiers, steps, sampling, task)):
            preds = out.logits.argmax(-1)
            tok, ex = token_and_exact(preds, batch.labels)
            exact[:, t], token[:, t] = ex[:n].cpu().numpy(), tok[:n].cpu().numpy()
            valid[:, t] = task.score(inputs, preds[:n].cpu().numpy(), labels) if n else valid[:, t]
            q_logit[:, t] = out.q_halt[:n].float().cpu().numpy()
            q_prob[:, t] = torch.sigmoid(out.q_halt[:n]).cpu().numpy()
            halt_at = torch.where((halt_at == steps) & out.wants_halt, t + 1, halt_at)
            if halt and bool((halt_at[:n] <= t + 1).all()):
                for a in (exact, token, valid, q_prob, q_logit):
                    a[:, t + 1 :] = a[:, t : t + 1]
                break
        keep = preds[:n].cpu().numpy().astype(np.uint8) if keep_predictions else None
        parts.append(Records(idx, exact, token, valid, q_prob, halt_at[:n].cpu().numpy(), keep, q_logit))
    records = Records.concat(parts) if parts else _empty(steps, split.metadata.seq_len, keep_predictions)
    if world > 1:
        gathered: list[Records | None] = [None] * world
        dist.all_gather_object(gathered, records)
        records = Records.concat([g for g in gathered if g is not None])
    return records.sorted()


def _empty(steps: int, seq_len: int, keep: bool) -> Records:
    z = np.zeros((0, steps))
    return Records(
        np.zeros(0, np.int64),
        z.astype(bool),
        z.astype(np.float32),
        z.astype(bool),
        z.astype(np.float32),
        np.zeros(0, np.int64),
        np.zeros((0, seq_len), np.uint8) if keep else None,
        z.astype(np.float32),
    )


def _at(per_step: np.ndarray, step: np.ndarray) -> np.ndarray:
    """per_step[i, step[i] - 1] for every example i."""
    return per_step[np.arange(len(step)), step - 1]


def halting_tradeoff(records: Records) -> list[dict]:
    """Halting at the first step with sigmoid(q_halt) > tau (else the last): mean steps and accuracy per tau."""
    rows = []
    steps = records.exact.shape[1]
    for tau in HALT_THRESHOLDS:
        above = records.q_halt > tau
        stop = np.where(above.any(1), above.argmax(1) + 1, steps)
        rows.append(
            {
                "threshold": tau,
                "mean_steps": float(stop.mean()) if len(stop) else 0.0,
                "exact_accuracy": float(_at(records.exact, stop).mean()) if len(stop) else 0.0,
            }
        )
    return rows


def difficulty_buckets(records: Records, ratings: np.ndarray, n_buckets: int = N_BUCKETS) -> list[dict]:
    """Accuracy and halting per rating bucket (quantile edges over the evaluated examples)."""
    if not len(ratings):
        return []
    edges = np.unique(np.quantile(ratings, np.linspace(0, 1, n_buckets + 1)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    which = np.clip(np.searchsorted(edges, ratings, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = which == b
        if not m.any():
            continue
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": int(m.sum()),
                "mean_rating": float(ratings[m].mean()),
                "exact_accuracy": float(records.exact[m, -1].mean()),
                "valid_accuracy": float(records.valid[m, -1].mean()),
                "mean_halt_steps": float(records.halt_at[m].mean()),
                "exact_accuracy_at_halt": float(_at(records.exact[m], records.halt_at[m]).mean()),
            }
        )
    return rows


def summarize(records: Records, split: Split) -> dict:
    """The JSON summary written to eval.json (and logged during training)."""
    n, steps = records.exact.shape
    if n == 0:
        return {"count": 0, "steps": steps, "exact_accuracy": 0.0, "token_accuracy": 0.0, "valid_accuracy": 0.0}
    puzzle_of = split.example_puzzles[records.index]
    ratings = split.extras.get("ratings")
    example_ratings = np.asarray(ratings)[puzzle_of].astype(np.float64) if ratings is not None else np.zeros(0)
    return {
        "task": split.task().name,
        "count": int(n),
        "steps": int(steps),
        "exact_accuracy": float(records.exact[:, -1].mean()),
        "token_accuracy": float(records.token[:, -1].mean()),
        "valid_accuracy": float(records.valid[:, -1].mean()),
        "exact_accuracy_per_step": records.exact.mean(0).tolist(),
        "token_accuracy_per_step": records.token.mean(0).tolist(),
        "valid_accuracy_per_step": records.valid.mean(0).tolist(),
        "mean_halt_steps": float(records.halt_at.mean()),
        "exact_accuracy_at_halt": float(_at(records.exact, records.halt_at).mean()),
        "valid_accuracy_at_halt": float(_at(records.valid, records.halt_at).mean()),
        "halt_step_histogram": np.bincount(records.halt_at - 1, minlength=steps)[:steps].tolist(),
        "halting_tradeoff": halting_tradeoff(records),
        "buckets": difficulty_buckets(records, example_ratings),
    }


def evaluate(
    model: Reasoner,
    split: Split,
    steps: int,
    batch_size: int = 256,
    max_examples: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> dict:
    """Exact, token and task-valid accuracy after each of `steps` supervision steps, with halting statistics."""
    return summarize(collect(model, split, steps, batch_size, max_examples, device, progress), split)


def summary_lines(result: dict) -> list[str]:
    """The console form of an evaluation result: accuracy per step, halting, buckets, the task's own scoring."""
    steps = result["steps"]
    lines = [f"{'step':>5s} {'exact':>8s} {'valid':>8s} {'token':>8s}"]
    for t in range(steps):
        e, v, k = (result[f"{m}_accuracy_per_step"][t] for m in ("exact", "valid", "token"))
        lines.append(f"{t + 1:5d} {e:8.4f} {v:8.4f} {k:8.4f}")
    hist = " ".join(f"{t + 1}:{c}" for t, c in enumerate(result["halt_step_histogram"]) if c)
    lines.append(f"halting head: stops at step {hist}")
    if result["buckets"]:
        lines.append(f"{'rating':>15s} {'count':>6s} {'exact':>7s} {'valid':>7s} {'halt step':>9s}")
        for b in result["buckets"]:
            rng = f"{b['low']:.3g}-{b['high']:.3g}"
            lines.append(
                f"{rng:>15s} {b['count']:6d} {b['exact_accuracy']:7.4f} {b['valid_accuracy']:7.4f} "
                f"{b['mean_halt_steps']:9.2f}"
            )
    lines.append(
        f"examples {result['count']}, exact accuracy {result['exact_accuracy']:.4f} after {steps} steps "
        f"(checkpoint step {result.get('checkpoint_step', '?')}), valid {result['valid_accuracy']:.4f}; halting "
        f"head: mean step {result['mean_halt_steps']:.2f}, exact at halt {result['exact_accuracy_at_halt']:.4f}"
    )
    if "depth" in result:
        d = result["depth"]
        lines.append(f"each step ran T={d['outer_cycles']} outer x n={d['inner_cycles']} inner cycles (--depth)")
    if "task_scoring" in result:
        lines += companion(registered()[result["task"]], "evaluation").lines(result["task_scoring"])
    if "test_time" in result:
        lines += test_time_lines(result["test_time"])
    return lines


def test_time_lines(sweep: dict) -> list[str]:
    """The sweep as a table: one row per (rule, samples), one column per step count."""
    rows = sweep["rows"]
    steps = sorted({r["steps"] for r in rows})
    lines = [
        f"test-time compute (noise {sweep['noise']} at each {sweep['at']}, seed {sweep['seed']}): exact accuracy",
        f"{'rule':>6s} {'samples':>7s} " + " ".join(f"{f'{s} steps':>9s}" for s in steps),
    ]
    for key in dict.fromkeys((r["rule"], r["samples"]) for r in rows):
        acc = {r["steps"]: r["exact_accuracy"] for r in rows if (r["rule"], r["samples"]) == key}
        lines.append(f"{key[0]:>6s} {key[1]:7d} " + " ".join(f"{acc[s]:9.4f}" for s in steps))
    return lines
