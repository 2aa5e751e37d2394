"""Compatibility with the HRM/TRM on-disk format, both ways.

* Ours, read the way the reference loader reads (only the metadata fields its pydantic model
  declares, the five arrays by name with mmap, dtypes as its builders write them).
* Theirs: datasets written field for field as the reference builders write them (the ``reference_*``
  writers below say which builder and what it does) load here, are recognised as the right task and
  train; files whose counts contradict their arrays are refused in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentloop.config import load_config
from latentloop.data.build_arc import build_arc_dataset
from latentloop.data.build_maze import build_maze_dataset
from latentloop.data.format import read_split
from latentloop.errors import DatasetError
from latentloop.tasks import maze as M
from latentloop.tasks import sudoku as S
from latentloop.tasks import task_for
from latentloop.train.trainer import Trainer

# PuzzleDatasetMetadata of the references (HRM dataset/common.py; TRM adds total_puzzles), in field order.
REFERENCE_FIELDS = {
    "pad_id": int,
    "ignore_label_id": (int, type(None)),
    "blank_identifier_id": int,
    "vocab_size": int,
    "seq_len": int,
    "num_puzzle_identifiers": int,
    "total_groups": int,
    "mean_puzzle_examples": (int, float),
    "total_puzzles": int,  # TRM only: its loader fails without it
    "sets": list,
}
REFERENCE_DTYPES = {
    "inputs": np.uint8,
    "labels": np.uint8,
    "puzzle_identifiers": np.int32,
    "puzzle_indices": np.int32,
    "group_indices": np.int32,
}

# A group is a list of puzzles; a puzzle is (examples, identifier); an example is (input tokens, label tokens).
Example = tuple[np.ndarray, np.ndarray]
Groups = list[list[tuple[list[Example], int]]]


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
        assert meta["total_groups"] == len(gi) - 1 and meta["total_puzzles"] == len(pi) - 1
        assert meta["num_puzzle_identifiers"] == len(names)
        assert int(ref["inputs"].max()) < meta["vocab_size"] and int(ref["labels"].max()) < meta["vocab_size"]
        assert meta["mean_puzzle_examples"] == pytest.approx(pi[-1] / (len(pi) - 1))
        assert (np.diff(gi) >= 1).all() and (np.diff(pi) >= 1).all()  # no empty group, no empty puzzle


# ---------------------------------------------------------------------------------------------- reference writers


def reference_meta(
    groups: Groups, vocab_size: int, seq_len: int, num_ids: int, total_puzzles: str | None, mean: float | None = None
) -> dict[str, Any]:
    """``PuzzleDatasetMetadata.model_dump()``.

    ``total_puzzles``: "groups", "puzzles" or None (HRM: absent); ``mean``: ``mean_puzzle_examples``
    as a builder hard-codes it, else examples / puzzles.
    """
    puzzles = sum(len(g) for g in groups)
    examples = sum(len(ex) for g in groups for ex, _ in g)
    meta = {
        "pad_id": 0,
        "ignore_label_id": 0,
        "blank_identifier_id": 0,
        "vocab_size": vocab_size,
        "seq_len": seq_len,
        "num_puzzle_identifiers": num_ids,
        "total_groups": len(groups),
        "mean_puzzle_examples": examples / puzzles if mean is None else mean,
        "total_puzzles": {"groups": len(groups), "puzzles": puzzles}.get(total_puzzles or ""),
        "sets": ["all"],
    }
    if total_puzzles is None:
        del meta["total_puzzles"]
    return meta


def dump_split(split_dir: Path, groups: Groups, meta: dict[str, Any], token_dtype: type) -> None:
    """The five ``all__*.npy`` arrays (tokens in ``token_dtype``, indices int32) and a compact ``dataset.json``."""
    inputs, labels, ids, puzzle_indices, group_indices = [], [], [], [0], [0]
    for group in groups:
        for examples, identifier in group:
            for x, y in examples:
                inputs.append(x)
                labels.append(y)
            puzzle_indices.append(len(inputs))
            ids.append(identifier)
        group_indices.append(len(ids))
    arrays = {
        "inputs": np.stack(inputs).astype(token_dtype),
        "labels": np.stack(labels).astype(token_dtype),
        "group_indices": np.array(group_indices, np.int32),
        "puzzle_indices": np.array(puzzle_indices, np.int32),
        "puzzle_identifiers": np.array(ids, np.int32),
    }
    split_dir.mkdir(parents=True)
    (split_dir / "dataset.json").write_text(json.dumps(meta))
    for name, arr in arrays.items():
        np.save(split_dir / f"all__{name}.npy", arr)


def sudoku_pairs(n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [S.generate(S.shape_for_size(9), np.random.default_rng([seed, i])) for i in range(n)]


def reference_sudoku(root: Path, num_aug: int, flavour: str = "trm") -> Path:
    """As ``dataset/build_sudoku_dataset.py`` writes (HRM: without ``total_puzzles``).

    Tokens are cell + 1 (blank 1, digit d -> d + 1), one example per puzzle, identifier 0 for all;
    a train group is the puzzle and ``num_aug`` shuffled copies (the test split is not augmented).
    The shuffle's digit map is int64, so an augmented split holds int64 tokens, else uint8.
    ``total_puzzles`` = ``total_groups`` = number of groups; ``mean_puzzle_examples`` = 1.
    """
    rng = np.random.default_rng(0)
    for split, pairs, aug in (("train", sudoku_pairs(6, 0), num_aug), ("test", sudoku_pairs(4, 1), 0)):
        groups: Groups = []
        for p, s in pairs:
            variants = [(p, s)] + (list(zip(*S.augment_many(p, s, rng, aug), strict=True)) if aug else [])
            groups.append([([(q.ravel() + 1, a.ravel() + 1)], 0) for q, a in variants])
        meta = reference_meta(groups, 11, 81, 1, "groups" if flavour == "trm" else None, mean=1.0)
        dump_split(root / split, groups, meta, np.int64 if aug else np.uint8)
    (root / "identifiers.json").write_text(json.dumps(["<blank>"]))
    return root


# common.py dihedral_transform, transform id 0..7
REFERENCE_DIHEDRAL = (
    lambda a: a,
    lambda a: np.rot90(a, 1),
    lambda a: np.rot90(a, 2),
    lambda a: np.rot90(a, 3),
    np.fliplr,
    np.flipud,
    np.transpose,
    lambda a: np.fliplr(np.rot90(a, 1)),
)


def maze_chars(size: int, min_path: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(question, answer) of one maze as character grids ('# SGo'), as the reference CSV holds them."""
    puzzle, _ = M.generate(size, min_path, seed)
    question, answer = (np.array([list(row) for row in M.render(g).splitlines()]) for g in (puzzle, M.solve(puzzle)))
    return question, answer


def reference_maze(root: Path, size: int, aug: bool) -> Path:
    """As ``dataset/build_maze_dataset.py`` writes: chars ``"# SGo"`` -> 1..5 (uint8), one example per
    puzzle, identifier 0; with ``aug`` a train group is the 8 dihedral transforms of the maze, else
    the maze alone. ``total_puzzles`` = ``total_groups``; ``mean_puzzle_examples`` = 1.
    """
    char2id = {c: i + 1 for i, c in enumerate("# SGo")}
    encode = np.vectorize(char2id.__getitem__, otypes=[np.uint8])
    for split, seeds, k in (("train", range(4), 8 if aug else 1), ("test", range(10, 14), 1)):
        groups: Groups = []
        for seed in seeds:
            q, a = maze_chars(size, 6 if size < 30 else 20, seed)
            groups.append([([(encode(t(q)).ravel(), encode(t(a)).ravel())], 0) for t in REFERENCE_DIHEDRAL[:k]])
        dump_split(root / split, groups, reference_meta(groups, 6, size * size, 1, "groups", mean=1.0), np.uint8)
    (root / "identifiers.json").write_text(json.dumps(["<blank>"]))
    return root


def arc_tokens(grid: np.ndarray, r: int, c: int) -> np.ndarray:
    """A grid on the 30x30 canvas at (r, c): colours + 2, EOS 1 on the row below and the column right of it."""
    canvas = np.zeros((30, 30), np.uint8)
    h, w = grid.shape
    canvas[r : r + h, c : c + w] = grid + 2
    if r + h < 30:
        canvas[r + h, c : c + w] = 1
    if c + w < 30:
        canvas[r : r + h, c + w] = 1
    return canvas.ravel()


def arc_tasks(rng: np.random.Generator) -> dict[str, dict[str, list[tuple[np.ndarray, np.ndarray]]]]:
    def pair() -> tuple[np.ndarray, np.ndarray]:
        grid = rng.integers(0, 10, (int(rng.integers(2, 6)), int(rng.integers(2, 6))))
        return grid, grid[:, ::-1]

    return {
        name: {"train": [pair() for _ in range(n)], "test": [pair()]}
        for name, n in zip("abcde", (2, 3, 2, 3, 2), strict=True)
    }


def reference_arc(root: Path, num_aug: int, flavour: str = "trm") -> Path:
    """As ``dataset/build_arc_dataset.py`` writes (TRM; HRM names variants ``{id}_t{k}_{perm}``, omits
    ``total_puzzles`` and ``test_puzzles.json``).

    Tasks d, e are the evaluation set: their demonstration pairs go to train, their test pairs to
    test; the others go wholly to train. A group is a task and ``num_aug`` variants (a dihedral
    transform and a permutation of colours 1..9, each its own identifier, 1.. in order of first
    appearance); a puzzle is all pairs of one variant in a split. Train pairs sit at a random offset
    (input and output alike) except one per puzzle; test pairs at (0, 0). uint8 tokens;
    ``total_puzzles`` = puzzles; ``mean_puzzle_examples`` = examples / puzzles.
    """
    rng = np.random.default_rng(0)
    tasks = arc_tasks(rng)
    names, splits = ["<blank>"], {"train": [], "test": []}
    for task_id, task in tasks.items():
        dest = {"train": task["train"] + ([] if task_id in "de" else task["test"]), "test": task["test"]}
        variants = [(task_id, lambda g: g)]
        for _ in range(num_aug):
            k, perm = int(rng.integers(8)), np.concatenate([[0], rng.permutation(np.arange(1, 10))])
            digits = "".join(map(str, perm))
            name = f"{task_id}|||t{k}|||{digits}" if flavour == "trm" else f"{task_id}_t{k}_{digits}"
            variants.append((name, lambda g, k=k, perm=perm: REFERENCE_DIHEDRAL[k](perm[g])))
        names += [name for name, _ in variants]
        for split in ("train", "test") if task_id in "de" else ("train",):
            group = []
            for name, transform in variants:
                pairs = [(transform(x), transform(y)) for x, y in dest[split]]
                keep = int(rng.integers(len(pairs)))
                examples = []
                for i, (x, y) in enumerate(pairs):
                    h, w = max(x.shape[0], y.shape[0]), max(x.shape[1], y.shape[1])
                    moved = split == "train" and i != keep
                    r, c = (int(rng.integers(31 - h)), int(rng.integers(31 - w))) if moved else (0, 0)
                    examples.append((arc_tokens(x, r, c), arc_tokens(y, r, c)))
                group.append((examples, names.index(name)))
            splits[split].append(group)
    for split, groups in splits.items():
        meta = reference_meta(groups, 12, 900, len(names), "puzzles" if flavour == "trm" else None)
        dump_split(root / split, groups, meta, np.uint8)
    (root / "identifiers.json").write_text(json.dumps(names))
    if flavour == "trm":
        raw = {
            t: {s: [{"input": x.tolist(), "output": y.tolist()} for x, y in tasks[t][s]] for s in tasks[t]}
            for t in "de"
        }
        (root / "test_puzzles.json").write_text(json.dumps(raw))
    return root


# ---------------------------------------------------------------------------------------------- theirs, read here


def train_briefly(data: Path, tmp_path: Path) -> dict[str, Any]:
    """Two optimizer steps of a tiny TRM and a one-step evaluation of 4 examples on a dataset."""
    cfg = load_config(
        "trm-sudoku4-cpu",
        [
            f"data.path={data}",
            "data.seq_len=0",
            "data.vocab_size=0",
            f"run_dir={tmp_path / ('run-' + data.name)}",
            "train.max_steps=2",
            "train.global_batch_size=4",
            "eval.max_examples=4",
            "eval.steps=1",
            "model.hidden_size=32",
        ],
    )
    return Trainer(cfg, progress=False).fit()


REFERENCE_BUILDS = {
    "sudoku-trm": lambda root: reference_sudoku(root, num_aug=0),
    "sudoku-trm-aug": lambda root: reference_sudoku(root, num_aug=3),
    "sudoku-hrm-aug": lambda root: reference_sudoku(root, num_aug=3, flavour="hrm"),
    "maze": lambda root: reference_maze(root, 30, aug=False),
    "maze-aug": lambda root: reference_maze(root, 30, aug=True),
    "arc-trm": lambda root: reference_arc(root, num_aug=2),
    "arc-hrm": lambda root: reference_arc(root, num_aug=2, flavour="hrm"),
}


@pytest.fixture(scope="module")
def theirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reference")
    return {name: build(root / name) for name, build in REFERENCE_BUILDS.items()}


@pytest.mark.parametrize("name", list(REFERENCE_BUILDS))
def test_reference_layout_loads_as_written(theirs: dict[str, Path], name: str) -> None:
    root = theirs[name]
    for split in ("train", "test"):
        data = read_split(root / split)
        written = json.loads((root / split / "dataset.json").read_text())
        gi, pi = np.load(root / split / "all__group_indices.npy"), np.load(root / split / "all__puzzle_indices.npy")
        assert np.array_equal(data.group_indices, gi) and np.array_equal(data.puzzle_indices, pi)
        assert data.inputs.dtype == np.load(root / split / "all__inputs.npy").dtype  # int64 for augmented Sudoku
        assert data.metadata.total_groups == written["total_groups"] == data.num_groups
        assert data.metadata.total_puzzles == data.num_puzzles  # whatever the file says (groups, puzzles, nothing)
        assert data.metadata.task is None and not data.extras
        assert task_for(None, data.metadata.seq_len, data.metadata.vocab_size).name == name.split("-")[0]
    if name.startswith("sudoku") and name.endswith("aug"):
        assert read_split(root / "train").inputs.dtype == np.int64 and read_split(root / "train").num_puzzles == 24
    if name == "maze-aug":
        assert read_split(root / "train").num_puzzles == 32 and read_split(root / "train").num_groups == 4
    if name == "arc-trm":
        assert task_for(None, 900, 12, root=root).name == "arc"


@pytest.mark.parametrize("name", ["sudoku-trm-aug", "maze-aug", "arc-trm"])
def test_reference_layout_trains(theirs: dict[str, Path], name: str, tmp_path: Path) -> None:
    result = train_briefly(theirs[name], tmp_path)
    assert result["step"] == 2 and result["eval"]["count"] == 4


def test_arc_built_by_hrm_scores_without_test_puzzles_json(theirs: dict[str, Path]) -> None:
    """HRM's builder writes no test_puzzles.json: the test inputs come from the test split's un-augmented rows,
    and give the same pass@K as TRM's file does."""
    from latentloop.evaluate.arc import ArcVotes, arc_lines, load_test_puzzles, test_pairs_from_split

    hrm, trm = theirs["arc-hrm"], theirs["arc-trm"]
    assert not (hrm / "test_puzzles.json").exists()
    split = read_split(hrm / "test")
    rebuilt = test_pairs_from_split(split, json.loads((hrm / "identifiers.json").read_text()))
    written = load_test_puzzles(trm / "test_puzzles.json")
    assert rebuilt.keys() == written.keys() == {"d", "e"}
    for task_id, pairs in written.items():
        assert [(x.tolist(), y.tolist()) for x, y in rebuilt[task_id]] == [(x.tolist(), y.tolist()) for x, y in pairs]
    votes = ArcVotes.for_dataset(hrm)
    labels = np.asarray(split.labels).astype(np.int64)
    votes.add(labels, np.zeros(len(labels)))
    result = votes.result(ks=(1, 2))
    assert result.pass_at_k == {1: 1.0, 2: 1.0} and result.counts["votes"] == len(labels)
    wrong = ArcVotes.for_dataset(hrm)
    wrong.add(np.asarray(split.inputs).astype(np.int64), np.zeros(len(labels)))
    assert wrong.result(ks=(2,)).pass_at_k[2] < 1.0
    assert any(
        "test inputs read from the test split" in line
        for line in arc_lines({"pass_at_k": {"2": 1.0}, "strict_pass_at_k": {"2": 1.0}, "counts": result.counts})
    )


def test_reference_maze_of_another_size_needs_its_task_named(tmp_path: Path) -> None:
    """Only a 30x30 maze is recognisable by its shape; a 7x7 one must say what it is, in one line."""
    split = read_split(reference_maze(tmp_path / "maze7", 7, aug=False) / "test")
    with pytest.raises(DatasetError, match='add "task"'):
        task_for(split.metadata.task, split.metadata.seq_len, split.metadata.vocab_size)
    assert task_for(None, 900, 6).name == "maze"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"total_puzzles": 7}, r"train: total_puzzles is 7 but there are 24 puzzles in 6 groups"),
        ({"total_groups": 24}, r"train: total_groups is 24 but there are 6"),
        ({"mean_puzzle_examples": 4.0}, r"train: mean_puzzle_examples is 4.0 but there are 24 examples in 24 puzzles"),
        ({"total_puzzles": "6"}, r"field 'total_puzzles' has an invalid value '6'"),
    ],
)
def test_inconsistent_reference_files_are_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    root = tmp_path / "bad"
    reference_sudoku(root, num_aug=3)
    meta_path = root / "train" / "dataset.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), **change}))
    with pytest.raises(DatasetError, match=message):
        read_split(root / "train")
