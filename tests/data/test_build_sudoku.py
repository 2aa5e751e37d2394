"""Tests of the Sudoku dataset builder: layout, content, split hygiene and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentloop.data import build_sudoku as B
from latentloop.data.build_sudoku import build_sudoku_dataset
from latentloop.data.format import read_identifiers, read_split
from latentloop.errors import DatasetError, PuzzleError
from latentloop.tasks import sudoku as S


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "sudoku6"
    return build_sudoku_dataset(out, size=6, n_train=8, n_test=5, aug=3, seed=0, progress=False)


def test_layout_and_metadata(dataset: Path) -> None:
    assert read_identifiers(dataset) == ["<blank>"]
    assert sorted(p.name for p in dataset.iterdir()) == ["identifiers.json", "test", "train"]
    for name, puzzles, groups in (("train", 32, 8), ("test", 5, 5)):
        meta = json.loads((dataset / name / "dataset.json").read_text())
        assert {k: meta[k] for k in meta if k not in ("task", "provenance")} == {
            "seq_len": 36,
            "vocab_size": 8,
            "pad_id": 0,
            "ignore_label_id": 0,
            "blank_identifier_id": 0,
            "num_puzzle_identifiers": 1,
            "total_groups": groups,
            "mean_puzzle_examples": 1.0,
            "total_puzzles": puzzles,
            "sets": ["all"],
        }
        assert meta["task"] == {"name": "sudoku", "size": 6, "box_rows": 2, "box_cols": 3}
        prov = meta["provenance"]
        assert prov["seed"] == 0 and prov["created_by"].startswith("latentloop ")
        assert prov["parameters"]["aug"] == 3 and prov["counts"]["train_puzzles"] == 8
        dtypes = {p.name: np.load(p).dtype for p in (dataset / name).glob("*.npy")}
        assert dtypes == {
            "all__inputs.npy": np.uint8,
            "all__labels.npy": np.uint8,
            "all__puzzle_identifiers.npy": np.int32,
            "all__puzzle_indices.npy": np.int32,
            "all__group_indices.npy": np.int32,
            "all__ratings.npy": np.float32,
        }


def test_train_groups_hold_original_and_augmentations(dataset: Path) -> None:
    split = read_split(dataset / "train")
    assert split.inputs.shape == (32, 36)
    assert np.array_equal(split.puzzle_indices, np.arange(33))
    assert np.array_equal(split.group_indices, np.arange(0, 33, 4))
    assert not split.puzzle_identifiers.any()
    assert split.inputs.min() >= 1 and split.labels.min() >= 2  # no PAD; labels are full grids
    shape = S.shape_for_size(6)
    ratings = split.extras["ratings"]
    for g in range(split.num_groups):
        members = range(split.group_indices[g], split.group_indices[g + 1])
        clues = set()
        for p in members:
            puzzle, solution = S.decode(split.inputs[p], shape), S.decode(split.labels[p], shape)
            assert S.verify(puzzle, solution, shape) and S.has_unique_solution(puzzle, shape)
            clues.add(int((puzzle > 0).sum()))
        assert len(clues) == 1
        assert len({split.inputs[p].tobytes() for p in members}) > 1
        assert len(set(ratings[list(members)].tolist())) == 1


def test_test_split_and_no_shared_solutions(dataset: Path) -> None:
    train, test = read_split(dataset / "train"), read_split(dataset / "test")
    assert test.inputs.shape == (5, 36)
    assert np.array_equal(test.group_indices, np.arange(6))
    originals = train.group_indices[:-1]
    train_solutions = {train.labels[p].tobytes() for p in originals}
    test_solutions = {row.tobytes() for row in test.labels}
    assert not train_solutions & test_solutions
    all_puzzles = [train.inputs[p].tobytes() for p in originals] + [row.tobytes() for row in test.inputs]
    assert len(set(all_puzzles)) == len(all_puzzles)


def test_same_seed_is_byte_identical(dataset: Path, tmp_path: Path) -> None:
    again = build_sudoku_dataset(tmp_path / "again", size=6, n_train=8, n_test=5, aug=3, seed=0, progress=False)
    other = build_sudoku_dataset(tmp_path / "other", size=6, n_train=8, n_test=5, aug=3, seed=1, progress=False)
    assert files(again) == files(dataset)
    other_files = files(other)
    assert other_files.keys() == files(dataset).keys()
    assert other_files["train/all__inputs.npy"] != files(dataset)["train/all__inputs.npy"]


def test_min_rating_filters(tmp_path: Path) -> None:
    out = build_sudoku_dataset(tmp_path / "hard", size=9, n_train=3, n_test=2, aug=0, min_rating=2.0, progress=False)
    for name in ("train", "test"):
        split = read_split(out / name)
        assert (split.extras["ratings"] >= 2.0).all()
        assert split.num_puzzles == split.num_groups
    counts = json.loads((out / "train" / "dataset.json").read_text())["provenance"]["counts"]
    assert (
        counts["generated"] == 5 + counts["below_min_rating"] + counts["duplicates"] + counts["solution_in_full_split"]
    )


def test_progress_bar_can_be_silenced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_sudoku_dataset(tmp_path / "quiet", size=4, n_train=2, n_test=1, aug=1, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    build_sudoku_dataset(tmp_path / "loud", size=4, n_train=2, n_test=1, aug=1, progress=True)
    assert "sudoku 4x4" in capsys.readouterr().err


def test_bad_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PuzzleError, match="unsupported Sudoku size 5"):
        build_sudoku_dataset(tmp_path / "x", size=5, n_train=1, n_test=1, aug=0, progress=False)
    with pytest.raises(DatasetError, match="aug must be non-negative"):
        build_sudoku_dataset(tmp_path / "x", size=4, n_train=1, n_test=1, aug=-1, progress=False)
    monkeypatch.setattr(B, "_MAX_FAILED_ATTEMPTS", 50)
    with pytest.raises(DatasetError, match="gave up after 50 draws"):
        build_sudoku_dataset(tmp_path / "x", size=4, n_train=1, n_test=1, aug=0, min_rating=99, progress=False)
    assert not (tmp_path / "x").exists()
