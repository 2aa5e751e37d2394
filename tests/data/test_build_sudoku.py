"""Tests of the Sudoku dataset builder: layout, content, split hygiene and determinism."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_or_skip
from latentloop.cli import main
from latentloop.data import build_sudoku as B
from latentloop.data.build_sudoku import build_sudoku_dataset
from latentloop.data.format import Split, read_identifiers, read_split
from latentloop.data.readers import read_puzzle_lines
from latentloop.errors import DatasetError, PuzzleError
from latentloop.tasks import sudoku as S
from latentloop.tasks import sudoku_hard as H
from latentloop.tasks.sudoku_hard import ClimbConfig


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


# ---------------------------------------------------------------------------------------------- extreme preset

TINY_CLIMB = ClimbConfig(starts=16, pool=8, max_steps=300, per_chain=3)
EXTREME = {"n_train": 8, "n_test": 5, "aug": 2, "min_rating": 5.0, "preset": "extreme", "progress": False}


def grids(split: Split, shape: S.SudokuShape) -> list[tuple[np.ndarray, np.ndarray]]:
    starts = split.group_indices[:-1]
    return [(S.decode(split.inputs[p], shape), S.decode(split.labels[p], shape)) for p in starts]


def canonical_keys(split: Split) -> tuple[set[bytes], set[bytes]]:
    pairs = [H.canonical_form(p, s) for p, s in grids(split, S.shape_for_size(9))]
    return {p.tobytes() for p, _ in pairs}, {s.tobytes() for _, s in pairs}


@pytest.fixture(scope="module")
def extreme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extreme") / "sudoku"
    return build_sudoku_dataset(out, seed=3, workers=1, climb_config=TINY_CLIMB, **EXTREME)


def test_extreme_composition_labels_and_chains(extreme: Path) -> None:
    shape = S.shape_for_size(9)
    chains = {}
    for name, n, easy in (("train", 8, 2), ("test", 5, 1)):
        split = read_split(extreme / name)
        assert split.num_groups == n and set(split.extras) == {"ratings", "chain_ids"}
        starts = split.group_indices[:-1]
        chain_ids, ratings = split.extras["chain_ids"][starts], split.extras["ratings"][starts]
        assert (chain_ids == -1).sum() == easy and (ratings[chain_ids >= 0] >= 5.0).all()
        for p in range(split.num_puzzles):
            puzzle, solution = S.decode(split.inputs[p], shape), S.decode(split.labels[p], shape)
            assert S.verify(puzzle, solution) and S.has_unique_solution(puzzle)
        chains[name] = set(chain_ids[chain_ids >= 0].tolist())
    assert chains["train"] and chains["test"] and not chains["train"] & chains["test"]
    prov = json.loads((extreme / "test" / "dataset.json").read_text())["provenance"]
    assert prov["parameters"]["preset"] == "extreme" and prov["extreme"]["easy_fraction"] == 0.27
    assert prov["extreme"]["composition"] == {"train": {"easy": 2, "hard": 6}, "test": {"easy": 1, "hard": 4}}
    assert prov["extreme"]["climb"]["per_chain"] == 3 and "Sudoku group" in prov["split_check"]


def test_extreme_splits_share_no_equivalent_grid(extreme: Path) -> None:
    train, test = (canonical_keys(read_split(extreme / name)) for name in ("train", "test"))
    assert not train[1] & test[1]
    assert len(train[0]) == 8 and len(test[0]) == 5  # no two kept puzzles are equivalent either


def test_extreme_is_seeded_and_independent_of_workers(extreme: Path, tmp_path: Path) -> None:
    again = build_sudoku_dataset(tmp_path / "again", seed=3, workers=2, climb_config=TINY_CLIMB, **EXTREME)
    assert files(again) == files(extreme)
    other = build_sudoku_dataset(tmp_path / "other", seed=4, workers=1, climb_config=TINY_CLIMB, **EXTREME)
    assert files(other)["train/all__inputs.npy"] != files(extreme)["train/all__inputs.npy"]


def test_extreme_needs_9x9(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="builds 9x9 Sudoku, not 4x4"):
        build_sudoku_dataset(tmp_path / "x", size=4, preset="extreme", progress=False)
    with pytest.raises(DatasetError, match="unknown Sudoku preset 'hardest'"):
        build_sudoku_dataset(tmp_path / "x", preset="hardest", progress=False)


# ---------------------------------------------------------------------------------------------- --from FILE


def write_puzzles(path: Path, lines: list[str]) -> Path:
    path.write_text("# a header\n\n" + "\n".join(lines) + "\n")
    return path


def test_from_file_fills_the_test_split(tmp_path: Path) -> None:
    puzzles = [S.to_line(S.generate(S.shape_for_size(6), np.random.default_rng(i))[0]) for i in range(4)]
    path = write_puzzles(tmp_path / "p.txt", puzzles)
    out = build_sudoku_dataset(tmp_path / "d", size=6, n_train=3, aug=1, from_file=path, progress=False, workers=1)
    test, train = read_split(out / "test"), read_split(out / "train")
    assert [S.to_line(S.decode(row)) for row in test.inputs] == puzzles
    assert test.extras["source_lines"].tolist() == [3, 4, 5, 6] and (test.extras["ratings"] >= 0).all()
    assert all(S.verify(S.decode(i), S.decode(label)) for i, label in zip(test.inputs, test.labels, strict=True))
    assert train.num_groups == 3 and not train.extras["source_lines"].any()
    prov = json.loads((out / "train" / "dataset.json").read_text())["provenance"]
    lines_record = {"path": str(path), "format": "lines", "puzzles": 4, "rating_transforms": 16, "subsample": None}
    assert prov["from_file"] == {"test": lines_record}
    sample = build_sudoku_dataset(tmp_path / "s", size=6, n_train=0, n_test=2, from_file=path, progress=False)
    lines = read_split(sample / "test").extras["source_lines"].tolist()
    assert len(lines) == 2 and lines == sorted(lines) and set(lines) <= {3, 4, 5, 6}
    assert read_split(sample / "train").num_puzzles == 0


def test_from_file_train_split_with_empty_test(tmp_path: Path) -> None:
    puzzles = [S.to_line(p) for p, _ in (S.generate(S.shape_for_size(4), np.random.default_rng(i)) for i in range(3))]
    path = write_puzzles(tmp_path / "p.txt", puzzles)
    out = build_sudoku_dataset(
        tmp_path / "d", size=4, n_test=0, aug=2, from_file=path, from_split="train", progress=False, workers=1
    )
    train, test = read_split(out / "train"), read_split(out / "test")
    assert train.num_groups == 3 and train.num_puzzles == 9
    assert train.extras["source_lines"].tolist() == [3, 3, 3, 4, 4, 4, 5, 5, 5]
    assert test.num_puzzles == test.num_groups == test.num_examples == 0 and test.inputs.shape == (0, 16)


def test_from_file_refuses_what_is_equivalent_to_it(tmp_path: Path) -> None:
    """The generator's first test puzzles, transformed, fill train from a file: the test split avoids them."""
    plain = build_sudoku_dataset(tmp_path / "plain", n_train=0, n_test=3, progress=False)
    rng = np.random.default_rng(1)
    moved = []
    for p, _ in grids(read_split(plain / "test"), S.shape_for_size(9)):
        moved.append(S.to_line(S.apply_transform(p, S.random_transform(S.shape_for_size(9), rng))))
    path = write_puzzles(tmp_path / "moved.txt", moved)
    out = build_sudoku_dataset(tmp_path / "d", n_test=3, from_file=path, from_split="train", progress=False, workers=1)
    prov = json.loads((out / "test" / "dataset.json").read_text())["provenance"]
    assert prov["counts"]["duplicates"] >= 3
    train, test = (canonical_keys(read_split(out / name)) for name in ("train", "test"))
    assert not train[1] & test[1] and len(test[0]) == 3


def test_from_file_with_the_extreme_preset(tmp_path: Path) -> None:
    path = shared_or_skip("data", "sudoku", "puzzles6_forum_hardest_1106.txt")
    out = build_sudoku_dataset(
        tmp_path / "d",
        n_train=3,
        n_test=4,
        aug=1,
        min_rating=5.0,
        preset="extreme",
        from_file=path,
        climb_config=TINY_CLIMB,
        progress=False,
        workers=1,
    )
    test = read_split(out / "test")
    assert test.num_puzzles == 4 and (test.extras["ratings"] > 20).all() and (test.extras["chain_ids"] == -1).all()
    lines = dict(read_puzzle_lines(path))
    for row, number in zip(test.inputs, test.extras["source_lines"], strict=True):
        assert S.to_line(S.decode(row)) == lines[int(number)]
    assert read_split(out / "train").num_groups == 3


def test_from_file_reads_the_real_collections(tmp_path: Path) -> None:
    lines = []
    for name in ("puzzles3_magictour_top1465.txt", "puzzles5_forum_hardest_1905_11+.txt"):
        with shared_or_skip("data", "sudoku", name).open() as f:
            lines += [line.strip() for line in itertools.islice((x for x in f if not x.startswith("#")), 3)]
    out = build_sudoku_dataset(
        tmp_path / "d", n_train=0, from_file=write_puzzles(tmp_path / "p.txt", lines), progress=False, workers=1
    )
    test = read_split(out / "test")
    assert [S.to_line(S.decode(row)) for row in test.inputs] == lines
    assert all(S.verify(S.decode(i), S.decode(label)) for i, label in zip(test.inputs, test.labels, strict=True))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("..34341...434321", r"p\.txt, line 4: puzzle has several solutions"),
        (".....123....4...", r"p\.txt, line 4: puzzle has no solution"),
        ("1234", r"p\.txt, line 4: puzzle has 4 cells"),
        ("5...5" + "." * 76, r"p\.txt, line 4: puzzle givens contradict"),
        ("." * 81, r"p\.txt, line 4: a 9x9 puzzle, but line 3 holds a 4x4 one"),
    ],
)
def test_from_file_bad_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = write_puzzles(tmp_path / "p.txt", ["1234341221434321", line])
    with pytest.raises(PuzzleError, match=message):
        build_sudoku_dataset(tmp_path / "d", size=4, n_train=0, from_file=path, progress=False, workers=1)
    assert not (tmp_path / "d").exists()


def test_from_file_bad_requests(tmp_path: Path) -> None:
    path = write_puzzles(tmp_path / "p.txt", ["1234341221434321"])
    with pytest.raises(DatasetError, match=r"holds 4x4 puzzles but the dataset is 9x9 \(--size 9\)"):
        build_sudoku_dataset(tmp_path / "d", from_file=path, progress=False)
    with pytest.raises(DatasetError, match="holds 1 puzzles, fewer than the 2 asked for"):
        build_sudoku_dataset(tmp_path / "d", size=4, n_test=2, from_file=path, progress=False)
    with pytest.raises(DatasetError, match="from_split must be 'train' or 'test'"):
        build_sudoku_dataset(tmp_path / "d", size=4, from_file=path, from_split="val", progress=False)
    with pytest.raises(DatasetError, match="holds no puzzles"):
        build_sudoku_dataset(tmp_path / "d", size=4, from_file=write_puzzles(tmp_path / "e.txt", []), progress=False)


# ---------------------------------------------------------------------------------------------- the reference CSV


def write_reference_csv(path: Path, rows: list[tuple[str, str, str, int]]) -> Path:
    """A CSV exactly as the references read it: header source,q,a,rating; '.' blanks; integer ratings."""
    path.write_text("source,q,a,rating\n" + "".join(f"{src},{q},{a},{r}\n" for src, q, a, r in rows))
    return path


def csv_rows(n: int, seed: int) -> list[tuple[str, str, str, int]]:
    rng = np.random.default_rng(seed)
    pairs = [S.generate(S.shape_for_size(9), np.random.default_rng([seed, i])) for i in range(n)]
    return [(f"set{i % 3}", S.to_line(p), S.to_line(s), int(rng.integers(0, 6))) for i, (p, s) in enumerate(pairs)]


@pytest.fixture(scope="module")
def reference_csvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list]]:
    root = tmp_path_factory.mktemp("csv")
    return {
        name: (write_reference_csv(root / f"{name}.csv", rows), rows)
        for name, rows in (("train", csv_rows(12, 0)), ("test", csv_rows(6, 1)))
    }


def build_from_csv(out: Path, csvs: dict[str, tuple[Path, list]], **kwargs) -> Path:
    files = {name: path for name, (path, _) in csvs.items()}
    return build_sudoku_dataset(out, from_file=files, progress=False, workers=1, **kwargs)


def test_reference_csv_with_subsample_aug_and_min_difficulty(reference_csvs: dict, tmp_path: Path) -> None:
    """The paper's recipe in small: min_difficulty filters both files, subsample samples train, aug adds copies."""
    out = build_from_csv(tmp_path / "d", reference_csvs, subsample=4, aug=3, min_difficulty=2)
    train_rows, test_rows = reference_csvs["train"][1], reference_csvs["test"][1]
    train, test = read_split(out / "train"), read_split(out / "test")
    assert train.num_groups == 4 and train.num_puzzles == train.num_examples == 16
    assert np.array_equal(train.group_indices, np.arange(0, 17, 4)) and not train.puzzle_identifiers.any()
    starts = train.group_indices[:-1]
    lines = train.extras["source_lines"][starts]
    assert (np.diff(lines) > 0).all()  # a sample, in file order
    for p, line in zip(starts, lines, strict=True):
        _, q, a, rating = train_rows[line - 2]  # line 1 is the header
        assert rating >= 2 and train.extras["ratings"][p] == rating
        assert S.to_line(S.decode(train.inputs[p])) == q and S.to_line(S.decode(train.labels[p])) == a
        group = range(p, p + 4)
        assert (train.extras["source_lines"][list(group)] == line).all()
        assert len({train.inputs[i].tobytes() for i in group}) == 4
        for i in group:
            puzzle, solution = S.decode(train.inputs[i]), S.decode(train.labels[i])
            assert S.verify(puzzle, solution) and (puzzle > 0).sum() == (S.parse(q) > 0).sum()
    kept = [row for row in test_rows if row[3] >= 2]
    assert test.num_groups == test.num_puzzles == len(kept) and test.extras["ratings"].tolist() == [r[3] for r in kept]
    assert [
        (S.to_line(S.decode(x)), S.to_line(S.decode(y))) for x, y in zip(test.inputs, test.labels, strict=True)
    ] == [(q, a) for _, q, a, _ in kept]
    meta = json.loads((out / "train" / "dataset.json").read_text())
    assert {k: meta[k] for k in ("seq_len", "vocab_size", "pad_id", "ignore_label_id", "num_puzzle_identifiers")} == {
        "seq_len": 81,
        "vocab_size": 11,
        "pad_id": 0,
        "ignore_label_id": 0,
        "num_puzzle_identifiers": 1,
    }
    assert (meta["total_groups"], meta["total_puzzles"], meta["mean_puzzle_examples"]) == (4, 16, 1.0)
    record = meta["provenance"]["from_file"]["train"]
    eligible = sum(r[3] >= 2 for r in train_rows)
    assert record["format"] == "csv" and record["rows"] == 12 and record["below_min_difficulty"] == 12 - eligible
    assert record["puzzles"] == 4 and record["subsample"] == 4 and record["min_difficulty"] == 2
    assert np.load(out / "train" / "all__inputs.npy").dtype == np.uint8
    # The reference's subsample takes every row when there are fewer; the seed fixes the sample.
    everything = read_split(build_from_csv(tmp_path / "all", reference_csvs, subsample=100, min_difficulty=2) / "train")
    assert everything.num_groups == eligible
    again = build_from_csv(tmp_path / "again", reference_csvs, subsample=4, aug=3, min_difficulty=2)
    assert files(again) == files(out)


def test_reference_csv_answer_is_the_label(tmp_path: Path) -> None:
    """A row's answer is used as given (checked, not solved again): here a puzzle with many solutions."""
    _, solution = S.generate(S.shape_for_size(9), np.random.default_rng(5))
    a = S.to_line(solution)
    q = a[:9] + "." * 72
    path = write_reference_csv(tmp_path / "test.csv", [("x", q, a, 0)])
    out = build_sudoku_dataset(tmp_path / "d", n_train=0, from_file=path, progress=False, workers=1)
    assert S.to_line(S.decode(read_split(out / "test").labels[0])) == a
    (tmp_path / "p.txt").write_text(q + "\n")
    with pytest.raises(PuzzleError, match="several solutions"):  # a one-line file is solved here
        build_sudoku_dataset(tmp_path / "e", n_train=0, from_file=tmp_path / "p.txt", progress=False, workers=1)


def test_reference_csv_beside_a_generated_split(reference_csvs: dict, tmp_path: Path) -> None:
    """A generated split keeps clear of what is equivalent to the CSV split's puzzles."""
    plain = build_sudoku_dataset(tmp_path / "plain", n_train=0, n_test=3, progress=False)
    rng = np.random.default_rng(1)
    rows = []
    for p, s in grids(read_split(plain / "test"), S.shape_for_size(9)):
        t = S.random_transform(S.shape_for_size(9), rng)
        rows.append(("moved", S.to_line(S.apply_transform(p, t)), S.to_line(S.apply_transform(s, t)), 1))
    path = write_reference_csv(tmp_path / "train.csv", rows)
    out = build_sudoku_dataset(tmp_path / "d", n_test=3, from_file=path, from_split="train", progress=False, workers=1)
    prov = json.loads((out / "test" / "dataset.json").read_text())["provenance"]
    assert prov["counts"]["duplicates"] >= 3 and "Sudoku group" in prov["split_check"]
    train, test = (canonical_keys(read_split(out / name)) for name in ("train", "test"))
    assert not train[1] & test[1] and len(test[0]) == 3 and len(train[0]) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("source,puzzle,solution,rating\n", r"t\.csv, line 1: the header is 'source,puzzle,solution,rating'"),
        ("source,q,a,rating\nx,{q},{a},1\nx,{q}\n", r"t\.csv, line 3: 2 fields; a row is source,q,a,rating"),
        ("source,q,a,rating\nx,{q},{a},1\nx,{q},{b},1\n", r"t\.csv, line 3: answer does not solve the puzzle"),
    ],
)
def test_bad_reference_csv_is_one_error_naming_the_line(
    reference_csvs: dict, tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, q, a, _ = reference_csvs["test"][1][0]
    b = reference_csvs["test"][1][1][2]  # another puzzle's solution
    path = tmp_path / "t.csv"
    path.write_text(content.format(q=q, a=a, b=b))
    with pytest.raises(PuzzleError, match=message):
        build_sudoku_dataset(tmp_path / "d", n_train=0, from_file=path, progress=False)
    assert not (tmp_path / "d").exists()
    assert build_cli("--train", "0", "--from", str(path), "--out", str(tmp_path / "d")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and re.search(message, err[0])


def build_cli(*args: str) -> int:
    return main(["data", "build", "sudoku", "--quiet", *args])


def test_reference_csv_from_the_command_line(reference_csvs: dict, tmp_path: Path) -> None:
    train, test = reference_csvs["train"][0], reference_csvs["test"][0]
    both = ["--from", f"train={train}", "--from", f"test={test}"]
    assert build_cli(*both, "--subsample", "5", "--aug", "2", "--out", str(tmp_path / "d")) == 0
    split = read_split(tmp_path / "d" / "train")
    assert split.num_groups == 5 and split.num_puzzles == 15 and read_split(tmp_path / "d" / "test").num_groups == 6
    # A bare FILE fills --from-split; --format names the format instead of detecting it.
    assert build_cli("--from", str(test), "--train", "2", "--out", str(tmp_path / "e")) == 0
    assert read_split(tmp_path / "e" / "test").num_groups == 6 and read_split(tmp_path / "e" / "train").num_groups == 2
    assert build_cli("--from", str(test), "--format", "lines", "--out", str(tmp_path / "f")) == 2


def test_reference_csv_bad_requests(reference_csvs: dict, tmp_path: Path) -> None:
    test = reference_csvs["test"][0]
    cases = [
        ({"from_file": test, "subsample": 3}, "subsample samples the training file"),
        ({"from_file": {"train": test}, "subsample": 3, "n_train": 3}, "give n_train .* or subsample"),
        ({"from_file": {"train": test}, "subsample": 0}, "subsample must be positive"),
        ({"min_difficulty": 2}, "min_difficulty .* filters the rows of a reference CSV"),
        ({"from_file": test, "file_format": "tsv"}, "file_format must be auto, lines or csv"),
        ({"from_file": {"val": test}}, r"names the splits \['val'\]"),
        ({"from_file": test, "size": 4}, r"holds 9x9 puzzles but the dataset is 4x4 \(--size 4\)"),
        ({"from_file": test, "n_test": 5, "min_difficulty": 4}, r"\(rows rated at least 4\) holds \d puzzles, fewer"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DatasetError, match=message):
            build_sudoku_dataset(tmp_path / "d", n_train=kwargs.pop("n_train", 0), progress=False, **kwargs)
    with pytest.raises(DatasetError, match="two files for the test split"):
        B.split_files(["a.csv", "test=b.csv"])
    assert B.split_files(["train=a.csv", "b.csv"], "test") == {"train": Path("a.csv"), "test": Path("b.csv")}
