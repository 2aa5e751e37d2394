"""Tests of the readers of foreign puzzle files: one-line lists and the references' Sudoku CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentloop.data import readers as R
from latentloop.errors import PuzzleError
from latentloop.tasks import sudoku as S

MAGICTOUR_FIRST = "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........"
MAGICTOUR_FIRST_SOLUTION = "468931527751624839392578461134756298289413675675289314846192753513867942927345186"
GRID4 = "1234341221434321"
TWO_SOLUTIONS4 = "..34341...434321"  # GRID4 with an unavoidable rectangle blanked


def variants(k: int, seed: int = 0) -> list[tuple[str, str]]:
    """k (puzzle, solution) lines: the magictour puzzle under random Sudoku transforms."""
    shape, rng = S.shape_for_size(9), np.random.default_rng(seed)
    p, s = S.parse(MAGICTOUR_FIRST), S.parse(MAGICTOUR_FIRST_SOLUTION)
    out = []
    for _ in range(k):
        t = S.random_transform(shape, rng)
        out.append((S.to_line(S.apply_transform(p, t)), S.to_line(S.apply_transform(s, t))))
    return out


def write_csv(path: Path, rows: list[tuple[str, str, str, str]], header: str = "source,q,a,rating") -> Path:
    """A CSV in the reference layout: the header line, then source,q,a,rating rows."""
    path.write_text(header + "\n" + "".join(",".join(row) + "\n" for row in rows))
    return path


# ---------------------------------------------------------------------------------------------- one-line files


def test_read_puzzle_file(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(f"# comment\r\n\r\n{MAGICTOUR_FIRST}\r\n  {GRID4}  \n".encode())
    assert R.read_puzzle_file(path) == [MAGICTOUR_FIRST, GRID4]
    path.write_text(f"{MAGICTOUR_FIRST}\n# fine\n{MAGICTOUR_FIRST[:-1]}\n")
    with pytest.raises(PuzzleError, match=r"p\.txt, line 3: puzzle has 80 cells"):
        R.read_puzzle_file(path)
    with pytest.raises(PuzzleError, match="cannot read puzzle file"):
        R.read_puzzle_file(tmp_path / "missing.txt")
    path.write_bytes(f"{GRID4}\n\xff\xfe\n".encode("latin-1"))
    with pytest.raises(PuzzleError, match=r"p\.txt, line 2: not UTF-8 text"):
        R.read_puzzle_file(path)


def test_read_puzzle_lines_numbers_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text(f"# header\n\n{MAGICTOUR_FIRST}\n# note\n {GRID4}\n")
    assert R.read_puzzle_lines(path) == [(3, MAGICTOUR_FIRST), (5, GRID4)]
    assert list(R.iter_puzzle_lines(path)) == R.read_puzzle_lines(path)


def test_detect_format(tmp_path: Path) -> None:
    lines = tmp_path / "p.txt"
    lines.write_text(f"# a, comment with commas\n\n{MAGICTOUR_FIRST}\n")
    table = write_csv(tmp_path / "t.csv", [("x", MAGICTOUR_FIRST, MAGICTOUR_FIRST_SOLUTION, "3")])
    empty = tmp_path / "e.txt"
    empty.write_text("")
    assert [R.detect_format(p) for p in (lines, table, empty)] == ["lines", "csv", "lines"]


# ---------------------------------------------------------------------------------------------- the reference CSV


def test_reference_csv_rows_and_chunks(tmp_path: Path) -> None:
    pairs = variants(7)
    rows = [(f"src{i % 2}", q, a, str(i * 3)) for i, (q, a) in enumerate(pairs)]
    path = write_csv(tmp_path / "train.csv", rows)
    assert R.read_reference_csv(path) == [(q, a, float(r)) for _, q, a, r in rows]
    chunks = list(R.iter_reference_csv(path, chunk_rows=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    lines = np.concatenate([c.lines for c in chunks])
    assert lines.tolist() == list(range(2, 9))  # the header is line 1
    puzzles = np.concatenate([c.puzzles for c in chunks])
    solutions = np.concatenate([c.solutions for c in chunks])
    assert puzzles.dtype == solutions.dtype == np.int8 and puzzles.shape == (7, 9, 9)
    for (q, a), p, s in zip(pairs, puzzles, solutions, strict=True):
        assert S.to_line(p) == q and S.to_line(s) == a and S.verify(p, s)
    assert np.concatenate([c.ratings for c in chunks]).tolist() == [0, 3, 6, 9, 12, 15, 18]
    assert [source for c in chunks for source in c.sources] == [r[0] for r in rows]
    keep = np.array([0, 1, 0, 0, 1, 1, 0], bool)
    kept = list(R.iter_reference_csv(path, keep=keep, chunk_rows=2))
    assert np.concatenate([c.lines for c in kept]).tolist() == [3, 6, 7]
    with pytest.raises(PuzzleError, match="more rows than when it was first read"):
        list(R.iter_reference_csv(path, keep=keep[:4]))


def test_reference_csv_variants_of_the_layout(tmp_path: Path) -> None:
    """The long column names, '0' blanks (read like '.'), a byte-order mark, a trailing blank line, 4x4 grids."""
    q, a = MAGICTOUR_FIRST.replace(".", "0"), MAGICTOUR_FIRST_SOLUTION
    path = tmp_path / "t.csv"
    path.write_bytes(f"\ufeffsource,question,answer,rating\nx,{q},{a},2.5\n\n".encode())
    ((chunk),) = R.iter_reference_csv(path)
    assert S.to_line(chunk.puzzles[0]) == MAGICTOUR_FIRST and chunk.ratings.tolist() == [2.5]
    # The answer is taken as given: this 4x4 puzzle has two solutions, either is accepted.
    small = write_csv(
        tmp_path / "s.csv", [("a", TWO_SOLUTIONS4, GRID4, "0"), ("b", TWO_SOLUTIONS4, "2134341212434321", "1")]
    )
    ((chunk),) = R.iter_reference_csv(small)
    assert chunk.solutions.shape == (2, 4, 4) and S.to_line(chunk.solutions[0]) == GRID4
    # The first row fixes the grid size.
    mixed = write_csv(tmp_path / "m.csv", [("x", MAGICTOUR_FIRST, a, "1"), ("y", TWO_SOLUTIONS4, GRID4, "1")])
    with pytest.raises(PuzzleError, match=r"m\.csv, line 3: puzzle has 16 cells; a 9x9 Sudoku needs 81"):
        R.read_reference_csv(mixed)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"t\.csv is empty"),
        ("puzzle,solution\n", r"t\.csv, line 1: the header is 'puzzle,solution'"),
        ("source,q,a\n", r"t\.csv, line 1: the header is 'source,q,a'"),
        ("{h}\nx,{q},{a}\n", r"t\.csv, line 2: 3 fields; a row is source,q,a,rating"),
        ("{h}\nx,{q},{a},1\nx,{q},{a},1,9\n", r"t\.csv, line 3: 5 fields"),
        ("{h}\nx,{q},{a},1\nx,{q1},{a},1\n", r"t\.csv, line 3: puzzle has 80 cells; a 9x9 Sudoku needs 81"),
        ("{h}\nx,{qx},{a},1\n", r"t\.csv, line 2: puzzle has illegal character 'x' at position 2"),
        ("{h}\nx,{qu},{a},1\n", r"t\.csv, line 2: puzzle has illegal character 'é' at position 1"),
        ("{h}\nx,{q},{ablank},1\n", r"t\.csv, line 2: answer has a blank \('\.'\) at position 81"),
        ("{h}\nx,{q},{arev},1\n", r"t\.csv, line 2: answer does not solve the puzzle \(it changes the given at 1\)"),
        ("{h}\nx,{q},{aswap},1\n", r"t\.csv, line 2: answer does not solve the puzzle \(a digit repeats"),
        ("{h}\nx,{q},{a},hard\n", r"t\.csv, line 2: rating 'hard' is not a number"),
        ("{h}\nx,{q},{a},nan\n", r"t\.csv, line 2: rating 'nan' is not a number"),
        ('{h}\nx,"{q},{a},1\n', r"t\.csv, line 2: 2 fields"),
    ],
)
def test_bad_reference_csv_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    a = MAGICTOUR_FIRST_SOLUTION
    fields = {
        "h": "source,q,a,rating",
        "q": MAGICTOUR_FIRST,
        "q1": MAGICTOUR_FIRST[:-1],
        "qx": "." + "x" + MAGICTOUR_FIRST[2:],
        "qu": "é" + MAGICTOUR_FIRST[1:],
        "a": a,
        "ablank": a[:-1] + ".",
        "arev": a[::-1],  # a valid grid (turned by 180 degrees) that changes the givens
        "aswap": a[:9] + a[10] + a[9] + a[11:],  # two blank cells of a row swapped: their columns repeat a digit
    }
    path = tmp_path / "t.csv"
    path.write_text(content.format(**fields), encoding="utf-8")
    with pytest.raises(PuzzleError, match=message):
        R.read_reference_csv(path)


def test_unreadable_reference_csv(tmp_path: Path) -> None:
    with pytest.raises(PuzzleError, match="cannot read puzzle file"):
        R.read_reference_csv(tmp_path / "missing.csv")
    path = tmp_path / "t.csv"
    path.write_bytes(b"source,q,a,rating\n\xff\n")
    with pytest.raises(PuzzleError, match=r"t\.csv, line 2: not UTF-8 text"):
        R.read_reference_csv(path)
