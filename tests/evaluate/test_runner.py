"""The evaluation summary from hand-made per-example records: curves, halting, trade-off, buckets."""

from __future__ import annotations

import numpy as np
import pytest

from latentloop.data.format import DatasetMetadata, Split
from latentloop.evaluate.runner import Records, difficulty_buckets, halting_tradeoff, summarize


def records() -> Records:
    # 4 examples, 3 steps. Example 0 is right from step 1, 1 from step 2, 2 from step 3, 3 never.
    exact = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 0]], bool)
    q_halt = np.array([[0.9, 0.9, 0.9], [0.2, 0.8, 0.9], [0.1, 0.3, 0.6], [0.1, 0.1, 0.1]], np.float32)
    halt_at = np.array([1, 2, 3, 3])  # the head's own rule (q_halt > 0 here means p > 0.5)
    valid = exact.copy()
    valid[3, 2] = True  # a valid answer that is not the label (e.g. another shortest maze path)
    return Records(np.arange(4), exact, exact.astype(np.float32), valid, q_halt, halt_at, None)


def split(ratings: list[float]) -> Split:
    meta = DatasetMetadata(16, 6, 0, 0, 0, 1, 4, 1.0, 4, ["all"], {"name": "sudoku"})
    return Split(
        meta,
        np.ones((4, 16), np.uint8),
        np.ones((4, 16), np.uint8),
        np.zeros(4, np.int32),
        np.arange(5, dtype=np.int32),
        np.arange(5, dtype=np.int32),
        {"ratings": np.asarray(ratings, np.float32)},
    )


def test_curves_and_halting() -> None:
    out = summarize(records(), split([0, 1, 2, 3]))
    assert out["exact_accuracy_per_step"] == [0.25, 0.5, 0.75]
    assert out["valid_accuracy_per_step"] == [0.25, 0.5, 1.0]
    assert out["exact_accuracy"] == 0.75 and out["valid_accuracy"] == 1.0
    assert out["halt_step_histogram"] == [1, 1, 2]
    assert out["mean_halt_steps"] == pytest.approx(9 / 4)
    assert out["exact_accuracy_at_halt"] == 0.75  # examples 0, 1, 2 are right where they halt


def test_halting_tradeoff_thresholds() -> None:
    rows = {r["threshold"]: r for r in halting_tradeoff(records())}
    # tau = 0.5: stops at 1, 2, 3, 3 (the last step when never above)
    assert rows[0.5]["mean_steps"] == pytest.approx(9 / 4) and rows[0.5]["exact_accuracy"] == 0.75
    # tau = 0.1: stops at 1, 1, 2 (p = 0.3) and 3 (p = 0.1 is never above); only example 0 is right then
    assert rows[0.1]["mean_steps"] == pytest.approx((1 + 1 + 2 + 3) / 4)
    assert rows[0.1]["exact_accuracy"] == 0.25


def test_difficulty_buckets_by_rating() -> None:
    rows = difficulty_buckets(records(), np.array([0.0, 0.0, 10.0, 10.0]), n_buckets=2)
    assert [r["count"] for r in rows] == [2, 2]
    easy, hard = rows
    assert easy["exact_accuracy"] == 1.0 and hard["exact_accuracy"] == 0.5
    assert easy["mean_halt_steps"] == 1.5 and hard["mean_halt_steps"] == 3.0
    assert summarize(records(), split([0, 0, 10, 10]))["buckets"][1]["mean_rating"] == 10.0
