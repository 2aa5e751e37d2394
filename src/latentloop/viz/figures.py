"""Pictures written atomically: a PNG strip of panels, an animated GIF of frames, and a trajectory
(a puzzle solved step by step) drawn with a task's view.

A panel is a function that draws one grid on a matplotlib axes. A strip puts panels side by side
in one PNG; a GIF shows one frame per supervision step, each frame itself a short row of panels
(input | step t | target). A view (`latentloop.viz.views`) says how one grid of its task is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from PIL import Image

Panel = Callable[[plt.Axes], object]
GRID_LINE = "#808080"
MAX_PANELS = 8  # step panels in a PNG strip; the GIF shows every step


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


def save_figure(fig: plt.Figure, path: Path, dpi: int = 110) -> Path:
    """Save a PNG under a temporary name, then rename it into place, and close the figure."""
    path = Path(path)
    tmp = _temporary(path)
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def panels_figure(panels: Sequence[Panel], panel_size: tuple[float, float], dpi: int = 110) -> plt.Figure:
    """A figure with the panels side by side, each `panel_size` inches (width, height)."""
    size = (panel_size[0] * len(panels), panel_size[1])
    fig, axes = plt.subplots(1, len(panels), figsize=size, dpi=dpi, squeeze=False)
    for ax, draw in zip(axes[0], panels, strict=True):
        draw(ax)
    fig.tight_layout()
    return fig


def save_strip(panels: Sequence[Panel], path: Path, panel_size: tuple[float, float]) -> Path:
    """One PNG with every panel side by side."""
    return save_figure(panels_figure(panels, panel_size), path)


def _frame_image(panels: Sequence[Panel], panel_size: tuple[float, float], dpi: int) -> Image.Image:
    fig = panels_figure(panels, panel_size, dpi)
    fig.canvas.draw()
    image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
    plt.close(fig)
    return image


def save_gif(
    frames: Sequence[Sequence[Panel]],
    path: Path,
    panel_size: tuple[float, float],
    duration_ms: int = 800,
    dpi: int = 90,
) -> Path:
    """An animated GIF, one frame per row of panels, looping forever; written atomically."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    images = [_frame_image(panels, panel_size, dpi) for panels in frames]
    path = Path(path)
    tmp = _temporary(path)
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    os.replace(tmp, path)
    return path


def changed_cells(grid: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """bool mask of the cells that differ from `previous` (none without one, all when the shapes differ)."""
    grid = np.asarray(grid)
    if previous is None:
        return np.zeros(grid.shape, dtype=bool)
    previous = np.asarray(previous)
    return previous != grid if previous.shape == grid.shape else np.ones(grid.shape, dtype=bool)


def show_codes(ax: plt.Axes, grid: np.ndarray, colours: Sequence[str], title: str = "", lines: bool = True) -> None:
    """Draw an int grid as coloured squares (code i in `colours[i]`), with thin cell lines and no ticks."""
    h, w = grid.shape
    ax.imshow(grid, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(colours) - 0.5, interpolation="nearest")
    if lines:
        ax.hlines(np.arange(h + 1) - 0.5, -0.5, w - 0.5, color=GRID_LINE, lw=0.3)
        ax.vlines(np.arange(w + 1) - 0.5, -0.5, h - 0.5, color=GRID_LINE, lw=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def _panels(view: ModuleType, puzzle: np.ndarray, steps: Sequence[np.ndarray], target: np.ndarray | None):
    """The input panel, one panel per step, and the target panel (if any) of a trajectory."""

    def step(t: int) -> Panel:
        previous = steps[t - 1] if t else puzzle
        title = view.step_title(puzzle, steps[t], target, t)
        return partial(view.draw, grid=steps[t], puzzle=puzzle, previous=previous, title=title)

    first = partial(view.draw, grid=puzzle, puzzle=puzzle, previous=None, title=view.INPUT_TITLE)
    last = (
        []
        if target is None
        else [partial(view.draw, grid=target, puzzle=puzzle, previous=None, title=view.TARGET_TITLE)]
    )
    return first, step, last


def trajectory_figure(
    view: ModuleType,
    puzzle: np.ndarray,
    steps: Sequence[np.ndarray],
    path: Path,
    target: np.ndarray | None = None,
    max_panels: int = MAX_PANELS,
) -> Path:
    """A PNG strip: the input, the grid after each supervision step (at most `max_panels`), the target."""
    first, step, last = _panels(view, puzzle, steps, target)
    return save_strip([first, *(step(t) for t in range(min(max_panels, len(steps)))), *last], path, view.PANEL)


def trajectory_gif(
    view: ModuleType, puzzle: np.ndarray, steps: Sequence[np.ndarray], path: Path, target: np.ndarray | None = None
) -> Path:
    """An animated GIF, one frame per supervision step: input | the grid after the step | target."""
    first, step, last = _panels(view, puzzle, steps, target)
    return save_gif([[first, step(t), *last] for t in range(len(steps))], path, view.PANEL)
