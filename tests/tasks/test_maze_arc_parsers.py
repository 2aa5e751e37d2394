from __future__ import annotations

import json

import numpy as np
import pytest

from latentloop.errors import PuzzleError
from latentloop.tasks import arc, maze

GOOD_MAZE = "S  #\n # #\n   G"


def test_maze_round_trip() -> None:
    grid = maze.parse(GOOD_MAZE)
    assert grid.shape == (3, 4)
    assert maze.render(grid) == GOOD_MAZE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("   #\n # #\n   G", "0 start S cells"),
        ("S  #\n # #\n    ", "0 goal G cells"),
        ("S  #\n # #\nG  G", "2 goal G cells"),
        ("S  #\n # \n   G", "row 2 has 3 cells, row 1 has 4"),
        ("S  #\n #x#\n   G", "illegal character 'x' at row 2, column 3"),
        ("", "empty"),
    ],
)
def test_bad_mazes(text: str, fragment: str) -> None:
    with pytest.raises(PuzzleError, match=fragment):
        maze.parse(text)


def task(**overrides) -> dict:
    t = {"train": [{"input": [[0, 1], [2, 3]], "output": [[3, 2], [1, 0]]}], "test": [{"input": [[5]]}]}
    t.update(overrides)
    return t


def test_arc_task_parses() -> None:
    parsed = arc.parse_task(json.dumps(task()))
    assert parsed["train"][0]["output"].tolist() == [[3, 2], [1, 0]]
    assert parsed["test"][0]["input"].dtype == np.int8


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (task(train=[{"input": [[0, 1, 2], [3, 4]], "output": [[0]]}]), "ragged grid"),
        (task(train=[{"input": [[0, 11]], "output": [[0]]}]), "colours are integers 0..9"),
        (task(train=[{"input": [[0]] * 31, "output": [[0]]}]), "31 rows"),
        (task(train=[{"input": [[0] * 31], "output": [[0]]}]), "31 columns"),
        (task(train=[{"input": [[0]]}]), "needs an 'output'"),
        (task(test=[]), "'test' must be a non-empty list"),
        ("{not json", "not valid JSON"),
        ([1, 2], "expected an object"),
    ],
)
def test_bad_arc_tasks(bad, fragment: str) -> None:
    with pytest.raises(PuzzleError, match=fragment):
        arc.parse_task(bad if isinstance(bad, (str, list)) else json.dumps(bad))
