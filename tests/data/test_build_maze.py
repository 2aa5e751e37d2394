"""Tests of the maze dataset builder: layout, labels, split hygiene, augmentation and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentloop.data import build_maze as B
from latentloop.data.build_maze import build_maze_dataset
from latentloop.data.format import read_identifiers, read_split
from latentloop.errors import DatasetError
from latentloop.tasks import maze as M

SIZE, MIN_PATH = 11, 20
PARAMS = {"size": SIZE, "min_path": MIN_PATH, "n_train": 6, "n_test": 5, "seed": 0, "progress": False}


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_maze_dataset(tmp_path_factory.mktemp("build") / "maze", **PARAMS, workers=1)


@pytest.fixture(scope="module")
def augmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_maze_dataset(tmp_path_factory.mktemp("build") / "maze-aug", **PARAMS, aug=True, workers=1)


def test_layout_and_metadata(augmented: Path) -> None:
    assert read_identifiers(augmented) == ["<blank>"]
    assert sorted(p.name for p in augmented.iterdir()) == ["identifiers.json", "test", "train"]
    for name, puzzles, groups in (("train", 48, 6), ("test", 5, 5)):
        meta = json.loads((augmented / name / "dataset.json").read_text())
        assert {k: meta[k] for k in meta if k not in ("task", "provenance")} == {
            "seq_len": SIZE * SIZE,
            "vocab_size": 6,
            "pad_id": 0,
            "ignore_label_id": 0,
            "blank_identifier_id": 0,
            "num_puzzle_identifiers": 1,
            "total_groups": groups,
            "mean_puzzle_examples": 1.0,
            "total_puzzles": puzzles,
            "sets": ["all"],
        }
        assert meta["task"] == {"name": "maze", "height": SIZE, "width": SIZE}
        prov = meta["provenance"]
        assert prov["generator"] == "latentloop.data.build_maze" and prov["seed"] == 0
        assert prov["created_by"].startswith("latentloop ")
        assert prov["parameters"]["min_path"] == MIN_PATH and prov["parameters"]["aug"] is True
        assert prov["parameters"]["walls"] == list(M.wall_range(SIZE))
        assert prov["counts"]["train_mazes"] == 6 and prov["counts"]["train_examples"] == 48
        assert prov["counts"]["layouts_drawn"] >= 11
        dtypes = {p.name: np.load(p).dtype for p in (augmented / name).glob("*.npy")}
        assert dtypes == {
            "all__inputs.npy": np.uint8,
            "all__labels.npy": np.uint8,
            "all__puzzle_identifiers.npy": np.int32,
            "all__puzzle_indices.npy": np.int32,
            "all__group_indices.npy": np.int32,
            "all__ratings.npy": np.float32,
        }
    split = read_split(augmented / "train")
    assert np.array_equal(split.puzzle_indices, np.arange(49))
    assert np.array_equal(split.group_indices, np.arange(0, 49, 8))
    assert not split.puzzle_identifiers.any()
    assert np.array_equal(read_split(augmented / "test").group_indices, np.arange(6))


@pytest.mark.parametrize("name", ["dataset", "augmented"])
def test_every_label_is_the_rule_s_shortest_path(name: str, request: pytest.FixtureRequest) -> None:
    root = request.getfixturevalue(name)
    task = M.MazeTask(SIZE, SIZE)
    lo, hi = M.wall_range(SIZE)
    for split_name in ("train", "test"):
        split = read_split(root / split_name)
        assert split.inputs.min() >= 1 and split.labels.min() >= 1  # no PAD
        assert not (split.inputs == M.PATH + 1).any()
        assert task.score(split.inputs, split.labels, split.labels).all()
        for tokens, label_tokens, rating in zip(split.inputs, split.labels, split.extras["ratings"], strict=True):
            puzzle, label = task.decode(tokens), task.decode(label_tokens)
            assert np.array_equal(label, M.solve(puzzle))
            assert rating == M.shortest_distance(puzzle) > MIN_PATH
            assert lo <= (puzzle == M.WALL).sum() <= hi


def test_augmented_groups_hold_the_eight_transforms(augmented: Path) -> None:
    task = M.MazeTask(SIZE, SIZE)
    split = read_split(augmented / "train")
    for g in range(split.num_groups):
        members = range(split.group_indices[g], split.group_indices[g + 1])
        puzzles = [task.decode(split.inputs[p]) for p in members]
        assert len({p.tobytes() for p in puzzles}) == 8
        for k, puzzle in enumerate(puzzles):
            assert np.array_equal(puzzle, M.dihedral(puzzles[0], k))
        assert len(set(split.extras["ratings"][list(members)].tolist())) == 1


def test_originals_do_not_depend_on_aug(dataset: Path, augmented: Path) -> None:
    plain, aug = read_split(dataset / "train"), read_split(augmented / "train")
    assert np.array_equal(plain.inputs, aug.inputs[::8]) and np.array_equal(plain.labels, aug.labels[::8])
    assert files(dataset / "test")["all__inputs.npy"] == files(augmented / "test")["all__inputs.npy"]


def test_layouts_are_distinct_across_splits(dataset: Path) -> None:
    walls = np.concatenate([read_split(dataset / s).inputs for s in ("train", "test")]) == M.WALL + 1
    keys = {B._layout_key(w.reshape(SIZE, SIZE)) for w in walls}
    assert len(keys) == len(walls) == 11
    grids = walls.reshape(-1, SIZE, SIZE)
    border = np.concatenate([grids[:, [0, -1], :].ravel(), grids[:, :, [0, -1]].ravel()])
    assert 0 < border.mean() < 1  # walls may lie on the border, which is no wall frame


def test_same_seed_gives_identical_files_for_any_worker_count(dataset: Path, tmp_path: Path) -> None:
    again = build_maze_dataset(tmp_path / "w2", **PARAMS, workers=2)
    assert files(again) == files(dataset)
    other = build_maze_dataset(tmp_path / "s1", **{**PARAMS, "seed": 1}, workers=1)
    assert files(other)["train/all__inputs.npy"] != files(dataset)["train/all__inputs.npy"]


def test_duplicate_layouts_are_replaced_by_the_stream_s_next_maze(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(B, "stream_seed", lambda seed, split, index: 7)
    out = build_maze_dataset(tmp_path / "dup", **{**PARAMS, "n_train": 3, "n_test": 2}, workers=1)
    inputs = np.concatenate([read_split(out / s).inputs for s in ("train", "test")])
    expected = [M.MazeTask(SIZE, SIZE).encode(M.generate(SIZE, MIN_PATH, 7, skip=k)[0]) for k in range(5)]
    assert np.array_equal(inputs, np.stack(expected))
    meta = json.loads((out / "test" / "dataset.json").read_text())
    assert meta["provenance"]["counts"]["layout_collisions"] == 0 + 1 + 2 + 3 + 4


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"size": 1}, "size must be in 2..100"),
        ({"size": 101}, "size must be in 2..100"),
        ({"n_train": -1}, "n_train must be non-negative"),
        ({"n_test": -2}, "n_test must be non-negative"),
        ({"seed": -1}, "seed must be non-negative"),
        ({"min_path": -1}, "min_path must be non-negative"),
        ({"min_path": 121}, "min_path 121 is impossible for a 11x11 maze"),
        ({"size": 4, "min_path": 10}, "at most 10 moves"),
    ],
)
def test_impossible_parameters(overrides: dict, fragment: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=fragment):
        build_maze_dataset(tmp_path / "bad", **{**PARAMS, **overrides})
    assert not (tmp_path / "bad").exists()


def test_gives_up_and_leaves_the_old_dataset(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "kept"
    build_maze_dataset(out, **{**PARAMS, "n_train": 1, "n_test": 1}, workers=1)
    before = files(out)
    monkeypatch.setattr(B, "MAX_LAYOUTS", 300)
    with pytest.raises(DatasetError, match=r"gave up: 300 wall layouts .* longer than 40 moves; lower min_path"):
        build_maze_dataset(out, **{**PARAMS, "min_path": 40}, workers=1)
    assert files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_refuses_to_replace_a_non_dataset_directory(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(DatasetError, match="refusing to replace"):
        build_maze_dataset(tmp_path / "mine", **PARAMS, workers=1)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_empty_splits(tmp_path: Path) -> None:
    out = build_maze_dataset(tmp_path / "empty", **{**PARAMS, "n_train": 0, "n_test": 1}, workers=1)
    train = read_split(out / "train")
    assert train.inputs.shape == (0, SIZE * SIZE) and train.num_groups == 0
    assert read_split(out / "test").num_puzzles == 1
