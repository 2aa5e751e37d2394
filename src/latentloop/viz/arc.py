"""An ARC test input, the predicted output grid after each supervision step, and the target.

Colours are the standard ARC palette (0 black, 1 blue, 2 red, 3 green, 4 yellow, 5 grey,
6 magenta, 7 orange, 8 light blue, 9 maroon). A prediction may be an empty 0x0 array when the
model produced no valid grid; its panel says "no valid grid".
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.viz.gif import MAX_PANELS, Panel, save_gif, save_strip, show_codes

PALETTE = (
    "#000000",
    "#0074d9",
    "#ff4136",
    "#2ecc40",
    "#ffdc00",
    "#aaaaaa",
    "#f012be",
    "#ff851b",
    "#7fdbff",
    "#870c25",
)
NO_GRID = "no valid grid"
PANEL = (2.2, 2.4)  # inches per grid


def draw_arc(ax: plt.Axes, grid: np.ndarray, title: str = "") -> bool:
    """Draw one ARC grid on `ax` (or "no valid grid" for an empty one); returns whether a grid was drawn."""
    grid = np.asarray(grid)
    if grid.size == 0:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, NO_GRID, ha="center", va="center", fontsize=9, color="#666666", transform=ax.transAxes)
        if title:
            ax.set_title(title, fontsize=9)
        return False
    if grid.ndim != 2 or grid.min() < 0 or grid.max() > 9:
        raise ValueError(f"an ARC grid is 2-D with colours 0..9, got shape {grid.shape}")
    show_codes(ax, grid, PALETTE, title)
    return True


def _step_title(grid: np.ndarray, target: np.ndarray | None, t: int) -> str:
    if grid.size == 0:
        verdict = "no grid"
    elif target is None:
        verdict = f"{grid.shape[0]}x{grid.shape[1]}"
    elif grid.shape != target.shape:
        verdict = "wrong size"
    else:
        wrong = int((grid != target).sum())
        verdict = f"{wrong} wrong" if wrong else "correct"
    return f"step {t + 1} ({verdict})"


def _step_panel(steps: list[np.ndarray], target: np.ndarray | None, t: int) -> Panel:
    grid = np.asarray(steps[t])
    return partial(draw_arc, grid=grid, title=_step_title(grid, target, t))


def _context(puzzle: np.ndarray, target: np.ndarray | None) -> tuple[Panel, list[Panel]]:
    first = partial(draw_arc, grid=puzzle, title="input")
    return first, [] if target is None else [partial(draw_arc, grid=target, title="target")]


def trajectory_figure(
    puzzle: np.ndarray,
    steps: list[np.ndarray],
    path: Path,
    target: np.ndarray | None = None,
    max_panels: int = MAX_PANELS,
) -> Path:
    """Save a PNG strip: the input, the prediction after each step (at most `max_panels`), the target."""
    target = None if target is None else np.asarray(target)
    first, last = _context(puzzle, target)
    panels = [_step_panel(steps, target, t) for t in range(min(max_panels, len(steps)))]
    return save_strip([first, *panels, *last], path, PANEL)


def trajectory_gif(puzzle: np.ndarray, steps: list[np.ndarray], path: Path, target: np.ndarray | None = None) -> Path:
    """Save an animated GIF, one frame per supervision step: input | prediction | target."""
    target = None if target is None else np.asarray(target)
    first, last = _context(puzzle, target)
    return save_gif([[first, _step_panel(steps, target, t), *last] for t in range(len(steps))], path, PANEL)
