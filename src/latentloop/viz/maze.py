"""The maze view: the input, the predicted path after each supervision step, the target path.

Walls are dark, open cells white, the start green, the goal red and path cells blue; cells whose
code changed since the previous step are outlined in orange. Codes follow `latentloop.tasks.maze`
(0 wall, 1 open, 2 start, 3 goal, 4 path); a code outside 0..4 is drawn magenta.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.tasks.maze import CHARS, PATH
from latentloop.viz.figures import changed_cells, show_codes
from latentloop.viz.terminal import BOLD, GREEN, paint

COLOURS = ("#262626", "#ffffff", "#2ca02c", "#d62728", "#1f77b4", "#e377c2")  # wall open S G path unknown
CHANGED = "#ff9f1c"
PANEL = (2.4, 2.6)  # inches per grid
LINED_SIDE = 15  # larger mazes are drawn without cell lines
INPUT_TITLE, TARGET_TITLE = "maze", "target path"
LEGEND = "Walls dark, start green, goal red, path blue; cells changed since the previous step outlined orange."
HTML_CELL_MAX = 22
HTML_CSS = """
.maze td { border: none; } .maze td.chg { box-shadow: inset 0 0 0 2px #ff9f1c; }
.m0 { background: #262626; } .m1 { background: #fff; } .m2 { background: #2ca02c; } .m3 { background: #d62728; }
.m4 { background: #1f77b4; } .m5 { background: #e377c2; }
"""


def draw(
    ax: plt.Axes,
    grid: np.ndarray,
    puzzle: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    title: str = "",
) -> dict[str, np.ndarray]:
    """Draw one maze on `ax`; returns the masks drawn: "path" (blue cells) and "changed" (outlined)."""
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise ValueError(f"a maze grid must be 2-D, got shape {grid.shape}")
    show_codes(ax, _codes(grid), COLOURS, title, lines=max(grid.shape) <= LINED_SIDE)
    changed = changed_cells(grid, previous)
    for r, c in np.argwhere(changed):
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=CHANGED, lw=1.2))
    return {"path": grid == PATH, "changed": changed}


def _codes(grid: np.ndarray) -> np.ndarray:
    return np.where((grid >= 0) & (grid < len(COLOURS) - 1), grid, len(COLOURS) - 1)


def step_title(puzzle: np.ndarray, grid: np.ndarray, target: np.ndarray | None, t: int) -> str:
    if target is None:
        return f"step {t + 1} ({int((grid == PATH).sum())} path cells)"
    if np.array_equal(grid, target):
        return f"step {t + 1} (solved)"
    return f"step {t + 1} ({int((grid != target).sum())} wrong)"


def terminal_text(grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None, colour: bool) -> str:
    """Walls `#`, path cells `o` (green), S and G bold."""
    lines = []
    for row in np.asarray(grid):
        out = []
        for v in row:
            ch = CHARS[int(v)] if 0 <= int(v) < len(CHARS) else "?"
            codes = (GREEN, BOLD) if ch == "o" else (BOLD,) if ch in "SG" else ()
            out.append(paint(ch, *codes, colour=colour))
        lines.append("".join(out))
    return "\n".join(lines)


def html_cells(grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None) -> list[list[list[str]]]:
    changed = changed_cells(grid, previous)
    return [
        [["", f"m{v}" + (" chg" if ch else "")] for v, ch in zip(row, crow, strict=True)]
        for row, crow in zip(_codes(np.asarray(grid)).tolist(), changed.tolist(), strict=True)
    ]
