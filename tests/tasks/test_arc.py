from __future__ import annotations

import json

import numpy as np
import pytest

from latentloop.errors import PuzzleError
from latentloop.tasks import arc
from latentloop.tasks.base import Task

GRID = np.arange(6, dtype=np.int8).reshape(2, 3)  # asymmetric, so the 8 transforms differ
NUMPY_DIHEDRAL = (
    lambda g: g,
    lambda g: np.rot90(g, 1),
    lambda g: np.rot90(g, 2),
    lambda g: np.rot90(g, 3),
    np.fliplr,
    np.flipud,
    lambda g: g.T,
    lambda g: np.fliplr(np.rot90(g, 1)),
)


def canvas(tokens: np.ndarray) -> np.ndarray:
    return tokens.reshape(30, 30)


@pytest.mark.parametrize("k", range(8))
def test_dihedral_numbering_and_inverse(k: int) -> None:
    assert np.array_equal(arc.dihedral(GRID, k), NUMPY_DIHEDRAL[k](GRID))
    assert np.array_equal(arc.inverse_dihedral(arc.dihedral(GRID, k), k), GRID)


def test_the_eight_transforms_are_distinct() -> None:
    assert len({arc.dihedral(GRID, k).tobytes() + bytes(arc.dihedral(GRID, k).shape) for k in range(8)}) == 8
    with pytest.raises(PuzzleError, match=r"0\.\.7"):
        arc.dihedral(GRID, 8)


def test_recipe_round_trip_keeps_black() -> None:
    rng = np.random.default_rng(0)
    grid = rng.integers(0, 10, size=(5, 7)).astype(np.int8)
    for _ in range(20):
        recipe = arc.random_recipe(rng)
        out = recipe.apply(grid)
        assert recipe.colours[0] == 0
        assert np.array_equal(out == 0, arc.dihedral(grid == 0, recipe.k))
        assert np.array_equal(recipe.invert(out), grid)
    assert arc.IDENTITY.is_identity and np.array_equal(arc.IDENTITY.apply(grid), grid)
    assert arc.Recipe(np.int64(2), list(range(10))) == arc.Recipe(2)  # coerced to ints and a hashable tuple
    assert hash(arc.Recipe(2, list(range(10)))) == hash(arc.Recipe(2))


@pytest.mark.parametrize(
    ("k", "colours", "fragment"),
    [(8, tuple(range(10)), "0..7"), (0, (1, 0, 2, 3, 4, 5, 6, 7, 8, 9), "keep 0"), (0, (0,) * 10, "permute")],
)
def test_bad_recipes(k: int, colours: tuple[int, ...], fragment: str) -> None:
    with pytest.raises(PuzzleError, match=fragment):
        arc.Recipe(k, colours)


def test_puzzle_names() -> None:
    recipe = arc.Recipe(3, (0, 2, 1, 3, 4, 5, 6, 7, 9, 8))
    name = arc.puzzle_name("00576224", recipe)
    assert name == "00576224|||t3|||0213456798"
    assert arc.parse_puzzle_name(name) == ("00576224", recipe)
    assert arc.puzzle_name("00576224") == "00576224"
    assert arc.parse_puzzle_name("00576224") == ("00576224", arc.IDENTITY)
    assert arc.parse_puzzle_name("00576224_t3_0213456798") == ("00576224", recipe)  # HRM's names
    with pytest.raises(PuzzleError, match="not of the form"):
        arc.parse_puzzle_name("x|||t9|||0123456789")
    with pytest.raises(PuzzleError, match="must not contain"):
        arc.puzzle_name("a|||b")


@pytest.mark.parametrize("offset", [(0, 0), (3, 5), (28, 27)])
def test_eos_frame(offset: tuple[int, int]) -> None:
    r0, c0 = offset
    c = canvas(arc.encode_grid(GRID, offset))
    assert np.array_equal(c[r0 : r0 + 2, c0 : c0 + 3], GRID + 2)
    if r0 + 2 < 30:
        assert (c[r0 + 2, c0 : c0 + 3] == arc.EOS).all()
    if c0 + 3 < 30:
        assert (c[r0 : r0 + 2, c0 + 3] == arc.EOS).all()
    expected_eos = 3 * (r0 + 2 < 30) + 2 * (c0 + 3 < 30)
    assert (c == arc.EOS).sum() == expected_eos  # the corner (r0 + h, c0 + w) stays PAD
    assert (c != arc.PAD).sum() == 6 + expected_eos


def test_full_canvas_has_no_eos() -> None:
    full = np.full((30, 30), 9, dtype=np.int8)
    tokens = arc.encode_grid(full)
    assert (tokens == 11).all()
    assert np.array_equal(arc.crop(tokens), full)


@pytest.mark.parametrize(
    ("grid", "offset", "fragment"),
    [
        (GRID, (29, 0), "does not fit"),
        (np.zeros((31, 1), np.int8), (0, 0), "not an ARC grid"),
        (GRID + 5, (0, 0), "colours 0..9"),
    ],
)
def test_encode_rejects(grid: np.ndarray, offset: tuple[int, int], fragment: str) -> None:
    with pytest.raises(PuzzleError, match=fragment):
        arc.encode_grid(grid, offset)


def test_crop_inverts_encode() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        grid = rng.integers(0, 10, size=tuple(rng.integers(1, 31, size=2))).astype(np.int8)
        assert np.array_equal(arc.crop(arc.encode_grid(grid)), grid)


def test_crop_of_garbled_tokens_takes_the_largest_top_left_rectangle() -> None:
    c = np.zeros((30, 30), dtype=np.uint8)
    c[0, :5] = 2  # row 0: 5 colours
    c[1, :3] = 3  # row 1: 3 colours
    c[2, :3] = 4  # row 2: 3 colours, then a stray EOS
    c[2, 3] = arc.EOS
    # areas: 1x5 = 5, 2x3 = 6, 3x3 = 9 -> the 3x3 rectangle
    assert np.array_equal(arc.crop(c.ravel()), np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2]]))
    c[2] = 0  # now 1x5 = 5 vs 2x3 = 6
    assert arc.crop(c.ravel()).shape == (2, 3)
    c[1, 2] = 0  # 1x5 = 5 vs 2x2 = 4
    assert arc.crop(c.ravel()).shape == (1, 5)


def test_crop_never_raises() -> None:
    rng = np.random.default_rng(2)
    assert arc.crop(np.zeros(900, np.uint8)) is None
    assert arc.crop(np.full(900, arc.EOS)) is None
    assert arc.crop(np.zeros(10, np.uint8)) is None
    assert arc.crop(np.full(900, 0.5)) is None
    for _ in range(50):
        tokens = rng.integers(0, 12, size=900)
        grid = arc.crop(tokens)
        assert grid is None or arc.is_grid(grid)


def test_arc_task_protocol_and_text() -> None:
    task = arc.ArcTask()
    assert isinstance(task, Task)
    assert (task.name, task.seq_len, task.vocab_size) == ("arc", 900, 12)
    assert task.render(GRID) == "012\n345"
    assert np.array_equal(task.parse("012\n345\n"), GRID)
    assert np.array_equal(task.parse(json.dumps(GRID.tolist())), GRID)
    puzzle = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3, 4]]}]}
    assert task.parse(json.dumps(puzzle)).tolist() == [[3, 4]]
    for bad, fragment in (("01\n3x", "row 1"), ("[[1, 2], [3]]", "ragged"), ("{oops", "not valid JSON")):
        with pytest.raises(PuzzleError, match=fragment):
            task.parse(bad)


def test_arc_task_decode_finds_translated_grids() -> None:
    task = arc.ArcTask()
    assert np.array_equal(task.decode(task.encode(GRID)), GRID)
    assert np.array_equal(task.decode(arc.encode_grid(GRID, (7, 11))), GRID)
    assert task.decode(np.zeros(900, np.uint8)).shape == (0, 0)
    assert task.decode(np.zeros(5, np.uint8)).shape == (0, 0)


def test_arc_task_verify_checks_only_form() -> None:
    task = arc.ArcTask()
    assert task.verify(GRID, GRID)
    assert not task.verify(GRID, np.zeros((0, 0), np.int8))
    assert not task.verify(GRID, GRID + 5)
    assert not task.verify(GRID, np.zeros((31, 2), np.int8))


def test_arc_task_score() -> None:
    task = arc.ArcTask()
    label = arc.encode_grid(GRID)
    wrong_cell = arc.encode_grid(np.where(GRID == 5, 0, GRID))
    bigger = arc.encode_grid(np.zeros((3, 3), np.int8))
    no_eos = label.copy().reshape(30, 30)
    no_eos[2, :3] = 2  # an extra row of colours: the crop grows to 3 rows
    moved_label = arc.encode_grid(GRID, (4, 6))
    preds = np.stack([label, wrong_cell, bigger, no_eos.ravel(), np.zeros(900, np.uint8), moved_label])
    labels = np.stack([label] * 5 + [moved_label])
    assert task.score(labels, preds, labels).tolist() == [True, False, False, False, False, True]
    assert preds[5].reshape(30, 30)[4, 6] == 2  # inputs untouched
