"""Tests of the Sudoku puzzle logic: parsing, solving, generation, rating, transforms, encoding."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentloop.data.readers import read_puzzle_file
from latentloop.errors import LatentloopError, PuzzleError
from latentloop.tasks import sudoku as S
from latentloop.tasks import sudoku_hard as H
from latentloop.tasks.base import Task

SHARED = Path(__file__).resolve().parents[2] / "../shared"
MAGICTOUR = SHARED / "data/sudoku/puzzles3_magictour_top1465.txt"
MAGICTOUR_FIRST = "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........"
MAGICTOUR_FIRST_SOLUTION = "468931527751624839392578461134756298289413675675289314846192753513867942927345186"
SIZES = (4, 6, 9)

# A 4x4 grid and the same grid with an "unavoidable rectangle" blanked: exactly two solutions.
GRID4 = "1234341221434321"
TWO_SOLUTIONS4 = "..34341...434321"


def magictour_lines() -> list[str]:
    if not MAGICTOUR.is_file():
        pytest.skip(f"shared reference data not found at {MAGICTOUR.resolve()} (only present in the dev tree)")
    return read_puzzle_file(MAGICTOUR)


@functools.cache
def generated(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return S.generate(S.shape_for_size(size), np.random.default_rng(seed))


def brute_violations(grid: np.ndarray, shape: S.SudokuShape) -> np.ndarray:
    n, br, bc = shape.size, shape.box_rows, shape.box_cols
    mask = np.zeros((n, n), bool)
    for r in range(n):
        for c in range(n):
            v = grid[r, c]
            if v == 0:
                continue
            same_row = (grid[r] == v).sum() > 1
            same_col = (grid[:, c] == v).sum() > 1
            r0, c0 = r - r % br, c - c % bc
            same_box = (grid[r0 : r0 + br, c0 : c0 + bc] == v).sum() > 1
            mask[r, c] = same_row or same_col or same_box
    return mask


# ---------------------------------------------------------------------------------------------- shapes


def test_shapes() -> None:
    assert S.shape_for_size(4) == S.SudokuShape(2, 2)
    assert S.shape_for_size(6) == S.SudokuShape(2, 3)
    assert S.shape_for_size(9) == S.SudokuShape(3, 3)
    assert (S.shape_for_size(6).size, S.shape_for_size(6).cells) == (6, 36)
    assert S.shape_for_cells(81) == S.SudokuShape(3, 3)
    assert S.vocab_size(S.shape_for_size(9)) == 11
    with pytest.raises(PuzzleError, match="unsupported Sudoku size 5"):
        S.shape_for_size(5)
    with pytest.raises(PuzzleError, match="50 cells"):
        S.shape_for_cells(50)


# ---------------------------------------------------------------------------------------------- parse/render


@pytest.mark.parametrize("size", SIZES)
def test_parse_render_round_trip(size: int) -> None:
    puzzle, solution = generated(size, 0)
    for grid in (puzzle, solution):
        line = S.to_line(grid)
        assert len(line) == size * size
        assert np.array_equal(S.parse(line), grid)
        assert np.array_equal(S.parse(S.render(grid)), grid)
        assert S.parse(line).dtype == np.int8
    assert np.array_equal(S.parse("  " + S.to_line(puzzle).replace(".", "0") + "\n"), puzzle)


def test_render_layout() -> None:
    text = S.render(S.parse(GRID4))
    assert text.splitlines() == ["1 2 | 3 4", "3 4 | 1 2", "----+----", "2 1 | 4 3", "4 3 | 2 1"]
    marked = S.render(S.parse(GRID4), givens=S.parse(TWO_SOLUTIONS4)).splitlines()
    assert marked[0].startswith("1* 2* | 3  4")
    assert S.render(S.parse(MAGICTOUR_FIRST)).count("|") == 18


@pytest.mark.parametrize(
    ("text", "shape", "message"),
    [
        ("." * 80, None, "80 cells; expected 16"),
        ("." * 80, S.SudokuShape(3, 3), "puzzle has 80 cells; a 9x9 Sudoku needs 81"),
        ("x" + "." * 15, None, "illegal character 'x' at position 1"),
        ("..7" + "." * 33, None, "digit 7 at position 3; a 6x6 Sudoku uses 1..6"),
        ("5...5" + "." * 76, None, "digit 5 appears twice in row 1"),
        ("3" + "." * 9 + "3" + "." * 70, None, "digit 3 appears twice in box 1"),
        ("2" + "." * 26 + "2" + "." * 53, None, "digit 2 appears twice in column 1"),
    ],
)
def test_parse_rejects_bad_input(text: str, shape: S.SudokuShape | None, message: str) -> None:
    with pytest.raises(PuzzleError, match=message):
        S.parse(text, shape)


def test_bad_grids_raise_puzzle_errors() -> None:
    with pytest.raises(PuzzleError, match="square"):
        S.solve(np.zeros((9, 8), np.int8))
    with pytest.raises(PuzzleError, match="unsupported Sudoku size 5"):
        S.solve(np.zeros((5, 5), np.int8))
    with pytest.raises(PuzzleError, match="value 7 at row 1, column 2"):
        S.violations(np.array([[0, 7, 0, 0]] + [[0] * 4] * 3))
    with pytest.raises(PuzzleError, match="dtype float"):
        S.to_line(np.zeros((4, 4)))
    with pytest.raises(PuzzleError, match="a 6x6 Sudoku needs"):
        S.solve(np.zeros((9, 9), np.int8), S.shape_for_size(6))
    with pytest.raises(LatentloopError, match="limit"):
        S.solve(np.zeros((4, 4), np.int8), limit=0)


# ---------------------------------------------------------------------------------------------- solving


def test_solve_counts_and_guesses() -> None:
    two = S.parse(TWO_SOLUTIONS4)
    count, solution, guesses = S.solve(two, limit=1)
    assert (count, guesses) == (1, 1)
    assert S.to_line(solution) == GRID4
    count, _, guesses = S.solve(two, limit=2)
    assert (count, guesses) == (2, 1)  # the second value is the last alternative: not a guess
    _, other, _ = S.solve(two, limit=1, order=[2, 1, 3, 4])
    assert S.to_line(other) == "2134341212434321"
    assert S.count_solutions(two) == 2 and not S.has_unique_solution(two)
    assert S.count_solutions(np.zeros((4, 4), np.int8), limit=1000) == 288  # all 4x4 Sudoku grids
    full = S.parse(GRID4)
    count, solution, guesses = S.solve(full)
    assert (count, guesses) == (1, 0) and np.array_equal(solution, full)
    one_blank = full.copy()
    one_blank[3, 3] = 0
    count, solution, guesses = S.solve(one_blank)
    assert (count, guesses) == (1, 0) and np.array_equal(solution, full)


def test_solve_contradiction_has_no_solution() -> None:
    grid = S.parse(GRID4)
    grid[0, 0] = 0
    grid[0, 1] = 0
    grid[1, 0] = 2  # col 0 keeps 3 elsewhere, row 1 now has 2 twice
    count, solution, _ = S.solve(grid)
    assert count == 0 and solution is None


def test_solve_magictour_known_solution() -> None:
    lines = magictour_lines()
    assert lines[0] == MAGICTOUR_FIRST
    puzzle = S.parse(lines[0])
    count, solution, guesses = S.solve(puzzle, limit=2)
    assert count == 1 and guesses > 0
    assert S.verify(puzzle, solution)
    assert S.to_line(solution) == MAGICTOUR_FIRST_SOLUTION
    for line in lines[1:6]:
        puzzle = S.parse(line)
        assert S.has_unique_solution(puzzle)
        assert S.verify(puzzle, S.solve(puzzle, limit=1)[1])


# ---------------------------------------------------------------------------------------------- generation


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("seed", range(3))
def test_generated_puzzles_are_unique_and_minimal(size: int, seed: int) -> None:
    puzzle, solution = generated(size, seed)
    assert puzzle.dtype == np.int8 and puzzle.shape == (size, size)
    assert S.verify(puzzle, solution)
    assert S.count_solutions(puzzle) == 1
    for r, c in np.argwhere(puzzle > 0):
        weaker = puzzle.copy()
        weaker[r, c] = 0
        assert S.count_solutions(weaker) == 2, f"clue at ({r}, {c}) is redundant"


def test_generation_is_deterministic() -> None:
    shape = S.shape_for_size(9)
    a = S.generate(shape, np.random.default_rng(7))
    b = S.generate(shape, np.random.default_rng(7))
    c = S.generate(shape, np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])
    grids = {S.random_solution(shape, np.random.default_rng(s)).tobytes() for s in range(10)}
    assert len(grids) == 10


def test_rating_separates_magictour_from_random_puzzles() -> None:
    lines = magictour_lines()
    shape = S.shape_for_size(9)
    rng = np.random.default_rng(0)
    hard = [S.rate(S.parse(line), shape, rng) for line in lines[:6]]
    easy = [S.rate(S.generate(shape, rng)[0], shape, rng) for _ in range(12)]
    assert np.mean(hard) > 10
    assert np.mean(hard) > 4 * max(np.mean(easy), 1.0)
    again = S.rate(S.parse(lines[0]), shape, np.random.default_rng(3))
    assert again == S.rate(S.parse(lines[0]), shape, np.random.default_rng(3))


# ---------------------------------------------------------------------------------------------- transforms


@settings(max_examples=40, deadline=None, database=None)
@given(size=st.sampled_from(SIZES), seed=st.integers(0, 2**32 - 1))
def test_transforms_keep_validity_and_invert(size: int, seed: int) -> None:
    puzzle, solution = generated(size, seed % 4)
    shape = S.shape_for_size(size)
    rng = np.random.default_rng(seed)
    recipe = S.random_transform(shape, rng)
    if shape.box_rows != shape.box_cols:
        assert not recipe.transpose
    moved_p, moved_s = S.apply_transform(puzzle, recipe), S.apply_transform(solution, recipe)
    assert S.verify(moved_p, moved_s)
    assert (moved_p == 0).sum() == (puzzle == 0).sum()
    assert S.has_unique_solution(moved_p)
    back = recipe.inverse()
    assert np.array_equal(S.apply_transform(moved_p, back), puzzle)
    assert np.array_equal(S.apply_transform(moved_s, back), solution)
    aug_p, aug_s = S.augment(puzzle, solution, rng)
    assert S.verify(aug_p, aug_s)
    assert (aug_p > 0).sum() == (puzzle > 0).sum()


@pytest.mark.parametrize("size", SIZES)
def test_views_keep_validity(size: int) -> None:
    """A view on tokens is a validity-preserving transform: the view of the solution solves the view of the puzzle."""
    puzzle, solution = generated(size, 2)
    task = S.SudokuTask(S.shape_for_size(size))
    views = task.views(6, seed=1)
    assert len(views) == 6 and np.array_equal(views[0].positions, np.arange(size * size))
    assert np.array_equal(views[0].tokens, np.arange(size + 2))
    assert len({v.positions.tobytes() + v.tokens.tobytes() for v in views}) == 6
    for view in views:
        assert sorted(view.positions) == list(range(size * size)) and view.tokens[:2].tolist() == [0, 1]
        moved_p, moved_s = (task.decode(view.tokens[task.encode(g)[view.positions]]) for g in (puzzle, solution))
        assert S.verify(moved_p, moved_s) and (moved_p > 0).sum() == (puzzle > 0).sum()
    again = task.views(6, seed=1)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(views, again, strict=True))


@pytest.mark.parametrize("size", SIZES)
def test_augment_many_is_consistent_and_varied(size: int) -> None:
    puzzle, solution = generated(size, 1)
    ps, ss = S.augment_many(puzzle, solution, np.random.default_rng(0), 50)
    assert ps.shape == (50, size, size) and ps.dtype == np.int8
    assert all(S.verify(p, s) for p, s in zip(ps, ss, strict=True))
    assert all((p > 0).sum() == (puzzle > 0).sum() for p in ps)
    assert len({s.tobytes() for s in ss}) > 40


def test_transpose_is_drawn_for_square_boxes() -> None:
    rng = np.random.default_rng(0)
    flags = [S.random_transform(S.shape_for_size(9), rng).transpose for _ in range(50)]
    assert any(flags) and not all(flags)
    assert not any(S.random_transform(S.shape_for_size(6), rng).transpose for _ in range(50))


# ---------------------------------------------------------------------------------------------- checking


@settings(max_examples=30, deadline=None, database=None)
@given(size=st.sampled_from(SIZES), seed=st.integers(0, 2**32 - 1))
def test_violations_mark_exactly_duplicated_cells(size: int, seed: int) -> None:
    shape = S.shape_for_size(size)
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, size + 1, (size, size)).astype(np.int8)
    grid[rng.random((size, size)) < 0.5] = 0
    assert np.array_equal(S.violations(grid, shape), brute_violations(grid, shape))


def test_violations_examples() -> None:
    grid = np.zeros((9, 9), np.int8)
    grid[0, 0] = grid[0, 8] = 5  # row duplicate
    grid[4, 4] = 5  # fine: different row, column and box
    grid[2, 3] = grid[8, 3] = 7  # column duplicate
    expected = np.zeros((9, 9), bool)
    expected[0, 0] = expected[0, 8] = expected[2, 3] = expected[8, 3] = True
    assert np.array_equal(S.violations(grid), expected)
    assert not S.violations(S.parse(MAGICTOUR_FIRST_SOLUTION)).any()


def test_verify() -> None:
    puzzle, solution = S.parse(MAGICTOUR_FIRST), S.parse(MAGICTOUR_FIRST_SOLUTION)
    assert S.verify(puzzle, solution)
    incomplete = solution.copy()
    incomplete[5, 5] = 0
    assert not S.verify(puzzle, incomplete)
    swap_1_2 = S.Transform(np.array([0, 2, 1, *range(3, 10)], np.int8), np.arange(9), np.arange(9), False)
    relabelled = S.apply_transform(solution, swap_1_2)
    assert not S.violations(relabelled).any()
    assert not S.verify(puzzle, relabelled)  # valid grid, but it changes givens
    broken = solution.copy()
    r, c = np.argwhere(puzzle == 0)[0]
    broken[r, c] = broken[r, c] % 9 + 1  # keeps every given, repeats a digit in row r
    assert not S.verify(puzzle, broken)


# ---------------------------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("size", SIZES)
def test_encode_decode(size: int) -> None:
    puzzle, solution = generated(size, 2)
    for grid in (puzzle, solution):
        tokens = S.encode(grid)
        assert tokens.dtype == np.uint8 and tokens.shape == (size * size,)
        assert tokens.min() >= 1 and tokens.max() <= size + 1
        assert np.array_equal(S.decode(tokens), grid)
    assert np.array_equal(S.encode(puzzle)[puzzle.ravel() == 0], np.ones((puzzle == 0).sum()))
    assert np.array_equal(
        S.encode_batch(np.stack([puzzle, solution])), np.stack([S.encode(puzzle), S.encode(solution)])
    )
    junk = S.encode(solution).astype(np.int64)
    junk[:3] = [0, size + 2, 200]
    assert (S.decode(junk).ravel()[:3] == 0).all()
    with pytest.raises(PuzzleError, match="tokens"):
        S.decode(np.ones(10), S.shape_for_size(size))


def test_sudoku_task_is_a_task() -> None:
    task = S.SudokuTask(S.shape_for_size(6))
    assert isinstance(task, Task)
    assert (task.name, task.seq_len, task.vocab_size) == ("sudoku", 36, 8)
    puzzle, solution = generated(6, 0)
    assert np.array_equal(task.decode(task.encode(puzzle)), puzzle)
    assert task.verify(puzzle, solution)
    assert np.array_equal(task.parse(task.render(puzzle)), puzzle)
    with pytest.raises(PuzzleError, match="a 6x6 Sudoku needs 36"):
        task.parse(MAGICTOUR_FIRST)


# ---------------------------------------------------------------------------------------------- hard puzzles


TINY_CLIMB = H.ClimbConfig(starts=24, pool=8, max_steps=400, per_chain=3)


def test_seeded_ratings_depend_on_the_seed_only() -> None:
    puzzles, _ = H.random_minimal_puzzles(5, 6)
    seeds = np.arange(6)
    first = H.seeded_ratings(puzzles, seeds)
    H.seeded_ratings(puzzles[::-1], seeds)  # other work in between changes nothing
    assert np.array_equal(H.seeded_ratings(puzzles, seeds), first)
    assert (H.seeded_ratings(puzzles, seeds, transforms=1) % 1 == 0).all()  # one transform: whole guesses
    with pytest.raises(LatentloopError, match="at least one transform"):
        H.seeded_ratings(puzzles, seeds, transforms=0)


def test_seeded_ratings_separate_magictour_from_random_puzzles() -> None:
    hard = np.stack([S.parse(line) for line in magictour_lines()[:8]])
    easy, _ = H.random_minimal_puzzles(0, 16)
    assert H.seeded_ratings(hard, np.arange(8)).mean() > 4 * H.seeded_ratings(easy, np.arange(16)).mean()


@pytest.mark.parametrize("size", SIZES)
def test_random_minimal_puzzles_are_seeded_unique_and_minimal(size: int) -> None:
    shape = S.shape_for_size(size)
    puzzles, solutions = H.random_minimal_puzzles(3, 3, shape)
    again, _ = H.random_minimal_puzzles(3, 3, shape)
    assert np.array_equal(puzzles, again) and puzzles.dtype == np.int8
    for puzzle, solution in zip(puzzles, solutions, strict=True):
        assert S.verify(puzzle, solution) and S.has_unique_solution(puzzle)
        for r, c in np.argwhere(puzzle > 0):
            fewer = puzzle.copy()
            fewer[r, c] = 0
            assert S.count_solutions(fewer) == 2


def test_climb_raises_the_rating_and_is_seeded() -> None:
    chain = H.climb(11, 6.0, TINY_CLIMB)
    assert len(chain.ratings) == TINY_CLIMB.per_chain and chain.steps <= TINY_CLIMB.max_steps
    assert (chain.ratings >= 6.0).all()
    assert len({s.tobytes() for s in chain.solutions}) == len(chain.solutions)
    for puzzle, solution in zip(chain.puzzles, chain.solutions, strict=True):
        assert S.verify(puzzle, solution) and S.has_unique_solution(puzzle)
    start, _ = H.random_minimal_puzzles(11, TINY_CLIMB.starts)
    assert chain.ratings.mean() > 2 * H.seeded_ratings(start, np.arange(len(start))).mean()
    again = H.climb(11, 6.0, TINY_CLIMB)
    assert np.array_equal(again.puzzles, chain.puzzles) and again.steps == chain.steps
    with pytest.raises(LatentloopError, match="starts"):
        H.ClimbConfig(starts=4, pool=8)


def test_canonical_form_is_invariant_and_separates() -> None:
    shape = S.shape_for_size(9)
    rng = np.random.default_rng(0)
    puzzle, solution = generated(9, 0)
    canon_p, canon_s = H.canonical_form(puzzle, solution)
    assert S.to_line(canon_s).startswith("123456789") and S.verify(canon_p, canon_s)
    assert (canon_p > 0).sum() == (puzzle > 0).sum()
    for _ in range(6):
        move = S.random_transform(shape, rng)
        moved = H.canonical_form(S.apply_transform(puzzle, move), S.apply_transform(solution, move))
        assert np.array_equal(moved[0], canon_p) and np.array_equal(moved[1], canon_s)
    sibling = solution.copy()  # the same grid with one more clue: same canonical grid, other puzzle
    sibling[puzzle == 0] = 0
    sibling[tuple(np.argwhere(puzzle == 0)[0])] = solution[tuple(np.argwhere(puzzle == 0)[0])]
    other_p, other_s = H.canonical_form(sibling, solution)
    assert np.array_equal(other_s, canon_s) and not np.array_equal(other_p, canon_p)
    assert not np.array_equal(H.canonical_form(*generated(9, 1))[1], canon_s)
    with pytest.raises(PuzzleError, match="full solution"):
        H.canonical_form(puzzle, puzzle)


def test_closest_answers_are_the_labels() -> None:
    """A Sudoku with one solution has one correct answer: train.target=closest leaves its label."""
    labels = np.arange(12).reshape(3, 4)
    assert S.SudokuTask(S.shape_for_size(4)).closest_answers(labels, np.zeros((3, 4, 6)), labels) is labels
