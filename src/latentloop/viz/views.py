"""A task's view: how one of its grids is drawn in a picture, in the terminal and in the HTML report.

A view is a module (named by the task's `view` attribute; `latentloop.viz.generic` when it names
none) with:

    PANEL                  (width, height) in inches of one picture panel
    INPUT_TITLE, TARGET_TITLE
    LEGEND                 one sentence under a step-through viewer
    HTML_CSS               CSS rules for its cells' classes
    HTML_CELL_MAX          largest cell size in pixels in the HTML viewer
    draw(ax, grid, puzzle, previous, title)            one grid on a matplotlib axes
    step_title(puzzle, grid, target, t)                 the title of step t's panel
    terminal_text(grid, puzzle, previous, colour)       the grid as (ANSI) text
    html_cells(grid, puzzle, previous)                  [[text, CSS classes], ...] per row
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np

from latentloop.tasks.base import Task, companion
from latentloop.viz import figures


def view_of(task: Task) -> ModuleType:
    """The view module of `task`."""
    return companion(task, "view") or importlib.import_module("latentloop.viz.generic")


def save_trajectory(
    task: Task,
    puzzle: np.ndarray,
    steps: list[np.ndarray],
    target: np.ndarray | None,
    png_path: Path | None = None,
    gif_path: Path | None = None,
) -> dict[str, Path]:
    """Draw one trajectory of `task` as a PNG strip and/or an animated GIF.

    Returns:
        The files written, under the keys "png" and "gif".
    """
    view = view_of(task)
    puzzle, grids = np.asarray(puzzle), [np.asarray(g) for g in steps]
    target = None if target is None else np.asarray(target)
    written = {}
    if png_path is not None:
        written["png"] = figures.trajectory_figure(view, puzzle, grids, Path(png_path), target)
    if gif_path is not None:
        written["gif"] = figures.trajectory_gif(view, puzzle, grids, Path(gif_path), target)
    return written


def trace_text(view: ModuleType, sol, colour: bool) -> str:
    """Every step of a `latentloop.api.Solution` as terminal text, with its halting logit."""
    out, previous = [], sol.puzzle
    for t, g in enumerate(sol.trajectory):
        out += [
            f"step {t + 1} (halting logit {sol.q_halt[t]:+.2f})",
            view.terminal_text(g, sol.puzzle, previous, colour),
        ]
        previous = g
    return "\n".join(out) + "\n"
