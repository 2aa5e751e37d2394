"""Builds a Sudoku dataset in the reference layout from locally generated puzzles.

Puzzles are random minimal puzzles with a unique solution (`latentloop.tasks.sudoku.generate`),
rated by mean guesses over random transforms and filtered by a minimum rating. No solution grid
appears in both splits. Train groups hold the original puzzle plus ``aug`` augmented copies (each a
one-example puzzle with identifier 0); the test split holds the originals only.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from latentloop.data.format import (
    BLANK_PUZZLE_ID,
    PAD_ID,
    DatasetMetadata,
    write_dataset_atomically,
    write_identifiers,
    write_split,
)
from latentloop.errors import DatasetError
from latentloop.tasks.sudoku import (
    SudokuShape,
    augment_many,
    encode_batch,
    generate,
    rate,
    shape_for_size,
    vocab_size,
)

RATING_TRANSFORMS = 8
_MAX_FAILED_ATTEMPTS = 20_000


def _version() -> str:
    try:
        return importlib.metadata.version("latentloop")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _draw_puzzles(
    shape: SudokuShape, n_train: int, n_test: int, min_rating: float, rng: np.random.Generator, progress: bool
) -> tuple[dict[str, list[tuple[np.ndarray, np.ndarray, float]]], dict[str, int]]:
    """Generates distinct rated puzzles; the test split is filled first, then train.

    A puzzle whose solution grid is already in one split can only join that split.

    Returns:
        ({"train": [...], "test": [...]} of (puzzle, solution, rating), counts of what was drawn).
    """
    splits: dict[str, list[tuple[np.ndarray, np.ndarray, float]]] = {"test": [], "train": []}
    wanted = {"test": n_test, "train": n_train}
    owner: dict[bytes, str] = {}
    seen: set[bytes] = set()
    counts = {"generated": 0, "below_min_rating": 0, "duplicates": 0, "solution_in_full_split": 0}
    failed = 0
    with tqdm(total=n_train + n_test, desc=f"sudoku {shape}", unit="puzzle", disable=not progress) as bar:
        while len(splits["test"]) < n_test or len(splits["train"]) < n_train:
            if failed >= _MAX_FAILED_ATTEMPTS:
                raise DatasetError(
                    f"gave up after {failed} draws in a row without a new {shape} puzzle: "
                    f"have {len(splits['train'])}/{n_train} train and {len(splits['test'])}/{n_test} test "
                    f"(min_rating {min_rating}); ask for fewer puzzles or a lower min_rating"
                )
            failed += 1
            puzzle, solution = generate(shape, rng)
            rating = rate(puzzle, shape, rng, RATING_TRANSFORMS)
            counts["generated"] += 1
            key, sol_key = puzzle.tobytes(), solution.tobytes()
            if rating < min_rating:
                counts["below_min_rating"] += 1
                continue
            if key in seen:
                counts["duplicates"] += 1
                continue
            name = owner.get(sol_key) or ("test" if len(splits["test"]) < n_test else "train")
            if len(splits[name]) >= wanted[name]:
                counts["solution_in_full_split"] += 1
                continue
            seen.add(key)
            owner[sol_key] = name
            splits[name].append((puzzle, solution, rating))
            failed = 0
            bar.update(1)
    return splits, counts


def _split_arrays(
    items: list[tuple[np.ndarray, np.ndarray, float]], shape: SudokuShape, aug: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Arrays of one split: each item becomes a group of 1 + aug one-example puzzles."""
    inputs, labels, ratings = [], [], []
    for puzzle, solution, rating in items:
        puzzles, solutions = [puzzle[None]], [solution[None]]
        if aug:
            more_p, more_s = augment_many(puzzle, solution, rng, aug)
            puzzles.append(more_p)
            solutions.append(more_s)
        group_p, group_s = np.concatenate(puzzles), np.concatenate(solutions)
        inputs.append(encode_batch(group_p))
        labels.append(encode_batch(group_s))
        ratings.append(np.full(len(group_p), rating, np.float32))
    per_group = 1 + aug
    n_puzzles = len(items) * per_group
    return {
        "inputs": np.concatenate(inputs) if items else np.zeros((0, shape.cells), np.uint8),
        "labels": np.concatenate(labels) if items else np.zeros((0, shape.cells), np.uint8),
        "puzzle_identifiers": np.full(n_puzzles, BLANK_PUZZLE_ID, np.int32),
        "puzzle_indices": np.arange(n_puzzles + 1, dtype=np.int32),
        "group_indices": np.arange(0, n_puzzles + 1, per_group, dtype=np.int32),
        "ratings": np.concatenate(ratings) if items else np.zeros(0, np.float32),
    }


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


def build_sudoku_dataset(
    out_dir: str | Path,
    size: int,
    n_train: int,
    n_test: int,
    aug: int,
    min_rating: float = 0.0,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Generates, rates, filters, splits and writes a Sudoku dataset.

    Args:
        out_dir: Dataset directory; written atomically (replaced only when the build completes).
        size: Grid side, 4, 6 or 9.
        n_train: Original puzzles in the train split.
        n_test: Puzzles in the test split.
        aug: Augmented copies per train puzzle (the original is kept as the group's first puzzle).
        min_rating: Keep puzzles whose rating (mean guesses over 8 transforms) is at least this.
        seed: Seed of the numpy generator; the same seed gives byte-identical files.
        progress: Show a tqdm progress bar.

    Returns:
        The dataset directory, holding ``identifiers.json``, ``train/`` and ``test/``.
    """
    shape = shape_for_size(size)
    for name, value in (("n_train", n_train), ("n_test", n_test), ("aug", aug)):
        if value < 0:
            raise DatasetError(f"{name} must be non-negative, got {value}")
    rng = np.random.default_rng(seed)
    splits, counts = _draw_puzzles(shape, n_train, n_test, min_rating, rng, progress)
    arrays = {
        "train": _split_arrays(splits["train"], shape, aug, rng),
        "test": _split_arrays(splits["test"], shape, 0, rng),
    }
    counts.update({f"{name}_puzzles": len(items) for name, items in splits.items()})
    counts["train_examples"] = int(arrays["train"]["inputs"].shape[0])
    provenance = {
        "generator": "latentloop.data.build_sudoku",
        "seed": seed,
        "parameters": {
            "size": size,
            "n_train": n_train,
            "n_test": n_test,
            "aug": aug,
            "min_rating": min_rating,
            "rating_transforms": RATING_TRANSFORMS,
        },
        "counts": counts,
        "created_by": f"latentloop {_version()}",
    }

    def build(root: Path) -> None:
        write_identifiers(root, ["<blank>"])
        for name, split in arrays.items():
            write_split(root / name, split, _metadata(shape, split, provenance))

    return write_dataset_atomically(out_dir, build)
