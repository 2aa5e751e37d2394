"""Sudoku puzzle logic: parsing, solving, rating, generation, augmentation and token encoding.

Grids are ``np.ndarray`` of dtype int8 and shape [size, size]; 0 is a blank cell and 1..size are
digits. Boxes are ``box_rows`` rows by ``box_cols`` columns (2x2 for 4x4, 2x3 for 6x6, 3x3 for 9x9).

The solver works on flat candidate bitmasks (bit d-1 set = digit d possible). Propagation applies
naked and hidden singles to a fixpoint; search branches on the cell with the fewest candidates
(MRV). ``guesses`` counts value tries at branch points, not counting the last remaining alternative,
so it equals the number of binary branch decisions (the rating unit of the references).

Token encoding (the HRM/TRM layout): 0 = PAD (never produced), 1 = blank, digit d -> d + 1.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from latentloop.errors import LatentloopError, PuzzleError
from latentloop.tasks.base import TaskDefaults, View, register
from latentloop.tasks.sudoku_solver import grid_masks, minimize, search

_SHAPES = {4: (2, 2), 6: (2, 3), 9: (3, 3)}
_SEPARATORS = str.maketrans("", "", "|+-")


# ----------------------------------------------------------------------------------------------
# Shapes


@dataclass(frozen=True)
class SudokuShape:
    """Box geometry of a Sudoku: boxes of ``box_rows`` x ``box_cols`` cells.

    Attributes:
        box_rows: Rows per box (also the number of box columns, "stacks").
        box_cols: Columns per box (also the number of box rows, "bands").
    """

    box_rows: int
    box_cols: int

    def __post_init__(self) -> None:
        if self.box_rows < 1 or self.box_cols < 1 or self.box_rows * self.box_cols > 9:
            raise PuzzleError(f"unsupported box shape {self.box_rows}x{self.box_cols}; the grid size must be 1..9")

    @property
    def size(self) -> int:
        """Side length of the grid (= number of digits)."""
        return self.box_rows * self.box_cols

    @property
    def cells(self) -> int:
        """Number of cells, size**2."""
        return self.size**2

    def __str__(self) -> str:
        return f"{self.size}x{self.size}"


def shape_for_size(size: int) -> SudokuShape:
    """Returns the standard shape for a grid side length: 4 -> 2x2, 6 -> 2x3, 9 -> 3x3 boxes."""
    if size not in _SHAPES:
        raise PuzzleError(f"unsupported Sudoku size {size}; supported sizes are 4, 6 and 9")
    return SudokuShape(*_SHAPES[size])


def shape_for_cells(n_cells: int) -> SudokuShape:
    """Returns the standard shape for a cell count: 16, 36 or 81."""
    for size in _SHAPES:
        if size * size == n_cells:
            return shape_for_size(size)
    raise PuzzleError(f"puzzle has {n_cells} cells; expected 16 (4x4), 36 (6x6) or 81 (9x9)")


def vocab_size(shape: SudokuShape) -> int:
    """Number of token ids: PAD, blank and one per digit."""
    return shape.size + 2


@functools.cache
def _tables(shape: SudokuShape) -> tuple[np.ndarray, np.ndarray]:
    """Returns (units int64 [3*size, size], peers int64 [cells, n_peers]) of flat cell indices.

    Units are the rows (0..size-1), then the columns, then the boxes in reading order.
    """
    n, br, bc = shape.size, shape.box_rows, shape.box_cols
    idx = np.arange(n * n).reshape(n, n)
    boxes = [idx[r : r + br, c : c + bc].ravel() for r in range(0, n, br) for c in range(0, n, bc)]
    units = np.concatenate([idx, idx.T, np.stack(boxes)]).astype(np.int64)
    peers = []
    for cell in range(n * n):
        near = {int(x) for unit in units if cell in unit for x in unit}
        peers.append(sorted(near - {cell}))
    units.setflags(write=False)
    peer_arr = np.array(peers, dtype=np.int64)
    peer_arr.setflags(write=False)
    return units, peer_arr


# ----------------------------------------------------------------------------------------------
# Validation, parsing and printing


def _check_grid(grid: np.ndarray, shape: SudokuShape | None = None) -> tuple[np.ndarray, SudokuShape]:
    """Validates a grid and returns it as int8 [size, size] together with its shape."""
    arr = np.asarray(grid)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise PuzzleError(f"grid has shape {arr.shape}; a Sudoku grid must be square [size, size]")
    if shape is None:
        shape = shape_for_size(arr.shape[0])
    elif arr.shape != (shape.size, shape.size):
        raise PuzzleError(f"grid has shape {arr.shape}; a {shape} Sudoku needs ({shape.size}, {shape.size})")
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.integer):
        raise PuzzleError(f"grid must hold integers, got dtype {arr.dtype}")
    bad = np.argwhere((arr < 0) | (arr > shape.size))
    if len(bad):
        r, c = bad[0]
        raise PuzzleError(
            f"grid has value {arr[r, c]} at row {r + 1}, column {c + 1}; "
            f"a {shape} Sudoku uses 0 (blank) and 1..{shape.size}"
        )
    return arr.astype(np.int8), shape


def _duplicates(grid: np.ndarray, shape: SudokuShape) -> np.ndarray:
    """Returns bool [3*size, size]: True where a unit member's non-zero digit repeats in that unit."""
    units, _ = _tables(shape)
    vals = grid.ravel()[units].astype(np.int64)
    counts = (vals[:, :, None] == np.arange(1, shape.size + 1)).sum(axis=1)
    rep = np.take_along_axis(counts, np.maximum(vals - 1, 0), axis=1)
    return (vals > 0) & (rep > 1)


def _unit_name(unit: int, shape: SudokuShape) -> str:
    kind, index = divmod(unit, shape.size)
    return f"{('row', 'column', 'box')[kind]} {index + 1}"


def violations(grid: np.ndarray, shape: SudokuShape | None = None) -> np.ndarray:
    """Marks rule violations.

    Args:
        grid: int [size, size], 0 = blank.
        shape: Box shape; inferred from the grid size when None.

    Returns:
        bool [size, size]: True for cells whose non-zero digit repeats in its row, column or box.
    """
    g, shape = _check_grid(grid, shape)
    units, _ = _tables(shape)
    mask = np.zeros(shape.cells, dtype=bool)
    mask[units[_duplicates(g, shape)]] = True
    return mask.reshape(shape.size, shape.size)


def parse(text: str, shape: SudokuShape | None = None) -> np.ndarray:
    """Parses a puzzle written as one line of cells in reading order.

    ``.`` or ``0`` is a blank, ``1``..``size`` are digits. Whitespace and the box separators
    ``| + -`` are ignored, so the output of `render` parses back.

    Args:
        text: The puzzle, e.g. 81 characters for 9x9.
        shape: Expected shape; inferred from the length (16, 36 or 81 cells) when None.

    Returns:
        int8 [size, size] grid.

    Raises:
        PuzzleError: Wrong length, illegal character, digit too large, or contradicting givens.
    """
    chars = "".join(text.split()).translate(_SEPARATORS)
    if shape is None:
        shape = shape_for_cells(len(chars))
    elif len(chars) != shape.cells:
        raise PuzzleError(f"puzzle has {len(chars)} cells; a {shape} Sudoku needs {shape.cells}")
    values = np.zeros(shape.cells, dtype=np.int8)
    for i, ch in enumerate(chars):
        if ch == ".":
            continue
        if not ("0" <= ch <= "9"):
            raise PuzzleError(f"puzzle has illegal character {ch!r} at position {i + 1}")
        if int(ch) > shape.size:
            raise PuzzleError(f"puzzle has digit {ch} at position {i + 1}; a {shape} Sudoku uses 1..{shape.size}")
        values[i] = int(ch)
    grid = values.reshape(shape.size, shape.size)
    dup = _duplicates(grid, shape)
    if dup.any():
        unit, k = np.argwhere(dup)[0]
        digit = grid.ravel()[_tables(shape)[0][unit, k]]
        raise PuzzleError(f"puzzle givens contradict: digit {digit} appears twice in {_unit_name(unit, shape)}")
    return grid


def to_line(grid: np.ndarray, shape: SudokuShape | None = None) -> str:
    """Writes a grid as one line in reading order, ``.`` for blanks."""
    g, _ = _check_grid(grid, shape)
    return "".join("." if v == 0 else str(v) for v in g.ravel())


def render(grid: np.ndarray, givens: np.ndarray | None = None, shape: SudokuShape | None = None) -> str:
    """Draws a grid as text with box separators.

    Args:
        grid: int [size, size], 0 = blank (drawn as ``.``).
        givens: Optional puzzle grid (or bool mask) of the same shape. When set, digits of ``grid``
            that are not givens are marked with a trailing ``*``.
        shape: Box shape; inferred from the grid size when None.

    Returns:
        Multi-line string, one line per row, ``|`` between stacks and a ``-+-`` line between bands.
    """
    g, shape = _check_grid(grid, shape)
    given = None if givens is None else np.asarray(givens).astype(bool)
    if given is not None and given.shape != g.shape:
        raise PuzzleError(f"givens have shape {given.shape}; the grid has shape {g.shape}")
    lines = []
    for r in range(shape.size):
        parts = []
        for c0 in range(0, shape.size, shape.box_cols):
            cells = []
            for c in range(c0, c0 + shape.box_cols):
                ch = "." if g[r, c] == 0 else str(g[r, c])
                if given is not None:
                    ch += "*" if g[r, c] and not given[r, c] else " "
                cells.append(ch)
            parts.append(" ".join(cells))
        if r and r % shape.box_rows == 0:
            lines.append("-+-".join("-" * len(part) for part in parts))
        lines.append(" | ".join(parts).rstrip())
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Solving, counting, rating, generating


def _ascending_rank(shape: SudokuShape) -> np.ndarray:
    return np.tile(np.arange(shape.size, dtype=np.int64), (shape.cells, 1))


def _run_search(flat: np.ndarray, shape: SudokuShape, limit: int, rank: np.ndarray) -> tuple[int, np.ndarray, int]:
    units, peers = _tables(shape)
    solution = np.zeros((1, shape.cells), np.int64)
    masks = grid_masks(flat.astype(np.int64), shape.size)
    count, guesses = search(masks, units, peers, rank, limit, solution)
    return int(count), solution[0], int(guesses)


def solve(
    grid: np.ndarray,
    shape: SudokuShape | None = None,
    limit: int = 2,
    order: Sequence[int] | None = None,
) -> tuple[int, np.ndarray | None, int]:
    """Solves a puzzle by propagation and MRV branching.

    Args:
        grid: int [size, size] puzzle, 0 = blank. Contradicting givens give 0 solutions.
        shape: Box shape; inferred from the grid size when None.
        limit: Stop after this many solutions (1: any solution, 2: uniqueness test).
        order: Digits in the order to try them at branch points; ascending when None.

    Returns:
        (number of solutions up to ``limit``, first solution as int8 [size, size] or None, guesses).
    """
    g, shape = _check_grid(grid, shape)
    if limit < 1:
        raise LatentloopError(f"solution limit must be at least 1, got {limit}")
    if order is None:
        rank = _ascending_rank(shape)
    else:
        digits = np.asarray(order)
        if digits.dtype.kind not in "iu" or sorted(digits.tolist()) != list(range(1, shape.size + 1)):
            raise LatentloopError(f"digit order {list(order)} is not a permutation of 1..{shape.size}")
        rank_row = np.empty(shape.size, np.int64)
        rank_row[digits - 1] = np.arange(shape.size)
        rank = np.tile(rank_row, (shape.cells, 1))
    count, flat, guesses = _run_search(g.ravel(), shape, limit, rank)
    solution = flat.astype(np.int8).reshape(shape.size, shape.size) if count else None
    return count, solution, guesses


def count_solutions(grid: np.ndarray, shape: SudokuShape | None = None, limit: int = 2) -> int:
    """Number of solutions of ``grid``, counted up to ``limit``."""
    return solve(grid, shape, limit)[0]


def check_solvable(grid: np.ndarray, shape: SudokuShape | None = None) -> None:
    """Raise PuzzleError unless the puzzle has exactly one solution."""
    n = count_solutions(grid, shape, limit=2)
    if n == 0:
        raise PuzzleError("puzzle has no solution")
    if n > 1:
        raise PuzzleError("puzzle has several solutions (a Sudoku must have exactly one)")


def has_unique_solution(grid: np.ndarray, shape: SudokuShape | None = None) -> bool:
    """Whether ``grid`` has exactly one solution."""
    return count_solutions(grid, shape, limit=2) == 1


def random_solution(shape: SudokuShape, rng: np.random.Generator) -> np.ndarray:
    """A random full grid, int8 [size, size]: search on the empty grid with random digit orders."""
    rank = np.argsort(rng.random((shape.cells, shape.size)), axis=1).astype(np.int64)
    count, flat, _ = _run_search(np.zeros(shape.cells, np.int64), shape, 1, rank)
    if count != 1:
        raise LatentloopError(f"no {shape} grid found; box shape {shape.box_rows}x{shape.box_cols} is invalid")
    return flat.astype(np.int8).reshape(shape.size, shape.size)


def generate(shape: SudokuShape, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random minimal puzzle with a unique solution.

    Draws a random full grid, then visits the cells in random order and removes each clue whose
    removal keeps the solution unique. The result is minimal: removing any further clue makes the
    solution ambiguous. Deterministic for a given generator state.

    Returns:
        (puzzle, solution), both int8 [size, size].
    """
    solution = random_solution(shape, rng)
    units, peers = _tables(shape)
    order = rng.permutation(shape.cells).astype(np.int64)
    flat = minimize(solution.ravel().astype(np.int64), order, units, peers, _ascending_rank(shape))
    return flat.astype(np.int8).reshape(shape.size, shape.size), solution


def rate(puzzle: np.ndarray, shape: SudokuShape | None, rng: np.random.Generator, transforms: int = 8) -> float:
    """Difficulty: mean guesses (limit 1, ascending digits) over random symmetry transforms.

    A single ordering is very noisy, so the puzzle is solved under ``transforms`` random
    validity-preserving transforms and the guess counts are averaged.
    """
    g, shape = _check_grid(puzzle, shape)
    if transforms < 1:
        raise LatentloopError(f"rating needs at least one transform, got {transforms}")
    rank = _ascending_rank(shape)
    total = 0
    for _ in range(transforms):
        moved = apply_transform(g, random_transform(shape, rng))
        total += _run_search(moved.ravel(), shape, 1, rank)[2]
    return total / transforms


# ----------------------------------------------------------------------------------------------
# Symmetry transforms (augmentation)


@dataclass(frozen=True, eq=False)
class Transform:
    """An invertible validity-preserving grid transform.

    Applied as: optional transpose, then ``out[i, j] = in[row_perm[i], col_perm[j]]``, then the
    digit map.

    Attributes:
        digit_map: int8 [size+1]; new digit of each old digit, with digit_map[0] == 0 (blank stays).
        row_perm: int64 [size]; a band permutation combined with row permutations inside bands.
        col_perm: int64 [size]; a stack permutation combined with column permutations inside stacks.
        transpose: Whether to transpose first (only for square boxes).
    """

    digit_map: np.ndarray
    row_perm: np.ndarray
    col_perm: np.ndarray
    transpose: bool

    def inverse(self) -> Transform:
        """The transform that undoes this one."""
        rows, cols = np.argsort(self.row_perm), np.argsort(self.col_perm)
        if self.transpose:
            rows, cols = cols, rows
        return Transform(np.argsort(self.digit_map).astype(np.int8), rows, cols, self.transpose)


def _block_perms(rng: np.random.Generator, k: int, blocks: int, width: int) -> np.ndarray:
    """int64 [k, blocks*width]: permutations of lines that keep each block of ``width`` lines together."""
    order = np.argsort(rng.random((k, blocks)), axis=1)
    inner = np.argsort(rng.random((k, blocks, width)), axis=2)
    return (order[:, :, None] * width + inner).reshape(k, blocks * width).astype(np.int64)


def _random_recipes(shape: SudokuShape, rng: np.random.Generator, k: int) -> tuple[np.ndarray, ...]:
    """k random transforms: digit maps [k, size+1], row and column perms [k, size], transpose [k]."""
    n, br, bc = shape.size, shape.box_rows, shape.box_cols
    digits = np.argsort(rng.random((k, n)), axis=1) + 1
    digit_maps = np.concatenate([np.zeros((k, 1), np.int64), digits], axis=1).astype(np.int8)
    rows = _block_perms(rng, k, n // br, br)
    cols = _block_perms(rng, k, n // bc, bc)
    transpose = rng.random(k) < 0.5 if br == bc else np.zeros(k, bool)
    return digit_maps, rows, cols, transpose


def random_transform(shape: SudokuShape, rng: np.random.Generator) -> Transform:
    """A uniformly random transform: digit relabelling, bands/rows, stacks/columns, transpose.

    Transpose is drawn (p = 0.5) only when boxes are square, since it would change the box shape.
    """
    digit_maps, rows, cols, transpose = _random_recipes(shape, rng, 1)
    return Transform(digit_maps[0], rows[0], cols[0], bool(transpose[0]))


def _move_cells(g: np.ndarray, transpose: bool, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A transform's cell moves on g [size, size] (optional transpose, then the line permutations), no digit map."""
    return (g.T if transpose else g)[np.ix_(rows, cols)]


def apply_transform(grid: np.ndarray, recipe: Transform) -> np.ndarray:
    """Applies ``recipe`` to an int [size, size] grid; returns int8 [size, size]."""
    g = np.asarray(grid)
    n = recipe.row_perm.size
    if g.shape != (n, n):
        raise PuzzleError(f"grid has shape {g.shape}; the transform is for {n}x{n} grids")
    if not np.issubdtype(g.dtype, np.integer) or (g.size and (g.min() < 0 or g.max() > n)):
        raise PuzzleError(f"grid must hold integers 0..{n} for a {n}x{n} transform")
    return recipe.digit_map[_move_cells(g, recipe.transpose, recipe.row_perm, recipe.col_perm)]


def augment(puzzle: np.ndarray, solution: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Applies one random transform to both puzzle and solution (int [size, size] each)."""
    p, shape = _check_grid(puzzle)
    s, _ = _check_grid(solution, shape)
    recipe = random_transform(shape, rng)
    return apply_transform(p, recipe), apply_transform(s, recipe)


def augment_many(
    puzzle: np.ndarray, solution: np.ndarray, rng: np.random.Generator, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` random transforms, each applied to both puzzle and solution (vectorised `augment`).

    Returns:
        (puzzles, solutions), both int8 [k, size, size].
    """
    p, shape = _check_grid(puzzle)
    s, _ = _check_grid(solution, shape)
    digit_maps, rows, cols, transpose = _random_recipes(shape, rng, k)
    batch = np.arange(k)[:, None, None]
    out = []
    for g in (p, s):
        base = np.where(transpose[:, None, None], g.T[None], g[None])
        moved = base[batch, rows[:, :, None], cols[:, None, :]]
        out.append(digit_maps[batch, moved])
    return out[0], out[1]


# ----------------------------------------------------------------------------------------------
# Checking answers


def verify(puzzle: np.ndarray, answer: np.ndarray, shape: SudokuShape | None = None) -> bool:
    """Whether ``answer`` is full, obeys the rules and keeps every given of ``puzzle``."""
    p, shape = _check_grid(puzzle, shape)
    a, _ = _check_grid(answer, shape)
    if (a == 0).any() or _duplicates(a, shape).any():
        return False
    return bool((a[p != 0] == p[p != 0]).all())


# ----------------------------------------------------------------------------------------------
# Token encoding


def encode(grid: np.ndarray, shape: SudokuShape | None = None) -> np.ndarray:
    """Tokens of a grid: uint8 [cells], 1 = blank, digit d -> d + 1 (0 = PAD is never produced)."""
    g, _ = _check_grid(grid, shape)
    return (g.ravel() + 1).astype(np.uint8)


def encode_batch(grids: np.ndarray) -> np.ndarray:
    """Tokens of a stack of grids: int [B, size, size] -> uint8 [B, cells] (see `encode`)."""
    g = np.asarray(grids)
    if g.ndim != 3 or g.shape[1] != g.shape[2]:
        raise PuzzleError(f"grid batch has shape {g.shape}; expected [batch, size, size]")
    shape = shape_for_size(g.shape[1])
    if not np.issubdtype(g.dtype, np.integer):
        raise PuzzleError(f"grids must hold integers, got dtype {g.dtype}")
    if g.size and (g.min() < 0 or g.max() > shape.size):
        raise PuzzleError(f"grid batch holds values outside 0..{shape.size}")
    return (g.reshape(g.shape[0], shape.cells) + 1).astype(np.uint8)


def decode(tokens: np.ndarray, shape: SudokuShape | None = None) -> np.ndarray:
    """Grid of a token sequence [cells]; PAD, blank and out-of-range tokens become 0 (blank)."""
    t = np.asarray(tokens).ravel().astype(np.int64)
    if shape is None:
        shape = shape_for_cells(t.size)
    elif t.size != shape.cells:
        raise PuzzleError(f"token sequence has {t.size} tokens; a {shape} Sudoku needs {shape.cells}")
    digits = np.where((t >= 2) & (t <= shape.size + 1), t - 1, 0)
    return digits.astype(np.int8).reshape(shape.size, shape.size)


@register
@dataclass(frozen=True)
class SudokuTask(TaskDefaults):
    """The Sudoku `Task` for one box shape."""

    shape: SudokuShape
    name: str = "sudoku"
    rating_name: ClassVar[str] = "rating (guesses)"
    builder: ClassVar[str] = "latentloop.data.build_sudoku"
    view: ClassVar[str] = "latentloop.viz.sudoku"

    @classmethod
    def from_metadata(cls, info: dict, seq_len: int, vocab_size: int | None) -> SudokuTask:
        """The shape follows from the number of cells."""
        return cls(shape_for_cells(seq_len))

    @classmethod
    def recognise(cls, seq_len: int, vocab_size: int | None, root: Path | None) -> SudokuTask | None:
        """A reference-built Sudoku: 16, 36 or 81 cells with a vocabulary of PAD, blank and the digits."""
        size = {16: 4, 36: 6, 81: 9}.get(seq_len)
        if size is None or vocab_size not in (None, size + 2):
            return None
        return cls(shape_for_size(size))

    @property
    def seq_len(self) -> int:
        """Tokens per example (= cells)."""
        return self.shape.cells

    @property
    def vocab_size(self) -> int:
        """Token ids: PAD, blank and the digits."""
        return vocab_size(self.shape)

    def parse(self, text: str) -> np.ndarray:
        """See `parse`; the puzzle must also have exactly one solution."""
        grid = parse(text.strip(), self.shape)
        check_solvable(grid, self.shape)
        return grid

    def render(self, grid: np.ndarray) -> str:
        """See `render`."""
        return render(grid, shape=self.shape)

    def verdict(self, puzzle: np.ndarray, answer: np.ndarray) -> list[str]:
        """The answer as one line, and whether it obeys the rules and keeps the givens."""
        if verify(puzzle, answer, self.shape):
            return [to_line(answer, self.shape), "valid"]
        bad = int(violations(answer, self.shape).sum())
        return [to_line(answer, self.shape), f"NOT valid ({bad} cells break a rule)"]

    def encode(self, grid: np.ndarray) -> np.ndarray:
        """See `encode`."""
        return encode(grid, self.shape)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """See `decode`."""
        return decode(tokens, self.shape)

    def verify(self, puzzle: np.ndarray, answer: np.ndarray) -> bool:
        """See `verify`."""
        return verify(puzzle, answer, self.shape)

    def views(self, count: int, seed: int) -> list[View]:
        """The identity, then ``count - 1`` random transforms (as `random_transform` draws them) written on tokens."""
        n = self.shape.size
        index = np.arange(n * n).reshape(n, n)
        views = [View(index.reshape(-1), np.arange(self.vocab_size))]
        recipes = _random_recipes(self.shape, np.random.default_rng(seed), max(count - 1, 0))
        for digit_map, rows, cols, transpose in zip(*recipes, strict=True):
            tokens = np.concatenate([[0], digit_map.astype(np.int64) + 1])  # PAD stays; digit d is token d + 1
            views.append(View(_move_cells(index, transpose, rows, cols).reshape(-1), tokens))
        return views[:count]

    def score(self, inputs: np.ndarray, predictions: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """bool [N]: each predicted grid is full, obeys the rules and keeps the givens of its input (labels unused)."""
        n = self.shape.size
        inputs, predictions = np.asarray(inputs).astype(np.int64), np.asarray(predictions).astype(np.int64)
        givens = np.where((inputs >= 2) & (inputs <= n + 1), inputs - 1, 0)  # [N, cells]
        answers = np.where((predictions >= 2) & (predictions <= n + 1), predictions - 1, 0)
        units, _ = _tables(self.shape)
        complete = (np.sort(answers[:, units], axis=-1) == np.arange(1, n + 1)).all(axis=(1, 2))  # every unit 1..n
        return complete & ((givens == 0) | (answers == givens)).all(axis=1)

    def check(self, inputs: np.ndarray, predictions: np.ndarray) -> np.ndarray:
        """The rule check without a label (self-verification): see `score`."""
        return self.score(inputs, predictions, None)
