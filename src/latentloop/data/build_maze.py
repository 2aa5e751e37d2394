"""Builds a maze dataset (Maze 30x30 Hard and smaller ones) in the reference layout.

Mazes come from `latentloop.tasks.maze.generate` (Searchformer's procedure, kept only when the
shortest path is longer than ``min_path`` moves) and are labelled by `latentloop.tasks.maze.solve`
(the module's deterministic A* rule).

Determinism: maze ``i`` of a split is the first maze accepted from numba's generator seeded with
``SeedSequence((seed, split, i))`` (split 0 = train, 1 = test), so the files are byte-identical for
any number of worker processes. Mazes are taken in order (train 0..n_train-1, then test); a maze
whose wall layout, up to the 8 dihedral transforms, was already taken is replaced by the next maze
accepted from the same stream.

Each maze is a group. With ``aug``, a train group holds the maze and its 7 other dihedral
transforms, each labelled again by the same A* rule (so every label follows the one rule, rather
than being a transformed label). The test split holds the originals only. The per-puzzle extra
array ``ratings`` (float32) is the shortest path length in moves.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import multiprocessing
import os
from collections.abc import Callable, Iterator
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
from latentloop.errors import DatasetError
from latentloop.tasks.maze import (
    MAX_SIDE,
    PATH,
    WALL,
    MazeTask,
    dihedral,
    generate,
    solve,
    wall_range,
)
from latentloop.tasks.maze_search import PAIRS_PER_LAYOUT

SPLITS = ("train", "test")
MAX_LAYOUTS = 1_000_000
LABEL_RULE = "A* with f = g + Manhattan, open cells expanded in (f, row, column) order, first parent kept"

# (size, min_path, stream seed, skip, max layouts, aug)
_Job = tuple[int, int, int, int, int, bool]
# (puzzles [k, N, N] or None when the generator gave up, labels [k, N, N] or None, layouts drawn)
_Group = tuple[np.ndarray | None, np.ndarray | None, int]


def stream_seed(seed: int, split: int, index: int) -> int:
    """The numba seed (uint32) of maze ``index`` of split ``split`` (0 train, 1 test)."""
    return int(np.random.SeedSequence((seed, split, index)).generate_state(1)[0])


def _make_group(job: _Job) -> _Group:
    """Generates one maze (and with aug its 7 other dihedral transforms) and labels every grid."""
    size, min_path, seed, skip, max_layouts, aug = job
    puzzle, layouts = generate(size, min_path, seed, skip=skip, max_layouts=max_layouts)
    if puzzle is None:
        return None, None, layouts
    puzzles = np.stack([dihedral(puzzle, k) for k in range(8 if aug else 1)])
    return puzzles, np.stack([solve(p) for p in puzzles]), layouts


def _layout_key(puzzle: np.ndarray) -> bytes:
    """The wall layout up to the 8 dihedral transforms (S and G ignored)."""
    walls = puzzle == WALL
    return min(np.packbits(dihedral(walls, k)).tobytes() for k in range(8))


@contextlib.contextmanager
def _mapper(workers: int, jobs: int) -> Iterator[Callable[..., Iterator[_Group]]]:
    """An ordered map over jobs: in this process for one worker, else a spawn-started pool."""
    workers = min(workers, jobs)
    if workers <= 1:
        yield map
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield functools.partial(pool.imap, chunksize=max(1, min(16, jobs // (4 * workers))))


def _check(size: int, min_path: int, n_train: int, n_test: int, seed: int) -> None:
    """Raises DatasetError on parameters no build can satisfy."""
    if not 2 <= size <= MAX_SIDE:
        raise DatasetError(f"maze size must be in 2..{MAX_SIDE}, got {size}")
    for name, value in (("n_train", n_train), ("n_test", n_test), ("seed", seed), ("min_path", min_path)):
        if value < 0:
            raise DatasetError(f"{name} must be non-negative, got {value}")
    longest = size * size - wall_range(size)[0] - 1
    if min_path >= longest:
        raise DatasetError(
            f"min_path {min_path} is impossible for a {size}x{size} maze: with at least "
            f"{wall_range(size)[0]} walls a path has at most {longest} moves"
        )


def _draw_groups(
    size: int, min_path: int, counts: dict[str, int], aug: bool, seed: int, workers: int, progress: bool
) -> tuple[dict[str, list[tuple[np.ndarray, np.ndarray]]], dict[str, int]]:
    """Generates and labels every group, in order, with distinct wall layouts.

    Returns:
        ({split: [(puzzles, labels)]}, statistics: layouts drawn and layout collisions).
    """
    order = [(split, i) for split in SPLITS for i in range(counts[split])]

    def job(split: str, i: int, skip: int = 0) -> _Job:
        return size, min_path, stream_seed(seed, SPLITS.index(split), i), skip, MAX_LAYOUTS, aug and split == "train"

    groups: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {split: [] for split in SPLITS}
    stats = {"layouts_drawn": 0, "layout_collisions": 0}
    seen: set[bytes] = set()
    with (
        tqdm(total=len(order), desc=f"maze {size}x{size}", unit="maze", disable=not progress) as bar,
        _mapper(workers, len(order)) as imap,
    ):
        for (split, i), result in zip(order, imap(_make_group, [job(*item) for item in order]), strict=True):
            skip = 0
            while True:
                puzzles, labels, layouts = result
                stats["layouts_drawn"] += layouts
                if puzzles is None or labels is None:
                    raise DatasetError(
                        f"gave up: {layouts} wall layouts of a {size}x{size} maze gave no start/goal pair with a "
                        f"shortest path longer than {min_path} moves; lower min_path"
                    )
                key = _layout_key(puzzles[0])
                if key not in seen:
                    break
                skip += 1
                stats["layout_collisions"] += 1
                result = _make_group(job(split, i, skip))
            seen.add(key)
            groups[split].append((puzzles, labels))
            bar.update(1)
    return groups, stats


def _split_arrays(groups: list[tuple[np.ndarray, np.ndarray]], size: int) -> dict[str, np.ndarray]:
    """Arrays of one split: one one-example puzzle per grid, one group per maze."""
    task = MazeTask(size, size)
    grids = [(p, lab) for puzzles, labels in groups for p, lab in zip(puzzles, labels, strict=True)]
    sizes = [len(puzzles) for puzzles, _ in groups]
    empty = np.zeros((0, task.seq_len), np.uint8)
    return {
        "inputs": np.stack([task.encode(p) for p, _ in grids]) if grids else empty,
        "labels": np.stack([task.encode(lab) for _, lab in grids]) if grids else empty,
        "puzzle_identifiers": np.full(len(grids), BLANK_PUZZLE_ID, np.int32),
        "puzzle_indices": np.arange(len(grids) + 1, dtype=np.int32),
        "group_indices": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32),
        "ratings": np.array([(lab == PATH).sum() + 1 for _, lab in grids], np.float32),
    }


def _metadata(size: int, arrays: dict[str, np.ndarray], provenance: dict[str, Any]) -> DatasetMetadata:
    task = MazeTask(size, size)
    return DatasetMetadata(
        seq_len=task.seq_len,
        vocab_size=task.vocab_size,
        pad_id=PAD_ID,
        ignore_label_id=PAD_ID,
        blank_identifier_id=BLANK_PUZZLE_ID,
        num_puzzle_identifiers=1,
        total_groups=int(arrays["group_indices"].shape[0]) - 1,
        mean_puzzle_examples=1.0,
        total_puzzles=int(arrays["puzzle_identifiers"].shape[0]),
        sets=["all"],
        task={"name": "maze", "height": size, "width": size},
        provenance=provenance,
    )


def build_maze_dataset(
    out_dir: str | Path,
    size: int = 30,
    min_path: int = 110,
    n_train: int = 1000,
    n_test: int = 1000,
    aug: bool = False,
    seed: int = 0,
    workers: int = 0,
    progress: bool = True,
) -> Path:
    """Generates, labels and writes a maze dataset.

    Args:
        out_dir: Dataset directory; written atomically (replaced only when the build completes).
        size: Side of the square mazes.
        min_path: Keep mazes whose shortest path has more moves than this (HRM: 110 for 30x30).
        n_train: Mazes (groups) in the train split.
        n_test: Mazes in the test split.
        aug: Add the 7 other dihedral transforms of each train maze to its group.
        seed: Seed of every maze's random stream; the same seed gives byte-identical files.
        workers: Generator processes; 0 = one per CPU. The files do not depend on it. Workers are
            started with ``spawn``, so a script calling this with workers > 1 needs the
            ``if __name__ == "__main__":`` guard.
        progress: Show a tqdm progress bar.

    Returns:
        The dataset directory, holding ``identifiers.json``, ``train/`` and ``test/``.

    Raises:
        DatasetError: Impossible parameters, or no maze found in `MAX_LAYOUTS` wall layouts.
    """
    _check(size, min_path, n_train, n_test, seed)
    counts = {"train": n_train, "test": n_test}
    groups, stats = _draw_groups(size, min_path, counts, aug, seed, workers or os.cpu_count() or 1, progress)
    arrays = {split: _split_arrays(groups[split], size) for split in SPLITS}
    provenance = {
        "generator": "latentloop.data.build_maze",
        "seed": seed,
        "parameters": {
            "size": size,
            "min_path": min_path,
            "n_train": n_train,
            "n_test": n_test,
            "aug": aug,
            "walls": list(wall_range(size)),
            "pairs_per_layout": PAIRS_PER_LAYOUT,
            "path_length": "moves",
            "label_rule": LABEL_RULE,
        },
        "counts": {
            **stats,
            **{f"{split}_mazes": len(groups[split]) for split in SPLITS},
            **{f"{split}_examples": int(arrays[split]["inputs"].shape[0]) for split in SPLITS},
        },
        "created_by": f"latentloop {package_version()}",
    }

    def build(root: Path) -> None:
        write_identifiers(root, ["<blank>"])
        for split in SPLITS:
            write_split(root / split, arrays[split], _metadata(size, arrays[split], provenance))

    return write_dataset_atomically(out_dir, build)


# ---------------------------------------------------------------------------------------------
# `latentloop data build maze` (the maze task's builder companion, tasks/maze.py `MazeTask.builder`)

HELP = "generated mazes with a shortest-path label (Searchformer / HRM)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The builder's command-line flags (the CLI adds --seed, --out and --quiet)."""
    parser.add_argument("--size", type=int, default=30, help="side of the square maze")
    parser.add_argument("--min-path", type=int, default=110, help="keep mazes whose shortest path (in moves) is longer")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--aug", action="store_true", help="add the 8 dihedral transforms of each training maze")
    parser.add_argument("--workers", type=int, default=0, help="generator processes; 0 = one per core")


def build(args: argparse.Namespace) -> Path:
    return build_maze_dataset(
        args.out,
        size=args.size,
        min_path=args.min_path,
        n_train=args.train,
        n_test=args.test,
        aug=args.aug,
        seed=args.seed,
        workers=args.workers,
        progress=not args.quiet,
    )
