"""Tests of the on-disk dataset format: round trip, validation and atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentloop.data import format as F
from latentloop.data.format import DatasetMetadata
from latentloop.errors import DatasetError


def small_arrays() -> dict[str, np.ndarray]:
    """3 groups / 5 puzzles / 7 examples, seq_len 4, vocab 6."""
    rng = np.random.default_rng(0)
    return {
        "inputs": rng.integers(1, 6, (7, 4)).astype(np.uint8),
        "labels": rng.integers(0, 6, (7, 4)).astype(np.uint8),
        "puzzle_identifiers": np.array([1, 2, 3, 4, 5], np.int32),
        "puzzle_indices": np.array([0, 1, 3, 4, 6, 7], np.int32),
        "group_indices": np.array([0, 2, 3, 5], np.int32),
        "ratings": np.linspace(0, 1, 5).astype(np.float32),
    }


def small_metadata(**overrides: object) -> DatasetMetadata:
    fields = {
        "seq_len": 4,
        "vocab_size": 6,
        "pad_id": 0,
        "ignore_label_id": 0,
        "blank_identifier_id": 0,
        "num_puzzle_identifiers": 6,
        "total_groups": 3,
        "mean_puzzle_examples": 7 / 5,
        "total_puzzles": 5,
        "task": {"name": "toy"},
        "provenance": {"seed": 1},
    }
    fields.update(overrides)
    return DatasetMetadata(**fields)


@pytest.fixture
def split_dir(tmp_path: Path) -> Path:
    return F.write_split(tmp_path / "train", small_arrays(), small_metadata())


def test_constants() -> None:
    assert (F.PAD_ID, F.IGNORE_LABEL_ID, F.BLANK_PUZZLE_ID) == (0, -100, 0)


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip(split_dir: Path, mmap: bool) -> None:
    names = sorted(p.name for p in split_dir.iterdir())
    assert names == [
        "all__group_indices.npy",
        "all__inputs.npy",
        "all__labels.npy",
        "all__puzzle_identifiers.npy",
        "all__puzzle_indices.npy",
        "all__ratings.npy",
        "dataset.json",
    ]
    split = F.read_split(split_dir, mmap=mmap)
    assert split.metadata == small_metadata()
    expected = small_arrays()
    for name in F.REQUIRED_ARRAYS:
        assert np.array_equal(getattr(split, name), expected[name])
    assert np.array_equal(split.extras["ratings"], expected["ratings"])
    assert isinstance(split.inputs, np.memmap) == mmap
    assert (split.num_examples, split.num_puzzles, split.num_groups) == (7, 5, 3)


def test_dtypes_on_disk_match_reference(tmp_path: Path) -> None:
    arrays = {k: v.astype(np.int64) for k, v in small_arrays().items() if k != "ratings"}
    F.write_split(tmp_path, arrays, small_metadata())
    dtypes = {name: np.load(tmp_path / f"all__{name}.npy").dtype for name in F.REQUIRED_ARRAYS}
    assert dtypes == {
        "inputs": np.uint8,
        "labels": np.uint8,
        "puzzle_identifiers": np.int32,
        "puzzle_indices": np.int32,
        "group_indices": np.int32,
    }
    data = json.loads((tmp_path / "dataset.json").read_text())
    for key in ("pad_id", "ignore_label_id", "blank_identifier_id", "vocab_size", "seq_len"):
        assert isinstance(data[key], int)
    assert data["sets"] == ["all"] and data["total_puzzles"] == 5


def test_reads_reference_metadata_without_latentloop_fields(split_dir: Path) -> None:
    path = split_dir / "dataset.json"
    data = json.loads(path.read_text())
    for key in ("total_puzzles", "task", "provenance"):
        del data[key]
    path.write_text(json.dumps(data))
    split = F.read_split(split_dir)
    assert split.metadata.total_puzzles == 5 and split.metadata.task is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "dataset.json is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        (b"\xff\xfe", "cannot read .*dataset.json"),
    ],
)
def test_corrupt_metadata(split_dir: Path, content: str | bytes, message: str) -> None:
    path = split_dir / "dataset.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        F.read_split(split_dir)


@pytest.mark.parametrize("field", ["seq_len", "vocab_size", "ignore_label_id", "sets", "total_groups"])
def test_missing_metadata_field(split_dir: Path, field: str) -> None:
    path = split_dir / "dataset.json"
    data = json.loads(path.read_text())
    del data[field]
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=f"dataset.json is missing the required field '{field}'"):
        DatasetMetadata.from_json(path)


@pytest.mark.parametrize(("field", "value"), [("seq_len", "81"), ("pad_id", True), ("sets", []), ("task", 3)])
def test_mistyped_metadata_field(split_dir: Path, field: str, value: object) -> None:
    path = split_dir / "dataset.json"
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=f"field '{field}' has an invalid value"):
        F.read_split(split_dir)


@pytest.mark.parametrize("mmap", [True, False])
@pytest.mark.parametrize("name", ["inputs", "puzzle_indices"])
def test_truncated_npy(split_dir: Path, name: str, mmap: bool) -> None:
    path = split_dir / f"all__{name}.npy"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DatasetError, match=f"all__{name}.npy is corrupt or truncated"):
        F.read_split(split_dir, mmap=mmap)


@pytest.mark.parametrize("content", [b"", b"garbage" * 20, b"\x93NUMPY\x01\x00"])
def test_garbage_npy(split_dir: Path, content: bytes) -> None:
    (split_dir / "all__labels.npy").write_bytes(content)
    with pytest.raises(DatasetError, match=r"all__labels\.npy is corrupt or truncated"):
        F.read_split(split_dir)


def test_missing_files(split_dir: Path, tmp_path: Path) -> None:
    (split_dir / "all__group_indices.npy").unlink()
    with pytest.raises(DatasetError, match=r"all__group_indices\.npy is missing"):
        F.read_split(split_dir)
    (split_dir / "dataset.json").unlink()
    with pytest.raises(DatasetError, match=r"dataset\.json is missing"):
        F.read_split(split_dir)
    with pytest.raises(DatasetError, match="does not exist"):
        F.read_split(tmp_path / "nowhere")


def _broken(name: str, value: np.ndarray) -> dict[str, np.ndarray]:
    arrays = small_arrays()
    arrays[name] = value
    return arrays


@pytest.mark.parametrize(
    ("arrays", "meta", "message"),
    [
        (_broken("inputs", np.ones((7, 5), np.uint8)), {}, r"inputs have shape \(7, 5\); expected \[N, 4\]"),
        (_broken("labels", np.ones((6, 4), np.uint8)), {}, "labels have shape"),
        (_broken("inputs", np.full((7, 4), 6, np.uint8)), {}, "token ids outside 0..5"),
        (
            _broken("puzzle_indices", np.array([0, 1, 3, 4, 6, 8], np.int32)),
            {},
            "puzzle_indices must rise from 0 to 7",
        ),
        (_broken("puzzle_indices", np.array([0, 3, 1, 4, 6, 7], np.int32)), {}, "without decreasing"),
        (_broken("puzzle_indices", np.array([0, 1, 7], np.int32)), {}, r"expected \(6,\)"),
        (
            _broken("group_indices", np.array([1, 2, 3, 5], np.int32)),
            {},
            "group_indices must rise from 0 to 5",
        ),
        (_broken("puzzle_identifiers", np.array([1, 2, 3, 4, 9], np.int32)), {}, "num_puzzle_identifiers"),
        (_broken("ratings", np.zeros(4, np.float32)), {}, "extra array 'ratings'"),
        (small_arrays(), {"total_groups": 4}, "total_groups is 4 but there are 3"),
        (small_arrays(), {"total_puzzles": 6}, "total_puzzles is 6 but there are 5"),
    ],
)
def test_inconsistent_arrays(
    tmp_path: Path, arrays: dict[str, np.ndarray], meta: dict[str, object], message: str
) -> None:
    with pytest.raises(DatasetError, match=message):
        F.write_split(tmp_path / "w", arrays, small_metadata(**meta))
    good = F.write_split(tmp_path / "r", small_arrays(), small_metadata())
    for name, value in arrays.items():
        np.save(good / f"all__{name}.npy", value)
    small_metadata(**meta).to_json(good / "dataset.json")
    with pytest.raises(DatasetError, match=message):
        F.read_split(good)


def test_identifiers(tmp_path: Path) -> None:
    F.write_identifiers(tmp_path, ["<blank>", "a"])
    assert F.read_identifiers(tmp_path) == ["<blank>", "a"]
    assert json.loads((tmp_path / "identifiers.json").read_text()) == ["<blank>", "a"]
    with pytest.raises(DatasetError, match="must start with '<blank>'"):
        F.write_identifiers(tmp_path, ["a"])
    (tmp_path / "identifiers.json").write_text("{")
    with pytest.raises(DatasetError, match=r"identifiers\.json"):
        F.read_identifiers(tmp_path)


def _write_toy(root: Path, tag: str) -> None:
    F.write_identifiers(root, ["<blank>"])
    F.write_split(root / "train", small_arrays(), small_metadata(provenance={"tag": tag}))


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert F.write_dataset_atomically(out, lambda root: _write_toy(root, "one")) == out
    assert F.read_split(out / "train").metadata.provenance == {"tag": "one"}
    F.write_dataset_atomically(out, lambda root: _write_toy(root, "two"))
    assert F.read_split(out / "train").metadata.provenance == {"tag": "two"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_atomic_write_failure_leaves_old_dataset(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    F.write_dataset_atomically(out, lambda root: _write_toy(root, "one"))

    def failing(root: Path) -> None:
        _write_toy(root, "two")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        F.write_dataset_atomically(out, failing)
    assert F.read_split(out / "train").metadata.provenance == {"tag": "one"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    with pytest.raises(KeyboardInterrupt):
        F.write_dataset_atomically(tmp_path / "new", failing)
    assert not (tmp_path / "new").exists()


def test_atomic_write_refuses_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="refusing to replace"):
        F.write_dataset_atomically(tmp_path, lambda root: _write_toy(root, "x"))
    assert (tmp_path / "notes.txt").read_text() == "keep me"
