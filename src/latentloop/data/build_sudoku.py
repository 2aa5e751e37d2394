"""Builds a Sudoku dataset in the reference layout, from generated puzzles or puzzle files.

Four sources fill the splits:

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
* ``from_file``, one-line file: a split holds the puzzles of the file, each solved here (it must
  have exactly one solution) and rated with 16 transforms; line numbers are stored per puzzle
  (``source_lines``, 0 for generated puzzles). Equivalent puzzles inside the file are all kept.
* ``from_file``, reference CSV (``source,q,a,rating``, `latentloop.data.readers`): a split holds the
  rows as the references' ``build_sudoku_dataset.py`` takes them: rows rated below
  ``min_difficulty`` are dropped (both splits), then the train split takes a random ``subsample``
  of the rest (all when fewer), and every train puzzle gets ``aug`` augmented copies. The file's
  answer is the label (checked to solve the puzzle, not solved again) and its rating goes to
  ``ratings``, its line to ``source_lines``. The file is streamed twice (once to check and choose
  rows, once to write them), so a split of any size needs memory for a few arrays of one number
  per row only. Both files of Sudoku-Extreme give the paper's dataset::

      build_sudoku_dataset(out, from_file={"train": "train.csv", "test": "test.csv"}, subsample=1000, aug=1000)

  Unlike the reference, the sample is drawn from the seed and kept in file order.

Split hygiene: for 9x9, no solution grid (hence no puzzle) of a generated split is equivalent to
one of the other split under the whole Sudoku group (canonical form, `sudoku_hard.canonical_form`),
and no two generated puzzles are equivalent. Smaller sizes have too few essentially different grids
for that (4x4 has two), so there identical solution grids are kept out of both splits and identical
puzzles dropped. Splits that both come from files are taken as they are (Sudoku-Extreme's own split
promises that no test puzzle is equivalent to a train puzzle); a CSV split beside a generated one
costs one canonical form per row (about a millisecond).

Train groups hold the original puzzle plus ``aug`` augmented copies (each a one-example puzzle with
identifier 0); the test split holds the originals only. Results depend on the seed only, not on the
number of worker processes.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from latentloop.data.format import (
    BLANK_PUZZLE_ID,
    PAD_ID,
    DatasetMetadata,
    SplitWriter,
    package_version,
    write_dataset_atomically,
    write_identifiers,
)
from latentloop.data.readers import FORMATS, detect_format, iter_reference_csv, read_puzzle_lines
from latentloop.errors import DatasetError, PuzzleError
from latentloop.tasks.sudoku import (
    SudokuShape,
    augment_many,
    encode_batch,
    generate,
    parse,
    rate,
    shape_for_size,
    solve,
    vocab_size,
)
from latentloop.tasks.sudoku_hard import ClimbConfig, canonical_form, climb, random_minimal_puzzles, seeded_ratings

SPLITS = ("test", "train")  # the order of the seed streams of file samples
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
_WRITE_ROWS = 16_384  # token rows gathered before one write
_COLUMNS = {"ratings": ("rating", np.float32), "chain_ids": ("chain", np.int32), "source_lines": ("line", np.int32)}
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
    """(puzzle key, solution key): 16-byte digests of the canonical forms for 9x9, of the grids otherwise."""
    if puzzle.shape[0] == 9:
        puzzle, solution = canonical_form(puzzle, solution)
    puzzle_key, solution_key = (hashlib.blake2b(g.tobytes(), digest_size=16).digest() for g in (puzzle, solution))
    return puzzle_key, solution_key


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


def _pick(available: int, n_wanted: int, subsample: int | None, seed: int, split: str, what: str) -> np.ndarray | None:
    """Sorted positions of a seeded sample of ``available`` puzzles for ``split``, or None to take them all.

    ``subsample`` follows the reference (``subsample_size``: a sample when there are more, else all);
    ``n_wanted`` (0 = all) must not exceed what there is.
    """
    if subsample is not None:
        n = subsample if subsample < available else 0
    elif n_wanted > available:
        raise DatasetError(f"{what} holds {available} puzzles, fewer than the {n_wanted} asked for (0 takes all)")
    else:
        n = n_wanted
    if not n:
        return None
    rng = np.random.default_rng(_seed_of(seed, _FILE_SAMPLE, SPLITS.index(split)))
    return np.sort(rng.choice(available, n, replace=False))


def _read_file(
    path: Path,
    split: str,
    shape: SudokuShape,
    n_wanted: int,
    subsample: int | None,
    seed: int,
    runner: _Runner,
    progress: bool,
) -> list[tuple[_Item, tuple[bytes, bytes]]]:
    """A one-line file's puzzles (all, or a seeded sample in file order), solved and rated."""
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
    _check_size(path, sizes[0], shape)
    picked = _pick(len(lines), n_wanted, subsample, seed, split, str(path))
    if picked is not None:
        lines = [lines[i] for i in picked]
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


def _check_size(path: Path, size: int, shape: SudokuShape) -> None:
    if size != shape.size:
        raise DatasetError(f"{path} holds {size}x{size} puzzles but the dataset is {shape} (--size {shape.size})")


@dataclass
class _CsvPlan:
    """The rows of a reference CSV that fill a split, chosen by a first pass over the file.

    Attributes:
        path: The CSV file.
        keep: bool [rows]: the rows taken, in file order.
        record: What the provenance says about the file.
    """

    path: Path
    keep: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.keep.sum())


def _plan_csv(
    path: Path,
    split: str,
    shape: SudokuShape,
    n_wanted: int,
    subsample: int | None,
    min_difficulty: int | None,
    seed: int,
    progress: bool,
) -> _CsvPlan:
    """Checks every row of a reference CSV and chooses the rows of its split (see the module docstring)."""
    ratings = []
    with tqdm(desc=f"sudoku {path.name} (check)", unit="row", disable=not progress) as bar:
        for chunk in iter_reference_csv(path):
            if not ratings:
                _check_size(path, chunk.puzzles.shape[1], shape)
            ratings.append(chunk.ratings)
            bar.update(len(chunk))
    if not ratings:
        raise DatasetError(f"{path} holds no puzzles")
    rating = np.concatenate(ratings)
    eligible = np.arange(rating.size) if min_difficulty is None else np.flatnonzero(rating >= min_difficulty)
    what = f"{path}" + ("" if min_difficulty is None else f" (rows rated at least {min_difficulty})")
    picked = _pick(eligible.size, n_wanted, subsample, seed, split, what)
    keep = np.zeros(rating.size, bool)
    keep[eligible if picked is None else eligible[picked]] = True
    record = {"rows": int(rating.size), "below_min_difficulty": int(rating.size - eligible.size)}
    return _CsvPlan(path, keep, {**record, "puzzles": int(keep.sum())})


def _csv_keys_job(pairs: tuple[np.ndarray, np.ndarray]) -> list[tuple[bytes, bytes]]:
    return [_keys(p, s) for p, s in zip(*pairs, strict=True)]


def _register_csv(
    plan: _CsvPlan, shape: SudokuShape, split: str, registry: _Registry, runner: _Runner, progress: bool
) -> None:
    """Registers the keys of a CSV split's puzzles, so that a generated split keeps clear of them."""
    chunks = iter_reference_csv(plan.path, shape, plan.keep, chunk_rows=1024)
    with tqdm(total=plan.n, desc=f"sudoku {plan.path.name} (keys)", unit="puzzle", disable=not progress) as bar:
        for keys in runner.ordered(_csv_keys_job, ((c.puzzles, c.solutions) for c in chunks)):
            for key in keys:
                registry.add(key, split)
            bar.update(len(keys))


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


@dataclass(frozen=True)
class _Block:
    """Consecutive original puzzles of a split (int8 [B, size, size] each) and their stored columns."""

    puzzles: np.ndarray
    solutions: np.ndarray
    columns: dict[str, np.ndarray]  # name in _COLUMNS -> [B]


def _item_blocks(items: list[_Item], columns: tuple[str, ...]) -> Iterator[_Block]:
    for start in range(0, len(items), 1024):
        part = items[start : start + 1024]
        yield _Block(
            np.stack([item.puzzle for item in part]),
            np.stack([item.solution for item in part]),
            {
                name: np.array([getattr(item, _COLUMNS[name][0]) for item in part], _COLUMNS[name][1])
                for name in columns
            },
        )


def _csv_blocks(plan: _CsvPlan, shape: SudokuShape, columns: tuple[str, ...]) -> Iterator[_Block]:
    for chunk in iter_reference_csv(plan.path, shape, plan.keep):
        values = {"ratings": chunk.ratings, "source_lines": chunk.lines, "chain_ids": np.full(len(chunk), -1)}
        yield _Block(chunk.puzzles, chunk.solutions, {name: values[name].astype(_COLUMNS[name][1]) for name in columns})


def _group_rows(block: _Block, aug: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """int8 [2, k, size, size] (puzzles, solutions) of a block's groups; group by group with ``aug``."""
    if not aug:
        yield np.stack([block.puzzles, block.solutions])
        return
    for puzzle, solution in zip(block.puzzles, block.solutions, strict=True):
        more_p, more_s = augment_many(puzzle, solution, rng, aug)
        yield np.stack([np.concatenate([puzzle[None], more_p]), np.concatenate([solution[None], more_s])])


def _append(writer: SplitWriter, buffer: list[np.ndarray]) -> None:
    if buffer:
        rows = np.concatenate(buffer, axis=1)
        writer.append(encode_batch(rows[0]), encode_batch(rows[1]))


def _write_split(
    split_dir: Path,
    shape: SudokuShape,
    blocks: Iterable[_Block],
    n_originals: int,
    aug: int,
    rng: np.random.Generator,
    columns: tuple[str, ...],
    provenance: dict[str, Any],
    progress: bool,
) -> None:
    """Streams one split: each original becomes a group of itself and ``aug`` augmented copies.

    Every puzzle is one example with identifier 0; ``columns`` are stored per puzzle (repeated over
    the group).
    """
    per_group = 1 + aug
    n_puzzles = n_originals * per_group
    stored: dict[str, list[np.ndarray]] = {name: [np.zeros(0, _COLUMNS[name][1])] for name in columns}
    buffer: list[np.ndarray] = []
    buffered = 0
    with (
        SplitWriter(split_dir, n_puzzles, shape.cells) as writer,
        tqdm(total=n_originals, desc=f"sudoku {split_dir.name}", unit="puzzle", disable=not progress) as bar,
    ):
        for block in blocks:
            for name in columns:
                stored[name].append(np.repeat(block.columns[name], per_group))
            for rows in _group_rows(block, aug, rng):
                buffer.append(rows)
                buffered += rows.shape[1]
                if buffered >= _WRITE_ROWS:
                    _append(writer, buffer)
                    buffer, buffered = [], 0
            bar.update(len(block.puzzles))
        _append(writer, buffer)
        arrays = {
            "puzzle_identifiers": np.full(n_puzzles, BLANK_PUZZLE_ID, np.int32),
            "puzzle_indices": np.arange(n_puzzles + 1, dtype=np.int32),
            "group_indices": np.arange(0, n_puzzles + 1, per_group, dtype=np.int32),
            **{name: np.concatenate(parts) for name, parts in stored.items()},
        }
        writer.finish(arrays, _metadata(shape, n_puzzles, n_originals, provenance))


def _metadata(shape: SudokuShape, n_puzzles: int, n_groups: int, provenance: dict[str, Any]) -> DatasetMetadata:
    return DatasetMetadata(
        seq_len=shape.cells,
        vocab_size=vocab_size(shape),
        pad_id=PAD_ID,
        ignore_label_id=PAD_ID,
        blank_identifier_id=BLANK_PUZZLE_ID,
        num_puzzle_identifiers=1,
        total_groups=n_groups,
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


def split_files(values: Sequence[str | Path], default_split: str = "test") -> dict[str, Path]:
    """Parses ``--from`` values: ``train=FILE``, ``test=FILE``, or a bare FILE for ``default_split``.

    Raises:
        DatasetError: Two files for one split.
    """
    files: dict[str, Path] = {}
    for value in values:
        name, sep, rest = str(value).partition("=")
        split, path = (name, rest) if sep and name in SPLITS else (default_split, str(value))
        if split in files:
            raise DatasetError(f"two files for the {split} split: {files[split]} and {path}")
        files[split] = Path(path)
    return files


def _files(from_file: str | Path | Mapping[str, str | Path] | None, from_split: str) -> dict[str, Path]:
    """The file of each split that comes from a file."""
    if from_split not in SPLITS:
        raise DatasetError(f"from_split must be 'train' or 'test', got {from_split!r}")
    if from_file is None:
        return {}
    if not isinstance(from_file, Mapping):
        return {from_split: Path(from_file)}
    unknown = sorted(set(from_file) - set(SPLITS))
    if unknown:
        raise DatasetError(f"from_file names the splits {unknown}; a file fills 'train' or 'test'")
    return {name: Path(path) for name, path in sorted(from_file.items(), key=lambda kv: SPLITS.index(kv[0]))}


def _formats(files: dict[str, Path], file_format: str) -> dict[str, str]:
    """``lines`` or ``csv`` per file: as named, or detected from the content (``auto``)."""
    if file_format != "auto" and file_format not in FORMATS:
        raise DatasetError(f"file_format must be auto, {' or '.join(FORMATS)}; got {file_format!r}")
    return {name: detect_format(path) if file_format == "auto" else file_format for name, path in files.items()}


def _check_file_options(
    formats: dict[str, str], n_train: int | None, subsample: int | None, min_difficulty: int | None
) -> None:
    if subsample is not None:
        if subsample < 1:
            raise DatasetError(f"subsample must be positive, got {subsample}")
        if "train" not in formats:
            raise DatasetError("subsample samples the training file; name one (--from train=FILE)")
        if n_train is not None:
            raise DatasetError("give n_train (--train) or subsample (--subsample) for the training file, not both")
    if min_difficulty is not None and "csv" not in formats.values():
        raise DatasetError("min_difficulty (--min-difficulty) filters the rows of a reference CSV; none is given")


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
    from_file: str | Path | Mapping[str, str | Path] | None = None,
    from_split: str = "test",
    workers: int | None = None,
    climb_config: ClimbConfig | None = None,
    file_format: str = "auto",
    subsample: int | None = None,
    min_difficulty: int | None = None,
) -> Path:
    """Generates (or reads), rates, splits and writes a Sudoku dataset (see the module docstring).

    Args:
        out_dir: Dataset directory; written atomically (replaced only when the build completes).
        size: Grid side, 4, 6 or 9 (9 for the extreme preset).
        n_train: Original puzzles in the train split (default: the preset's, else 1000).
        n_test: Puzzles in the test split (default: the preset's, else 1000).
        aug: Augmented copies per train puzzle; the original is the group's first puzzle (default:
            the preset's, else 0).
        min_rating: Plain: keep generated puzzles rated (8 transforms) at least this (default 0).
            Extreme: the hard puzzles' minimum robust rating (default `EXTREME_MIN_RATING`).
        seed: Seed of everything random; the same seed gives byte-identical files.
        progress: Show tqdm progress bars.
        preset: None (plain) or ``"extreme"``.
        from_file: A puzzle file that fills ``from_split`` instead of the generator, or a mapping
            ``{"train": file, "test": file}`` (one or both). A file split's size (``n_test`` or
            ``n_train``) takes a seeded sample of the file, in file order; 0 or None takes every
            puzzle.
        from_split: ``"test"`` or ``"train"``: the split of a single ``from_file``.
        workers: Processes for the extreme preset and the files (default: all usable cores). They are
            spawned, so a script calling this with workers > 1 needs an ``if __name__ == "__main__":`` guard.
        climb_config: Hill-climbing settings of the extreme preset (default `ClimbConfig()`).
        file_format: ``"lines"`` (one puzzle per line, solved here), ``"csv"`` (the reference CSV) or
            ``"auto"``: detected from each file's content.
        subsample: The reference's ``subsample_size``: the training file's puzzles are a seeded
            random sample of this many (all when the file has no more); instead of ``n_train``.
        min_difficulty: The reference's ``min_difficulty``: CSV rows rated below this are dropped,
            in both splits, before the sample is drawn.

    Returns:
        The dataset directory, holding ``identifiers.json``, ``train/`` and ``test/``.
    """
    shape = shape_for_size(size)
    files = _files(from_file, from_split)
    formats = _formats(files, file_format)
    _check_file_options(formats, n_train, subsample, min_difficulty)
    given = {"n_train": n_train, "n_test": n_test, "aug": aug, "min_rating": min_rating}
    for name in files:
        given[f"n_{name}"] = given[f"n_{name}"] or 0
    settings = _settings(preset, size, given)
    wanted = {"test": settings["n_test"], "train": settings["n_train"]}
    config = climb_config or ClimbConfig()
    registry = _Registry()
    splits: dict[str, list[_Item]] = {"test": [], "train": []}
    plans: dict[str, _CsvPlan] = {}
    provenance: dict[str, Any] = {"generator": "latentloop.data.build_sudoku", "seed": seed}
    with _Runner(workers or _default_workers()) as runner:
        generated = any(n for name, n in wanted.items() if name not in files)
        records = {}
        for name, path in files.items():
            sample = subsample if name == "train" else None
            if formats[name] == "csv":
                plans[name] = _plan_csv(path, name, shape, wanted[name], sample, min_difficulty, seed, progress)
                if generated:
                    _register_csv(plans[name], shape, name, registry, runner, progress)
                record = {**plans[name].record, "min_difficulty": min_difficulty}
            else:
                read = _read_file(path, name, shape, wanted[name], sample, seed, runner, progress)
                for item, keys in read:
                    registry.add(keys, name)
                    splits[name].append(item)
                record = {"puzzles": len(read), "rating_transforms": ROBUST_RATING_TRANSFORMS}
            records[name] = {"path": str(path), "format": formats[name], **record, "subsample": sample}
            wanted[name] = 0
        if files:
            provenance["from_file"] = records
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
    columns = ("ratings",) + (("chain_ids",) if preset else ()) + (("source_lines",) if files else ())
    originals = {name: plans[name].n if name in plans else len(items) for name, items in splits.items()}
    counts = provenance.setdefault("counts", {})
    counts.update({f"{name}_puzzles": n for name, n in originals.items()})
    counts["train_examples"] = originals["train"] * (1 + settings["aug"])
    provenance["parameters"] = {"size": size, **settings, "rating_transforms": RATING_TRANSFORMS}
    if files:
        provenance["parameters"].update(subsample=subsample, min_difficulty=min_difficulty)
    if preset:
        provenance["parameters"].update(preset=preset, rating_transforms=ROBUST_RATING_TRANSFORMS)
    if len(files) == len(SPLITS):
        provenance["split_check"] = _SPLIT_CHECK["files"]
    elif preset or files:
        provenance["split_check"] = _SPLIT_CHECK[size == 9]
    provenance["created_by"] = f"latentloop {package_version()}"

    def build(root: Path) -> None:
        write_identifiers(root, ["<blank>"])
        for name, aug_copies in (("train", settings["aug"]), ("test", 0)):
            blocks = _csv_blocks(plans[name], shape, columns) if name in plans else _item_blocks(splits[name], columns)
            _write_split(root / name, shape, blocks, originals[name], aug_copies, rng, columns, provenance, progress)

    return write_dataset_atomically(out_dir, build)


_SPLIT_CHECK: dict[bool | str, str] = {
    True: "no solution grid of one split is equivalent to one of another under the Sudoku group "
    "(transpose, band/stack and row/column permutations, digit relabelling); no two puzzles are equivalent",
    False: "no solution grid is in both splits; no puzzle appears twice",
    "files": "none: both splits are taken from files as they are",
}

# ---------------------------------------------------------------------------------------------
# `latentloop data build sudoku` (the Sudoku task's builder companion, tasks/sudoku.py `SudokuTask.builder`)

HELP = "generated Sudoku with unique solutions, or puzzles from one-line files or the reference CSV"
DESCRIPTION = (
    "Sudoku-Extreme from the references' CSV files (sudoku-extreme-1k-aug-1000): latentloop data "
    "build sudoku --from train=train.csv --from test=test.csv --subsample 1000 --aug 1000 --out DIR"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The builder's command-line flags (the CLI adds --seed, --out and --quiet)."""
    parser.add_argument("--size", type=int, choices=(4, 6, 9), default=9)
    parser.add_argument("--preset", choices=("extreme",), help="extreme: Sudoku-Extreme-like hard 9x9 (see docs)")
    parser.add_argument(
        "--train", type=int, default=None, help="training puzzles (groups); default 1000; from a file: a sample; 0 all"
    )
    parser.add_argument(
        "--test", type=int, default=None, help="test puzzles; default 1000; from a file: a sample; 0 all"
    )
    parser.add_argument(
        "--aug",
        type=int,
        default=None,
        help="augmented copies per training puzzle (the reference's --num-aug); default 0",
    )
    parser.add_argument(
        "--min-rating", type=float, default=None, help="keep generated puzzles rated at least this (extreme: 50)"
    )
    parser.add_argument(
        "--from",
        dest="from_file",
        action="append",
        metavar="[SPLIT=]FILE",
        help="fill a split from FILE instead of the generator (repeatable: --from train=A --from test=B); a FILE "
        "without SPLIT= fills --from-split. One-line puzzles are solved and rated here; the reference CSV "
        "(source,q,a,rating) gives answers and ratings",
    )
    parser.add_argument("--from-split", choices=("train", "test"), default="test", help="the split a bare FILE fills")
    parser.add_argument(
        "--format", choices=("auto", "lines", "csv"), default="auto", help="format of the --from files; auto: detected"
    )
    parser.add_argument(
        "--subsample",
        type=int,
        metavar="N",
        help="the reference's --subsample-size: a seeded random N of the training file's puzzles (all if fewer)",
    )
    parser.add_argument(
        "--min-difficulty",
        type=int,
        metavar="R",
        help="the reference's --min-difficulty: drop CSV rows rated below R, in both splits, before --subsample",
    )


def build(args: argparse.Namespace) -> Path:
    return build_sudoku_dataset(
        args.out,
        size=args.size,
        n_train=args.train,
        n_test=args.test,
        aug=args.aug,
        min_rating=args.min_rating,
        seed=args.seed,
        progress=not args.quiet,
        preset=args.preset,
        from_file=split_files(args.from_file, args.from_split) if args.from_file else None,
        from_split=args.from_split,
        file_format=args.format,
        subsample=args.subsample,
        min_difficulty=args.min_difficulty,
    )
