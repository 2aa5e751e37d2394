from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentloop.data.build_arc import build_arc_dataset
from latentloop.data.format import DatasetMetadata, Split, read_split
from latentloop.errors import DatasetError
from latentloop.evaluate.arc import score_arc, score_arc_dataset, submission, write_submission
from latentloop.tasks.arc import Recipe, encode_grid, puzzle_name

A0 = np.array([[1, 2, 0], [3, 0, 0]], np.int8)
B0 = np.array([[4, 5], [6, 7]], np.int8)
B1 = np.array([[1], [1], [8]], np.int8)
WRONG = np.array([[9]], np.int8)
RA = Recipe(1, (0, 2, 1, 3, 4, 5, 6, 7, 8, 9))
RB = Recipe(7, (0, 9, 8, 7, 6, 5, 4, 3, 2, 1))
TRUTH = {"a": [A0], "b": [B0, B1]}
NAMES = ["<blank>", "a", puzzle_name("a", RA), "b", puzzle_name("b", RB)]
PAD_ROW = np.zeros(900, np.uint8)


def split_of(puzzle_ids: list[int], sizes: list[int]) -> Split:
    n = sum(sizes)
    meta = DatasetMetadata(900, 12, 0, 0, 0, len(NAMES), 1, n / len(sizes), len(sizes))
    tokens = np.zeros((n, 900), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    return Split(meta, tokens, tokens, np.array(puzzle_ids, np.int32), offsets, np.array([0, len(sizes)], np.int32))


# puzzles: a (1 test input), a under RA, b (2 test inputs), b under RB, a blank padding row
SPLIT = split_of([1, 2, 3, 4, 0], [1, 1, 2, 2, 1])


def rows(a: np.ndarray, a_var: np.ndarray, b0: np.ndarray, b1: np.ndarray, b0_var: np.ndarray, b1_var: np.ndarray):
    """Prediction rows from grids given in the original frame (the variants get augmented here)."""
    grids = [a, RA.apply(a_var), b0, b1, RB.apply(b0_var), RB.apply(b1_var)]
    return np.stack([encode_grid(g) for g in grids] + [encode_grid(A0)])  # the blank row votes for nothing


def test_variant_votes_agree_after_inversion() -> None:
    result = score_arc(rows(A0, A0, B0, B1, B0, B1), np.full(7, 0.5), SPLIT, NAMES, TRUTH)
    assert result.ranks == {"a": [1], "b": [1, 1]}
    assert all(v == 1.0 for v in result.pass_at_k.values())
    assert result.counts["votes"] == 6 and result.counts["blank_rows"] == 1


def test_ties_are_broken_by_mean_halting_probability() -> None:
    preds = rows(A0, WRONG, B0, B1, B0, B1)
    high_for_wrong = np.array([0.2, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5])
    result = score_arc(preds, high_for_wrong, SPLIT, NAMES, TRUTH, ks=(1, 2))
    assert result.ranks["a"] == [2]
    assert result.pass_at_k == {1: 0.5, 2: 1.0}
    assert np.array_equal(result.attempts["a"][0][0], WRONG)
    result = score_arc(preds, 1 - high_for_wrong, SPLIT, NAMES, TRUTH, ks=(1, 2))
    assert result.ranks["a"] == [1] and result.pass_at_k == {1: 1.0, 2: 1.0}


def test_invalid_crops_cast_no_vote() -> None:
    preds = rows(WRONG, A0, B0, B1, B0, B1)
    preds[0] = PAD_ROW  # the wrong answer cannot be cropped, so the variant's right answer wins
    result = score_arc(preds, np.full(7, 0.5), SPLIT, NAMES, TRUTH)
    assert result.ranks["a"] == [1] and result.counts["invalid_crops"] == 1
    preds[1] = PAD_ROW
    result = score_arc(preds, np.full(7, 0.5), SPLIT, NAMES, TRUTH, ks=(1000,))
    assert result.ranks["a"] == [None] and result.counts["test_inputs_without_votes"] == 1
    assert result.pass_at_k == {1000: 0.5}
    assert submission(result.attempts)["a"] == [{"attempt_1": [[0]], "attempt_2": [[0]]}]


def test_a_task_needs_all_its_test_inputs() -> None:
    result = score_arc(rows(A0, A0, B0, WRONG, B0, WRONG), np.full(7, 0.5), SPLIT, NAMES, TRUTH, ks=(1, 2))
    assert result.ranks["b"] == [1, None]
    assert result.pass_at_k == {1: 0.5, 2: 0.5}  # a solved, b not
    assert result.fractional_pass_at_k == {1: 0.75, 2: 0.75}  # a 1, b 1/2
    sub = submission(result.attempts)
    assert sub["b"][1] == {"attempt_1": WRONG.tolist(), "attempt_2": [[0]]}
    assert sub["a"] == [{"attempt_1": A0.tolist(), "attempt_2": [[0]]}]


def test_rank_counts_votes_first() -> None:
    split = split_of([1, 2, 1, 2], [1, 1, 1, 1])  # four variants' worth of task a
    preds = np.stack([encode_grid(WRONG), encode_grid(RA.apply(A0)), encode_grid(A0), encode_grid(RA.apply(B0))])
    result = score_arc(preds, np.array([1.0, 0.0, 0.0, 1.0]), split, NAMES, {"a": [A0]}, ks=(1,))
    assert result.ranks["a"] == [1] and result.pass_at_k == {1: 1.0}  # 2 votes beat two single votes


def test_bad_arguments() -> None:
    preds = rows(A0, A0, B0, B1, B0, B1)
    with pytest.raises(DatasetError, match="q_halt_prob"):
        score_arc(preds, np.zeros(3), SPLIT, NAMES, TRUTH)
    with pytest.raises(DatasetError, match="8 predictions for a test split of 7"):
        score_arc(np.concatenate([preds, preds[:1]]), np.zeros(8), SPLIT, NAMES, TRUTH)
    with pytest.raises(DatasetError, match=r"is not in test_puzzles\.json"):
        score_arc(preds, np.zeros(7), SPLIT, NAMES, {"a": [A0]})
    with pytest.raises(DatasetError, match="has no name"):
        score_arc(preds, np.zeros(7), SPLIT, NAMES[:3], TRUTH)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("arc") / "arc1"
    return build_arc_dataset(out, version=1, aug=3, seed=0, progress=False, max_tasks_per_set=3)


def test_perfect_predictions_on_a_built_dataset(dataset: Path, tmp_path: Path) -> None:
    test = read_split(dataset / "test")
    labels = np.asarray(test.labels)
    result = score_arc_dataset(dataset, labels, np.full(len(labels), 0.5))
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
