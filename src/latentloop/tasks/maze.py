"""Mazes as text: parsing and validation (the dataset builder and solver arrive with the maze dataset).

A maze is a rectangular grid of characters, one row per line:
    `#` wall, ` ` (or `.`) open cell, `S` start, `G` goal, `o` a cell on the path (labels only).
Token ids follow the references: 0 PAD, 1 `#`, 2 open, 3 `S`, 4 `G`, 5 `o`.
"""

from __future__ import annotations

import numpy as np

from latentloop.errors import PuzzleError

CHARS = "# SGo"
MAX_SIDE = 100
_CODE = {c: i for i, c in enumerate(CHARS)} | {".": 1}


def parse(text: str, allow_path: bool = False) -> np.ndarray:
    """Parse a maze into codes [H, W] (0 `#`, 1 open, 2 `S`, 3 `G`, 4 `o`).

    Raises:
        PuzzleError: ragged rows, unknown characters, not exactly one S and one G, too large.
    """
    if not isinstance(text, str):
        raise PuzzleError(f"maze must be text, got {type(text).__name__}")
    rows = [line.rstrip("\r") for line in text.split("\n")]
    while rows and not rows[-1].strip():
        rows.pop()
    while rows and not rows[0].strip():
        rows.pop(0)
    if not rows:
        raise PuzzleError("maze is empty")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise PuzzleError(f"maze row {i + 1} has {len(row)} cells, row 1 has {width}: rows must be equally long")
    if len(rows) > MAX_SIDE or width > MAX_SIDE:
        raise PuzzleError(f"maze is {len(rows)}x{width}; at most {MAX_SIDE}x{MAX_SIDE} is supported")
    allowed = CHARS + "." if allow_path else "# SG."
    grid = np.zeros((len(rows), width), dtype=np.int8)
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch not in allowed:
                raise PuzzleError(f"maze has illegal character {ch!r} at row {r + 1}, column {c + 1}")
            grid[r, c] = _CODE[ch]
    for mark, name in ((2, "start S"), (3, "goal G")):
        count = int((grid == mark).sum())
        if count != 1:
            raise PuzzleError(f"maze has {count} {name} cells; it needs exactly one")
    return grid


def render(grid: np.ndarray) -> str:
    return "\n".join("".join(CHARS[v] for v in row) for row in np.asarray(grid))
