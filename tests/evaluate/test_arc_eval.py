"""ARC scoring gives TRM's evaluator's numbers (evaluators/arc.py, as pretrain.py feeds it).

Each case lays its inputs out as the reference sees them: puzzle names ``{task}|||t{k}|||{perm}``
(the original task under its bare id) as its builder writes them into ``identifiers.json``, the
test split holding, per variant, that variant's augmented test inputs at offset (0, 0), the
builder's ``test_puzzles.json``, and per evaluation the predicted tokens and float32 halting
logits of every example in split order. The expected numbers follow from the reference's rules
(worked out beside each assertion); every `CASES` entry was also run through the reference's own
`ARC` evaluator class, which printed the same pass@K and submission.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from latentloop.config import load_config
from latentloop.data.build_arc import build_arc_dataset
from latentloop.data.format import DatasetMetadata, Split, read_split
from latentloop.errors import DatasetError
from latentloop.evaluate.arc import (
    ArcVotes,
    arc_lines,
    arc_report,
    score_arc_dataset,
    submission,
    write_submission,
)
from latentloop.evaluate.runner import Records
from latentloop.tasks.arc import encode_grid

Grid = list[list[int]]
PAD_ROW = np.zeros(900, np.int64)  # a prediction with no grid at all
EOS_FIRST = np.ones(900, np.int64)  # EOS in the top-left cell: no grid either
MAPS = ("0213456789", "0987654321", "0345678912")  # colour maps as the builder writes them (0 stays 0)


def augment(grid: Grid, k: int, mapping: str) -> np.ndarray:
    """The reference builder's augmentation: the colour map, then dihedral transform k (np.rot90 numbering)."""
    g = np.array([int(c) for c in mapping], np.uint8)[np.array(grid, np.uint8)]
    views = (g, np.rot90(g, 1), np.rot90(g, 2), np.rot90(g, 3), np.fliplr(g), np.flipud(g), g.T, np.fliplr(np.rot90(g)))
    return views[k]


@dataclass
class Case:
    """One dataset as the reference's evaluator reads it, and the evaluations fed to it."""

    root: Path  # holds identifiers.json and test_puzzles.json
    split: Split  # the test split
    rows: list[tuple[str, int, int, str]]  # per example: (task, test index, dihedral k, colour map)
    evaluations: list[tuple[np.ndarray, np.ndarray]]  # per evaluation: preds int64 [N, 900], logits float32 [N]

    def predict(self, answer: Callable[[int, str, int], Grid | np.ndarray | None], logits: list[float]) -> None:
        """Adds an evaluation: row i predicts answer(i, task, test index) (a grid in the task's frame, augmented
        here as the model would emit it; an array is a raw token row) with halting logit logits[i]."""
        preds = []
        for i, (task, j, k, mapping) in enumerate(self.rows):
            grid = answer(i, task, j)
            preds.append(grid if isinstance(grid, np.ndarray) else encode_grid(augment(grid, k, mapping)))
        self.evaluations.append((np.stack(preds).astype(np.int64), np.array(logits, np.float32)))


def make_case(root: Path, tasks: dict[str, list[tuple[Grid, Grid]]], variants: int) -> Case:
    """Tasks (test pairs in their own frame) with the original and `variants` augmented variants each."""
    recipes = [(0, "0123456789")] + [(k + 1, MAPS[k % len(MAPS)]) for k in range(variants)]
    names, rows, inputs, offsets, ids = ["<blank>"], [], [], [0], []
    for task, pairs in tasks.items():
        for k, mapping in recipes:
            names.append(task if k == 0 else f"{task}|||t{k}|||{mapping}")
            ids.append(len(names) - 1)
            for j, (inp, _) in enumerate(pairs):
                rows.append((task, j, k, mapping))
                inputs.append(encode_grid(augment(inp, k, mapping)))
            offsets.append(len(rows))
    demo = {"input": [[1]], "output": [[2]]}
    puzzles = {t: {"train": [demo], "test": [{"input": a, "output": b} for a, b in p]} for t, p in tasks.items()}
    root.mkdir(parents=True, exist_ok=True)
    (root / "identifiers.json").write_text(json.dumps(names))
    (root / "test_puzzles.json").write_text(json.dumps(puzzles))
    tokens = np.stack(inputs).astype(np.uint8)
    n, p = len(rows), len(ids)
    meta = DatasetMetadata(900, 12, 0, 0, 0, len(names), len(tasks), n / p, p, ["all"], {"name": "arc"})
    groups = np.arange(0, p + 1, len(recipes), dtype=np.int32)
    split = Split(meta, tokens, tokens, np.array(ids, np.int32), np.array(offsets, np.int32), groups)
    return Case(root, split, rows, [])


def score(case: Case, ks=(1, 2)):
    votes = ArcVotes.for_dataset(case.root, case.split)
    for preds, logits in case.evaluations:
        votes.add(preds, logits)
    return votes.result(ks)


X, Y, Y2, W = [[1, 2], [3, 0]], [[4, 5, 6]], [[7], [8]], [[9]]  # an input, two outputs, a wrong answer


def case_empty_crop(root: Path) -> Case:
    """(a) Rows 0 and 1 have no grid: the empty grid gets 2 votes, the right answer 1."""
    case = make_case(root, {"e": [(X, Y)]}, variants=2)
    case.predict(lambda i, t, j: [PAD_ROW, EOS_FIRST, Y][i], [0.0, 0.0, 0.0])
    return case


def case_confident_logits(root: Path) -> Case:
    """(b) One vote each; sigmoid in float32 is 1.0 for all four logits, in float64 only for 40 and 50."""
    case = make_case(root, {"b1": [(X, Y)], "b2": [(X, Y)]}, variants=1)
    case.predict(lambda i, t, j: [W, Y][i % 2], [20.0, 30.0, 40.0, 50.0])  # W first, then Y, per task
    return case


def case_equal_test_inputs(root: Path) -> Case:
    """(c) Task "d" has the same input twice (outputs Y, Y2): both test inputs share the 6 votes."""
    case = make_case(root, {"d": [(X, Y), (X, Y2)]}, variants=2)
    case.predict(lambda i, t, j: [Y, Y2][j], [1.0 if j == 0 else 0.0 for _, j, _, _ in case.rows])
    return case


def case_fraction_of_test_inputs(root: Path) -> Case:
    """(d, e) Task "h" gets its first of two test inputs right, task "s" its only one; one candidate each."""
    case = make_case(root, {"h": [(X, Y), (Y, Y2)], "s": [(Y2, X)]}, variants=1)
    case.predict(lambda i, t, j: {("h", 0): Y, ("h", 1): W, ("s", 0): X}[t, j], [0.0] * len(case.rows))
    return case


def case_two_evaluations(root: Path) -> Case:
    """(f) Votes add up over evaluations; the tie-break is the mean over all of a candidate's votes."""
    case = make_case(root, {"f": [(X, Y)], "g": [(X, Y)]}, variants=2)
    # task f, evaluation 1: Y Y W (logits 2 2 0); evaluation 2: W W Y (logits .5 .5 -2).
    # task g: evaluation 1 gives W then Y (logit 40: sigmoid 1.0 in float64), evaluation 2 Y then W.
    first = {"f": [Y, Y, W], "g": [W, Y, PAD_ROW]}
    second = {"f": [W, W, Y], "g": [Y, W, PAD_ROW]}
    case.predict(lambda i, t, j: first[t][i % 3], [2.0, 2.0, 0.0, 40.0, 40.0, 0.0])
    case.predict(lambda i, t, j: second[t][i % 3], [0.5, 0.5, -2.0, 40.0, 40.0, 0.0])
    return case


CASES = {
    "empty_crop": case_empty_crop,
    "confident_logits": case_confident_logits,
    "equal_test_inputs": case_equal_test_inputs,
    "fraction_of_test_inputs": case_fraction_of_test_inputs,
    "two_evaluations": case_two_evaluations,
}


def attempts_of(result, task: str) -> list[list[Grid]]:
    return [[g.tolist() for g in top] for top in result.attempts[task]]


def test_a_prediction_without_a_grid_votes_for_the_empty_grid(tmp_path: Path) -> None:
    result = score(case_empty_crop(tmp_path))
    assert result.pass_at_k == {1: 0.0, 2: 1.0}  # empty grid (2 votes) first, Y (1 vote) second
    assert result.ranks["e"] == [2] and result.counts["empty_crops"] == 2 and result.counts["votes"] == 3
    assert submission(result.attempts)["e"] == [{"attempt_1": [], "attempt_2": Y}]


def test_confident_halting_logits_rank_in_float64(tmp_path: Path) -> None:
    result = score(case_confident_logits(tmp_path))
    # b1: sigmoid(30) > sigmoid(20) in float64, so Y ranks first; b2: both are exactly 1.0, the first seen (W) wins
    assert result.ranks == {"b1": [1], "b2": [2]}
    assert result.pass_at_k == {1: 0.5, 2: 1.0}


def test_equal_test_inputs_share_their_votes(tmp_path: Path) -> None:
    result = score(case_equal_test_inputs(tmp_path))
    # Y and Y2 have 3 votes each; Y's mean sigmoid(1) beats Y2's 0.5: Y is rank 1 for both test inputs
    assert result.ranks["d"] == [1, 2]
    assert result.pass_at_k == {1: 0.5, 2: 1.0}
    assert result.strict_pass_at_k == {1: 0.0, 2: 1.0}
    assert attempts_of(result, "d") == [[Y, Y2], [Y, Y2]]


def test_pass_at_k_is_the_fraction_of_test_inputs_and_strict_is_beside_it(tmp_path: Path) -> None:
    case = case_fraction_of_test_inputs(tmp_path / "data")
    votes = ArcVotes.for_dataset(case.root, case.split)
    votes.add(*case.evaluations[0])
    report = arc_report(votes, tmp_path / "run" / "submission.json", [100])
    assert report["pass_at_k"]["2"] == 0.75  # (h: 1/2 + s: 1) / 2 tasks
    assert report["strict_pass_at_k"]["2"] == 0.5  # s only
    lines = arc_lines(report)
    assert "ARC pass@2 0.7500 (TRM / ARC Prize" in lines[-1] and "strict pass@2 0.5000" in lines[-1]
    assert "1 checkpoint(s) (steps 100)" in lines[-1]
    sub = json.loads((tmp_path / "run" / "submission.json").read_text())
    # one candidate per test input: the reference repeats it as the second attempt
    assert sub == {
        "h": [{"attempt_1": Y, "attempt_2": Y}, {"attempt_1": W, "attempt_2": W}],
        "s": [{"attempt_1": X, "attempt_2": X}],
    }


def test_votes_add_up_over_evaluations(tmp_path: Path) -> None:
    case = case_two_evaluations(tmp_path)
    result = score(case)
    # f: Y and W have 3 votes each; means (s(2) + s(2) + s(-2)) / 3 = 0.627 for Y, (0 + 2 s(.5)) / 3 = 0.582
    # for W, so Y wins (the mean of each evaluation's mean would pick W: 0.5 against 0.561).
    # g: 2 votes each, means exactly 1.0: the first candidate seen (W, evaluation 1) wins.
    assert result.ranks == {"f": [1], "g": [2]}
    assert result.pass_at_k == {1: 0.5, 2: 1.0}
    assert result.counts["evaluations"] == 2 and result.counts["votes"] == 12
    case.evaluations = case.evaluations[1:]
    assert score(case).ranks == {"f": [2], "g": [1]}  # the second evaluation alone


def test_records_feed_the_votes_with_their_raw_halting_logit(tmp_path: Path) -> None:
    case = case_confident_logits(tmp_path)
    preds, logits = case.evaluations[0]
    n = len(logits)
    steps = np.stack([np.zeros(n, np.float32), logits], 1)  # [N, 2]: the last step is scored
    sig = (1 / (1 + np.exp(-steps))).astype(np.float32)  # 1.0 for all four at step 2
    false = np.zeros((n, 2), bool)
    records = Records(np.arange(n), false, false.astype(np.float32), false, sig, np.full(n, 2), preds, steps)
    records = Records.concat([records]).sorted()
    votes = ArcVotes.for_dataset(case.root, case.split)
    votes.add_records(records)
    assert votes.result((1,)).pass_at_k == {1: 0.5}
    with pytest.raises(DatasetError, match="halting logits"):
        votes.add_records(_without_logits(records))


def _without_logits(records: Records) -> Records:
    return Records(
        records.index, records.exact, records.token, records.valid, records.q_halt, records.halt_at, records.predictions
    )


def test_a_test_input_without_votes_keeps_its_submission_place(tmp_path: Path) -> None:
    case = case_fraction_of_test_inputs(tmp_path)
    preds, logits = case.evaluations[0]
    votes = ArcVotes.for_dataset(case.root, case.split)
    votes.add(preds[:3], logits[:3])  # h's two test inputs of the original, h's first of the variant
    result = votes.result((1, 2))
    assert result.counts["test_inputs_without_votes"] == 1 and result.ranks["s"] == [None]
    assert submission(result.attempts)["s"] == [{"attempt_1": [[0]], "attempt_2": [[0]]}]


def test_rows_of_other_tasks_are_ignored_as_by_the_reference(tmp_path: Path) -> None:
    case = case_fraction_of_test_inputs(tmp_path)
    puzzles = json.loads((case.root / "test_puzzles.json").read_text())
    del puzzles["s"]
    (case.root / "test_puzzles.json").write_text(json.dumps(puzzles))
    result = score(case)
    assert result.counts["unmatched_rows"] == 2 and result.counts["tasks"] == 1
    assert result.pass_at_k == {1: 0.5, 2: 0.5}


def test_bad_arguments(tmp_path: Path) -> None:
    case = case_empty_crop(tmp_path)
    preds, logits = case.evaluations[0]
    votes = ArcVotes.for_dataset(case.root, case.split)
    with pytest.raises(DatasetError, match="halting logits"):
        votes.add(preds, logits[:2])
    with pytest.raises(DatasetError, match="4 predictions for a test split of 3"):
        votes.add(np.concatenate([preds, preds[:1]]), np.zeros(4))
    with pytest.raises(DatasetError, match="has no name"):
        ArcVotes(case.split, ["<blank>", "e"], {"e": [(np.array(X), np.array(Y))]}).add(preds, logits)
    (tmp_path / "test_puzzles.json").write_text("{}")
    with pytest.raises(DatasetError, match="non-empty"):
        ArcVotes.for_dataset(tmp_path, case.split)


def test_the_arc_preset_keeps_every_evaluations_checkpoint() -> None:
    assert load_config("trm-att-arc").train.keep_checkpoints == 0  # 0 = keep all


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("arc") / "arc1"
    return build_arc_dataset(out, version=1, aug=3, seed=0, progress=False, max_tasks_per_set=3)


def test_perfect_predictions_on_a_built_dataset(dataset: Path, tmp_path: Path) -> None:
    test = read_split(dataset / "test")
    labels = np.asarray(test.labels)
    result = score_arc_dataset(dataset, labels, np.zeros(len(labels), np.float32))
    assert result.counts["tasks"] == 3 and result.counts["votes"] == len(labels)
    assert all(v == 1.0 for v in result.pass_at_k.values())
    assert all(r == [1] * len(r) for r in result.ranks.values())  # all 4 variants agree after inversion
    path = write_submission(tmp_path / "out" / "submission.json", result.attempts)
    sub = json.loads(path.read_text())
    puzzles = json.loads((dataset / "test_puzzles.json").read_text())
    assert sub.keys() == puzzles.keys()
    for task_id, task in puzzles.items():
        assert [a["attempt_1"] for a in sub[task_id]] == [t["output"] for t in task["test"]]
    inputs = score_arc_dataset(dataset, np.asarray(test.inputs)[:5], np.zeros(5), ks=(2,))
    assert inputs.counts["examples"] == 5 and inputs.counts["test_inputs_without_votes"] >= 1
