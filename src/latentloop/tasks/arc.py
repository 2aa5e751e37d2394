"""ARC tasks as JSON: parsing and validation (augmentation and scoring arrive with the ARC dataset).

A task is `{"train": [{"input": GRID, "output": GRID}, ...], "test": [{"input": GRID, ...}, ...]}`,
a grid a list of 1..30 rows of 1..30 integers in 0..9, all rows equally long.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from latentloop.errors import PuzzleError

MAX_SIDE = 30


def parse_grid(obj: Any, where: str = "grid") -> np.ndarray:
    """A validated grid as int8 [h, w]."""
    if not isinstance(obj, list) or not obj:
        raise PuzzleError(f"{where}: expected a non-empty list of rows")
    if len(obj) > MAX_SIDE:
        raise PuzzleError(f"{where}: {len(obj)} rows; ARC grids have at most {MAX_SIDE}")
    width = None
    for r, row in enumerate(obj):
        if not isinstance(row, list) or not row:
            raise PuzzleError(f"{where}: row {r} is not a non-empty list")
        if width is None:
            width = len(row)
        if len(row) != width:
            raise PuzzleError(f"{where}: row {r} has {len(row)} cells, row 0 has {width} (ragged grid)")
        for c, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 9:
                raise PuzzleError(f"{where}: cell ({r}, {c}) is {v!r}; colours are integers 0..9")
    if width > MAX_SIDE:
        raise PuzzleError(f"{where}: {width} columns; ARC grids have at most {MAX_SIDE}")
    return np.array(obj, dtype=np.int8)


def parse_task(source: str | bytes | dict, name: str = "task") -> dict[str, list[dict[str, np.ndarray]]]:
    """Parse an ARC task (JSON text or an already-loaded dict) into validated numpy grids."""
    if isinstance(source, (str, bytes)):
        try:
            source = json.loads(source)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PuzzleError(f"{name}: not valid JSON ({e})") from None
    if not isinstance(source, dict):
        raise PuzzleError(f"{name}: expected an object with 'train' and 'test'")
    out: dict[str, list[dict[str, np.ndarray]]] = {}
    for split in ("train", "test"):
        pairs = source.get(split)
        if not isinstance(pairs, list) or not pairs:
            raise PuzzleError(f"{name}: '{split}' must be a non-empty list of pairs")
        parsed = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, dict) or "input" not in pair:
                raise PuzzleError(f"{name}: {split}[{i}] needs an 'input' grid")
            if split == "train" and "output" not in pair:
                raise PuzzleError(f"{name}: {split}[{i}] needs an 'output' grid")
            item = {"input": parse_grid(pair["input"], f"{name}: {split}[{i}].input")}
            if "output" in pair:
                item["output"] = parse_grid(pair["output"], f"{name}: {split}[{i}].output")
            parsed.append(item)
        out[split] = parsed
    return out
