"""Puzzle tasks: pure puzzle logic (parsing, solving, generation, encoding), no torch."""

from __future__ import annotations

import math
from typing import Any

from latentloop.errors import DatasetError
from latentloop.tasks.base import Task


def task_for(info: dict[str, Any] | None, seq_len: int) -> Task:
    """The task a dataset was built for, from its metadata's ``task`` field.

    Datasets from the reference builders carry no ``task`` field; they are recognised by their
    sequence length (81 or 36 or 16 cells: Sudoku; 900 with vocabulary 6: maze is not guessable
    from the length alone, so a reference maze or ARC dataset needs its ``task`` field added).
    """
    name = (info or {}).get("name")
    if name is None:
        if seq_len in (16, 36, 81):
            name = "sudoku"
        else:
            raise DatasetError(
                f"dataset.json has no 'task' field and seq_len {seq_len} is not a Sudoku's; "
                'add "task": {"name": "maze"} or {"name": "arc"} to its dataset.json'
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
