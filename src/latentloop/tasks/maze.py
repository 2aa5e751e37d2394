"""Maze puzzle logic: parsing, shortest paths, verification, generation, transforms and tokens.

A maze is a rectangular grid of characters, one row per line:
    `#` wall, ` ` (or `.`) open cell, `S` start, `G` goal, `o` a cell on the path (labels only).
Grids hold codes 0 `#`, 1 open, 2 `S`, 3 `G`, 4 `o` (int8 [H, W]); cells are numbered row-major
(``row * W + col``) and moves go to the four edge neighbours. Tokens follow the references:
token = code + 1, so 0 PAD, 1 `#`, 2 open, 3 `S`, 4 `G`, 5 `o`.

Path length is counted in moves (cells on the path minus one).

Label rule (`shortest_path`): A* with f = g + Manhattan distance to G expands the open cell with the
smallest (f, row, column); a cell's parent is the first expanded neighbour that reaches it with its
final (shortest) cost, and the label is the parent chain from G back to S. Neighbours are generated
up, down, left, right, but with this rule their order does not change the path. This is the
tie-break the references' digest gives for Searchformer (ties on f by ``col + 100000 * row``),
re-implemented here.

Generator (`generate`, Searchformer's procedure with HRM's difficulty filter) for an N x N maze:
the wall count is uniform in [round(0.3 N^2), round(0.5 N^2)] (rounded half up; 270..450 for 30x30),
the walls are a uniformly random subset of all cells (no border of walls: the grid edge is the
boundary). On one wall layout, up to 100 (S, G) pairs of distinct open cells are drawn; the first
pair whose shortest path is longer than ``min_path`` moves is kept, else a new layout is drawn. The
stream of random numbers comes from numba's generator seeded with ``seed``, so a seed always gives
the same maze. Pruning (components, diameter bounds, breadth-first search stopped at ``min_path``)
only skips work whose outcome is already known; it never changes which maze is accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from latentloop.errors import PuzzleError
from latentloop.tasks import grid as grid_symmetry
from latentloop.tasks.base import TaskDefaults, View, register
from latentloop.tasks.maze_search import (
    GOAL,
    OPEN,
    PATH,
    START,
    WALL,
    astar,
    distance,
    heaviest_shortest_path,
    sample,
)

CHARS = "# SGo"
MAX_SIDE = 100
LABEL_TIE = 1e-6  # log-probability per cell that makes the label's path win among equally favoured ones
_CODE = {c: i for i, c in enumerate(CHARS)} | {".": 1}


# ----------------------------------------------------------------------------------------------
# Text


def parse(text: str, allow_path: bool = False) -> np.ndarray:
    """Parse a maze into codes [H, W] (0 `#`, 1 open, 2 `S`, 3 `G`, 4 `o`); empty first/last lines are ignored.

    Raises:
        PuzzleError: ragged rows, unknown characters, not exactly one S and one G, too large.
    """
    if not isinstance(text, str):
        raise PuzzleError(f"maze must be text, got {type(text).__name__}")
    rows = [line.rstrip("\r") for line in text.split("\n")]
    while rows and not rows[-1]:  # empty lines only: a line of spaces is a row of open cells
        rows.pop()
    while rows and not rows[0]:
        rows.pop(0)
    if not rows:
        raise PuzzleError("maze is empty")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise PuzzleError(f"maze row {i + 1} has {len(row)} cells, row 1 has {width}: rows must be equally long")
    if len(rows) > MAX_SIDE or width > MAX_SIDE:
        raise PuzzleError(f"maze is {len(rows)}x{width}; at most {MAX_SIDE}x{MAX_SIDE} is supported")
    allowed = CHARS + "." if allow_path else "# SG."
    grid = np.zeros((len(rows), width), dtype=np.int8)
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch not in allowed:
                raise PuzzleError(f"maze has illegal character {ch!r} at row {r + 1}, column {c + 1}")
            grid[r, c] = _CODE[ch]
    for mark, name in ((2, "start S"), (3, "goal G")):
        count = int((grid == mark).sum())
        if count != 1:
            raise PuzzleError(f"maze has {count} {name} cells; it needs exactly one")
    return grid


def render(grid: np.ndarray) -> str:
    """The text form of a grid of codes (one line per row)."""
    return "\n".join("".join(CHARS[v] for v in row) for row in np.asarray(grid))


# ----------------------------------------------------------------------------------------------
# Shortest paths and verification


def _endpoints(grid: np.ndarray) -> tuple[int, int] | None:
    """Flat indices of the single S and the single G, or None."""
    starts, goals = np.flatnonzero(grid == START), np.flatnonzero(grid == GOAL)
    if len(starts) != 1 or len(goals) != 1:
        return None
    return int(starts[0]), int(goals[0])


def _passable(grid: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(grid != WALL).reshape(-1)


def shortest_path(grid: np.ndarray) -> np.ndarray:
    """The label path of a maze by the module's A* rule (see the module docstring).

    Args:
        grid: codes [H, W] with one S and one G; `o` cells count as open.

    Returns:
        int64 [moves + 1, 2] (row, column) of the path cells from S to G; [0, 2] if G is unreachable.

    Raises:
        PuzzleError: Not exactly one S and one G.
    """
    grid = np.asarray(grid)
    ends = _endpoints(grid)
    if ends is None:
        raise PuzzleError("maze needs exactly one start S and one goal G")
    cells = astar(_passable(grid), grid.shape[1], *ends)
    return np.stack(np.divmod(cells, grid.shape[1]), axis=1)


def shortest_distance(grid: np.ndarray) -> int:
    """Moves on a shortest path from S to G (breadth-first search); -1 if unreachable or no single S/G."""
    grid = np.asarray(grid)
    ends = _endpoints(grid)
    return -1 if ends is None else int(distance(_passable(grid), grid.shape[1], *ends))


def solve(puzzle: np.ndarray) -> np.ndarray:
    """The label of a maze: the puzzle with the `shortest_path` cells between S and G marked `o`.

    Raises:
        PuzzleError: Not exactly one S and one G, or G unreachable from S.
    """
    puzzle = np.asarray(puzzle)
    path = shortest_path(puzzle)
    if len(path) == 0:
        raise PuzzleError("maze has no path from S to G")
    label = puzzle.astype(np.int8, copy=True)
    label[path[1:-1, 0], path[1:-1, 1]] = PATH
    return label


VALID = "a valid shortest path"  # what `diagnose` says of an answer that `valid_optimal` accepts


def valid_optimal(puzzle: np.ndarray, answer: np.ndarray) -> bool:
    """Whether ``answer`` marks a shortest S-G path of ``puzzle`` (any of the equally short ones).

    The answer must equal the puzzle except for `o` cells on open cells, and those `o` cells plus S
    and G must connect S to G, using exactly as many moves as the shortest path (so no `o` is spare).
    Never raises: malformed grids give False. `diagnose` says which of these fails.
    """
    return diagnose(puzzle, answer) == VALID


def diagnose(puzzle: np.ndarray, answer: np.ndarray) -> str:
    """What an answer marks, in words: `VALID`, or why it is not a valid shortest path (the rule of
    `valid_optimal`). Never raises."""
    puzzle, answer = np.asarray(puzzle), np.asarray(answer)
    if puzzle.ndim != 2 or puzzle.shape != answer.shape:
        return "NOT a valid shortest path: the answer is not a grid of the maze's size"
    on_path = answer == PATH
    if (puzzle[on_path] != OPEN).any() or not np.array_equal(np.where(on_path, OPEN, answer), puzzle):
        return "NOT a valid shortest path: the answer changes the maze (a path on a wall, S or G, or a moved cell)"
    moves = shortest_distance(puzzle)
    if moves < 1:
        return "NOT a valid shortest path: the maze has no path from S to G"
    marked, needed = int(on_path.sum()), moves - 1
    route = (on_path | (puzzle == START) | (puzzle == GOAL)).reshape(-1)
    found = int(distance(route, puzzle.shape[1], *_endpoints(puzzle)))
    if found < 0:
        return f"NOT a valid shortest path: broken, S and G not connected ({marked} cells marked, {needed} needed)"
    if found > moves:
        return f"NOT a valid shortest path: a route of {found} moves, the shortest has {moves}"
    if marked > needed:
        return f"NOT a valid shortest path: a shortest path plus {marked - needed} spare cell(s)"
    return VALID


# ----------------------------------------------------------------------------------------------
# Dihedral transforms


def dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """Dihedral transform ``k`` in 0..7 of a grid (numbered as in `latentloop.tasks.grid`); a copy."""
    return np.ascontiguousarray(grid_symmetry.dihedral(grid, k))


def inverse_dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """Undoes `dihedral` (``inverse_dihedral(dihedral(g, k), k) == g``); a copy."""
    return np.ascontiguousarray(grid_symmetry.inverse_dihedral(grid, k))


# ----------------------------------------------------------------------------------------------
# Generator


def wall_range(size: int) -> tuple[int, int]:
    """Smallest and largest wall count of a ``size`` x ``size`` maze: 30% and 50% of the cells, rounded half up."""
    cells = size * size
    return (3 * cells + 5) // 10, (cells + 1) // 2


def generate(
    size: int, min_path: int, seed: int, skip: int = 0, max_layouts: int = 1_000_000
) -> tuple[np.ndarray | None, int]:
    """A random ``size`` x ``size`` maze whose shortest S-G path is longer than ``min_path`` moves.

    Args:
        size: Side of the square grid (at least 2).
        min_path: Keep a maze only if its shortest path has more moves than this.
        seed: Seed of the random stream (0 <= seed < 2**32); the same arguments give the same maze.
        skip: Return the maze accepted after skipping this many (to replace a duplicate).
        max_layouts: Give up after this many wall layouts.

    Returns:
        (puzzle codes [size, size] or None when it gave up, number of wall layouts drawn).
    """
    lo, hi = wall_range(size)
    flat, layouts = sample(size, lo, hi, min_path, seed, skip, max_layouts)
    return (flat.reshape(size, size) if flat.size else None), int(layouts)


# ----------------------------------------------------------------------------------------------
# Tokens and the Task


def encode(grid: np.ndarray) -> np.ndarray:
    """Codes [H, W] -> uint8 tokens [H * W] (token = code + 1).

    Raises:
        PuzzleError: Codes outside 0..4.
    """
    grid = np.asarray(grid)
    if grid.size and (grid.min() < WALL or grid.max() > PATH):
        raise PuzzleError(f"maze grid holds codes outside {WALL}..{PATH}")
    return (grid.reshape(-1) + 1).astype(np.uint8)


def decode(tokens: np.ndarray, height: int, width: int) -> np.ndarray:
    """Tokens -> codes [height, width]; never raises.

    PAD and out-of-range tokens read as walls (a wall never carries a path, and where the puzzle is
    open it makes `valid_optimal` fail). Missing tokens count as PAD, extra ones are dropped.
    """
    flat = np.zeros(height * width, np.int64)
    given = np.asarray(tokens).reshape(-1)[: height * width]
    flat[: given.size] = given
    codes = flat - 1
    codes[(codes < WALL) | (codes > PATH)] = WALL
    return codes.astype(np.int8).reshape(height, width)


@register
@dataclass(frozen=True)
class MazeTask(TaskDefaults):
    """The maze `Task` for one grid size; correctness is a valid shortest path (`valid_optimal`)."""

    height: int
    width: int
    name: str = "maze"
    rating_name: ClassVar[str] = "shortest path length"
    builder: ClassVar[str] = "latentloop.data.build_maze"
    view: ClassVar[str] = "latentloop.viz.maze"

    @classmethod
    def from_metadata(cls, info: dict, seq_len: int, vocab_size: int | None) -> MazeTask:
        """Height and width from the metadata, else a square of `seq_len` cells."""
        side = math.isqrt(seq_len)
        return cls(int(info.get("height", side)), int(info.get("width", side)))

    @classmethod
    def recognise(cls, seq_len: int, vocab_size: int | None, root: Path | None) -> MazeTask | None:
        """A reference-built maze: 30x30 cells, vocabulary 6 (PAD and the five cell kinds)."""
        return cls(30, 30) if seq_len == 900 and vocab_size == len(CHARS) + 1 else None

    @property
    def vocab_size(self) -> int:
        """Token ids: PAD and the five cell kinds."""
        return len(CHARS) + 1

    @property
    def seq_len(self) -> int:
        """Tokens per example (= cells)."""
        return self.height * self.width

    def parse(self, text: str) -> np.ndarray:
        """See `parse`; the maze must have this task's size.

        Raises:
            PuzzleError: A malformed maze or one of another size.
        """
        grid = parse(text, allow_path=True)
        if grid.shape != (self.height, self.width):
            raise PuzzleError(f"maze is {grid.shape[0]}x{grid.shape[1]}; this task needs {self.height}x{self.width}")
        return grid

    def render(self, grid: np.ndarray) -> str:
        """See `render`."""
        return render(grid)

    def encode(self, grid: np.ndarray) -> np.ndarray:
        """See `encode`; the grid must have this task's size."""
        if np.shape(grid) != (self.height, self.width):
            raise PuzzleError(f"maze grid has shape {np.shape(grid)}; this task needs ({self.height}, {self.width})")
        return encode(grid)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """See `decode`."""
        return decode(tokens, self.height, self.width)

    def verify(self, puzzle: np.ndarray, answer: np.ndarray) -> bool:
        """See `valid_optimal`."""
        return valid_optimal(puzzle, answer)

    def verdict(self, puzzle: np.ndarray, answer: np.ndarray) -> list[str]:
        """Whether the answer marks a valid shortest path, and if not, why (see `diagnose`)."""
        return [diagnose(puzzle, answer)]

    def views(self, count: int, seed: int) -> list[View]:
        """The dihedral transforms that keep the grid's shape (all 8 on a square), in order, repeated up to ``count``
        (``seed`` unused: there are no random ones)."""
        index = np.arange(self.height * self.width).reshape(self.height, self.width)
        moved = (grid_symmetry.dihedral(index, k) for k in range(grid_symmetry.NUM_DIHEDRAL))
        kept = [m.reshape(-1).copy() for m in moved if m.shape == index.shape]
        return [View(kept[i % len(kept)], np.arange(self.vocab_size)) for i in range(count)]

    def score(self, inputs: np.ndarray, predictions: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """bool [N]: whether each prediction marks a valid shortest path of its input maze (labels unused)."""
        inputs, predictions = np.asarray(inputs), np.asarray(predictions)
        return np.array(
            [self.verify(self.decode(x), self.decode(p)) for x, p in zip(inputs, predictions, strict=True)], dtype=bool
        )

    def check(self, inputs: np.ndarray, predictions: np.ndarray) -> np.ndarray:
        """The rule check without a label (self-verification): see `score`."""
        return self.score(inputs, predictions, None)

    def closest_answers(self, inputs: np.ndarray, log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Per maze the shortest path the model favours most: the one maximising the sum, over its cells, of
        log p(`o`) - log p(open), which is the one of least cross-entropy (see `Task.closest_answers`)."""
        out = np.array(labels, copy=True)
        path_tok, open_tok = PATH + 1, OPEN + 1
        gain = np.asarray(log_probs, np.float64)
        gain = gain[..., path_tok] - gain[..., open_tok]
        for i, (tokens, label) in enumerate(zip(np.asarray(inputs), out, strict=True)):
            grid = self.decode(tokens)
            ends = _endpoints(grid)
            if ends is None:
                continue  # a padding row
            on_label = label == path_tok
            path = heaviest_shortest_path(_passable(grid), self.width, *ends, gain[i] + LABEL_TIE * on_label)
            if len(path) != on_label.sum() + 2:
                continue  # the label is not a shortest path of this maze: keep it
            label[on_label] = open_tok
            label[path[1:-1]] = path_tok
        return out
