"""Puzzle tasks: pure puzzle logic (parsing, solving, generation, encoding), no torch."""

from __future__ import annotations

import math
from typing import Any

from latentloop.errors import DatasetError
from latentloop.tasks.base import Task


def task_for(info: dict[str, Any] | None, seq_len: int, vocab_size: int | None = None) -> Task:
    """The task a dataset was built for, from its metadata's ``task`` field.

    Datasets from the reference builders carry no ``task`` field; they are recognised by their
    shape as the references' builders make them: 16, 36 or 81 cells is a Sudoku, 900 cells with a
    vocabulary of 6 a 30x30 maze, 900 with 12 an ARC canvas.
    """
    name = (info or {}).get("name")
    if name is None:
        if seq_len in (16, 36, 81):
            name = "sudoku"
        elif seq_len == 900 and vocab_size in (6, 12):
            name = "maze" if vocab_size == 6 else "arc"
        else:
            raise DatasetError(
                f"dataset.json has no 'task' field and seq_len {seq_len} / vocab_size {vocab_size} match no "
                'task; add "task": {"name": "maze"} (or "sudoku", "arc") to its dataset.json'
            )
    if name == "sudoku":
        from latentloop.tasks.sudoku import SudokuTask, shape_for_cells

        return SudokuTask(shape_for_cells(seq_len))
    if name == "maze":
        from latentloop.tasks.maze import MazeTask

        side = math.isqrt(seq_len)
        return MazeTask(int((info or {}).get("height", side)), int((info or {}).get("width", side)))
    if name == "arc":
        from latentloop.tasks.arc import ArcTask

        return ArcTask()
    raise DatasetError(f"dataset.json names an unknown task {name!r} (known: sudoku, maze, arc)")
