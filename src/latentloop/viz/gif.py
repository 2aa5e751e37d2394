"""Writing trajectory pictures atomically: a PNG strip of panels, an animated GIF of frames.

A panel is a function that draws one grid on a matplotlib axes. A strip puts panels side by side
in one PNG; a GIF shows one frame per supervision step, each frame itself a short row of panels
(e.g. input | step t | target). `save_trajectory` picks the task's drawing module by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from PIL import Image

from latentloop.errors import LatentloopError

Panel = Callable[[plt.Axes], object]
TASKS = ("sudoku", "maze", "arc")
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


def save_trajectory(
    task_name: str,
    puzzle: np.ndarray,
    steps: Sequence[np.ndarray],
    target: np.ndarray | None,
    png_path: Path | None = None,
    gif_path: Path | None = None,
) -> dict[str, Path]:
    """Draw one trajectory of `task_name` ("sudoku", "maze" or "arc") as a PNG strip and/or a GIF.

    Returns:
        The files written, under the keys "png" and "gif".
    """
    from latentloop.viz import arc, maze, sudoku  # they import this module

    modules = {"sudoku": sudoku, "maze": maze, "arc": arc}
    if task_name not in modules:
        raise LatentloopError(
            f"unknown task {task_name!r} for a trajectory picture; expected one of {', '.join(TASKS)}"
        )
    module = modules[task_name]
    puzzle, grids = np.asarray(puzzle), [np.asarray(g) for g in steps]
    target = None if target is None else np.asarray(target)
    written = {}
    if png_path is not None:
        written["png"] = module.trajectory_figure(puzzle, grids, Path(png_path), target)
    if gif_path is not None:
        written["gif"] = module.trajectory_gif(puzzle, grids, Path(gif_path), target)
    return written
