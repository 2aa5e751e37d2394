from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from latentloop.tasks import sudoku
from latentloop.viz import sudoku as sudoku_view
from latentloop.viz.figures import trajectory_figure, trajectory_gif
from latentloop.viz.sudoku import CHANGED, VIOLATION, draw


def _wrong(solution: np.ndarray) -> np.ndarray:
    wrong = solution.copy()
    wrong[0, 0] = wrong[0, 1]  # a repeated digit in row 0
    return wrong


def _pixel(fig: plt.Figure, ax: plt.Axes, x: float, y: float) -> np.ndarray:
    """RGB in 0..1 of the rendered figure at data coordinates (x, y)."""
    px, py = ax.transData.transform((x, y))
    image = np.asarray(fig.canvas.buffer_rgba())
    return image[image.shape[0] - 1 - round(py), round(px), :3] / 255


def test_red_cells_are_exactly_the_violations() -> None:
    rng = np.random.default_rng(0)
    shape = sudoku.shape_for_size(6)
    puzzle, solution = sudoku.generate(shape, rng)
    wrong = _wrong(solution)
    fig, ax = plt.subplots()
    drawn = draw(ax, wrong, puzzle)
    red = {(int(t.get_position()[1]), int(t.get_position()[0])) for t in ax.texts if t.get_color() == VIOLATION}
    expected = {tuple(int(v) for v in rc) for rc in np.argwhere(sudoku.violations(wrong, shape))}
    assert red == expected and red
    assert np.array_equal(drawn, sudoku.violations(wrong, shape))
    plt.close(fig)


def test_changed_cells_are_yellow() -> None:
    rng = np.random.default_rng(2)
    puzzle, solution = sudoku.generate(sudoku.shape_for_size(4), rng)
    fig, ax = plt.subplots(figsize=(3, 3), dpi=100)
    draw(ax, solution, puzzle, previous=puzzle)
    fig.canvas.draw()
    for r in range(4):
        for c in range(4):
            corner = _pixel(fig, ax, c + 0.2, r + 0.2)  # off the digit, inside the cell
            want = to_rgb(CHANGED) if puzzle[r, c] != solution[r, c] else (1.0, 1.0, 1.0)
            assert np.allclose(corner, want, atol=0.02), (r, c, corner)
    plt.close(fig)


def test_trajectory_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    puzzle, solution = sudoku.generate(sudoku.shape_for_size(6), rng)
    steps = [puzzle.copy(), solution.copy()]
    out = trajectory_figure(sudoku_view, puzzle, steps, tmp_path / "t.png", target=solution)
    assert out.is_file() and out.stat().st_size > 5_000
    with Image.open(out) as image:
        assert image.format == "PNG"
        w, h = image.size
    assert w > 2.5 * h  # one panel per step, side by side
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_trajectory_gif_has_one_frame_per_step(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    puzzle, solution = sudoku.generate(sudoku.shape_for_size(6), rng)
    steps = [puzzle.copy(), _wrong(solution), solution.copy(), solution.copy()]
    out = trajectory_gif(sudoku_view, puzzle, steps, tmp_path / "t.gif", target=solution)
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(steps) and gif.is_animated
        assert gif.size[0] > 2.5 * gif.size[1] and gif.size[1] > 100  # puzzle | step | solution
    assert out.stat().st_size > 5_000
