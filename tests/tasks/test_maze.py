"""Tests of the maze task: the A* label rule, verification, transforms, the generator and tokens."""

from __future__ import annotations

import heapq

import numba
import numpy as np
import pytest

from latentloop.errors import PuzzleError
from latentloop.tasks import maze as M
from latentloop.tasks import maze_search, task_for
from latentloop.tasks.base import Task

# A maze with two shortest S-G paths of 5 moves, over the top or along the bottom.
TWO_WAYS = M.parse("S   \n ## \n   G")
TOP = M.parse("Sooo\n ##o\n   G", allow_path=True)
BOTTOM = M.parse("S   \no## \noooG", allow_path=True)


def random_puzzle(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random maze with ~35% walls and S, G on distinct open cells (G not necessarily reachable)."""
    grid = np.where(rng.random((height, width)) < 0.35, M.WALL, M.OPEN).astype(np.int8)
    start, goal = rng.choice(height * width, 2, replace=False)
    grid.flat[start], grid.flat[goal] = M.START, M.GOAL
    return grid


def reference_label_path(grid: np.ndarray) -> list[tuple[int, int]]:
    """The documented rule, written independently: expand by (f, row, col), keep the first parent.

    Neighbours are generated in the reverse of the library's order, which the rule says is irrelevant.
    """
    (sr,), (sc,) = np.nonzero(grid == M.START)
    (gr,), (gc,) = np.nonzero(grid == M.GOAL)
    cost, parent, closed = {(sr, sc): 0}, {}, set()
    heap = [(abs(sr - gr) + abs(sc - gc), sr, sc)]
    while heap:
        _, r, c = heapq.heappop(heap)
        if (r, c) in closed:
            continue
        closed.add((r, c))
        if (r, c) == (gr, gc):
            path = [(r, c)]
            while path[-1] in parent:
                path.append(parent[path[-1]])
            return path[::-1]
        for nr, nc in ((r, c + 1), (r, c - 1), (r + 1, c), (r - 1, c)):
            inside = 0 <= nr < grid.shape[0] and 0 <= nc < grid.shape[1]
            usable = inside and grid[nr, nc] != M.WALL and (nr, nc) not in closed
            if usable and ((nr, nc) not in cost or cost[r, c] + 1 < cost[nr, nc]):
                cost[nr, nc], parent[nr, nc] = cost[r, c] + 1, (r, c)
                heapq.heappush(heap, (cost[nr, nc] + abs(nr - gr) + abs(nc - gc), nr, nc))
    return []


# ----------------------------------------------------------------------------------------------
# Label rule


def test_tie_break_prefers_smaller_rows() -> None:
    assert np.array_equal(M.solve(TWO_WAYS), TOP)
    open3 = M.parse("S  \n   \n  G")
    assert M.render(M.solve(open3)) == "Soo\n  o\n  G"
    assert M.shortest_path(open3).tolist() == [[0, 0], [0, 1], [0, 2], [1, 2], [2, 2]]


def test_label_rule_matches_an_independent_implementation() -> None:
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(300):
        grid = random_puzzle(rng, int(rng.integers(2, 12)), int(rng.integers(2, 12)))
        expected = reference_label_path(grid)
        assert M.shortest_path(grid).tolist() == [list(cell) for cell in expected]
        assert M.shortest_distance(grid) == len(expected) - 1
        if expected:
            assert M.valid_optimal(grid, M.solve(grid))
            checked += 1
    assert checked > 50


def test_open_first_and_last_rows_are_kept() -> None:
    grid = M.parse("   \nS#G\n   \n")
    assert grid.shape == (3, 3) and M.render(grid) == "   \nS#G\n   "


def test_unreachable_goal() -> None:
    walled = M.parse("S# \n## \n  G")
    assert M.shortest_path(walled).shape == (0, 2)
    assert M.shortest_distance(walled) == -1
    with pytest.raises(PuzzleError, match="no path"):
        M.solve(walled)
    assert not M.valid_optimal(walled, walled)
    with pytest.raises(PuzzleError, match="exactly one start"):
        M.shortest_path(np.ones((3, 3), np.int8))


# ----------------------------------------------------------------------------------------------
# Verification


def test_valid_optimal_accepts_any_shortest_path() -> None:
    assert M.valid_optimal(TWO_WAYS, TOP) and M.valid_optimal(TWO_WAYS, BOTTOM)
    adjacent = M.parse("SG")
    assert M.valid_optimal(adjacent, adjacent)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("Soo \n ##o\n  oG", "broken path"),
        ("Sooo\n ##o\n  oG", "spare o cell"),
        ("Soo \n #oo\n   G", "path through a wall"),
        ("Sooo\n  #o\n   G", "wall removed"),
        ("Sooo\n###o\n   G", "wall added"),
        ("Sooo\n ##G\n   o", "goal moved"),
        ("oooo\n ##o\n   G", "start missing"),
        ("Sooo\n ##o\nS  G", "second start"),
        ("S   \n ## \n   G", "no path"),
    ],
)
def test_valid_optimal_rejects(answer: str, why: str) -> None:
    grid = np.array([[M.CHARS.index(ch) for ch in row] for row in answer.split("\n")], np.int8)
    assert not M.valid_optimal(TWO_WAYS, grid), why


def test_valid_optimal_rejects_a_longer_path() -> None:
    puzzle = M.parse("S #  \n  # G\n     ")
    longer = M.parse("So#oo\n o#oG\n ooo ", allow_path=True)
    assert M.shortest_distance(puzzle) == 7
    assert M.valid_optimal(puzzle, M.solve(puzzle)) and not M.valid_optimal(puzzle, longer)
    assert not M.valid_optimal(puzzle, M.solve(puzzle)[:, :4])


# ----------------------------------------------------------------------------------------------
# Dihedral transforms


def test_dihedral_group() -> None:
    grid = random_puzzle(np.random.default_rng(1), 7, 7)
    images = [M.dihedral(grid, k) for k in range(8)]
    assert len({g.tobytes() for g in images}) == 8
    assert np.array_equal(images[0], grid) and np.array_equal(images[6], grid.T)
    for k, image in enumerate(images):
        assert np.array_equal(M.inverse_dihedral(image, k), grid)
        assert M.shortest_distance(image) == M.shortest_distance(grid)
    assert M.dihedral(np.zeros((2, 5)), 1).shape == (5, 2)


def test_transformed_labels_stay_valid_but_follow_the_rule_again() -> None:
    label = M.solve(TWO_WAYS)
    for k in range(8):
        moved = M.dihedral(TWO_WAYS, k)
        assert M.valid_optimal(moved, M.dihedral(label, k))
        assert M.valid_optimal(moved, M.solve(moved))
    assert not np.array_equal(M.solve(M.dihedral(TWO_WAYS, 5)), M.dihedral(label, 5))


# ----------------------------------------------------------------------------------------------
# Generator


@numba.njit(cache=True)
def _naive_sample(size, lo, hi, min_path, seed):
    """The documented procedure without any pruning: full BFS distance for every drawn pair."""
    np.random.seed(seed)
    n = size * size
    cells = np.arange(n)
    passable = np.empty(n, np.bool_)
    while True:
        walls = np.random.randint(lo, hi + 1)
        for i in range(walls):
            j = np.random.randint(i, n)
            cells[i], cells[j] = cells[j], cells[i]
        passable[:] = True
        passable[cells[:walls]] = False
        open_cells = np.flatnonzero(passable)
        for _ in range(maze_search.PAIRS_PER_LAYOUT):
            s = np.random.randint(0, len(open_cells))
            g = np.random.randint(0, len(open_cells) - 1)
            if g >= s:
                g += 1
            if maze_search.distance(passable, size, open_cells[s], open_cells[g]) > min_path:
                return passable, open_cells[s], open_cells[g]


def test_views_are_the_shape_keeping_dihedral_transforms() -> None:
    """A view of a maze is the maze transformed; the view of a shortest path is one of the transformed maze."""
    puzzle, _ = M.generate(11, 20, 3)
    solution = M.solve(puzzle)
    task = M.MazeTask(11, 11)
    views = task.views(10, seed=0)
    assert len(views) == 10 and np.array_equal(views[0].positions, np.arange(121))
    for k, view in enumerate(views):
        assert np.array_equal(view.tokens, np.arange(6))
        moved_p, moved_s = (task.decode(view.tokens[task.encode(g)[view.positions]]) for g in (puzzle, solution))
        assert np.array_equal(moved_p, M.dihedral(puzzle, k % 8))
        assert M.valid_optimal(moved_p, moved_s)
    assert len({v.positions.tobytes() for v in views}) == 8  # then they repeat
    wide = M.MazeTask(3, 4).views(8, seed=0)  # not square: the identity, rot180 and the two flips
    assert len({v.positions.tobytes() for v in wide}) == 4


def test_generator_equals_the_unpruned_procedure() -> None:
    for size, min_path in ((9, 14), (10, 18)):
        for seed in range(25):
            puzzle, _ = M.generate(size, min_path, seed)
            passable, start, goal = _naive_sample(size, *M.wall_range(size), min_path, seed)
            assert np.array_equal(puzzle.reshape(-1) != M.WALL, passable)
            assert puzzle.flat[start] == M.START and puzzle.flat[goal] == M.GOAL


def test_generated_mazes() -> None:
    lo, hi = M.wall_range(11)
    assert (lo, hi) == (36, 61) and M.wall_range(30) == (270, 450)
    for seed in range(30):
        puzzle, layouts = M.generate(11, 20, seed)
        assert puzzle.shape == (11, 11) and puzzle.dtype == np.int8 and layouts >= 1
        assert lo <= (puzzle == M.WALL).sum() <= hi
        assert (puzzle == M.START).sum() == 1 and (puzzle == M.GOAL).sum() == 1
        assert M.shortest_distance(puzzle) > 20
        again, _ = M.generate(11, 20, seed)
        assert np.array_equal(puzzle, again)
    stream = [M.generate(11, 20, 0, skip=k) for k in range(3)]
    assert len({puzzle.tobytes() for puzzle, _ in stream}) == 3
    assert stream[0][1] < stream[1][1] < stream[2][1]


def test_generator_gives_up() -> None:
    puzzle, layouts = M.generate(5, 15, 0, max_layouts=200)
    assert puzzle is None and layouts == 200


# ----------------------------------------------------------------------------------------------
# Tokens and the Task


def test_task_protocol_and_tokens() -> None:
    task = M.MazeTask(3, 4)
    assert isinstance(task, Task)
    assert (task.name, task.seq_len, task.vocab_size) == ("maze", 12, 6)
    assert task_for({"name": "maze", "height": 3, "width": 4}, 12) == task
    tokens = task.encode(TOP)
    assert tokens.dtype == np.uint8 and tokens.tolist() == [3, 5, 5, 5, 2, 1, 1, 5, 2, 2, 2, 4]
    assert np.array_equal(task.decode(tokens), TOP)
    assert task.render(task.decode(tokens)) == M.render(TOP)
    assert np.array_equal(task.parse(M.render(TOP)), TOP)
    with pytest.raises(PuzzleError, match="needs 3x4"):
        task.parse("S G")
    with pytest.raises(PuzzleError, match="shape"):
        task.encode(TOP[:2])
    with pytest.raises(PuzzleError, match="codes outside"):
        task.encode(TOP + 3)


def test_decode_never_raises() -> None:
    task = M.MazeTask(3, 4)
    rng = np.random.default_rng(0)
    for tokens in (rng.integers(-3, 300, 12), rng.integers(0, 6, 7), rng.integers(0, 6, 40), np.zeros(0, int)):
        grid = task.decode(tokens)
        assert grid.shape == (3, 4) and grid.min() >= M.WALL and grid.max() <= M.PATH
        task.render(grid)
        assert not task.verify(TWO_WAYS, grid)
    assert (task.decode(np.zeros(12, int)) == M.WALL).all()
    assert task.decode(np.full(12, 9))[0, 0] == M.WALL


def test_score() -> None:
    task = M.MazeTask(3, 4)
    broken = TOP.copy()
    broken[0, 2] = M.OPEN
    inputs = np.stack([task.encode(TWO_WAYS)] * 4)
    predictions = np.stack([task.encode(g) for g in (TOP, BOTTOM, broken)] + [np.full(12, 255, np.uint8)])
    labels = np.stack([task.encode(TOP)] * 4)
    scores = task.score(inputs, predictions, labels)
    assert scores.dtype == bool and scores.tolist() == [True, True, False, False]
    assert task.score(np.zeros((1, 12), np.uint8), predictions[:1], labels[:1]).tolist() == [False]


def test_diagnose_says_why_an_answer_is_not_a_shortest_path() -> None:
    def grid(text: str) -> np.ndarray:
        return np.array([[M.CHARS.index(ch) for ch in row] for row in text.split("\n")], np.int8)

    assert M.diagnose(TWO_WAYS, TOP) == M.diagnose(TWO_WAYS, BOTTOM) == "a valid shortest path"
    for answer, why in [
        ("Soo \n ##o\n  oG", "broken, S and G not connected (4 cells marked, 4 needed)"),
        ("S   \n ## \n   G", "broken, S and G not connected (0 cells marked, 4 needed)"),
        ("Sooo\n ##o\n  oG", "a shortest path plus 1 spare cell(s)"),
        ("Soo \n #oo\n   G", "changes the maze"),
        ("Sooo\n ##G\n   o", "changes the maze"),
    ]:
        said = M.diagnose(TWO_WAYS, grid(answer))
        assert said.startswith("NOT a valid shortest path: ") and why in said, (answer, said)
    puzzle = M.parse("S   G\n     \n     ")
    around = M.parse("S   G\no   o\nooooo", allow_path=True)
    assert M.diagnose(puzzle, around) == "NOT a valid shortest path: a route of 8 moves, the shortest has 4"


# ----------------------------------------------------------------------------------------------
# Training targets (train.target=closest)


def all_shortest_paths(grid: np.ndarray) -> list[list[int]]:
    """Every shortest S-G path as flat cells, by exhaustive depth-first search (small mazes only)."""
    moves, width = M.shortest_distance(grid), grid.shape[1]
    start, goal = int(np.flatnonzero(grid == M.START)[0]), int(np.flatnonzero(grid == M.GOAL)[0])
    found: list[list[int]] = []

    def walk(path: list[int]) -> None:
        cell = path[-1]
        if len(path) - 1 == moves:
            if cell == goal:
                found.append(list(path))
            return
        r, c = divmod(cell, width)
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            nb = nr * width + nc
            if 0 <= nr < grid.shape[0] and 0 <= nc < width and grid[nr, nc] != M.WALL and nb not in path:
                walk([*path, nb])

    if moves > 0:
        walk([start])
    return found


def test_heaviest_shortest_path_is_the_best_of_all_shortest_paths() -> None:
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(200):
        grid = random_puzzle(rng, int(rng.integers(2, 6)), int(rng.integers(2, 6)))
        weight = rng.normal(size=grid.size)
        paths = all_shortest_paths(grid)
        start, goal = int(np.flatnonzero(grid == M.START)[0]), int(np.flatnonzero(grid == M.GOAL)[0])
        best = maze_search.heaviest_shortest_path(M._passable(grid), grid.shape[1], start, goal, weight)
        if not paths:
            assert len(best) == 0
            continue
        assert best.tolist() in paths
        assert weight[best].sum() == pytest.approx(max(weight[p].sum() for p in paths))
        checked += len(paths) > 1
    assert checked > 20


def test_closest_answers_follow_the_model_among_shortest_paths() -> None:
    task = M.MazeTask(3, 4)
    inputs = np.stack([task.encode(TWO_WAYS)] * 3).astype(np.int64)
    labels = np.stack([task.encode(TOP)] * 3).astype(np.int64)
    log_probs = np.zeros((3, 12, 6))  # row 0: no preference, so the label's path
    log_probs[1, task.encode(BOTTOM) == M.PATH + 1, M.PATH + 1] = 0.5  # row 1: the model leans to the bottom path
    log_probs[2, :, M.PATH + 1] = -1.0  # row 2: path everywhere unlikely, equally: the label's path
    chosen = task.closest_answers(inputs, log_probs, labels)
    assert [task.render(task.decode(row)) for row in chosen] == [M.render(TOP), M.render(BOTTOM), M.render(TOP)]
    assert labels.tolist() == [task.encode(TOP).tolist()] * 3  # the input is not changed


def test_closest_answers_keep_labels_they_cannot_improve() -> None:
    task = M.MazeTask(3, 4)
    longer = task.encode(M.parse("Sooo\n ##o\n  oG", allow_path=True)).astype(np.int64)  # not a shortest path
    pad = np.zeros(12, np.int64)  # a padding row: no S, no G
    inputs = np.stack([task.encode(TWO_WAYS).astype(np.int64), pad])
    labels = np.stack([longer, np.full(12, -100)])
    log_probs = np.random.default_rng(0).normal(size=(2, 12, 6))
    assert np.array_equal(task.closest_answers(inputs, log_probs, labels), labels)
