"""The maze's numba kernels on flat cells (row-major; ``passable`` is a bool mask of the cells a
path may use): breadth-first search, the label A*, and the generator's sampling loop with its
pruning. `latentloop.tasks.maze` documents the rules and wraps them for grids.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np

WALL, OPEN, START, GOAL, PATH = range(5)  # cell codes (see tasks/maze.py)
PAIRS_PER_LAYOUT = 100  # (S, G) draws on one wall layout before a new layout is drawn


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
def distance(passable, width, source, target):
    """Moves on a shortest path from ``source`` to ``target`` through passable cells, -1 if none."""
    n = passable.shape[0]
    dist = np.full(n, -1, np.int64)
    _bfs(passable, width, source, target, n, dist, np.empty(n, np.int64))
    return dist[target]


@numba.njit(cache=True)
def astar(passable, width, start, goal):
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


@numba.njit(cache=True)
def heaviest_shortest_path(passable, width, start, goal, weight):
    """Of all shortest paths from start to goal, the one whose cells have the largest total ``weight``
    (a dynamic programme over the cells in order of distance from start; ties go to the first
    neighbour in up, down, left, right order). Returns its cells from start to goal; empty if none."""
    n = passable.shape[0]
    from_start, from_goal = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    order = np.empty(n, np.int64)
    count = _bfs(passable, width, start, -1, n, from_start, order)  # order: nondecreasing distance
    _bfs(passable, width, goal, -1, n, from_goal, np.empty(n, np.int64))
    moves = from_start[goal]
    if moves < 0:
        return np.empty(0, np.int64)
    best = np.full(n, -np.inf)
    parent = np.full(n, -1, np.int64)
    best[start] = 0.0
    for i in range(1, count):
        cell = order[i]
        if from_start[cell] + from_goal[cell] != moves:
            continue  # on no shortest path
        for nb in _neighbours(cell, n, width):
            before = nb >= 0 and from_start[nb] == from_start[cell] - 1 and best[nb] > -np.inf  # on a shortest path
            if before and (parent[cell] < 0 or best[nb] > best[parent[cell]]):
                parent[cell] = nb
        best[cell] = best[parent[cell]] + weight[cell]
    path = np.empty(moves + 1, np.int64)
    cell = goal
    for i in range(moves, -1, -1):
        path[i] = cell
        cell = parent[cell]
    return path


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
def sample(size, lo, hi, min_path, seed, skip, max_layouts):
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
