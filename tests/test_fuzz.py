"""Fuzzing every parser: random text and grids either parse or raise our own error type, never a
stray IndexError / ValueError / KeyError from deep inside."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentloop.config import apply_overrides, load_config
from latentloop.data.format import DatasetMetadata
from latentloop.errors import LatentloopError
from latentloop.tasks import arc, maze, sudoku

FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 40) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=30,
)


def returns_or_raises_ours(fn, *args) -> None:
    with contextlib.suppress(LatentloopError):
        fn(*args)


sudoku_chars = st.text(alphabet="0123456789.x |+-\n", max_size=100)


@FUZZ
@given(st.one_of(sudoku_chars, st.text(max_size=90)))
def test_sudoku_parse(text: str) -> None:
    returns_or_raises_ours(sudoku.parse, text)


@FUZZ
@given(st.text(alphabet="# SGo.x\n", max_size=120))
def test_maze_parse(text: str) -> None:
    returns_or_raises_ours(maze.parse, text)


@FUZZ
@given(json_values)
def test_arc_parse_task(obj) -> None:
    returns_or_raises_ours(arc.parse_task, obj)
    returns_or_raises_ours(arc.parse_task, json.dumps(obj))


grid = st.lists(st.lists(st.integers(-2, 12), min_size=0, max_size=33), min_size=0, max_size=33)


@FUZZ
@given(grid)
def test_arc_parse_grid(rows) -> None:
    returns_or_raises_ours(arc.parse_grid, rows)


@FUZZ
@given(st.lists(st.text(alphabet="abcdefghilmnorstuxy._=01-:[]{}", max_size=30), max_size=3))
def test_config_overrides(overrides: list[str]) -> None:
    def go() -> None:
        load_config(None, base=apply_overrides({}, overrides))

    returns_or_raises_ours(go)


@FUZZ
@given(json_values)
def test_dataset_metadata(obj) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dataset.json"
        path.write_text(json.dumps(obj))
        returns_or_raises_ours(DatasetMetadata.from_json, path)


@FUZZ
@given(st.binary(max_size=200))
def test_dataset_metadata_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dataset.json"
        path.write_bytes(raw)
        returns_or_raises_ours(DatasetMetadata.from_json, path)
