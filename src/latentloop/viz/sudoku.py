"""The Sudoku view: pictures, terminal text and HTML cells of a grid being solved.

Givens are bold black; the model's digits are blue; digits that break a rule (repeat in a row,
column or box) are red; cells whose digit changed since the previous step have a yellow background.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.tasks import sudoku
from latentloop.viz.terminal import BOLD, CHANGED_CELL, RED, paint

CHANGED = "#fff2a8"
VIOLATION = "#d62728"
MODEL = "#1f5fbf"
PANEL = (1.9, 2.2)  # inches per grid
INPUT_TITLE, TARGET_TITLE = "puzzle", "solution"
LEGEND = (
    "Givens bold, the model's digits blue, digits that break a rule red, cells changed since the previous step "
    "on yellow."
)
HTML_CELL_MAX = 30
HTML_CSS = """
.sudoku td { border: 1px solid #bbb; color: #1f5fbf; }
.sudoku td.given { color: #000; font-weight: 700; } .sudoku td.bad { color: #d62728; font-weight: 700; }
.sudoku td.chg { background: #fff2a8; }
.sudoku td.br { border-right: 2px solid #000; } .sudoku td.bb { border-bottom: 2px solid #000; }
.sudoku table { border: 2px solid #000; }
"""


def draw(
    ax: plt.Axes, grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None = None, title: str = ""
) -> np.ndarray:
    """Draw one grid on `ax` (the givens are the non-zero cells of `puzzle`); returns the violation mask drawn red."""
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
            given = bool(puzzle[r, c])
            color = VIOLATION if bad[r, c] else ("black" if given else MODEL)
            weight = "bold" if given else "normal"
            ax.text(
                c + 0.5,
                r + 0.53,
                str(d),
                ha="center",
                va="center",
                color=color,
                fontsize=max(6, 60 // n),
                fontweight=weight,
            )
    for i in range(n + 1):
        ax.axhline(i, color="black", lw=1.6 if i % shape.box_rows == 0 else 0.4)
        ax.axvline(i, color="black", lw=1.6 if i % shape.box_cols == 0 else 0.4)
    if title:
        ax.set_title(title, fontsize=9)
    return bad


def step_title(puzzle: np.ndarray, grid: np.ndarray, target: np.ndarray | None, t: int) -> str:
    ok = "solved" if sudoku.verify(puzzle, grid) else f"{int(sudoku.violations(grid).sum())} red"
    return f"step {t + 1} ({ok})"


def terminal_text(grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None, colour: bool) -> str:
    """Boxes separated by | and -+-; givens bold, rule breakers red, changed cells highlighted."""
    shape = sudoku.shape_for_size(grid.shape[0])
    bad = sudoku.violations(grid, shape)
    lines = []
    for r in range(shape.size):
        if r and r % shape.box_rows == 0:
            lines.append("-+-".join("-" * (2 * shape.box_cols - 1) for _ in range(shape.size // shape.box_cols)))
        cells = []
        for c in range(shape.size):
            v = int(grid[r, c])
            codes = [code for code, on in ((BOLD, puzzle[r, c]), (RED, bad[r, c])) if on]
            if previous is not None and previous[r, c] != v:
                codes.append(CHANGED_CELL)
            cells.append(paint(str(v) if v else ".", *codes, colour=colour))
            if c % shape.box_cols == shape.box_cols - 1 and c != shape.size - 1:
                cells.append("|")
        lines.append(" ".join(cells))
    if not colour and bad.any():
        lines.append(f"({int(bad.sum())} cells break a rule)")
    return "\n".join(lines)


def html_cells(grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None) -> list[list[list[str]]]:
    shape = sudoku.shape_for_size(grid.shape[0])
    n, bad = shape.size, sudoku.violations(grid, shape)
    rows = []
    for r in range(n):
        row = []
        for c in range(n):
            v = int(grid[r, c])
            flags = (
                ("given", puzzle[r, c]),
                ("bad", bad[r, c]),
                ("chg", previous is not None and previous.shape == grid.shape and previous[r, c] != v),
                ("br", (c + 1) % shape.box_cols == 0 and c + 1 < n),
                ("bb", (r + 1) % shape.box_rows == 0 and r + 1 < n),
            )
            row.append([str(v) if v else "", " ".join(name for name, on in flags if on)])
        rows.append(row)
    return rows
