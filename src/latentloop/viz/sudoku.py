"""A Sudoku being solved, one panel per supervision step.

Givens are bold black; the model's digits are blue; digits that break a rule (repeat in a row,
column or box) are red; cells whose digit changed since the previous step have a yellow background.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.tasks import sudoku

CHANGED = "#fff2a8"
VIOLATION = "#d62728"
MODEL = "#1f5fbf"


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Save a PNG under a temporary name, then rename it into place, and close the figure."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


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


def trajectory_figure(
    puzzle: np.ndarray,
    trajectory: list[np.ndarray],
    path: Path,
    solution: np.ndarray | None = None,
    max_panels: int = 8,
) -> Path:
    """Save a PNG with the givens, then the model's grid after each supervision step (and the solution)."""
    steps = trajectory[:max_panels]
    panels = 1 + len(steps) + (solution is not None)
    fig, axes = plt.subplots(1, panels, figsize=(1.9 * panels, 2.2))
    draw_grid(axes[0], puzzle, puzzle, title="puzzle")
    prev = puzzle
    for t, grid in enumerate(steps):
        bad = sudoku.violations(grid)
        ok = "solved" if sudoku.verify(puzzle, grid) else f"{int(bad.sum())} red"
        draw_grid(axes[t + 1], grid, puzzle, prev, title=f"step {t + 1} ({ok})")
        prev = grid
    if solution is not None:
        draw_grid(axes[-1], solution, puzzle, title="solution")
    fig.tight_layout()
    save_figure(fig, path)
    return path
