"""A Sudoku being solved: a PNG strip with one panel per supervision step, or a GIF with one frame per step.

Givens are bold black; the model's digits are blue; digits that break a rule (repeat in a row,
column or box) are red; cells whose digit changed since the previous step have a yellow background.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.tasks import sudoku
from latentloop.viz.gif import MAX_PANELS, Panel, save_figure, save_gif, save_strip

__all__ = ["draw_grid", "save_figure", "trajectory_figure", "trajectory_gif"]

CHANGED = "#fff2a8"
VIOLATION = "#d62728"
MODEL = "#1f5fbf"
PANEL = (1.9, 2.2)  # inches per grid


def draw_grid(
    ax: plt.Axes, grid: np.ndarray, givens: np.ndarray, previous: np.ndarray | None = None, title: str = ""
) -> np.ndarray:
    """Draw one grid on `ax`; returns the violation mask that was drawn in red."""
    shape = sudoku.shape_for_size(grid.shape[0])
    n = shape.size
    bad = sudoku.violations(grid, shape)
    ax.set_xlim(0, n)
    ax.set_ylim(n, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for r in range(n):
        for c in range(n):
            if previous is not None and previous[r, c] != grid[r, c]:
                ax.add_patch(plt.Rectangle((c, r), 1, 1, color=CHANGED, zorder=0))
            d = int(grid[r, c])
            if not d:
                continue
            given = bool(givens[r, c])
            color = VIOLATION if bad[r, c] else ("black" if given else MODEL)
            ax.text(
                c + 0.5,
                r + 0.53,
                str(d),
                ha="center",
                va="center",
                color=color,
                fontsize=max(6, 60 // n),
                fontweight="bold" if given else "normal",
            )
    for i in range(n + 1):
        ax.axhline(i, color="black", lw=1.6 if i % shape.box_rows == 0 else 0.4)
        ax.axvline(i, color="black", lw=1.6 if i % shape.box_cols == 0 else 0.4)
    if title:
        ax.set_title(title, fontsize=9)
    return bad


def _step_title(puzzle: np.ndarray, grid: np.ndarray, t: int) -> str:
    ok = "solved" if sudoku.verify(puzzle, grid) else f"{int(sudoku.violations(grid).sum())} red"
    return f"step {t + 1} ({ok})"


def _step_panel(puzzle: np.ndarray, trajectory: list[np.ndarray], t: int) -> Panel:
    previous = trajectory[t - 1] if t else puzzle
    return partial(
        draw_grid, grid=trajectory[t], givens=puzzle, previous=previous, title=_step_title(puzzle, trajectory[t], t)
    )


def _context(puzzle: np.ndarray, solution: np.ndarray | None) -> tuple[Panel, list[Panel]]:
    first = partial(draw_grid, grid=puzzle, givens=puzzle, title="puzzle")
    last = [] if solution is None else [partial(draw_grid, grid=solution, givens=puzzle, title="solution")]
    return first, last


def trajectory_figure(
    puzzle: np.ndarray,
    trajectory: list[np.ndarray],
    path: Path,
    solution: np.ndarray | None = None,
    max_panels: int = MAX_PANELS,
) -> Path:
    """Save a PNG with the givens, then the model's grid after each supervision step (and the solution)."""
    first, last = _context(puzzle, solution)
    steps = [_step_panel(puzzle, trajectory, t) for t in range(min(max_panels, len(trajectory)))]
    return save_strip([first, *steps, *last], path, PANEL)


def trajectory_gif(
    puzzle: np.ndarray, trajectory: list[np.ndarray], path: Path, solution: np.ndarray | None = None
) -> Path:
    """Save an animated GIF, one frame per supervision step: puzzle | the model's grid | solution."""
    first, last = _context(puzzle, solution)
    frames = [[first, _step_panel(puzzle, trajectory, t), *last] for t in range(len(trajectory))]
    return save_gif(frames, path, PANEL)
