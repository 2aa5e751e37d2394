"""Builds a Sudoku dataset in the reference layout, from generated puzzles or a puzzle file.

Three sources fill the splits:

* Plain (default): random minimal puzzles with a unique solution (`latentloop.tasks.sudoku.generate`),
  rated by mean guesses over 8 random transforms and filtered by a minimum rating.
* ``preset="extreme"`` (Sudoku-Extreme-like, 9x9): per split, ``EASY_FRACTION`` (27%, the easy share
  of Sudoku-Extreme) random minimal puzzles of any rating and 73% hill-climbed puzzles whose robust
  rating (16 transforms) is at least the threshold (`EXTREME_MIN_RATING` = 50 unless ``min_rating``
  is given; there the climbed puzzles' p10 matches forum_hardest_1905_11+, see
  ``benchmarks/sudoku_ratings.py``). Hard puzzles come from chains of
  `latentloop.tasks.sudoku_hard.climb`, each seeded independently and assigned wholly to one split.
  Chain ids are stored per puzzle (``chain_ids``, -1 for easy and file puzzles). Each split's
  puzzles are shuffled, so any prefix has the same composition in expectation.
* ``from_file``: one split holds the puzzles of a one-line puzzle file, each solved here (it must
  have exactly one solution) and rated with 16 transforms; line numbers are stored per puzzle
  (``source_lines``, 0 for generated puzzles). Equivalent puzzles inside the file are all kept.

Split hygiene: for 9x9, no solution grid (hence no puzzle) of one split is equivalent to one of the
other under the whole Sudoku group (canonical form, `sudoku_hard.canonical_form`), and no two kept
puzzles are equivalent. Smaller sizes have too few essentially different grids for that (4x4 has
two), so there identical solution grids are kept out of both splits and identical puzzles dropped.

Train groups hold the original puzzle plus ``aug`` augmented copies (each a one-example puzzle with
identifier 0); the test split holds the originals only. Results depend on the seed only, not on the
number of worker processes.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from latentloop.data.format import (
    BLANK_PUZZLE_ID,
    PAD_ID,
    DatasetMetadata,
    package_version,
    write_dataset_atomically,
    write_identifiers,
    write_split,
)
from latentloop.errors import DatasetError, PuzzleError
from latentloop.tasks.sudoku import (
    SudokuShape,
    augment_many,
    encode_batch,
    generate,
    parse,
    rate,
    read_puzzle_lines,
    shape_for_size,
    solve,
    vocab_size,
)
from latentloop.tasks.sudoku_hard import ClimbConfig, canonical_form, climb, random_minimal_puzzles, seeded_ratings

RATING_TRANSFORMS = 8
ROBUST_RATING_TRANSFORMS = 16
EASY_FRACTION = 0.27
EXTREME_MIN_RATING = 50.0
PRESETS: dict[str, dict[str, Any]] = {
    "extreme": {"size": 9, "n_train": 1000, "n_test": 1000, "aug": 1000, "min_rating": EXTREME_MIN_RATING}
}
_PLAIN = {"n_train": 1000, "n_test": 1000, "aug": 0, "min_rating": 0.0}
_MAX_FAILED_ATTEMPTS = 20_000
_MAX_EMPTY_CHAINS = 200
_EASY_BATCH = 32
_FILE_CHUNK = 64
# spawn_key kinds of the seed tree: one independent stream per purpose.
_EASY, _CHAIN, _FILE_RATING, _FILE_SAMPLE, _ORDER = range(5)


def _seed_of(seed: int, kind: int, index: int = 0) -> int:
    """A uint32 seed for job ``index`` of one purpose, independent of every other job."""
    return int(np.random.SeedSequence(seed, spawn_key=(kind, index)).generate_state(1)[0])


@dataclass(frozen=True)
class _Item:
    """One original puzzle of a split (int8 [size, size] grids) and what is stored about it."""

    puzzle: np.ndarray
    solution: np.ndarray
    rating: float
    chain: int = -1
    line: int = 0


# ----------------------------------------------------------------------------------------------
# Split hygiene


def _keys(puzzle: np.ndarray, solution: np.ndarray) -> tuple[bytes, bytes]:
    """(puzzle key, solution key): canonical forms for 9x9, the grids themselves otherwise."""
    if puzzle.shape[0] == 9:
        puzzle, solution = canonical_form(puzzle, solution)
    return puzzle.tobytes(), solution.tobytes()


class _Registry:
    """The split that owns each solution key and the puzzle keys already taken."""

    def __init__(self) -> None:
        self.owner: dict[bytes, str] = {}
        self.seen: set[bytes] = set()

    def add(self, keys: tuple[bytes, bytes], split: str) -> None:
        self.seen.add(keys[0])
        self.owner[keys[1]] = split

    def refusal(self, keys: tuple[bytes, bytes], split: str) -> str | None:
        """Why a puzzle may not join ``split`` (a counts key), or None if it may."""
        if keys[0] in self.seen:
            return "duplicates"
        if self.owner.get(keys[1], split) != split:
            return "equivalent_to_other_split"
        return None


# ----------------------------------------------------------------------------------------------
# Worker processes


class _Runner:
    """Runs jobs in order, in this process (``workers`` 1) or in a pool of spawned processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Runner:
        if self.workers > 1:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def ordered(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
        """fn(job) for each job, in order; at most 2 x workers jobs run ahead of the consumer."""
        if self.pool is None:
            yield from map(fn, jobs)
            return
        it = iter(jobs)
        pending: deque[Future] = deque(self.pool.submit(fn, job) for job in itertools.islice(it, 2 * self.workers))
        try:
            while pending:
                result = pending.popleft().result()
                for job in itertools.islice(it, 1):
                    pending.append(self.pool.submit(fn, job))
                yield result
        finally:
            for future in pending:
                future.cancel()


def _default_workers() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _easy_job(seed: int) -> list[tuple[_Item, tuple[bytes, bytes]]]:
    """A batch of random minimal 9x9 puzzles with robust ratings and keys."""
    puzzles, solutions = random_minimal_puzzles(seed, _EASY_BATCH)
    seeds = np.random.SeedSequence(seed).generate_state(_EASY_BATCH)
    ratings = seeded_ratings(puzzles, seeds, ROBUST_RATING_TRANSFORMS)
    return [(_Item(p, s, float(r)), _keys(p, s)) for p, s, r in zip(puzzles, solutions, ratings, strict=True)]


def _chain_job(job: tuple[int, int, float, ClimbConfig]) -> list[tuple[_Item, tuple[bytes, bytes]]]:
    """The puzzles one hill-climbing chain keeps, with keys."""
    chain_id, seed, threshold, config = job
    chain = climb(seed, threshold, config)
    return [
        (_Item(p, s, float(r), chain=chain_id), _keys(p, s))
        for p, s, r in zip(chain.puzzles, chain.solutions, chain.ratings, strict=True)
    ]


def _file_job(job: tuple[str, list[tuple[int, str]], list[int]]) -> list[tuple[_Item, tuple[bytes, bytes]]]:
    """Solves, rates and keys puzzles of a file; a puzzle without exactly one solution is an error."""
    path, lines, seeds = job
    puzzles, solutions = [], []
    for number, text in lines:
        puzzle = parse(text)
        count, solution, _ = solve(puzzle, limit=2)
        if count != 1:
            what = "no solution" if count == 0 else "several solutions"
            raise PuzzleError(f"{path}, line {number}: puzzle has {what}; a Sudoku needs exactly one")
        puzzles.append(puzzle)
        solutions.append(solution)
    ratings = seeded_ratings(np.stack(puzzles), np.array(seeds), ROBUST_RATING_TRANSFORMS)
    return [
        (_Item(p, s, float(r), line=number), _keys(p, s))
        for (number, _), p, s, r in zip(lines, puzzles, solutions, ratings, strict=True)
    ]


# ----------------------------------------------------------------------------------------------
# Sources


def _read_file(
    path: Path, shape: SudokuShape, n_wanted: int, seed: int, runner: _Runner, progress: bool
) -> list[tuple[_Item, tuple[bytes, bytes]]]:
    """The file's puzzles (all, or a seeded sample of ``n_wanted`` in file order), solved and rated."""
    lines = read_puzzle_lines(path)
    if not lines:
        raise DatasetError(f"{path} holds no puzzles")
    sizes = [math.isqrt(sum(ch == "." or ch.isdigit() for ch in text)) for _, text in lines]  # lines parse
    for (number, _), n in zip(lines, sizes, strict=True):
        if n != sizes[0]:
            raise PuzzleError(
                f"{path}, line {number}: a {n}x{n} puzzle, but line {lines[0][0]} holds a "
                f"{sizes[0]}x{sizes[0]} one; a file must hold one size"
            )
    size = sizes[0]
    if size != shape.size:
        raise DatasetError(f"{path} holds {size}x{size} puzzles but the dataset is {shape} (--size {shape.size})")
    if n_wanted > len(lines):
        raise DatasetError(f"{path} holds {len(lines)} puzzles, fewer than the {n_wanted} asked for (0 takes all)")
    if n_wanted:
        picked = np.random.default_rng(_seed_of(seed, _FILE_SAMPLE)).choice(len(lines), n_wanted, replace=False)
        lines = [lines[i] for i in sorted(picked)]
    jobs = [
        (str(path), chunk, [_seed_of(seed, _FILE_RATING, number) for number, _ in chunk])
        for chunk in (lines[i : i + _FILE_CHUNK] for i in range(0, len(lines), _FILE_CHUNK))
    ]
    out = []
    with tqdm(total=len(lines), desc=f"sudoku {path.name}", unit="puzzle", disable=not progress) as bar:
        for results in runner.ordered(_file_job, jobs):
            out.extend(results)
            bar.update(len(results))
    return out


def _draw_puzzles(
    shape: SudokuShape,
    wanted: dict[str, int],
    min_rating: float,
    rng: np.random.Generator,
    registry: _Registry,
    progress: bool,
) -> tuple[dict[str, list[_Item]], dict[str, int]]:
    """Generates distinct rated puzzles; the test split is filled first, then train.

    A puzzle whose solution key is already owned by a split can only join that split.

    Returns:
        ({"train": [...], "test": [...]}, counts of what was drawn).
    """
    splits: dict[str, list[_Item]] = {"test": [], "train": []}
    counts = {"generated": 0, "below_min_rating": 0, "duplicates": 0, "solution_in_full_split": 0}
    failed = 0
    with tqdm(total=sum(wanted.values()), desc=f"sudoku {shape}", unit="puzzle", disable=not progress) as bar:
        while len(splits["test"]) < wanted["test"] or len(splits["train"]) < wanted["train"]:
            if failed >= _MAX_FAILED_ATTEMPTS:
                raise DatasetError(
                    f"gave up after {failed} draws in a row without a new {shape} puzzle: "
                    f"have {len(splits['train'])}/{wanted['train']} train and {len(splits['test'])}/{wanted['test']} "
                    f"test (min_rating {min_rating}); ask for fewer puzzles or a lower min_rating"
                )
            failed += 1
            puzzle, solution = generate(shape, rng)
            rating = rate(puzzle, shape, rng, RATING_TRANSFORMS)
            counts["generated"] += 1
            if rating < min_rating:
                counts["below_min_rating"] += 1
                continue
            keys = _keys(puzzle, solution)
            if keys[0] in registry.seen:
                counts["duplicates"] += 1
                continue
            name = registry.owner.get(keys[1]) or ("test" if len(splits["test"]) < wanted["test"] else "train")
            if len(splits[name]) >= wanted[name]:
                counts["solution_in_full_split"] += 1
                continue
            registry.add(keys, name)
            splits[name].append(_Item(puzzle, solution, rating))
            failed = 0
            bar.update(1)
    return splits, counts


def _fill(
    split: str,
    n: int,
    results: Iterator[list[tuple[_Item, tuple[bytes, bytes]]]],
    registry: _Registry,
    counts: dict[str, int],
    bar: tqdm,
) -> list[_Item]:
    """Takes ``n`` puzzles for ``split`` from successive job results; one job's leftovers are dropped."""
    items: list[_Item] = []
    empty = 0
    while len(items) < n:
        batch = next(results)
        counts["jobs"] += 1
        empty = empty + 1 if not batch else 0
        if empty >= _MAX_EMPTY_CHAINS:
            raise DatasetError(
                f"{empty} hill-climbing chains in a row kept no puzzle; lower the minimum rating "
                f"(have {len(items)}/{n} hard {split} puzzles)"
            )
        for item, keys in batch:
            reason = registry.refusal(keys, split) if len(items) < n else "unused"
            if reason:
                counts[reason] += 1
                continue
            registry.add(keys, split)
            items.append(item)
            bar.update(1)
    return items


def _draw_extreme(
    wanted: dict[str, int],
    min_rating: float,
    config: ClimbConfig,
    seed: int,
    registry: _Registry,
    runner: _Runner,
    progress: bool,
) -> tuple[dict[str, list[_Item]], dict[str, Any]]:
    """Easy and hill-climbed puzzles for each wanted split (test first); one chain feeds one split."""
    easy = {name: int(EASY_FRACTION * n + 0.5) for name, n in wanted.items()}
    splits: dict[str, list[_Item]] = {"test": [], "train": []}
    counts = {
        kind: {"jobs": 0, "duplicates": 0, "equivalent_to_other_split": 0, "unused": 0} for kind in ("easy", "hard")
    }
    easy_jobs = (_seed_of(seed, _EASY, i) for i in itertools.count())
    chain_jobs = ((i, _seed_of(seed, _CHAIN, i), min_rating, config) for i in itertools.count())
    with tqdm(total=sum(wanted.values()), desc="sudoku extreme", unit="puzzle", disable=not progress) as bar:
        easy_results = runner.ordered(_easy_job, easy_jobs)
        for name in ("test", "train"):
            splits[name] += _fill(name, easy[name], easy_results, registry, counts["easy"], bar)
        easy_results.close()
        chain_results = runner.ordered(_chain_job, chain_jobs)
        for name in ("test", "train"):
            splits[name] += _fill(name, wanted[name] - easy[name], chain_results, registry, counts["hard"], bar)
        chain_results.close()
    counts["hard"]["chains"] = counts["hard"].pop("jobs")
    composition = {name: {"easy": easy[name], "hard": wanted[name] - easy[name]} for name in wanted}
    return splits, {"counts": counts, "composition": composition}


# ----------------------------------------------------------------------------------------------
# Arrays and metadata


def _split_arrays(
    items: list[_Item], shape: SudokuShape, aug: int, rng: np.random.Generator, extras: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Arrays of one split: each item becomes a group of 1 + aug one-example puzzles.

    ``extras`` names per-puzzle arrays to add besides ``ratings``: ``chain_ids``, ``source_lines``.
    """
    inputs, labels = [], []
    for item in items:
        puzzles, solutions = [item.puzzle[None]], [item.solution[None]]
        if aug:
            more_p, more_s = augment_many(item.puzzle, item.solution, rng, aug)
            puzzles.append(more_p)
            solutions.append(more_s)
        inputs.append(encode_batch(np.concatenate(puzzles)))
        labels.append(encode_batch(np.concatenate(solutions)))
    per_group = 1 + aug
    n_puzzles = len(items) * per_group
    columns = {"ratings": ("rating", np.float32), "chain_ids": ("chain", np.int32), "source_lines": ("line", np.int32)}
    arrays = {
        "inputs": np.concatenate(inputs) if items else np.zeros((0, shape.cells), np.uint8),
        "labels": np.concatenate(labels) if items else np.zeros((0, shape.cells), np.uint8),
        "puzzle_identifiers": np.full(n_puzzles, BLANK_PUZZLE_ID, np.int32),
        "puzzle_indices": np.arange(n_puzzles + 1, dtype=np.int32),
        "group_indices": np.arange(0, n_puzzles + 1, per_group, dtype=np.int32),
    }
    for name in ("ratings", *extras):
        field, dtype = columns[name]
        arrays[name] = np.repeat(np.array([getattr(item, field) for item in items], dtype), per_group)
    return arrays


def _metadata(shape: SudokuShape, arrays: dict[str, np.ndarray], provenance: dict[str, Any]) -> DatasetMetadata:
    n_puzzles = int(arrays["puzzle_identifiers"].shape[0])
    return DatasetMetadata(
        seq_len=shape.cells,
        vocab_size=vocab_size(shape),
        pad_id=PAD_ID,
        ignore_label_id=PAD_ID,
        blank_identifier_id=BLANK_PUZZLE_ID,
        num_puzzle_identifiers=1,
        total_groups=int(arrays["group_indices"].shape[0]) - 1,
        mean_puzzle_examples=1.0,
        total_puzzles=n_puzzles,
        sets=["all"],
        task={"name": "sudoku", "size": shape.size, "box_rows": shape.box_rows, "box_cols": shape.box_cols},
        provenance=provenance,
    )


def _settings(preset: str | None, size: int, given: dict[str, Any]) -> dict[str, Any]:
    """The build's sizes: what the caller gave, else the preset's value, else the plain defaults."""
    if preset is not None and preset not in PRESETS:
        raise DatasetError(f"unknown Sudoku preset {preset!r}; known: {', '.join(PRESETS)}")
    defaults = PRESETS[preset] if preset else _PLAIN
    if preset and size != defaults["size"]:
        raise DatasetError(f"preset {preset!r} builds {defaults['size']}x{defaults['size']} Sudoku, not {size}x{size}")
    settings = {k: defaults[k] if given[k] is None else given[k] for k in _PLAIN}
    for name in ("n_train", "n_test", "aug"):
        if settings[name] < 0:
            raise DatasetError(f"{name} must be non-negative, got {settings[name]}")
    return settings


def build_sudoku_dataset(
    out_dir: str | Path,
    size: int = 9,
    n_train: int | None = None,
    n_test: int | None = None,
    aug: int | None = None,
    min_rating: float | None = None,
    seed: int = 0,
    progress: bool = True,
    preset: str | None = None,
    from_file: str | Path | None = None,
    from_split: str = "test",
    workers: int | None = None,
    climb_config: ClimbConfig | None = None,
) -> Path:
    """Generates (or reads), rates, splits and writes a Sudoku dataset (see the module docstring).

    Args:
        out_dir: Dataset directory; written atomically (replaced only when the build completes).
        size: Grid side, 4, 6 or 9 (9 for the extreme preset).
        n_train: Original puzzles in the train split (default: the preset's, else 1000).
        n_test: Puzzles in the test split (default: the preset's, else 1000).
        aug: Augmented copies per train puzzle; the original is the group's first puzzle (default:
            the preset's, else 0).
        min_rating: Plain: keep puzzles rated (8 transforms) at least this (default 0). Extreme: the
            hard puzzles' minimum robust rating (default `EXTREME_MIN_RATING`).
        seed: Seed of everything random; the same seed gives byte-identical files.
        progress: Show tqdm progress bars.
        preset: None (plain) or ``"extreme"``.
        from_file: A one-line puzzle file that fills ``from_split`` instead of the generator. That
            split's size (``n_test`` or ``n_train``) takes a seeded sample of the file, in file order;
            0 or None takes every puzzle.
        from_split: ``"test"`` or ``"train"``.
        workers: Processes for the extreme preset and the file (default: all usable cores). They are
            spawned, so a script calling this with workers > 1 needs an ``if __name__ == "__main__":`` guard.
        climb_config: Hill-climbing settings of the extreme preset (default `ClimbConfig()`).

    Returns:
        The dataset directory, holding ``identifiers.json``, ``train/`` and ``test/``.
    """
    shape = shape_for_size(size)
    if from_split not in ("train", "test"):
        raise DatasetError(f"from_split must be 'train' or 'test', got {from_split!r}")
    given = {"n_train": n_train, "n_test": n_test, "aug": aug, "min_rating": min_rating}
    if from_file is not None:
        given[f"n_{from_split}"] = given[f"n_{from_split}"] or 0
    settings = _settings(preset, size, given)
    wanted = {"test": settings["n_test"], "train": settings["n_train"]}
    config = climb_config or ClimbConfig()
    registry = _Registry()
    splits: dict[str, list[_Item]] = {"test": [], "train": []}
    provenance: dict[str, Any] = {"generator": "latentloop.data.build_sudoku", "seed": seed}
    with _Runner(workers or _default_workers()) as runner:
        if from_file is not None:
            path = Path(from_file)
            read = _read_file(path, shape, wanted.pop(from_split), seed, runner, progress)
            for item, keys in read:
                registry.add(keys, from_split)
                splits[from_split].append(item)
            provenance["from_file"] = {
                "path": str(path),
                "split": from_split,
                "puzzles": len(read),
                "rating_transforms": ROBUST_RATING_TRANSFORMS,
            }
            wanted[from_split] = 0
        if preset:
            drawn, extreme = _draw_extreme(wanted, settings["min_rating"], config, seed, registry, runner, progress)
            provenance["extreme"] = {"easy_fraction": EASY_FRACTION, "climb": asdict(config), **extreme}
            rng = np.random.default_rng(_seed_of(seed, _ORDER))
            drawn = {name: [items[i] for i in rng.permutation(len(items))] for name, items in drawn.items()}
        else:
            rng = np.random.default_rng(seed)
            drawn, provenance["counts"] = _draw_puzzles(shape, wanted, settings["min_rating"], rng, registry, progress)
    for name in splits:
        splits[name] += drawn[name]
    extras = (("chain_ids",) if preset else ()) + (("source_lines",) if from_file is not None else ())
    arrays = {
        "train": _split_arrays(splits["train"], shape, settings["aug"], rng, extras),
        "test": _split_arrays(splits["test"], shape, 0, rng, extras),
    }
    counts = provenance.setdefault("counts", {})
    counts.update({f"{name}_puzzles": len(items) for name, items in splits.items()})
    counts["train_examples"] = int(arrays["train"]["inputs"].shape[0])
    provenance["parameters"] = {"size": size, **settings, "rating_transforms": RATING_TRANSFORMS}
    if preset:
        provenance["parameters"].update(preset=preset, rating_transforms=ROBUST_RATING_TRANSFORMS)
    if preset or from_file is not None:
        provenance["split_check"] = _SPLIT_CHECK[size == 9]
    provenance["created_by"] = f"latentloop {package_version()}"

    def build(root: Path) -> None:
        write_identifiers(root, ["<blank>"])
        for name, split in arrays.items():
            write_split(root / name, split, _metadata(shape, split, provenance))

    return write_dataset_atomically(out_dir, build)


_SPLIT_CHECK = {
    True: "no solution grid of one split is equivalent to one of another under the Sudoku group "
    "(transpose, band/stack and row/column permutations, digit relabelling); no two puzzles are equivalent",
    False: "no solution grid is in both splits; no puzzle appears twice",
}
