"""Scale check of ``latentloop data build sudoku --from`` on a reference CSV as large as Sudoku-Extreme's test.

The real ``test.csv`` (422,786 rows) is not reachable here, so this script writes a stand-in in the
references' layout (header ``source,q,a,rating``, ``.`` for blanks): a few hundred real puzzles
from ``../shared/data/sudoku/*.txt`` (or generated ones when that directory is absent), each solved
once, then put through random validity-preserving Sudoku transforms (digit relabelling,
band/row and stack/column permutations, transpose) to give ``--rows`` rows in random order, with
random integer ratings. It then measures, each in a child process of its own (wall time and peak
resident memory from ``wait4``):

1. ``build``: the paper's recipe from this file, ``latentloop data build sudoku --from train=CSV
   --from test=CSV --subsample 1000 --aug 1000`` (all rows to test, 1000 x 1001 train examples);
2. ``read``: the built test split read as ``latentloop eval`` reads it (`read_split`, then every
   evaluation batch of 256).

Run from the repository root (the full size takes minutes; the CSV is about 70 MB):

    .venv/bin/python -m benchmarks.sudoku_csv_scale --rows 422786 --out /tmp/sudoku_csv_scale
    .venv/bin/python -m benchmarks.sudoku_csv_scale --rows 5000   # a quick check

Peak memory includes the pages of the written and read ``.npy`` files that the process maps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from latentloop.data.readers import read_puzzle_file
from latentloop.tasks.sudoku import augment_many, generate, parse, shape_for_size, solve

SHARED_SUDOKU = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sudoku"
CHARS = np.frombuffer(b".123456789", np.uint8)
READ_SPLIT = """
import sys
from latentloop.data.format import read_split
from latentloop.data.loader import eval_batches
split = read_split(sys.argv[1])
print(sum(int(batch.valid.sum()) for _, batch in eval_batches(split, 256)))
"""


def base_puzzles(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """n (puzzle, solution) pairs int8 [n, 9, 9] and the name of the source of each."""
    rng = np.random.default_rng(seed)
    files = {path.stem: read_puzzle_file(path) for path in sorted(SHARED_SUDOKU.glob("*.txt"))}
    puzzles, solutions, sources = [], [], []
    for i in range(n):
        if files:
            name = list(files)[i % len(files)]
            puzzle = parse(files[name][int(rng.integers(len(files[name])))])
            _, solution, _ = solve(puzzle, limit=1)
            sources.append(name)
        else:
            puzzle, solution = generate(shape_for_size(9), rng)
            sources.append("generated")
        puzzles.append(puzzle)
        solutions.append(solution)
    return np.stack(puzzles), np.stack(solutions), sources


def write_csv(path: Path, rows: int, bases: int, seed: int) -> float:
    """Writes the stand-in CSV; returns the seconds it took."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    puzzles, solutions, sources = base_puzzles(bases, seed)
    per_base = np.bincount(np.arange(rows) % bases, minlength=bases)
    qs, as_, names = [], [], []
    for p, s, name, k in zip(puzzles, solutions, sources, per_base, strict=True):
        more_p, more_s = augment_many(p, s, rng, int(k))
        qs.append(CHARS[more_p.reshape(k, 81)])
        as_.append(CHARS[more_s.reshape(k, 81)])
        names += [name] * int(k)
    order = rng.permutation(rows)
    q, a, names = np.concatenate(qs)[order], np.concatenate(as_)[order], np.array(names)[order]
    ratings = rng.integers(0, 100, rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("source,q,a,rating\n")
        for start_row in range(0, rows, 10_000):
            block = range(start_row, min(start_row + 10_000, rows))
            f.write(
                "".join(f"{names[j]},{q[j].tobytes().decode()},{a[j].tobytes().decode()},{ratings[j]}\n" for j in block)
            )
    return time.perf_counter() - start


def measure(command: list[str]) -> dict[str, float | str]:
    """Runs a child process: its wall time, peak resident memory (MiB) and last line of output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # the child's own rusage, unlike RUSAGE_CHILDREN
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read()}")
        last = (out.read().strip().splitlines() or [""])[-1]
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1), "output": last}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=422_786, help="CSV rows (the real test split has 422,786)")
    p.add_argument("--bases", type=int, default=300, help="distinct puzzles the rows are transforms of")
    p.add_argument("--out", help="directory for the CSV and the dataset (default: a temporary one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="sudoku_csv_scale-"))
    out.mkdir(parents=True, exist_ok=True)
    csv_path, data = out / "test.csv", out / "sudoku-csv"
    results: dict[str, object] = {
        "rows": args.rows,
        "csv_write_s": round(write_csv(csv_path, args.rows, args.bases, args.seed), 2),
    }
    results["csv_mb"] = round(csv_path.stat().st_size / 2**20, 1)
    build = [sys.executable, "-m", "latentloop.cli", "data", "build", "sudoku", "--quiet", "--out", str(data)]
    build += ["--from", f"train={csv_path}", "--from", f"test={csv_path}", "--subsample", "1000", "--aug", "1000"]
    results["build"] = measure(build)
    results["read"] = measure([sys.executable, "-c", READ_SPLIT, str(data / "test")])
    if results["read"]["output"] != str(args.rows):
        raise SystemExit(f"the test split holds {results['read']['output']} examples, not {args.rows}")
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
