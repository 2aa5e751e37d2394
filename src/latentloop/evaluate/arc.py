"""ARC scoring: undo each prediction's augmentation, vote over the variants, pass@K, submission.json.

Every test-split example is one test input of one augmented variant of an evaluation task (its
puzzle name says which task and which `Recipe`; its position inside the puzzle says which test
input; the builder keeps the task's test-input order). For each example:

1. crop the predicted tokens (`latentloop.tasks.arc.crop`); an example without a grid casts no vote;
2. map the grid back to the original task's frame: g = pi^-1[D_k^-1(g')] (`Recipe.invert`);
3. collect the votes per (task, test input); a candidate grid scores (count, mean halting
   probability sigmoid(q_halt)) and candidates are ranked by that, descending (HRM/TRM);
4. a test input is right at K when its true output is among the top K candidates.

``pass_at_k[K]`` counts a task as solved only when ALL its test inputs are right at K (HRM's
notebook); ``fractional_pass_at_k[K]`` gives each task the fraction of its test inputs that are
right (TRM's evaluator and the ARC Prize score). Both divide by the number of tasks in
``test_puzzles.json``; the official number is pass@2. The ARC Prize ``submission.json`` holds the
top two candidates per test input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentloop.data.format import BLANK_PUZZLE_ID, Split, read_identifiers, read_split
from latentloop.errors import DatasetError, PuzzleError
from latentloop.tasks.arc import (
    COLOUR_OFFSET,
    SEQ_LEN,
    Recipe,
    as_canvases,
    crop_shapes,
    parse_grid,
    parse_puzzle_name,
)

DEFAULT_KS = (1, 2, 5, 10, 100, 1000)
TEST_PUZZLES = "test_puzzles.json"
MISSING_ATTEMPT = [[0]]
_CHUNK = 4096

Source = tuple[str, Recipe] | None  # (task id, augmentation) of a test example; None for a blank row


@dataclass
class _Candidate:
    grid: np.ndarray
    votes: int = 0
    prob_sum: float = 0.0
    first: int = 0

    def key(self) -> tuple[int, float, int]:
        """Sort key: more votes, then higher mean halting probability, then seen earlier."""
        return -self.votes, -self.prob_sum / self.votes, self.first


@dataclass
class ArcResult:
    """The outcome of `score_arc`.

    Attributes:
        pass_at_k: K -> fraction of tasks whose every test input is right within the top K.
        fractional_pass_at_k: K -> mean over tasks of the fraction of their test inputs right at K.
        ranks: task id -> per test input, the 1-based rank of the true output among the voted
            candidates, or None when no vote matched it.
        attempts: task id -> per test input, the top two candidate grids (fewer if fewer were voted).
        counts: tasks, test_inputs, examples (scored rows), votes (rows with a grid), invalid_crops,
            blank_rows (padding rows), test_inputs_without_votes.
    """

    pass_at_k: dict[int, float]
    fractional_pass_at_k: dict[int, float]
    ranks: dict[str, list[int | None]]
    attempts: dict[str, list[list[np.ndarray]]]
    counts: dict[str, int] = field(default_factory=dict)


def grid_key(grid: np.ndarray) -> bytes:
    """A hashable identity of a grid: its shape and cells."""
    g = np.ascontiguousarray(grid, dtype=np.int8)
    return np.asarray(g.shape, dtype=np.int8).tobytes() + g.tobytes()


def load_test_puzzles(path: str | Path) -> dict[str, list[np.ndarray]]:
    """The true output grid of every test input per task, from ``test_puzzles.json``.

    Raises:
        DatasetError: A missing or unreadable file, or a task without test outputs.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing; rebuild the ARC dataset with `latentloop data build arc`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    if not isinstance(raw, dict):
        raise DatasetError(f"{path} must hold an object of tasks by id")
    return {task_id: _test_outputs(task, f"{path.name}: task {task_id}") for task_id, task in raw.items()}


def _test_outputs(task: Any, where: str) -> list[np.ndarray]:
    tests = task.get("test") if isinstance(task, dict) else None
    if not isinstance(tests, list) or not tests:
        raise DatasetError(f"{where} needs a non-empty 'test' list")
    try:
        return [parse_grid(t.get("output") if isinstance(t, dict) else None, f"{where} test output") for t in tests]
    except PuzzleError as e:
        raise DatasetError(str(e)) from None


def _example_sources(split: Split, n: int, identifiers: Sequence[str]) -> tuple[list[Source], np.ndarray]:
    """Per row < n: (task id, Recipe) of its puzzle (None for blank rows), and its test-input index."""
    if n > split.num_examples:
        raise DatasetError(f"{n} predictions for a test split of {split.num_examples} examples")
    rows = np.arange(n)
    puzzle = np.searchsorted(split.puzzle_indices, rows, side="right") - 1
    index = rows - split.puzzle_indices[puzzle]
    sources: list[Source] = []
    for ident in split.puzzle_identifiers:
        ident = int(ident)
        if ident >= len(identifiers):
            raise DatasetError(f"puzzle identifier {ident} has no name ({len(identifiers)} identifiers)")
        sources.append(None if ident == BLANK_PUZZLE_ID else parse_puzzle_name(identifiers[ident]))
    return [sources[p] for p in puzzle], index


def _collect_votes(
    predictions: np.ndarray,
    probs: np.ndarray,
    sources: list[Source],
    index: np.ndarray,
    truth: Mapping[str, list[np.ndarray]],
) -> tuple[dict[tuple[str, int], dict[bytes, _Candidate]], dict[str, int]]:
    """Votes per (task, test input) from every row's un-augmented crop."""
    votes: dict[tuple[str, int], dict[bytes, _Candidate]] = {}
    counts = {"examples": len(sources), "votes": 0, "invalid_crops": 0, "blank_rows": 0}
    for start in range(0, len(sources), _CHUNK):
        canvases = as_canvases(predictions[start : start + _CHUNK])
        heights, widths = crop_shapes(canvases)
        for offset, (h, w) in enumerate(zip(heights.tolist(), widths.tolist(), strict=True)):
            row = start + offset
            if sources[row] is None:
                counts["blank_rows"] += 1
                continue
            task_id, recipe = sources[row]
            if task_id not in truth or index[row] >= len(truth[task_id]):
                raise DatasetError(f"test example {row} ({task_id}, test input {index[row]}) is not in {TEST_PUZZLES}")
            if h == 0:
                counts["invalid_crops"] += 1
                continue
            grid = recipe.invert(canvases[offset, :h, :w].astype(np.int8) - COLOUR_OFFSET)
            cands = votes.setdefault((task_id, int(index[row])), {})
            cand = cands.setdefault(grid_key(grid), _Candidate(grid, first=row))
            cand.votes += 1
            cand.prob_sum += float(probs[row])
            counts["votes"] += 1
    return votes, counts


def _rank(candidates: Mapping[bytes, _Candidate], target: np.ndarray) -> tuple[int | None, list[np.ndarray]]:
    """(1-based rank of the target among the ranked candidates or None, the top two grids)."""
    ranked = sorted(candidates.items(), key=lambda kv: kv[1].key())
    key = grid_key(target)
    rank = next((i + 1 for i, (k, _) in enumerate(ranked) if k == key), None)
    return rank, [c.grid for _, c in ranked[:2]]


def score_arc(
    predictions: np.ndarray,
    q_halt_prob: np.ndarray,
    split: Split,
    identifiers: Sequence[str],
    test_puzzles: Mapping[str, list[np.ndarray]],
    ks: Sequence[int] = DEFAULT_KS,
) -> ArcResult:
    """Votes the predictions of a test split and scores them (see the module docstring).

    Args:
        predictions: int [N, 900] predicted tokens (argmax) for the first N examples of the split,
            in the split's order (usually all of them).
        q_halt_prob: float [N], sigmoid(q_halt) of each example at the step its answer was read.
        split: The test split (its puzzle_indices and puzzle_identifiers are used).
        identifiers: ``identifiers.json``: embedding id -> puzzle name.
        test_puzzles: task id -> true output grid per test input (`load_test_puzzles`).
        ks: The K of pass@K.

    Raises:
        DatasetError: Shapes that disagree, or examples whose task or test input is not in test_puzzles.
    """
    preds = np.asarray(predictions)
    probs = np.asarray(q_halt_prob, dtype=np.float64).reshape(-1)
    if preds.ndim != 2 or preds.shape[1] != SEQ_LEN or probs.shape[0] != preds.shape[0]:
        raise DatasetError(f"predictions must be [N, {SEQ_LEN}] with q_halt_prob [N]; got {preds.shape}, {probs.shape}")
    empty = [task_id for task_id, outputs in test_puzzles.items() if not outputs]
    if empty:
        raise DatasetError(f"test puzzle {empty[0]} has no test outputs")
    sources, index = _example_sources(split, preds.shape[0], identifiers)
    votes, counts = _collect_votes(preds, probs, sources, index, test_puzzles)
    ranks: dict[str, list[int | None]] = {}
    attempts: dict[str, list[list[np.ndarray]]] = {}
    for task_id, outputs in test_puzzles.items():
        results = [_rank(votes.get((task_id, j), {}), target) for j, target in enumerate(outputs)]
        ranks[task_id] = [rank for rank, _ in results]
        attempts[task_id] = [top for _, top in results]
    right = {k: [[r is not None and r <= k for r in task_ranks] for task_ranks in ranks.values()] for k in ks}
    n_tasks = max(len(ranks), 1)
    counts |= {
        "tasks": len(ranks),
        "test_inputs": sum(len(r) for r in ranks.values()),
        "test_inputs_without_votes": sum(not votes.get((t, j)) for t, r in ranks.items() for j in range(len(r))),
    }
    return ArcResult(
        pass_at_k={k: sum(all(t) for t in right[k]) / n_tasks for k in ks},
        fractional_pass_at_k={k: sum(sum(t) / len(t) for t in right[k]) / n_tasks for k in ks},
        ranks=ranks,
        attempts=attempts,
        counts=counts,
    )


def score_arc_dataset(
    dataset_dir: str | Path, predictions: np.ndarray, q_halt_prob: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> ArcResult:
    """`score_arc` with the test split, identifiers and test puzzles read from an ARC dataset directory."""
    root = Path(dataset_dir)
    split = read_split(root / "test")
    return score_arc(
        predictions, q_halt_prob, split, read_identifiers(root), load_test_puzzles(root / TEST_PUZZLES), ks
    )


def submission(attempts: Mapping[str, list[list[np.ndarray]]]) -> dict[str, list[dict[str, list[list[int]]]]]:
    """The ARC Prize submission object: task id -> per test input ``{"attempt_1": grid, "attempt_2": grid}``.

    A missing attempt (no vote, or only one candidate) is ``[[0]]``, as the Prize's format asks.
    """
    out = {}
    for task_id, per_input in attempts.items():
        out[task_id] = [
            {
                f"attempt_{a + 1}": np.asarray(top[a]).astype(int).tolist() if a < len(top) else MISSING_ATTEMPT
                for a in range(2)
            }
            for top in per_input
        ]
    return out


def write_submission(path: str | Path, attempts: Mapping[str, list[list[np.ndarray]]]) -> Path:
    """Writes `submission` (e.g. of ``ArcResult.attempts``) as ``submission.json`` at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(submission(attempts)) + "\n", encoding="utf-8")
    return path


def arc_report(records: Any, split: Split, dataset_dir: str | Path, submission_path: str | Path) -> dict:
    """pass@K of an evaluation's records (`evaluate.runner.Records` with predictions), and submission.json.

    Each example's answer is its prediction at the last step run, its confidence sigmoid(q_halt) there.
    """
    root = Path(dataset_dir)
    if records.predictions is None:
        raise DatasetError("ARC scoring needs the predictions: collect(..., keep_predictions=True)")
    result = score_arc(
        records.predictions,
        records.q_halt[:, -1],
        split,
        read_identifiers(root),
        load_test_puzzles(root / TEST_PUZZLES),
    )
    write_submission(submission_path, result.attempts)
    return {
        "pass_at_k": {str(k): v for k, v in result.pass_at_k.items()},
        "fractional_pass_at_k": {str(k): v for k, v in result.fractional_pass_at_k.items()},
        "counts": result.counts,
        "submission": str(submission_path),
    }


def vote(grids: Sequence[np.ndarray | None], probs: Sequence[float]) -> list[tuple[np.ndarray, int, float]]:
    """Rank candidate grids (already in the task's frame) by votes, then mean halting probability.

    Returns (grid, votes, mean probability) per distinct candidate, best first; None grids cast no vote.
    """
    cands: dict[bytes, _Candidate] = {}
    for i, (grid, prob) in enumerate(zip(grids, probs, strict=True)):
        if grid is None:
            continue
        cand = cands.setdefault(grid_key(grid), _Candidate(np.asarray(grid), first=i))
        cand.votes += 1
        cand.prob_sum += float(prob)
    ranked = sorted(cands.values(), key=_Candidate.key)
    return [(c.grid, c.votes, c.prob_sum / c.votes) for c in ranked]
