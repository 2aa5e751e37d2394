"""Hard Sudoku: seeded ratings, a hill-climbing generator and a canonical form under the symmetry group.

Everything random here runs inside numba with numba's own generator, seeded at the start of each
call, so a result depends only on its seed (not on what ran before it, nor on the process). numba's
on-disk cache tracks this file only: after editing the solver in `latentloop.tasks.sudoku`, delete
``tasks/__pycache__/sudoku_hard*.nb*`` so the compiled functions here pick the change up.

* Rating: mean guesses (limit 1, ascending digits) of the solver in `latentloop.tasks.sudoku` over
  ``transforms`` random symmetry transforms of the puzzle (the same unit as `sudoku.rate`).
* Hill climbing (the "{-1 clue, +?}" moves of tdoku's generator): the pool starts as the best-rated
  ``pool`` of ``starts`` random minimal puzzles (re-rated, so their luck is not kept). A parent is
  chosen by a 2-way tournament on rating. Its neighbour drops one random clue, is completed to a
  *random* solution of the remaining clues (so the solution grid may change), gets back clues of
  that solution where another solution differs until it is unique, and is minimised again in
  random order. A neighbour that rates above the pool's worst (fast rating) is rated once more; if
  the mean of both still beats the worst and it is new to the pool, it replaces the worst.
  Neighbours rated at least the threshold are re-rated with fresh transforms (robust rating) and
  kept when that also reaches it and their solution grid is new to the chain. A chain stops when
  it has kept ``per_chain`` puzzles or after ``max_steps`` neighbours.
* Canonical form (9x9): the lexicographically smallest image of a solution grid under the whole
  Sudoku group (transpose, band and stack permutations, row and column permutations inside them,
  digit relabelling), and of its puzzle under the transforms that reach that smallest grid. Two
  puzzles are equivalent iff their canonical puzzles are equal (the same holds for grids).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numba
import numpy as np

from latentloop.errors import LatentloopError, PuzzleError
from latentloop.tasks.sudoku import SudokuShape, _check_grid, _tables, shape_for_size
from latentloop.tasks.sudoku_solver import grid_masks, minimize, search

SUDOKU9 = shape_for_size(9)


@dataclass(frozen=True)
class ClimbConfig:
    """Settings of one hill-climbing chain.

    Attributes:
        starts: Random minimal puzzles drawn to start the chain; the best-rated ``pool`` form the pool.
        pool: Puzzles in the chain's pool.
        max_steps: Neighbours a chain may try before it stops.
        per_chain: Puzzles a chain keeps (each with a different solution grid) before it stops.
        fast_transforms: Transforms of the rating that steers the pool.
        robust_transforms: Transforms of the rating that decides whether a puzzle is kept.
    """

    starts: int = 512
    pool: int = 32
    max_steps: int = 6000
    per_chain: int = 8
    fast_transforms: int = 8
    robust_transforms: int = 16

    def __post_init__(self) -> None:
        if self.starts < self.pool:
            raise LatentloopError(f"ClimbConfig.starts ({self.starts}) must be at least pool ({self.pool})")
        for name in ("pool", "max_steps", "per_chain", "fast_transforms", "robust_transforms"):
            if getattr(self, name) < 1:
                raise LatentloopError(f"ClimbConfig.{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Chain:
    """What one chain kept.

    Attributes:
        puzzles: int8 [k, size, size], k <= per_chain.
        solutions: int8 [k, size, size].
        ratings: float64 [k], robust ratings.
        steps: Neighbours tried.
    """

    puzzles: np.ndarray
    solutions: np.ndarray
    ratings: np.ndarray
    steps: int


# ----------------------------------------------------------------------------------------------
# Numba core


@numba.njit(cache=True)
def _random_rank(cells, size):
    """int64 [cells, size]: an independent random digit order per cell."""
    rank = np.empty((cells, size), np.int64)
    for c in range(cells):
        rank[c] = np.random.permutation(size)
    return rank


@numba.njit(cache=True)
def _block_perm(blocks, width):
    """A random line order that keeps blocks of ``width`` lines together."""
    order = np.random.permutation(blocks)
    perm = np.empty(blocks * width, np.int64)
    for b in range(blocks):
        inner = np.random.permutation(width)
        for k in range(width):
            perm[b * width + k] = order[b] * width + inner[k]
    return perm


@numba.njit(cache=True)
def _random_transform(flat, box_rows, box_cols):
    """A random symmetry image of a flat grid (see `sudoku.random_transform`)."""
    n = box_rows * box_cols
    rows = _block_perm(n // box_rows, box_rows)
    cols = _block_perm(n // box_cols, box_cols)
    transpose = box_rows == box_cols and np.random.random() < 0.5
    digits = np.zeros(n + 1, np.int64)
    digits[1:] = np.random.permutation(n) + 1
    out = np.empty(n * n, np.int64)
    for i in range(n):
        for j in range(n):
            src = cols[j] * n + rows[i] if transpose else rows[i] * n + cols[j]
            out[i * n + j] = digits[flat[src]]
    return out


@numba.njit(cache=True)
def _ascending(cells, size):
    asc = np.empty((cells, size), np.int64)
    for c in range(cells):
        asc[c] = np.arange(size)
    return asc


@numba.njit(cache=True)
def _rate(flat, transforms, units, peers, box_rows, box_cols):
    """Mean guesses (limit 1, ascending digits) over random transforms of a flat puzzle."""
    size = units.shape[1]
    asc = _ascending(flat.size, size)
    scratch = np.zeros((1, flat.size), np.int64)
    total = 0
    for _ in range(transforms):
        moved = _random_transform(flat, box_rows, box_cols)
        total += search(grid_masks(moved, size), units, peers, asc, 1, scratch)[1]
    return total / transforms


@numba.njit(cache=True)
def _rate_many(puzzles, seeds, transforms, units, peers, box_rows, box_cols):
    out = np.empty(puzzles.shape[0])
    for i in range(puzzles.shape[0]):
        np.random.seed(seeds[i])
        out[i] = _rate(puzzles[i], transforms, units, peers, box_rows, box_cols)
    return out


@numba.njit(cache=True)
def _random_minimal(units, peers):
    """(puzzle, solution) flat int64: a random full grid minimised in random cell order."""
    cells, size = peers.shape[0], units.shape[1]
    solution = np.zeros((1, cells), np.int64)
    search(grid_masks(np.zeros(cells, np.int64), size), units, peers, _random_rank(cells, size), 1, solution)
    puzzle = minimize(solution[0], np.random.permutation(cells), units, peers, _ascending(cells, size))
    return puzzle, solution[0]


@numba.njit(cache=True)
def _random_minimal_many(seed, count, units, peers):
    np.random.seed(seed)
    cells = peers.shape[0]
    puzzles = np.zeros((count, cells), np.int64)
    solutions = np.zeros((count, cells), np.int64)
    for i in range(count):
        puzzles[i], solutions[i] = _random_minimal(units, peers)
    return puzzles, solutions


@numba.njit(cache=True)
def _neighbour(parent, units, peers, asc):
    """A {-1, +?} move: drop a clue, re-complete at random, add clues until unique, minimise.

    Each added clue is a cell of the chosen solution where another solution differs, so few are
    needed and the child stays close to its parent.
    """
    cells, size = peers.shape[0], units.shape[1]
    puzzle = parent.copy()
    clues = np.nonzero(puzzle)[0]
    puzzle[clues[np.random.randint(clues.size)]] = 0
    found = np.zeros((2, cells), np.int64)
    search(grid_masks(puzzle, size), units, peers, _random_rank(cells, size), 1, found)
    solution = found[0].copy()
    while search(grid_masks(puzzle, size), units, peers, asc, 2, found)[0] > 1:
        other = found[1] if (found[0] == solution).all() else found[0]
        differ = np.nonzero(other != solution)[0]
        cell = differ[np.random.randint(differ.size)]
        puzzle[cell] = solution[cell]
    clues = np.nonzero(puzzle)[0]
    return minimize(puzzle, clues[np.random.permutation(clues.size)], units, peers, asc), solution


@numba.njit(cache=True)
def _contains(rows, n, row):
    """Whether ``row`` equals one of ``rows[:n]``."""
    for i in range(n):
        same = True
        for c in range(row.size):
            if rows[i, c] != row[c]:
                same = False
                break
        if same:
            return True
    return False


@numba.njit(cache=True)
def _start_pool(starts, pool_size, fast_k, units, peers, box_rows, box_cols):
    """The ``pool_size`` best-rated (fast rating) of ``starts`` random minimal puzzles, and their ratings."""
    candidates = np.zeros((starts, peers.shape[0]), np.int64)
    ratings = np.zeros(starts)
    for i in range(starts):
        candidates[i] = _random_minimal(units, peers)[0]
        ratings[i] = _rate(candidates[i], fast_k, units, peers, box_rows, box_cols)
    pool = candidates[np.argsort(-ratings, kind="mergesort")[:pool_size]]
    for i in range(pool_size):
        ratings[i] = _rate(pool[i], fast_k, units, peers, box_rows, box_cols)
    return pool, ratings[:pool_size]


@numba.njit(cache=True)
def _climb(
    seed, starts, pool_size, max_steps, threshold, fast_k, robust_k, per_chain, units, peers, box_rows, box_cols
):
    """One chain; returns (kept puzzles, their solutions, robust ratings, steps), flat int64 rows."""
    np.random.seed(seed)
    cells, size = peers.shape[0], units.shape[1]
    asc = _ascending(cells, size)
    pool, scores = _start_pool(starts, pool_size, fast_k, units, peers, box_rows, box_cols)
    kept = np.zeros((per_chain, cells), np.int64)
    kept_solutions = np.zeros((per_chain, cells), np.int64)
    kept_ratings = np.zeros(per_chain)
    n_kept = 0
    steps = 0
    while steps < max_steps and n_kept < per_chain:
        steps += 1
        a, b = np.random.randint(pool_size), np.random.randint(pool_size)
        parent = a if scores[a] >= scores[b] else b
        child, solution = _neighbour(pool[parent], units, peers, asc)
        score = _rate(child, fast_k, units, peers, box_rows, box_cols)
        worst = np.argmin(scores)
        if score > scores[worst] and not _contains(pool, pool_size, child):
            score = (score + _rate(child, fast_k, units, peers, box_rows, box_cols)) / 2
            if score > scores[worst]:
                pool[worst] = child
                scores[worst] = score
        if score >= threshold and not _contains(kept_solutions, n_kept, solution):
            robust = _rate(child, robust_k, units, peers, box_rows, box_cols)
            if robust >= threshold:
                kept[n_kept] = child
                kept_solutions[n_kept] = solution
                kept_ratings[n_kept] = robust
                n_kept += 1
    return kept[:n_kept], kept_solutions[:n_kept], kept_ratings[:n_kept], steps


# ----------------------------------------------------------------------------------------------
# Canonical form (9x9)


@functools.cache
def _canonical_tables() -> tuple[np.ndarray, np.ndarray]:
    """(column orders int64 [1296, 9] keeping stacks together, orders of 3 int64 [6, 3])."""
    perms3 = np.array(list(itertools.permutations(range(3))), np.int64)
    cols = [
        [3 * s + perms3[i][k] for s, i in zip(stacks, inner, strict=True) for k in range(3)]
        for stacks in perms3
        for inner in itertools.product(range(6), repeat=3)
    ]
    return np.array(cols, np.int64), perms3


@numba.njit(cache=True)
def _compare(a, b):
    """Sign of a - b in lexicographic order."""
    for i in range(a.size):
        if a[i] != b[i]:
            return -1 if a[i] < b[i] else 1
    return 0


@numba.njit(cache=True)
def _canonical(solution, puzzle, col_orders, perms3):
    """Smallest (solution, puzzle) image under the 9x9 Sudoku group; flat int64 [81] each.

    Row 1 of every image is 1..9 (digits are relabelled by it), so the search fixes the first band's
    rows and the column order, compares rows 2-3, and completes only the orders that tie or win.
    """
    best = np.full(81, 99, np.int64)
    best_puzzle = np.full(81, 99, np.int64)
    image = np.empty(81, np.int64)
    image_puzzle = np.empty(81, np.int64)
    label = np.zeros(10, np.int64)
    rows = np.empty(9, np.int64)
    for transpose in range(2):
        sol = solution.reshape(9, 9).T.copy() if transpose else solution.reshape(9, 9).copy()
        puz = puzzle.reshape(9, 9).T.copy() if transpose else puzzle.reshape(9, 9).copy()
        for band in range(3):
            for first in range(6):
                for k in range(3):
                    rows[k] = 3 * band + perms3[first, k]
                for c in range(col_orders.shape[0]):
                    cols = col_orders[c]
                    for j in range(9):
                        label[sol[rows[0], cols[j]]] = j + 1
                    worse = False
                    for i in range(9, 27):
                        v = label[sol[rows[i // 9], cols[i % 9]]]
                        if v != best[i]:
                            worse = v > best[i]
                            break
                    if worse:
                        continue
                    for other in range(2):
                        band_a = (band + 1 + other) % 3
                        band_b = (band + 2 - other) % 3
                        for pa in range(6):
                            for pb in range(6):
                                for k in range(3):
                                    rows[3 + k] = 3 * band_a + perms3[pa, k]
                                    rows[6 + k] = 3 * band_b + perms3[pb, k]
                                for i in range(81):
                                    image[i] = label[sol[rows[i // 9], cols[i % 9]]]
                                order = _compare(image, best)
                                if order > 0:
                                    continue
                                for i in range(81):
                                    p = puz[rows[i // 9], cols[i % 9]]
                                    image_puzzle[i] = label[p] if p else 0
                                if order < 0 or _compare(image_puzzle, best_puzzle) < 0:
                                    best[:] = image
                                    best_puzzle[:] = image_puzzle
    return best, best_puzzle


# ----------------------------------------------------------------------------------------------
# Public API


def _flat(grids: np.ndarray, shape: SudokuShape) -> np.ndarray:
    return np.asarray(grids).reshape(-1, shape.cells).astype(np.int64)


def _grids(flat: np.ndarray, shape: SudokuShape) -> np.ndarray:
    return flat.astype(np.int8).reshape(-1, shape.size, shape.size)


def seeded_ratings(puzzles: np.ndarray, seeds: np.ndarray, transforms: int = 16) -> np.ndarray:
    """Ratings of a stack of puzzles, puzzle i rated with the transforms drawn from ``seeds[i]``.

    Args:
        puzzles: int [B, size, size], 0 = blank; each needs at least one solution.
        seeds: uint32-range ints [B].
        transforms: Random transforms averaged per puzzle.

    Returns:
        float64 [B]: mean guesses (limit 1) over the transforms.
    """
    grids = np.asarray(puzzles)
    if grids.ndim != 3:
        raise PuzzleError(f"puzzle batch has shape {grids.shape}; expected [batch, size, size]")
    if transforms < 1:
        raise LatentloopError(f"rating needs at least one transform, got {transforms}")
    shape = shape_for_size(grids.shape[1])
    if not np.issubdtype(grids.dtype, np.integer) or (grids.size and (grids.min() < 0 or grids.max() > shape.size)):
        raise PuzzleError(f"puzzles must hold integers 0..{shape.size}")
    units, peers = _tables(shape)
    seeds = np.asarray(seeds, np.int64)
    if seeds.shape != (len(grids),):
        raise LatentloopError(f"got {seeds.size} seeds for {len(grids)} puzzles")
    return _rate_many(_flat(grids, shape), seeds, transforms, units, peers, shape.box_rows, shape.box_cols)


def random_minimal_puzzles(seed: int, count: int, shape: SudokuShape = SUDOKU9) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random minimal unique puzzles drawn from ``seed`` (the chains' starting points).

    Returns:
        (puzzles, solutions), both int8 [count, size, size].
    """
    units, peers = _tables(shape)
    puzzles, solutions = _random_minimal_many(seed, count, units, peers)
    return _grids(puzzles, shape), _grids(solutions, shape)


def climb(seed: int, threshold: float, config: ClimbConfig | None = None) -> Chain:
    """Runs one 9x9 hill-climbing chain (module docstring) from ``seed`` (0 .. 2**32-1).

    Args:
        seed: Seed of the chain's random numbers.
        threshold: Keep puzzles whose robust rating is at least this (guesses).
        config: Pool and budget settings (default `ClimbConfig()`).
    """
    units, peers = _tables(SUDOKU9)
    c = config or ClimbConfig()
    puzzles, solutions, ratings, steps = _climb(
        seed,
        c.starts,
        c.pool,
        c.max_steps,
        float(threshold),
        c.fast_transforms,
        c.robust_transforms,
        c.per_chain,
        units,
        peers,
        SUDOKU9.box_rows,
        SUDOKU9.box_cols,
    )
    return Chain(_grids(puzzles, SUDOKU9), _grids(solutions, SUDOKU9), ratings, int(steps))


def canonical_form(puzzle: np.ndarray, solution: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (puzzle, solution) of a 9x9 puzzle and its full solution under the Sudoku group.

    Equal outputs <=> the inputs are related by one transform (transpose, band/stack and row/column
    permutations, digit relabelling). Costs about a millisecond.

    Returns:
        (canonical puzzle, canonical solution), int8 [9, 9] each.
    """
    p, _ = _check_grid(puzzle, SUDOKU9)
    s, _ = _check_grid(solution, SUDOKU9)
    if (s == 0).any():
        raise PuzzleError("the canonical form needs a full solution grid")
    col_orders, perms3 = _canonical_tables()
    best, best_puzzle = _canonical(_flat(s, SUDOKU9)[0], _flat(p, SUDOKU9)[0], col_orders, perms3)
    return _grids(best_puzzle, SUDOKU9)[0], _grids(best, SUDOKU9)[0]
