"""The view of a task that brings none: each cell's code as a colour (and its digit in the terminal)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.viz.figures import changed_cells, show_codes

COLOURS = (
    "#ffffff",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#000000",
)  # codes 0..10, and anything else
PANEL = (2.2, 2.4)
INPUT_TITLE, TARGET_TITLE = "input", "target"
LEGEND = "Each cell's value as a colour; cells changed since the previous step outlined."
HTML_CELL_MAX = 26
HTML_CSS = (
    "".join(f".g{i} {{ background: {c}; }} " for i, c in enumerate(COLOURS))
    + ".grid td.gchg { outline: 2px solid #ff9f1c; }"
)


def _codes(grid: np.ndarray) -> np.ndarray:
    grid = np.asarray(grid)
    return np.where((grid >= 0) & (grid < len(COLOURS) - 1), grid, len(COLOURS) - 1)


def draw(ax: plt.Axes, grid: np.ndarray, puzzle=None, previous=None, title: str = "") -> None:
    grid = np.asarray(grid)
    if grid.size == 0:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title or "empty", fontsize=9)
        return
    show_codes(ax, _codes(grid), COLOURS, title)


def step_title(puzzle: np.ndarray, grid: np.ndarray, target: np.ndarray | None, t: int) -> str:
    if target is None or np.shape(grid) != np.shape(target):
        return f"step {t + 1}"
    wrong = int((np.asarray(grid) != target).sum())
    return f"step {t + 1} ({wrong} wrong)" if wrong else f"step {t + 1} (correct)"


def terminal_text(grid: np.ndarray, puzzle=None, previous=None, colour: bool = False) -> str:
    return "\n".join(" ".join(str(int(v)) for v in row) for row in np.asarray(grid))


def html_cells(grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None) -> list[list[list[str]]]:
    changed = changed_cells(grid, previous)
    return [
        [[str(v), f"g{c}" + (" gchg" if ch else "")] for v, c, ch in zip(row, crow, chrow, strict=True)]
        for row, crow, chrow in zip(np.asarray(grid).tolist(), _codes(grid).tolist(), changed.tolist(), strict=True)
    ]
