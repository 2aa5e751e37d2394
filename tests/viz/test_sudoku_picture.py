from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from latentloop.tasks import sudoku
from latentloop.viz.sudoku import VIOLATION, draw_grid, trajectory_figure


def test_red_cells_are_exactly_the_violations(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    shape = sudoku.shape_for_size(6)
    puzzle, solution = sudoku.generate(shape, rng)
    wrong = solution.copy()
    wrong[0, 0], wrong[0, 1] = wrong[0, 1], wrong[0, 1]  # a repeated digit in row 0
    fig, ax = plt.subplots()
    draw_grid(ax, wrong, puzzle)
    red = {(int(t.get_position()[1]), int(t.get_position()[0])) for t in ax.texts if t.get_color() == VIOLATION}
    expected = {tuple(int(v) for v in rc) for rc in np.argwhere(sudoku.violations(wrong, shape))}
    assert red == expected and red
    plt.close(fig)


def test_trajectory_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    puzzle, solution = sudoku.generate(sudoku.shape_for_size(6), rng)
    steps = [puzzle.copy(), solution.copy()]
    out = trajectory_figure(puzzle, steps, tmp_path / "t.png", solution=solution)
    assert out.is_file() and out.stat().st_size > 5_000
    from matplotlib.image import imread

    h, w, _ = imread(out).shape
    assert w > 2.5 * h  # one panel per step, side by side
