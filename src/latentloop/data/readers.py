"""Readers of puzzle files written by others: one-line puzzle lists and the references' Sudoku CSV.

* One-line files (tdoku's lists and the like): one puzzle per line in reading order, ``.`` or ``0``
  for a blank; blank lines and ``#`` comment lines are skipped.
* The reference CSV (``train.csv`` / ``test.csv`` of Sudoku-Extreme, read by the references'
  ``dataset/build_sudoku_dataset.py``): a header line, then one row ``source,q,a,rating`` per
  puzzle: ``q`` the puzzle (81 characters, ``.`` for a blank), ``a`` its solution (81 digits),
  ``rating`` tdoku's guess count (an integer). The reference builder skips the header unread and
  unpacks every row into exactly these four fields; here the header is checked too (the long names
  ``question,answer`` are accepted in place of ``q,a``), ``0`` also reads as a blank (as the
  reference's ``q.replace('.', '0')`` reads it), and every ``a`` must solve its ``q``.

CSV rows are read in chunks, each converted and checked with numpy at once, so millions of rows
take seconds and memory stays bounded by one chunk. Every error names the file and the line.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentloop.errors import PuzzleError
from latentloop.tasks.sudoku import SudokuShape, parse, shape_for_cells

FORMATS = ("lines", "csv")
CSV_HEADERS = (("source", "q", "a", "rating"), ("source", "question", "answer", "rating"))
CHUNK_ROWS = 32_768

# Character code -> cell value: "." and "0" blank, "1".."9" digits, anything else -1.
_VALUES = np.full(256, -1, np.int8)
_VALUES[ord(".")] = 0
_VALUES[ord("0") : ord("9") + 1] = np.arange(10)


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines as UTF-8 text, line endings kept (a byte-order mark is skipped).

    Lines are decoded one by one, so a decoding error names its line.
    """
    try:
        f = path.open("rb")
    except OSError as e:
        raise PuzzleError(f"cannot read puzzle file {path}: {e.strerror}") from None
    with f:
        for number, raw in enumerate(f, start=1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise PuzzleError(f"{path}, line {number}: not UTF-8 text") from None


def detect_format(path: str | Path) -> str:
    """``"csv"`` if the first line that is neither blank nor a ``#`` comment holds a comma, else ``"lines"``.

    A one-line puzzle never holds a comma, so the two formats cannot be confused.
    """
    for raw in _text_lines(Path(path)):
        line = raw.strip()
        if line and not line.startswith("#"):
            return "csv" if "," in line else "lines"
    return "lines"


# ----------------------------------------------------------------------------------------------
# One puzzle per line


def iter_puzzle_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yields (line number from 1, puzzle line stripped of surrounding whitespace) per puzzle.

    Blank and ``#`` comment lines are skipped; every puzzle is checked with
    `latentloop.tasks.sudoku.parse` (length, characters, contradicting givens).

    Raises:
        PuzzleError: An unreadable file or a bad puzzle, naming the file and line.
    """
    path = Path(path)
    for number, raw in enumerate(_text_lines(path), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            parse(line)
        except PuzzleError as e:
            raise PuzzleError(f"{path}, line {number}: {e}") from None
        yield number, line


def read_puzzle_lines(path: str | Path) -> list[tuple[int, str]]:
    """All of `iter_puzzle_lines`."""
    return list(iter_puzzle_lines(path))


def read_puzzle_file(path: str | Path) -> list[str]:
    """The puzzle lines of `read_puzzle_lines`, without their line numbers."""
    return [line for _, line in iter_puzzle_lines(path)]


# ----------------------------------------------------------------------------------------------
# The reference CSV


@dataclass(frozen=True)
class _Rows:
    """Raw fields of consecutive CSV rows, column by column."""

    lines: list[int]
    sources: list[str]
    questions: list[str]
    answers: list[str]
    ratings: list[str]

    @classmethod
    def of(cls, lines: list[int], rows: list[list[str]]) -> _Rows:
        sources, questions, answers, ratings = (list(column) for column in zip(*rows, strict=True))
        return cls(lines, sources, questions, answers, ratings)


@dataclass(frozen=True)
class CsvChunk:
    """Consecutive checked rows of a reference CSV.

    Attributes:
        lines: int64 [B], the line of each row in the file (the header is line 1).
        sources: The ``source`` field of each row.
        puzzles: int8 [B, size, size], 0 = blank.
        solutions: int8 [B, size, size], each a full grid that solves its puzzle.
        ratings: float32 [B].
    """

    lines: np.ndarray
    sources: list[str]
    puzzles: np.ndarray
    solutions: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return int(self.lines.shape[0])


def _raw_rows(path: Path, keep: np.ndarray | None, chunk_rows: int) -> Iterator[_Rows]:
    """Chunks of raw rows after a checked header; with ``keep`` only rows r with ``keep[r]`` (r from 0)."""
    reader = csv.reader(_text_lines(path))
    try:
        header = next(reader, None)
        if header is None:
            raise PuzzleError(f"{path} is empty; a reference CSV starts with the header source,q,a,rating")
        if tuple(name.strip() for name in header) not in CSV_HEADERS:
            raise PuzzleError(
                f"{path}, line 1: the header is {','.join(header)!r}; a reference CSV's is "
                "'source,q,a,rating' (or 'source,question,answer,rating')"
            )
        lines: list[int] = []
        rows: list[list[str]] = []
        index = 0
        for row in reader:
            if not row:
                continue
            if len(row) != 4:
                raise PuzzleError(f"{path}, line {reader.line_num}: {len(row)} fields; a row is source,q,a,rating")
            if keep is None or _kept(keep, index, path):
                lines.append(reader.line_num)
                rows.append(row)
            index += 1
            if len(rows) >= chunk_rows:
                yield _Rows.of(lines, rows)
                lines, rows = [], []
        if rows:
            yield _Rows.of(lines, rows)
    except csv.Error as e:
        raise PuzzleError(f"{path}, line {reader.line_num}: malformed CSV ({e})") from None


def _kept(keep: np.ndarray, index: int, path: Path) -> bool:
    if index >= keep.shape[0]:
        raise PuzzleError(f"{path} has more rows than when it was first read ({keep.shape[0]}); did it change?")
    return bool(keep[index])


@functools.cache
def _units(shape: SudokuShape) -> np.ndarray:
    """int64 [3 * size, size]: flat cell indices of every row, column and box."""
    n, br, bc = shape.size, shape.box_rows, shape.box_cols
    idx = np.arange(n * n).reshape(n, n)
    boxes = [idx[r : r + br, c : c + bc].ravel() for r in range(0, n, br) for c in range(0, n, bc)]
    return np.concatenate([idx, idx.T, np.stack(boxes)])


def _grids(texts: list[str], lines: list[int], shape: SudokuShape, what: str, full: bool, path: Path) -> np.ndarray:
    """int8 [B, size, size] of one-line grids; ``full``: no blank allowed."""

    def fail(i: int, message: str) -> PuzzleError:
        return PuzzleError(f"{path}, line {lines[i]}: {what} {message}")

    lengths = np.fromiter(map(len, texts), np.int64, count=len(texts))
    bad = np.flatnonzero(lengths != shape.cells)
    if bad.size:
        raise fail(bad[0], f"has {lengths[bad[0]]} cells; a {shape} Sudoku needs {shape.cells}")
    data = "".join(texts).encode("utf-8")
    if len(data) != len(texts) * shape.cells:  # a non-ASCII character
        i = next(i for i, text in enumerate(texts) if not text.isascii())
        pos, ch = next((p, ch) for p, ch in enumerate(texts[i]) if not ch.isascii())
        raise fail(i, f"has illegal character {ch!r} at position {pos + 1}")
    codes = np.frombuffer(data, np.uint8).reshape(len(texts), shape.cells)
    values = _VALUES[codes]
    wrong = (values < 0) | (values > shape.size) | ((values == 0) if full else False)
    if wrong.any():
        i, pos = np.argwhere(wrong)[0]
        ch = chr(codes[i, pos])
        if values[i, pos] < 0:
            raise fail(i, f"has illegal character {ch!r} at position {pos + 1}")
        if values[i, pos] == 0:
            raise fail(i, f"has a blank ({ch!r}) at position {pos + 1}; it must be a full grid")
        raise fail(i, f"has digit {ch} at position {pos + 1}; a {shape} Sudoku uses 1..{shape.size}")
    return values.reshape(len(texts), shape.size, shape.size)


def _check_solutions(puzzles: np.ndarray, solutions: np.ndarray, shape: SudokuShape, lines: list[int], path: Path):
    """Raises for the first solution that repeats a digit in a unit or changes a given of its puzzle."""
    flat = solutions.reshape(len(lines), -1).astype(np.int16)
    seen = np.bitwise_or.reduce(np.left_shift(1, flat[:, _units(shape)], dtype=np.int16), axis=2)
    broken = (seen != (1 << (shape.size + 1)) - 2).any(axis=1)
    givens = puzzles.reshape(len(lines), -1)
    changed = (givens != 0) & (givens != flat)
    bad = np.flatnonzero(broken | changed.any(axis=1))
    if not bad.size:
        return
    i = bad[0]
    if broken[i]:
        raise PuzzleError(f"{path}, line {lines[i]}: answer does not solve the puzzle (a digit repeats in a unit)")
    pos = int(np.flatnonzero(changed[i])[0])
    raise PuzzleError(f"{path}, line {lines[i]}: answer does not solve the puzzle (it changes the given at {pos + 1})")


def _ratings(texts: list[str], lines: list[int], path: Path) -> np.ndarray:
    """float32 [B] of the rating fields; each must be a finite number."""
    values = []
    for line, text in zip(lines, texts, strict=True):
        try:
            values.append(float(text))
        except ValueError:
            values.append(math.nan)
        if not math.isfinite(values[-1]):
            raise PuzzleError(f"{path}, line {line}: rating {text!r} is not a number")
    return np.array(values, np.float32)


def _parse(rows: _Rows, shape: SudokuShape, path: Path) -> CsvChunk:
    puzzles = _grids(rows.questions, rows.lines, shape, "puzzle", False, path)
    solutions = _grids(rows.answers, rows.lines, shape, "answer", True, path)
    _check_solutions(puzzles, solutions, shape, rows.lines, path)
    ratings = _ratings(rows.ratings, rows.lines, path)
    return CsvChunk(np.array(rows.lines, np.int64), rows.sources, puzzles, solutions, ratings)


def _shape_of(rows: _Rows, path: Path) -> SudokuShape:
    try:
        return shape_for_cells(len(rows.questions[0]))
    except PuzzleError as e:
        raise PuzzleError(f"{path}, line {rows.lines[0]}: {e}") from None


def _chunks(
    path: Path, shape: SudokuShape | None, keep: np.ndarray | None, chunk_rows: int
) -> Iterator[tuple[_Rows, CsvChunk]]:
    for rows in _raw_rows(path, keep, chunk_rows):
        shape = shape or _shape_of(rows, path)
        yield rows, _parse(rows, shape, path)


def iter_reference_csv(
    path: str | Path,
    shape: SudokuShape | None = None,
    keep: np.ndarray | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[CsvChunk]:
    """Yields the checked rows of a reference CSV in chunks of at most ``chunk_rows``.

    Args:
        path: The CSV file.
        shape: The grid every row must hold; None: the first row's (16, 36 or 81 cells).
        keep: Optional bool [rows]; only rows r (counted from 0, header and blank lines excluded)
            with ``keep[r]`` are converted and yielded.
        chunk_rows: Rows per chunk.

    Raises:
        PuzzleError: Unreadable file, wrong header, a row without exactly four fields, a malformed
            grid, an answer that does not solve its puzzle, or a rating that is not a number; the
            message names the file and the line.
    """
    for _, chunk in _chunks(Path(path), shape, keep, chunk_rows):
        yield chunk


def read_reference_csv(path: str | Path) -> list[tuple[str, str, float]]:
    """All rows of a reference CSV, checked as `iter_reference_csv` checks them.

    Returns:
        (question, answer, rating) per row, the grids as written in the file.
    """
    out = []
    for rows, chunk in _chunks(Path(path), None, None, CHUNK_ROWS):
        out += zip(rows.questions, rows.answers, chunk.ratings.astype(float).tolist(), strict=True)
    return out
