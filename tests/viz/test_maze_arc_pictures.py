from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from latentloop.tasks import maze
from latentloop.tasks.arc import ArcTask
from latentloop.viz import arc as arc_viz
from latentloop.viz import maze as maze_viz
from latentloop.viz.views import save_trajectory

MAZE = "#######\n#S  # #\n# #   #\n# ###G#\n#######"
SOLVED = "#######\n#Soo# #\n# #ooo#\n# ###G#\n#######"


def _pixel(fig: plt.Figure, ax: plt.Axes, x: float, y: float) -> np.ndarray:
    """RGB in 0..1 of the rendered figure at data coordinates (x, y)."""
    px, py = ax.transData.transform((x, y))
    image = np.asarray(fig.canvas.buffer_rgba())
    return image[image.shape[0] - 1 - round(py), round(px), :3] / 255


def _maze_steps() -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    puzzle, target = maze.parse(MAZE), maze.parse(SOLVED, allow_path=True)
    first = puzzle.copy()
    first[1, 2] = 4
    return puzzle, [first, target.copy(), target.copy()], target


def test_maze_cell_colours_and_changed_mask() -> None:
    _, steps, _ = _maze_steps()
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    marks = maze_viz.draw(ax, steps[1], previous=steps[0])
    fig.canvas.draw()
    assert np.array_equal(marks["path"], steps[1] == maze_viz.PATH)
    assert np.array_equal(marks["changed"], steps[1] != steps[0])
    assert len(ax.patches) == int(marks["changed"].sum()) > 0
    for r, c in np.ndindex(*steps[1].shape):
        assert np.allclose(_pixel(fig, ax, c, r), to_rgb(maze_viz.COLOURS[steps[1][r, c]]), atol=0.02), (r, c)
    plt.close(fig)


def test_maze_png_and_gif(tmp_path: Path) -> None:
    puzzle, steps, target = _maze_steps()
    out = save_trajectory(maze.MazeTask(*puzzle.shape), puzzle, steps, target, tmp_path / "m.png", tmp_path / "m.gif")
    with Image.open(out["png"]) as png:
        assert png.format == "PNG" and png.size[0] > 4 * png.size[1]  # maze, 3 steps, target
    with Image.open(out["gif"]) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(steps)
    assert out["png"].stat().st_size > 3_000 and out["gif"].stat().st_size > 3_000


def test_arc_palette_and_empty_prediction() -> None:
    grid = np.arange(10).reshape(2, 5)
    fig, (ax, empty) = plt.subplots(1, 2, figsize=(5, 2), dpi=100)
    assert arc_viz.draw(ax, grid)
    assert not arc_viz.draw(empty, np.zeros((0, 0), dtype=int))
    fig.canvas.draw()
    for r, c in np.ndindex(*grid.shape):
        assert np.allclose(_pixel(fig, ax, c, r), to_rgb(arc_viz.PALETTE[grid[r, c]]), atol=0.02), (r, c)
    assert [t.get_text() for t in empty.texts] == [arc_viz.NO_GRID]
    with pytest.raises(ValueError, match=r"colours 0\.\.9"):
        arc_viz.draw(ax, np.full((2, 2), 12))
    plt.close(fig)


def test_arc_png_and_gif_with_no_valid_grid(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    puzzle, target = rng.integers(0, 10, (4, 6)), rng.integers(0, 10, (5, 5))
    steps = [np.zeros((0, 0), dtype=int), target[:3], target]
    out = save_trajectory(ArcTask(), puzzle, steps, target, tmp_path / "a.png", tmp_path / "a.gif")
    with Image.open(out["gif"]) as gif:
        assert gif.n_frames == len(steps)
        frames = {gif.seek(i) or gif.convert("RGB").tobytes() for i in range(gif.n_frames)}
    assert len(frames) == len(steps)  # every step looks different
    with Image.open(out["png"]) as png:
        assert png.size[0] > 4 * png.size[1]


def test_save_trajectory_dispatch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    grid = rng.integers(0, 10, (3, 3))
    assert save_trajectory(ArcTask(), grid, [grid], None, png_path=tmp_path / "only.png") == {
        "png": tmp_path / "only.png"
    }
    assert save_trajectory(ArcTask(), grid, [grid], None) == {}
    generic = save_trajectory(CopyLike(), grid, [grid], grid, png_path=tmp_path / "generic.png")  # no view of its own
    assert generic["png"].stat().st_size > 1_000


class CopyLike:
    """A task without a view: pictures fall back to the generic view."""

    name = "copy-like"
    view = ""
