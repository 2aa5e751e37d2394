"""Calibrates the Sudoku rating: real hard collections vs generated puzzles, and generator speed.

Rates a seeded sample of each real collection (tdoku's files under ``../shared/data/sudoku``),
random minimal puzzles and hill-climbed puzzles at each threshold, all with the builder's rating
(mean guesses, limit 1, over 16 random transforms), and prints the distributions side by side as
markdown. Then it measures the hill climber (`latentloop.tasks.sudoku_hard.climb` with the
builder's default `ClimbConfig`): puzzles kept per minute per core (CPU time of the chains) at each
threshold. The chains run in worker processes while the main process rates the collections.

Run (about 3 minutes on 2 cores once numba's cache is warm; the first run compiles for ~30 s):

    .venv/bin/python -m benchmarks.sudoku_ratings --sample 400 --chains 8 --workers 2

Chains vary a lot (some climb in 2,000 neighbours, some never reach the threshold in 6,000), so
the speed of 8 chains is good to about a factor 2; use ``--chains 32`` (and more workers) for a
firmer figure. Measured with the command above (2 shared cores): the climbed puzzles at threshold
50 have p10 55 / median 65 / mean 70, next to forum_hardest_1905_11+'s 51 / 87 / 92 and above
magictour's 9 / 15 / 26. 50 is therefore the extreme preset's default: its lower tail matches the
forum list that makes up most of Sudoku-Extreme's hard part; 60 brings the median closer (77) at a
similar cost per puzzle, 80 overshoots (median 111) at about half the speed.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from latentloop.data.readers import read_puzzle_file
from latentloop.tasks.sudoku import parse
from latentloop.tasks.sudoku_hard import ClimbConfig, climb, random_minimal_puzzles, seeded_ratings

TRANSFORMS = 16
COLLECTIONS = (
    "puzzles2_17_clue",
    "puzzles3_magictour_top1465",
    "puzzles5_forum_hardest_1905_11+",
    "puzzles6_forum_hardest_1106",
)
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sudoku"


def _ratings(puzzles: np.ndarray, seed: int) -> np.ndarray:
    return seeded_ratings(puzzles, np.random.SeedSequence(seed).generate_state(len(puzzles)), TRANSFORMS)


def _collection(path: Path, sample: int, seed: int) -> np.ndarray:
    lines = read_puzzle_file(path)
    picked = np.random.default_rng(seed).choice(len(lines), min(sample, len(lines)), replace=False)
    return _ratings(np.stack([parse(lines[i]) for i in sorted(picked)]), seed)


def _chain(job: tuple[float, int]) -> tuple[float, np.ndarray, int, float]:
    """(threshold, kept ratings, steps, CPU seconds) of one chain."""
    threshold, seed = job
    start = time.process_time()
    chain = climb(seed, threshold, ClimbConfig())
    return threshold, chain.ratings, chain.steps, time.process_time() - start


def _row(name: str, ratings: np.ndarray) -> str:
    if not len(ratings):
        return f"| {name} | 0 | - | - | - | - | - |"
    p10, median, p90 = np.percentile(ratings, [10, 50, 90])
    share = 100 * (ratings >= 40).mean()
    return f"| {name} | {len(ratings)} | {ratings.mean():.1f} | {p10:.1f} | {median:.1f} | {p90:.1f} | {share:.0f}% |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the tdoku puzzle files")
    parser.add_argument("--sample", type=int, default=400, help="puzzles rated per collection")
    parser.add_argument("--chains", type=int, default=8, help="hill-climbing chains per threshold")
    parser.add_argument("--thresholds", default="10,20,40,50,60,80", help="comma-separated minimum ratings")
    parser.add_argument("--workers", type=int, default=2, help="processes for the chains")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    thresholds = [float(t) for t in args.thresholds.split(",")]

    started = time.time()
    jobs = [(t, int(s)) for t in thresholds for s in np.random.SeedSequence(args.seed).generate_state(args.chains)]
    with ProcessPoolExecutor(args.workers) as pool:
        chains = pool.map(_chain, jobs)  # runs while the collections are rated below
        rows = []
        for name in COLLECTIONS:
            path = args.data / f"{name}.txt"
            if path.is_file():
                rows.append(_row(name, _collection(path, args.sample, args.seed)))
            else:
                rows.append(f"| {name} | (not found under {args.data}) | | | | | |")
        rows.append(_row("random minimal (generated)", _ratings(random_minimal_puzzles(args.seed, args.sample)[0], 1)))
        per_threshold = {t: [] for t in thresholds}
        for threshold, ratings, steps, cpu in chains:
            per_threshold[threshold].append((ratings, steps, cpu))

    speed = []
    for t, results in per_threshold.items():
        kept = np.concatenate([r for r, _, _ in results])
        cpu = sum(c for _, _, c in results)
        rows.append(_row(f"hill-climbed, rating >= {t:g}", kept))
        empty = sum(1 for r, _, _ in results if not len(r))
        steps = sum(s for _, s, _ in results)
        rate = 60 * len(kept) / cpu
        cells = (f"{t:g}", len(results), empty, len(kept), f"{steps / cpu:.0f}", f"{cpu:.0f}", f"{rate:.1f}")
        speed.append("| " + " | ".join(map(str, cells)) + " |")
    print(f"Ratings: mean guesses (limit 1) over {TRANSFORMS} random transforms; seed {args.seed}.\n")
    print("| set | puzzles | mean | p10 | median | p90 | >= 40 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    config = ClimbConfig()
    print(
        f"\nHill climber ({config.per_chain} puzzles with distinct solution grids per chain, at most "
        f"{config.max_steps} neighbours, pool {config.pool} from the best of {config.starts} random puzzles):\n"
    )
    print("| threshold | chains | chains that kept none | puzzles | neighbours/s | CPU s | puzzles/min/core |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(speed))
    print(f"\n{time.time() - started:.0f} s wall with {args.workers} worker(s)")


if __name__ == "__main__":
    main()
