"""ARC scoring as TRM's evaluator scores: undo each augmentation, vote, pass@K, submission.json.

Every test-split example is one test input of one augmented variant of an evaluation task; its
puzzle name says which task and which `Recipe`. For each example of each evaluation:

1. crop the predicted tokens and the input tokens (`latentloop.tasks.arc.crop_shapes`, the
   references' crop); a prediction without a grid is the empty 0x0 grid and votes like any other;
2. map both back to the original task's frame: g = pi^-1[D_k^-1(g')] (`Recipe.invert`);
3. the prediction is a vote for the test input of that task whose input grid equals the
   un-augmented input (so two equal test inputs of one task share their votes), carrying the
   halting probability sigmoid(q_halt), computed in float64 from the float32 logit;
4. votes add up over every evaluation given (TRM votes across all the evaluations of a run:
   `latentloop eval --checkpoints all`); a candidate grid scores (votes, mean halting probability
   over all its votes), candidates are ranked by that, descending, and exact ties keep the
   candidate seen first;
5. a test input is right at K when its true output is among the top K candidates.

``pass_at_k[K]`` is TRM's and the ARC Prize's score: each task scores the fraction of its test
inputs right, averaged over the tasks of ``test_puzzles.json``; the official number is pass@2.
``strict_pass_at_k[K]`` counts a task only when all its test inputs are right (HRM's notebook).
``submission.json`` holds the top two candidates per test input, the first repeated when only one
was voted; a test input without any vote (none of its examples was evaluated) gets ``[[0]]`` twice
so that the positions stay aligned (TRM's evaluator leaves such an entry out).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from latentloop.data.format import Split, read_identifiers, read_split
from latentloop.errors import DatasetError, PuzzleError
from latentloop.evaluate.solve import Solution, solve_tokens
from latentloop.tasks.arc import (
    COLOUR_OFFSET,
    IDENTITY,
    SEQ_LEN,
    ArcTask,
    Recipe,
    as_canvases,
    crop,
    crop_shapes,
    encode_grid,
    parse_grid,
    parse_puzzle_name,
    parse_task,
)

if TYPE_CHECKING:
    from latentloop.evaluate.runner import Records
    from latentloop.evaluate.solve import Run

DEFAULT_KS = (1, 2, 5, 10, 100, 1000)
SUBMISSION_K = 2
TEST_PUZZLES = "test_puzzles.json"
MISSING_ATTEMPT = [[0]]
SCORING = "TRM / ARC Prize: per task the fraction of its test inputs right within K attempts, mean over tasks"
STRICT_SCORING = "strict: a task counts only when every one of its test inputs is right"
_CHUNK = 4096

TestPair = tuple[np.ndarray, np.ndarray]  # (input, output) grids of one test input, in the task's frame
Slot = tuple[str, bytes]  # what a vote is for: (task id, grid_key of the un-augmented test input)
_Row = tuple[Slot, Recipe] | None  # per example: its slot and augmentation; None for a blank row


@dataclass
class _Candidate:
    grid: np.ndarray
    votes: int = 0
    prob_sum: float = 0.0


def _ranked(candidates: Mapping[bytes, _Candidate]) -> list[tuple[bytes, _Candidate]]:
    """Candidates best first by (votes, mean halting probability); the sort is stable, so on exact ties
    the candidate seen first (the dict's insertion order) stays first, as in the reference."""
    scored = [(key, cand, (cand.votes, cand.prob_sum / cand.votes)) for key, cand in candidates.items()]
    scored.sort(key=lambda item: item[2], reverse=True)
    return [(key, cand) for key, cand, _ in scored]


def _add_vote(candidates: dict[bytes, _Candidate], grid: np.ndarray, prob: float) -> None:
    cand = candidates.setdefault(grid_key(grid), _Candidate(grid))
    cand.votes += 1
    cand.prob_sum += prob


@dataclass
class ArcResult:
    """The outcome of `ArcVotes.result` / `score_arc`.

    Attributes:
        pass_at_k: K -> TRM's / the ARC Prize's score (mean over tasks of the fraction of their test
            inputs right within the top K).
        strict_pass_at_k: K -> fraction of tasks whose every test input is right within the top K.
        ranks: task id -> per test input, the 1-based rank of the true output among the voted
            candidates, or None when no vote matched it.
        attempts: task id -> per test input, the top two candidate grids (the first twice when only
            one was voted; an empty list without votes).
        counts: tasks, test_inputs, evaluations, examples (rows given, over all evaluations), votes,
            empty_crops (votes for the empty grid), blank_rows, unmatched_rows (rows whose task or
            test input is not in test_puzzles.json: ignored, as by the reference),
            test_inputs_without_votes.
    """

    pass_at_k: dict[int, float]
    strict_pass_at_k: dict[int, float]
    ranks: dict[str, list[int | None]]
    attempts: dict[str, list[list[np.ndarray]]]
    counts: dict[str, int] = field(default_factory=dict)


def grid_key(grid: np.ndarray) -> bytes:
    """A hashable identity of a grid: its shape and cells."""
    g = np.ascontiguousarray(grid, dtype=np.int8)
    return np.asarray(g.shape, dtype=np.int8).tobytes() + g.tobytes()


def load_test_puzzles(path: str | Path) -> dict[str, list[TestPair]]:
    """The (input, output) grids of every test input per task, from ``test_puzzles.json``.

    Raises:
        DatasetError: A missing or unreadable file, no task, or a task without test pairs.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing; rebuild the ARC dataset with `latentloop data build arc`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    if not isinstance(raw, dict) or not raw:
        raise DatasetError(f"{path} must hold a non-empty object of tasks by id")
    return {task_id: _test_pairs(task, f"{path.name}: task {task_id}") for task_id, task in raw.items()}


def test_pairs_from_split(split: Split, identifiers: Sequence[str]) -> dict[str, list[TestPair]]:
    """The (input, output) grids of every test input per task, read from the un-augmented puzzles of a test
    split (names without an augmentation suffix), for a dataset without ``test_puzzles.json`` (HRM's builder
    writes none; its test split holds each evaluation task's test pairs, untranslated, with their outputs).

    Raises:
        DatasetError: The split has no un-augmented puzzle, or one of its rows holds no grid.
    """
    pairs: dict[str, list[TestPair]] = {}
    for p, ident in enumerate(np.asarray(split.puzzle_identifiers).tolist()):
        if ident == split.metadata.blank_identifier_id or not 0 <= ident < len(identifiers):
            continue
        task_id, recipe = parse_puzzle_name(identifiers[ident])
        if not recipe.is_identity:
            continue
        for row in range(int(split.puzzle_indices[p]), int(split.puzzle_indices[p + 1])):
            inp, out = crop(np.asarray(split.inputs[row])), crop(np.asarray(split.labels[row]))
            if inp is None or out is None:
                raise DatasetError(f"test example {row} of task {task_id} holds no grid at the top-left corner")
            pairs.setdefault(task_id, []).append((inp, out))
    if not pairs:
        raise DatasetError(f"the test split has no un-augmented puzzle and the dataset no {TEST_PUZZLES}")
    return pairs


def _test_pairs(task: Any, where: str) -> list[TestPair]:
    tests = task.get("test") if isinstance(task, dict) else None
    if not isinstance(tests, list) or not tests:
        raise DatasetError(f"{where} needs a non-empty 'test' list")
    try:
        return [
            tuple(
                parse_grid(t.get(k) if isinstance(t, dict) else None, f"{where} test {k}") for k in ("input", "output")
            )
            for t in tests
        ]
    except PuzzleError as e:
        raise DatasetError(str(e)) from None


class ArcVotes:
    """The votes of one or more evaluations of an ARC test split, accumulated as TRM's evaluator does.

    ``add`` one evaluation (one checkpoint's predictions) after another, in the order they were made
    (training step ascending), then read the ``result``.
    """

    def __init__(self, split: Split, identifiers: Sequence[str], test_puzzles: Mapping[str, list[TestPair]]) -> None:
        """
        Args:
            split: The test split (its inputs, puzzle_indices and puzzle_identifiers are used).
            identifiers: ``identifiers.json``: embedding id -> puzzle name.
            test_puzzles: task id -> (input, output) grids per test input (`load_test_puzzles`).

        Raises:
            DatasetError: No task, or a task without test inputs.
        """
        if not test_puzzles or any(not pairs for pairs in test_puzzles.values()):
            raise DatasetError(f"{TEST_PUZZLES} must hold at least one task, each with test inputs")
        self.split = split
        self.identifiers = identifiers
        self.test_puzzles = test_puzzles
        self._wanted = {(t, grid_key(inp)) for t, pairs in test_puzzles.items() for inp, _ in pairs}
        self._rows: list[_Row] = []
        self._votes: dict[Slot, dict[bytes, _Candidate]] = {}
        self.counts = dict.fromkeys(("evaluations", "examples", "votes", "empty_crops", "blank_rows"), 0)
        self.counts["unmatched_rows"] = 0

    @classmethod
    def for_dataset(cls, dataset_dir: str | Path, split: Split | None = None) -> ArcVotes:
        """Votes over an ARC dataset directory's test split (read unless given), identifiers and test puzzles."""
        root = Path(dataset_dir)
        split = read_split(root / "test") if split is None else split
        identifiers = read_identifiers(root)
        if (root / TEST_PUZZLES).exists():
            votes = cls(split, identifiers, load_test_puzzles(root / TEST_PUZZLES))
        else:  # HRM's builder writes no test_puzzles.json
            votes = cls(split, identifiers, test_pairs_from_split(split, identifiers))
            votes.counts["test_inputs_from_split"] = 1
        return votes

    def add(self, predictions: np.ndarray, q_halt_logits: np.ndarray) -> None:
        """Add one evaluation's votes.

        Args:
            predictions: int [N, 900] predicted tokens (argmax) for the first N examples of the split,
                in the split's order.
            q_halt_logits: float [N], the halting logit of each example where its answer was read.

        Raises:
            DatasetError: Shapes that disagree with each other or with the split, or an unnamed puzzle.
        """
        preds = np.asarray(predictions)
        logits = np.asarray(q_halt_logits).reshape(-1)
        if preds.ndim != 2 or preds.shape[1] != SEQ_LEN or logits.shape[0] != preds.shape[0]:
            raise DatasetError(
                f"predictions must be [N, {SEQ_LEN}] with halting logits [N]; got {preds.shape}, {logits.shape}"
            )
        rows = self._rows_upto(preds.shape[0])
        probs = torch.from_numpy(logits.copy()).to(torch.float64).sigmoid().tolist()  # float64, as the reference
        counts = self.counts
        counts["evaluations"] += 1
        counts["examples"] += len(preds)
        for start in range(0, len(preds), _CHUNK):
            canvases = as_canvases(preds[start : start + _CHUNK])
            heights, widths = crop_shapes(canvases)
            for offset, (h, w) in enumerate(zip(heights.tolist(), widths.tolist(), strict=True)):
                row = rows[start + offset]
                if row is None:
                    counts["blank_rows"] += 1
                elif row[0] not in self._wanted:
                    counts["unmatched_rows"] += 1
                else:
                    grid = row[1].invert(canvases[offset, :h, :w].astype(np.int8) - COLOUR_OFFSET)
                    _add_vote(self._votes.setdefault(row[0], {}), grid, probs[start + offset])
                    counts["votes"] += 1
                    counts["empty_crops"] += h == 0

    def add_records(self, records: Records) -> None:
        """`add` an evaluation's records (`evaluate.runner.collect(..., keep_predictions=True)`): each
        example's prediction and halting logit at the last step run."""
        if records.predictions is None or records.q_halt_logit is None:
            raise DatasetError(
                "ARC scoring needs the predictions and halting logits: collect(..., keep_predictions=True)"
            )
        if not np.array_equal(records.index, np.arange(len(records.index))):
            raise DatasetError("ARC scoring needs the records of the split's first N examples, in order")
        self.add(records.predictions, records.q_halt_logit[:, -1])

    def _rows_upto(self, n: int) -> list[_Row]:
        """Slot and recipe of the split's first n examples (computed once, from their input tokens)."""
        split = self.split
        if n > split.num_examples:
            raise DatasetError(f"{n} predictions for a test split of {split.num_examples} examples")
        start = len(self._rows)
        if n <= start:
            return self._rows
        puzzles = np.searchsorted(split.puzzle_indices, np.arange(start, n), side="right") - 1
        sources = {int(p): self._source(int(split.puzzle_identifiers[p])) for p in np.unique(puzzles)}
        for chunk in range(start, n, _CHUNK):
            canvases = as_canvases(np.asarray(split.inputs[chunk : min(chunk + _CHUNK, n)]))
            heights, widths = crop_shapes(canvases)
            for offset, (h, w) in enumerate(zip(heights.tolist(), widths.tolist(), strict=True)):
                source = sources[int(puzzles[chunk - start + offset])]
                if source is None:
                    self._rows.append(None)
                    continue
                task_id, recipe = source
                grid = recipe.invert(canvases[offset, :h, :w].astype(np.int8) - COLOUR_OFFSET)
                self._rows.append(((task_id, grid_key(grid)), recipe))
        return self._rows

    def _source(self, ident: int) -> tuple[str, Recipe] | None:
        """(task id, recipe) of a puzzle identifier; None for the blank one."""
        if ident == self.split.metadata.blank_identifier_id:
            return None
        if not 0 <= ident < len(self.identifiers):
            raise DatasetError(f"puzzle identifier {ident} has no name ({len(self.identifiers)} identifiers)")
        try:
            return parse_puzzle_name(self.identifiers[ident])
        except PuzzleError as e:
            raise DatasetError(str(e)) from None

    def result(self, ks: Sequence[int] = DEFAULT_KS) -> ArcResult:
        """pass@K over the votes added so far (see the module docstring)."""
        ranks: dict[str, list[int | None]] = {}
        attempts: dict[str, list[list[np.ndarray]]] = {}
        fraction_sums = [0.0] * len(ks)  # summed task by task in test_puzzles order, as the reference
        strict_sums = [0] * len(ks)
        for task_id, pairs in self.test_puzzles.items():
            ranks[task_id], attempts[task_id] = [], []
            right = [0] * len(ks)
            for inp, out in pairs:
                ranked = _ranked(self._votes.get((task_id, grid_key(inp)), {}))
                target = grid_key(out)
                rank = next((i + 1 for i, (key, _) in enumerate(ranked) if key == target), None)
                ranks[task_id].append(rank)
                top = [cand.grid for _, cand in ranked[:SUBMISSION_K]]
                attempts[task_id].append(top + top[:1] * (SUBMISSION_K - len(top)))
                for i, k in enumerate(ks):
                    right[i] += rank is not None and rank <= k
            for i in range(len(ks)):
                fraction_sums[i] += right[i] / len(pairs)
                strict_sums[i] += right[i] == len(pairs)
        n_tasks = len(self.test_puzzles)
        counts = dict(self.counts)
        counts |= {
            "tasks": n_tasks,
            "test_inputs": sum(len(r) for r in ranks.values()),
            "test_inputs_without_votes": sum(not a for per_input in attempts.values() for a in per_input),
        }
        return ArcResult(
            pass_at_k={k: fraction_sums[i] / n_tasks for i, k in enumerate(ks)},
            strict_pass_at_k={k: strict_sums[i] / n_tasks for i, k in enumerate(ks)},
            ranks=ranks,
            attempts=attempts,
            counts=counts,
        )


def score_arc(
    predictions: np.ndarray,
    q_halt_logits: np.ndarray,
    split: Split,
    identifiers: Sequence[str],
    test_puzzles: Mapping[str, list[TestPair]],
    ks: Sequence[int] = DEFAULT_KS,
) -> ArcResult:
    """Votes one evaluation's predictions of a test split and scores them (see `ArcVotes.add`)."""
    votes = ArcVotes(split, identifiers, test_puzzles)
    votes.add(predictions, q_halt_logits)
    return votes.result(ks)


def score_arc_dataset(
    dataset_dir: str | Path, predictions: np.ndarray, q_halt_logits: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> ArcResult:
    """`score_arc` with the test split, identifiers and test puzzles read from an ARC dataset directory."""
    votes = ArcVotes.for_dataset(dataset_dir)
    votes.add(predictions, q_halt_logits)
    return votes.result(ks)


def submission(attempts: Mapping[str, list[list[np.ndarray]]]) -> dict[str, list[dict[str, list[list[int]]]]]:
    """The ARC Prize submission object: task id -> per test input ``{"attempt_1": grid, "attempt_2": grid}``.

    A test input without attempts (no vote) gets ``[[0]]`` for both.
    """
    out = {}
    for task_id, per_input in attempts.items():
        out[task_id] = [
            {
                f"attempt_{a + 1}": np.asarray(top[a]).astype(int).tolist() if top else MISSING_ATTEMPT
                for a in range(SUBMISSION_K)
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


def arc_report(votes: ArcVotes, submission_path: str | Path, checkpoints: Sequence[int] = ()) -> dict:
    """The ``arc`` part of eval.json for the votes of the evaluated checkpoints, and submission.json."""
    result = votes.result()
    write_submission(submission_path, result.attempts)
    return {
        "scoring": SCORING,
        "pass_at_k": {str(k): v for k, v in result.pass_at_k.items()},
        "strict_pass_at_k": {str(k): v for k, v in result.strict_pass_at_k.items()},
        "checkpoints": list(checkpoints),
        "counts": result.counts,
        "submission": str(submission_path),
    }


def arc_lines(report: Mapping[str, Any]) -> list[str]:
    """The console lines of an `arc_report`: the pass@K table and the headline pass@2 with its scoring."""
    strict = report["strict_pass_at_k"]
    lines = [f"{'K':>5s} {'pass@K':>8s} {'strict':>8s}"]
    lines += [f"{k:>5s} {v:8.4f} {strict[k]:8.4f}" for k, v in report["pass_at_k"].items()]
    steps = report.get("checkpoints") or []
    source = f"votes of {len(steps)} checkpoint(s) (steps {', '.join(map(str, steps))})" if steps else "one evaluation"
    k = str(SUBMISSION_K)
    if k in report["pass_at_k"]:
        lines.append(
            f"ARC pass@{k} {report['pass_at_k'][k]:.4f} ({SCORING}); strict pass@{k} {strict[k]:.4f} "
            f"(every test input of a task right); {source}"
        )
    counts = report.get("counts", {})
    if counts.get("test_inputs_from_split"):
        lines.append(f"note: no {TEST_PUZZLES} (as HRM's builder); test inputs read from the test split")
    if counts.get("unmatched_rows"):
        lines.append(f"note: {counts['unmatched_rows']} predictions belong to no test input of {TEST_PUZZLES}; ignored")
    return lines


def vote(grids: Sequence[np.ndarray | None], probs: Sequence[float]) -> list[tuple[np.ndarray, int, float]]:
    """Rank candidate grids (already in the task's frame) by votes, then mean halting probability.

    Returns (grid, votes, mean probability) per distinct candidate, best first; None grids cast no vote.
    """
    cands: dict[bytes, _Candidate] = {}
    for grid, prob in zip(grids, probs, strict=True):
        if grid is not None:
            _add_vote(cands, np.asarray(grid), float(prob))
    return [(c.grid, c.votes, c.prob_sum / c.votes) for _, c in _ranked(cands)]


# ---------------------------------------------------------------------------------------------
# The ARC task's evaluation companion (tasks/arc.py `ArcTask.evaluation`): what `latentloop eval` calls.

DEFAULT_CHECKPOINTS = "all"  # TRM's evaluator keeps adding votes over every evaluation of a run


def collector(dataset_dir: str | Path, split: Split) -> ArcVotes:
    """Votes over the test split's predictions, added checkpoint by checkpoint."""
    return ArcVotes.for_dataset(dataset_dir, split)


def report(votes: ArcVotes, run_dir: Path, checkpoints: Sequence[int]) -> dict:
    """pass@K and RUN_DIR/submission.json from the votes (see `arc_report`)."""
    return arc_report(votes, Path(run_dir) / "submission.json", checkpoints)


lines = arc_lines


def summary(scoring: Mapping[str, Any]) -> dict[str, float]:
    """The headline numbers for a report's table: pass@1 and pass@2 (TRM's scoring)."""
    return {f"pass@{k}": v for k, v in scoring["pass_at_k"].items() if k in ("1", "2")}


# ---------------------------------------------------------------------------------------------
# One task given as JSON (`latentloop solve RUN task.json`)


@dataclass
class ArcAnswer:
    """The voted answer to one test input of an ARC task."""

    attempts: list[np.ndarray]  # the top two candidates (fewer when fewer grids came out)
    votes: list[int]  # votes of each attempt
    candidates: int  # distinct grids voted for
    variants: int  # augmented variants run
    correct: bool | None  # attempt 1 or 2 equals the known output (None without one)
    trajectory: Solution  # the un-augmented variant's run, step by step


def _arc_variants(run: Run, task: dict, hint: str | None) -> tuple[str | None, list[tuple[int, Recipe]]]:
    """The task's id and its (puzzle identifier, recipe) variants in the run's dataset, if it is there.

    The task is looked up by `hint` (e.g. the file name), else by its demonstrations among the
    dataset's evaluation tasks (`test_puzzles.json`).
    """

    root = Path(run.cfg.data.path or "")
    if not (root / "identifiers.json").is_file():
        return None, []
    by_task: dict[str, list[tuple[int, Recipe]]] = {}
    for ident, name in enumerate(read_identifiers(root)[1:], start=1):
        tid, recipe = parse_puzzle_name(name)
        by_task.setdefault(tid, []).append((ident, recipe))
    if hint in by_task:
        return hint, by_task[hint]
    if (root / TEST_PUZZLES).is_file():
        demos = [(p["input"].tolist(), p["output"].tolist()) for p in task["train"]]
        for tid, raw in json.loads((root / TEST_PUZZLES).read_text()).items():
            stored = parse_task(raw, tid)["train"]
            if [(p["input"].tolist(), p["output"].tolist()) for p in stored] == demos and tid in by_task:
                return tid, by_task[tid]
    return None, []


@torch.no_grad()
def solve_arc(
    run: Run, task_json: str, task_id: str | None = None, steps: int | None = None
) -> tuple[str | None, list[ArcAnswer]]:
    """Solve every test input of an ARC task as the references do: run each augmented variant the
    model was trained with (its own puzzle embedding), undo the augmentation, vote.

    A task the model never saw has no puzzle embedding: it runs once with the blank identifier,
    which rarely gives a right answer (ARC models of this family need the task's demonstrations
    in training).

    Returns:
        (the task's id in the run's dataset, None when it is not there; one ArcAnswer per test input).
    """
    task = parse_task(task_json, task_id or "task")
    task_id, variants = _arc_variants(run, task, task_id)
    variants = variants or [(0, IDENTITY)]
    arc = ArcTask()
    answers = []
    for test in task["test"]:
        tokens = np.stack([encode_grid(recipe.apply(test["input"])) for _, recipe in variants])
        ids = np.array([ident for ident, _ in variants], np.int32)
        sols = []
        for start in range(0, len(tokens), 256):
            sols += solve_tokens(run.model, arc, tokens[start : start + 256], ids[start : start + 256], steps)
        # as `ArcVotes` (the references): the top-left crop of each answer, an empty grid when there is none
        crops = [crop(s.tokens) for s in sols]
        grids = [
            np.zeros((0, 0), np.int8) if g is None else r.invert(g) for g, (_, r) in zip(crops, variants, strict=True)
        ]
        ranked = vote(grids, [1 / (1 + np.exp(-s.q_halt[-1])) for s in sols])
        attempts = [g for g, _, _ in ranked[:2]]
        target = test.get("output")
        plain = next((i for i, (_, r) in enumerate(variants) if r.is_identity), 0)  # shown step by step
        recipe, first = variants[plain][1], sols[plain]
        first.trajectory = [recipe.invert(g) if g.size else g for g in first.trajectory]
        first.puzzle, first.answer, first.target = test["input"], first.trajectory[-1], target
        if target is not None:
            first.correct = [g.shape == target.shape and bool((g == target).all()) for g in first.trajectory]
        answers.append(
            ArcAnswer(
                attempts,
                [v for _, v, _ in ranked[:2]],
                len(ranked),
                len(variants),
                None if target is None else any(a.shape == target.shape and (a == target).all() for a in attempts),
                first,
            )
        )
    return task_id, answers


def solve_file(run: Run, text: str, path: Path, steps: int | None) -> tuple[str | None, list[ArcAnswer]]:
    """`latentloop solve` on an ARC task file (the evaluation companion's hook for inputs that are more than one
    puzzle): every test input voted over the task's variants in the run's dataset (`solve_arc`)."""
    stem = path.stem if path.suffix == ".json" and path.is_file() else None
    return solve_arc(run, text, task_id=stem, steps=steps)
