"""Grids as terminal text, with ANSI colours where the terminal supports them.

Sudoku: givens bold, digits that break a rule red, cells changed since the previous step
underlined on a yellow background. Maze: walls `#`, path cells `o` (green), S and G bold.
ARC: one coloured cell (two spaces) per value in the standard ARC palette, digits without colour.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from latentloop.tasks import sudoku

RESET, BOLD, RED, GREEN, CHANGED = "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[4;43m"
# ARC palette as xterm-256 background colours: black, blue, red, green, yellow, grey, magenta, orange, sky, maroon
ARC_BG = (16, 27, 196, 40, 226, 245, 201, 208, 45, 88)


def use_colour(stream=None) -> bool:
    """Colours on a terminal unless NO_COLOR is set or TERM is dumb (https://no-color.org)."""
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _paint(text: str, *codes: str, colour: bool) -> str:
    return "".join(codes) + text + RESET if colour and codes else text


def sudoku_text(grid: np.ndarray, givens: np.ndarray, previous: np.ndarray | None, colour: bool) -> str:
    shape = sudoku.shape_for_size(grid.shape[0])
    bad = sudoku.violations(grid, shape)
    lines = []
    for r in range(shape.size):
        if r and r % shape.box_rows == 0:
            lines.append("-+-".join("-" * (2 * shape.box_cols - 1) for _ in range(shape.size // shape.box_cols)))
        cells = []
        for c in range(shape.size):
            v = int(grid[r, c])
            codes = []
            if givens[r, c]:
                codes.append(BOLD)
            if bad[r, c]:
                codes.append(RED)
            if previous is not None and previous[r, c] != v:
                codes.append(CHANGED)
            cells.append(_paint(str(v) if v else ".", *codes, colour=colour))
            if c % shape.box_cols == shape.box_cols - 1 and c != shape.size - 1:
                cells.append("|")
        lines.append(" ".join(cells))
    if not colour and bad.any():
        lines.append(f"({int(bad.sum())} cells break a rule)")
    return "\n".join(lines)


def maze_text(grid: np.ndarray, colour: bool) -> str:
    chars = "# SGo"
    lines = []
    for row in np.asarray(grid):
        out = []
        for v in row:
            ch = chars[int(v)] if 0 <= int(v) < len(chars) else "?"
            if ch == "o":
                out.append(_paint(ch, GREEN, BOLD, colour=colour))
            elif ch in "SG":
                out.append(_paint(ch, BOLD, colour=colour))
            else:
                out.append(ch)
        lines.append("".join(out))
    return "\n".join(lines)


def arc_text(grid: np.ndarray, colour: bool) -> str:
    g = np.asarray(grid)
    if g.size == 0:
        return "(no valid grid)"
    if not colour:
        return "\n".join(" ".join(str(int(v)) for v in row) for row in g)
    return "\n".join("".join(f"\x1b[48;5;{ARC_BG[int(v)]}m  " for v in row) + RESET for row in g)


def grid_text(task: str, grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None, colour: bool) -> str:
    """One grid of a trajectory, for the task's kind."""
    if task == "sudoku":
        return sudoku_text(grid, puzzle != 0, previous, colour)
    if task == "maze":
        return maze_text(grid, colour)
    return arc_text(grid, colour)
