"""The ARC view: a test input, the predicted output grid after each supervision step, and the target.

Colours are the standard ARC palette (0 black, 1 blue, 2 red, 3 green, 4 yellow, 5 grey,
6 magenta, 7 orange, 8 light blue, 9 maroon). A prediction may be an empty 0x0 array when the
model produced no valid grid; its panel says "no valid grid".
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.viz.figures import show_codes
from latentloop.viz.terminal import RESET

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
ARC_BG = (16, 27, 196, 40, 226, 245, 201, 208, 45, 88)  # the palette as xterm-256 background colours
NO_GRID = "no valid grid"
PANEL = (2.2, 2.4)  # inches per grid
INPUT_TITLE, TARGET_TITLE = "input", "target"
LEGEND = "Standard ARC palette; an empty prediction means the model produced no valid grid."
HTML_CELL_MAX = 22
HTML_CSS = """
.arc td { border: 1px solid #555; }
.a0 { background: #000; } .a1 { background: #0074d9; } .a2 { background: #ff4136; } .a3 { background: #2ecc40; }
.a4 { background: #ffdc00; } .a5 { background: #aaa; } .a6 { background: #f012be; } .a7 { background: #ff851b; }
.a8 { background: #7fdbff; } .a9 { background: #870c25; }
"""


def draw(
    ax: plt.Axes,
    grid: np.ndarray,
    puzzle: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    title: str = "",
) -> bool:
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


def step_title(puzzle: np.ndarray, grid: np.ndarray, target: np.ndarray | None, t: int) -> str:
    grid = np.asarray(grid)
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


def terminal_text(grid: np.ndarray, puzzle: np.ndarray | None, previous: np.ndarray | None, colour: bool) -> str:
    """One coloured cell (two spaces) per value, or the digits without colour."""
    g = np.asarray(grid)
    if g.size == 0:
        return f"({NO_GRID})"
    if not colour:
        return "\n".join(" ".join(str(int(v)) for v in row) for row in g)
    return "\n".join("".join(f"\x1b[48;5;{ARC_BG[int(v)]}m  " for v in row) + RESET for row in g)


def html_cells(grid: np.ndarray, puzzle: np.ndarray, previous: np.ndarray | None) -> list[list[list[str]]]:
    return [[["", f"a{v}"] for v in row] for row in np.asarray(grid).tolist()]


def print_file_answers(task_id: str | None, answers: list, trace: bool, colour: bool) -> None:
    """What `solve` prints for an ARC task file (`latentloop.evaluate.arc.solve_file`)."""
    if task_id is None:
        print("note: this task is not in the run's dataset; without its puzzle embedding the answer is a guess")
    else:
        print(f"task {task_id}")
    print_answers(answers, trace, colour)


def print_answers(answers: list, trace: bool, colour: bool) -> None:
    """The voted attempts of every test input of an ARC task (`latentloop.evaluate.arc.ArcAnswer`)."""
    from latentloop.viz.views import trace_text

    for j, ans in enumerate(answers):
        print(f"test input {j + 1}: {ans.variants} variant(s) voted, {ans.candidates} distinct grid(s)")
        if trace:
            print(trace_text(sys.modules[__name__], ans.trajectory, colour))
        for a, (grid, votes) in enumerate(zip(ans.attempts, ans.votes, strict=True)):
            print(f"attempt {a + 1} ({votes} vote(s)), {grid.shape[0]}x{grid.shape[1]}:")
            print(terminal_text(grid, None, None, colour))
        if not ans.attempts:
            print("no variant produced a valid grid")
        if ans.correct is not None:
            print("right (pass@2)" if ans.correct else "wrong: neither attempt equals the task's test output")
