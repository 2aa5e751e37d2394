"""A maze being solved: the input, the predicted path after each supervision step, the target path.

Walls are dark, open cells white, the start green, the goal red and path cells blue; cells whose
code changed since the previous step are outlined in orange. Codes follow `latentloop.tasks.maze`
(0 wall, 1 open, 2 start, 3 goal, 4 path); a code outside 0..4 is drawn magenta.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.viz.gif import MAX_PANELS, Panel, changed_cells, save_gif, save_strip, show_codes

COLOURS = ("#262626", "#ffffff", "#2ca02c", "#d62728", "#1f77b4", "#e377c2")  # wall open S G path unknown
PATH = 4
CHANGED = "#ff9f1c"
PANEL = (2.4, 2.6)  # inches per grid
LINED_SIDE = 15  # larger mazes are drawn without cell lines


def draw_maze(
    ax: plt.Axes, grid: np.ndarray, previous: np.ndarray | None = None, title: str = ""
) -> dict[str, np.ndarray]:
    """Draw one maze on `ax`; returns the masks drawn: "path" (blue cells) and "changed" (outlined)."""
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise ValueError(f"a maze grid must be 2-D, got shape {grid.shape}")
    codes = np.where((grid >= 0) & (grid < len(COLOURS) - 1), grid, len(COLOURS) - 1)
    show_codes(ax, codes, COLOURS, title, lines=max(grid.shape) <= LINED_SIDE)
    changed = changed_cells(grid, previous)
    for r, c in np.argwhere(changed):
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=CHANGED, lw=1.2))
    return {"path": grid == PATH, "changed": changed}


def _step_title(grid: np.ndarray, target: np.ndarray | None, t: int) -> str:
    if target is None:
        return f"step {t + 1} ({int((grid == PATH).sum())} path cells)"
    if np.array_equal(grid, target):
        return f"step {t + 1} (solved)"
    return f"step {t + 1} ({int((grid != target).sum())} wrong)"


def _step_panel(puzzle: np.ndarray, steps: list[np.ndarray], target: np.ndarray | None, t: int) -> Panel:
    previous = steps[t - 1] if t else puzzle
    return partial(draw_maze, grid=steps[t], previous=previous, title=_step_title(steps[t], target, t))


def _context(puzzle: np.ndarray, target: np.ndarray | None) -> tuple[Panel, list[Panel]]:
    first = partial(draw_maze, grid=puzzle, title="maze")
    return first, [] if target is None else [partial(draw_maze, grid=target, title="target path")]


def trajectory_figure(
    puzzle: np.ndarray,
    steps: list[np.ndarray],
    path: Path,
    target: np.ndarray | None = None,
    max_panels: int = MAX_PANELS,
) -> Path:
    """Save a PNG strip: the maze, the prediction after each step (at most `max_panels`), the target."""
    target = None if target is None else np.asarray(target)
    first, last = _context(puzzle, target)
    panels = [_step_panel(puzzle, steps, target, t) for t in range(min(max_panels, len(steps)))]
    return save_strip([first, *panels, *last], path, PANEL)


def trajectory_gif(puzzle: np.ndarray, steps: list[np.ndarray], path: Path, target: np.ndarray | None = None) -> Path:
    """Save an animated GIF, one frame per supervision step: maze | prediction | target."""
    target = None if target is None else np.asarray(target)
    first, last = _context(puzzle, target)
    return save_gif([[first, _step_panel(puzzle, steps, target, t), *last] for t in range(len(steps))], path, PANEL)
