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

import heapq
from dataclasses import dataclass

import numba
import numpy as np

from latentloop.errors import PuzzleError

CHARS = "# SGo"
MAX_SIDE = 100
WALL, OPEN, START, GOAL, PATH = range(5)
PAIRS_PER_LAYOUT = 100
_CODE = {c: i for i, c in enumerate(CHARS)} | {".": 1}
# Dihedral transform k (numbered as in the references): identity, rot90, rot180, rot270 (counter-clockwise),
# flip left-right, flip up-down, transpose, anti-transpose.
_DIHEDRAL = (
    lambda g: g,
    lambda g: np.rot90(g, 1),
    lambda g: np.rot90(g, 2),
    lambda g: np.rot90(g, 3),
    np.fliplr,
    np.flipud,
    lambda g: g.T,
    lambda g: np.fliplr(np.rot90(g, 1)),
)
_DIHEDRAL_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)


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
# Search kernels (flat cells, row-major; ``passable`` is a bool mask of the cells a path may use)


@numba.njit(cache=True)
def _neighbours(cell, n, width):
    """The four edge neighbours of a flat cell (up, down, left, right); -1 where the grid ends."""
    col = cell % width
    return (
        cell - width if cell >= width else -1,
        cell + width if cell + width < n else -1,
        cell - 1 if col > 0 else -1,
        cell + 1 if col < width - 1 else -1,
    )


@numba.njit(cache=True)
def _bfs(passable, width, source, target, limit, dist, queue):
    """Breadth-first search from ``source``, expanding only cells closer than ``limit``.

    ``dist`` must be -1 everywhere on entry; the search fills it for the cells it reaches, which it
    lists in ``queue[:count]`` in visiting order. It stops as soon as ``target`` is reached.

    Returns:
        count, the number of cells reached (reset them with ``dist[queue[:count]] = -1``).
    """
    n = passable.shape[0]
    dist[source] = 0
    queue[0] = source
    head, tail = 0, 1
    while head < tail:
        cell = queue[head]
        head += 1
        d = dist[cell]
        if d >= limit:
            break
        for nb in _neighbours(cell, n, width):
            if nb >= 0 and passable[nb] and dist[nb] < 0:
                dist[nb] = d + 1
                queue[tail] = nb
                tail += 1
                if nb == target:
                    return tail
    return tail


@numba.njit(cache=True)
def _distance(passable, width, source, target):
    """Moves on a shortest path from ``source`` to ``target`` through passable cells, -1 if none."""
    n = passable.shape[0]
    dist = np.full(n, -1, np.int64)
    _bfs(passable, width, source, target, n, dist, np.empty(n, np.int64))
    return dist[target]


@numba.njit(cache=True)
def _astar(passable, width, start, goal):
    """The label path (cells from start to goal) by the module's A* rule; empty if there is none."""
    n = passable.shape[0]
    goal_row, goal_col = goal // width, goal % width
    cost = np.full(n, -1, np.int64)
    parent = np.full(n, -1, np.int64)
    closed = np.zeros(n, np.bool_)
    cost[start] = 0
    # Heap keys f * n + cell order the open cells by (f, row, column).
    heap = [(abs(start // width - goal_row) + abs(start % width - goal_col)) * n + start]
    while len(heap) > 0:
        cell = heapq.heappop(heap) % n
        if closed[cell]:
            continue
        closed[cell] = True
        if cell == goal:
            break
        for nb in _neighbours(cell, n, width):
            if nb >= 0 and passable[nb] and not closed[nb] and (cost[nb] < 0 or cost[cell] + 1 < cost[nb]):
                cost[nb] = cost[cell] + 1
                parent[nb] = cell
                f = cost[nb] + abs(nb // width - goal_row) + abs(nb % width - goal_col)
                heapq.heappush(heap, f * n + nb)
    if not closed[goal]:
        return np.empty(0, np.int64)
    path = np.empty(cost[goal] + 1, np.int64)
    cell = goal
    for i in range(cost[goal], -1, -1):
        path[i] = cell
        cell = parent[cell]
    return path


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
    cells = _astar(_passable(grid), grid.shape[1], *ends)
    return np.stack(np.divmod(cells, grid.shape[1]), axis=1)


def shortest_distance(grid: np.ndarray) -> int:
    """Moves on a shortest path from S to G (breadth-first search); -1 if unreachable or no single S/G."""
    grid = np.asarray(grid)
    ends = _endpoints(grid)
    return -1 if ends is None else int(_distance(_passable(grid), grid.shape[1], *ends))


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


def valid_optimal(puzzle: np.ndarray, answer: np.ndarray) -> bool:
    """Whether ``answer`` marks a shortest S-G path of ``puzzle`` (any of the equally short ones).

    The answer must equal the puzzle except for `o` cells on open cells, and those `o` cells plus S
    and G must connect S to G, using exactly as many moves as the shortest path (so no `o` is spare).
    Never raises: malformed grids give False.
    """
    puzzle, answer = np.asarray(puzzle), np.asarray(answer)
    if puzzle.ndim != 2 or puzzle.shape != answer.shape:
        return False
    on_path = answer == PATH
    if (puzzle[on_path] != OPEN).any() or not np.array_equal(np.where(on_path, OPEN, answer), puzzle):
        return False
    moves = shortest_distance(puzzle)
    if moves < 1 or int(on_path.sum()) != moves - 1:
        return False
    route = (on_path | (puzzle == START) | (puzzle == GOAL)).reshape(-1)
    return _distance(route, puzzle.shape[1], *_endpoints(puzzle)) >= 0


# ----------------------------------------------------------------------------------------------
# Dihedral transforms


def dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """Dihedral transform ``k`` in 0..7 of a grid (see ``_DIHEDRAL`` for the numbering); a copy."""
    return np.ascontiguousarray(_DIHEDRAL[k](np.asarray(grid)))


def inverse_dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """Undoes `dihedral` (``inverse_dihedral(dihedral(g, k), k) == g``)."""
    return dihedral(grid, _DIHEDRAL_INVERSE[k])


# ----------------------------------------------------------------------------------------------
# Generator


def wall_range(size: int) -> tuple[int, int]:
    """Smallest and largest wall count of a ``size`` x ``size`` maze: 30% and 50% of the cells, rounded half up."""
    cells = size * size
    return (3 * cells + 5) // 10, (cells + 1) // 2


@numba.njit(cache=True)
def _viable_components(passable, width, min_path, comp, dist, queue):
    """Labels the components of the open cells in ``comp`` and tells which may hold a pair farther
    apart than ``min_path``: a component is ruled out when its size - 1 or 2 * the eccentricity of a
    cell (both bounds on its diameter) is at most ``min_path``.

    Returns:
        bool [number of components].
    """
    n = passable.shape[0]
    viable = np.zeros(n, np.bool_)
    comp[:] = -1
    label = 0
    for first in range(n):
        if not passable[first] or comp[first] >= 0:
            continue
        count = _bfs(passable, width, first, -1, n, dist, queue)
        comp[queue[:count]] = label
        bound = min(count - 1, 2 * dist[queue[count - 1]])
        far = queue[count - 1]
        dist[queue[:count]] = -1
        if bound > min_path:
            # Double sweep: the far end of a longest path from `far`, then its midpoint's eccentricity.
            _bfs(passable, width, far, -1, n, dist, queue)
            end = queue[count - 1]
            length = dist[end]
            if length <= min_path:
                mid = end
                while dist[mid] > length // 2:
                    for nb in _neighbours(mid, n, width):
                        if nb >= 0 and dist[nb] == dist[mid] - 1:
                            mid = nb
                            break
                dist[queue[:count]] = -1
                _bfs(passable, width, mid, -1, n, dist, queue)
                bound = min(bound, 2 * dist[queue[count - 1]])
            dist[queue[:count]] = -1
        viable[label] = bound > min_path
        label += 1
    return viable[:label]


@numba.njit(cache=True)
def _sample(size, lo, hi, min_path, seed, skip, max_layouts):
    """Draws mazes by the module's procedure from numba's generator seeded with ``seed``.

    Returns:
        (flat int8 grid of the ``skip``-th accepted maze counting from 0, wall layouts drawn); the
        grid is empty if ``max_layouts`` layouts gave no such maze.
    """
    np.random.seed(seed)
    n = size * size
    cells = np.arange(n)
    passable = np.empty(n, np.bool_)
    open_cells = np.empty(n, np.int64)
    comp = np.empty(n, np.int64)
    dist = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    for layout in range(max_layouts):
        walls = np.random.randint(lo, hi + 1)
        for i in range(walls):  # partial Fisher-Yates: cells[:walls] is a uniform random subset
            j = np.random.randint(i, n)
            cells[i], cells[j] = cells[j], cells[i]
        passable[:] = True
        passable[cells[:walls]] = False
        n_open = 0
        for cell in range(n):
            if passable[cell]:
                open_cells[n_open] = cell
                n_open += 1
        viable = _viable_components(passable, size, min_path, comp, dist, queue)
        for _ in range(PAIRS_PER_LAYOUT):
            s = np.random.randint(0, n_open)
            g = np.random.randint(0, n_open - 1)
            if g >= s:
                g += 1
            start, goal = open_cells[s], open_cells[g]
            if comp[start] != comp[goal] or not viable[comp[start]]:
                continue
            count = _bfs(passable, size, start, goal, min_path, dist, queue)
            near = dist[goal] >= 0
            dist[queue[:count]] = -1
            if near:
                continue
            if skip > 0:
                skip -= 1
                break
            grid = passable.astype(np.int8)
            grid[start] = START
            grid[goal] = GOAL
            return grid, layout + 1
    return np.empty(0, np.int8), max_layouts


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
    flat, layouts = _sample(size, lo, hi, min_path, seed, skip, max_layouts)
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


@dataclass(frozen=True)
class MazeTask:
    """The maze `Task` for one grid size; correctness is a valid shortest path (`valid_optimal`)."""

    height: int
    width: int
    name: str = "maze"

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

    def score(self, inputs: np.ndarray, predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """bool [N]: whether each prediction marks a valid shortest path of its input maze (labels unused)."""
        inputs, predictions = np.asarray(inputs), np.asarray(predictions)
        return np.array(
            [self.verify(self.decode(x), self.decode(p)) for x, p in zip(inputs, predictions, strict=True)], dtype=bool
        )
