"""Compatibility with the HRM/TRM on-disk format, for every kind of dataset we build.

* Ours, read the way the reference loader reads (only the metadata fields its pydantic model
  declares, the five arrays by name with mmap, dtypes as its builders write them).
* Theirs: the same files stripped of everything latentloop adds (task, provenance,
  total_puzzles, extra arrays) load here, are recognised as the right task, and train.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from latentloop.config import load_config
from latentloop.data.build_arc import build_arc_dataset
from latentloop.data.build_maze import build_maze_dataset
from latentloop.data.format import read_split
from latentloop.tasks import task_for
from latentloop.train.trainer import Trainer

# PuzzleDatasetMetadata of the references (HRM dataset/common.py; TRM adds total_puzzles).
REFERENCE_FIELDS = {
    "pad_id": int,
    "ignore_label_id": (int, type(None)),
    "blank_identifier_id": int,
    "vocab_size": int,
    "seq_len": int,
    "num_puzzle_identifiers": int,
    "total_groups": int,
    "mean_puzzle_examples": (int, float),
    "sets": list,
}
REFERENCE_DTYPES = {
    "inputs": np.uint8,
    "labels": np.uint8,
    "puzzle_identifiers": np.int32,
    "puzzle_indices": np.int32,
    "group_indices": np.int32,
}


@pytest.fixture(scope="module")
def datasets(sudoku4_dataset: Path, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compat")
    return {
        "sudoku": sudoku4_dataset,
        "maze": build_maze_dataset(root / "maze", size=7, min_path=8, n_train=10, n_test=6, workers=1, progress=False),
        "arc": build_arc_dataset(root / "arc", version=1, aug=2, progress=False, max_tasks_per_set=2),
    }


def reference_read(split_dir: Path) -> dict:
    """What the reference loader sees: declared metadata fields and the five arrays, memory-mapped."""
    meta = json.loads((split_dir / "dataset.json").read_text())
    for name, kind in REFERENCE_FIELDS.items():
        assert isinstance(meta[name], kind), (split_dir, name, meta[name])
    out = {"meta": meta}
    for s in meta["sets"]:
        for field, dtype in REFERENCE_DTYPES.items():
            arr = np.load(split_dir / f"{s}__{field}.npy", mmap_mode="r")
            assert arr.dtype == dtype, (split_dir, field, arr.dtype)
            out[field] = arr
    return out


@pytest.mark.parametrize("kind", ["sudoku", "maze", "arc"])
def test_ours_reads_with_the_reference_semantics(datasets: dict[str, Path], kind: str) -> None:
    root = datasets[kind]
    names = json.loads((root / "identifiers.json").read_text())
    assert names[0] == "<blank>"
    for split in ("train", "test"):
        ref = reference_read(root / split)
        meta, pi, gi = ref["meta"], ref["puzzle_indices"], ref["group_indices"]
        assert ref["inputs"].shape == ref["labels"].shape == (pi[-1], meta["seq_len"])
        assert pi[0] == 0 and gi[0] == 0 and gi[-1] == len(ref["puzzle_identifiers"]) == len(pi) - 1
        assert meta["total_groups"] == len(gi) - 1
        assert meta["num_puzzle_identifiers"] == len(names)
        assert int(ref["inputs"].max()) < meta["vocab_size"] and int(ref["labels"].max()) < meta["vocab_size"]
        assert meta["mean_puzzle_examples"] == pytest.approx(pi[-1] / (len(pi) - 1))
        assert (np.diff(gi) >= 1).all() and (np.diff(pi) >= 1).all()  # no empty group, no empty puzzle


def strip_latentloop_fields(root: Path, out: Path) -> Path:
    shutil.copytree(root, out)
    for split in ("train", "test"):
        meta_path = out / split / "dataset.json"
        meta = json.loads(meta_path.read_text())
        for key in ("task", "provenance", "total_puzzles"):
            meta.pop(key, None)
        meta_path.write_text(json.dumps(meta))
        for extra in (out / split).glob("all__*.npy"):
            if extra.stem.removeprefix("all__") not in REFERENCE_DTYPES:
                extra.unlink()
    return out


def test_reference_layout_loads_is_recognised_and_trains(datasets: dict[str, Path], tmp_path: Path) -> None:
    for kind in ("sudoku", "arc"):
        data = strip_latentloop_fields(datasets[kind], tmp_path / kind)
        split = read_split(data / "test")
        assert task_for(split.metadata.task, split.metadata.seq_len, split.metadata.vocab_size).name == kind
        assert split.metadata.total_puzzles == split.num_puzzles and not split.extras
    cfg = load_config(
        "trm-sudoku4-cpu",
        [f"data.path={tmp_path / 'sudoku'}", f"run_dir={tmp_path / 'run'}", "train.max_steps=2", "eval.max_examples=8"],
    )
    result = Trainer(cfg, progress=False).fit()
    assert result["step"] == 2 and result["eval"]["count"] == 8


def test_reference_maze_of_another_size_needs_its_task_named(datasets: dict[str, Path], tmp_path: Path) -> None:
    """Only a 30x30 maze is recognisable by its shape; a 7x7 one must say what it is, in one line."""
    from latentloop.errors import DatasetError

    split = read_split(strip_latentloop_fields(datasets["maze"], tmp_path / "maze") / "test")
    with pytest.raises(DatasetError, match='add "task"'):
        task_for(split.metadata.task, split.metadata.seq_len, split.metadata.vocab_size)
    assert task_for(None, 900, 6).name == "maze"
