"""The Sudoku solver's numba kernels on flat candidate bitmasks (bit d-1 set = digit d possible).

Propagation applies naked and hidden singles to a fixpoint; search branches on the cell with the
fewest candidates (MRV) and counts guesses (value tries at branch points, not counting the last
remaining alternative). `latentloop.tasks.sudoku` wraps them for grids; `sudoku_hard` climbs on them.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _popcount(x: int) -> int:
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n


@numba.njit(cache=True)
def _propagate(masks, done, units, peers, full):
    """Naked + hidden singles to a fixpoint. Returns False on a contradiction."""
    n = units.shape[1]
    changed = True
    while changed:
        changed = False
        for c in range(masks.size):
            m = masks[c]
            if m == 0:
                return False
            if done[c] == 0 and (m & (m - 1)) == 0:
                done[c] = 1
                for k in range(peers.shape[1]):
                    p = peers[c, k]
                    if masks[p] & m:
                        masks[p] &= ~m
                        if masks[p] == 0:
                            return False
                        changed = True
        for u in range(units.shape[0]):
            once = 0
            twice = 0
            for k in range(n):
                m = masks[units[u, k]]
                twice |= once & m
                once |= m
            if once != full:
                return False
            exactly = once & ~twice
            while exactly:
                b = exactly & -exactly
                exactly ^= b
                found = False
                for k in range(n):
                    c = units[u, k]
                    if masks[c] & b:
                        found = True
                        if masks[c] != b:
                            masks[c] = b
                            changed = True
                        break
                if not found:
                    return False
    return True


@numba.njit(cache=True)
def _mrv(masks):
    """Index of the unsolved cell with the fewest candidates (lowest index on ties), -1 if solved."""
    best = -1
    best_count = 1 << 30
    for c in range(masks.size):
        k = _popcount(masks[c])
        if 1 < k < best_count:
            best = c
            best_count = k
            if k == 2:
                break
    return best


@numba.njit(cache=True)
def _pick(remaining, rank_row):
    """The candidate bit of ``remaining`` with the smallest rank."""
    best = 0
    best_rank = 1 << 30
    for d in range(rank_row.size):
        b = 1 << d
        if remaining & b and rank_row[d] < best_rank:
            best = b
            best_rank = rank_row[d]
    return best


@numba.njit(cache=True)
def search(masks0, units, peers, rank, limit, solutions):
    """Depth-first search from initial candidate masks.

    Args:
        masks0: int32 [cells] initial candidates.
        units, peers: Tables from `_tables`.
        rank: int64 [cells, size]; at a branch on cell c, digits are tried by ascending rank[c].
        limit: Stop after this many solutions.
        solutions: int64 [k, cells] output; row i receives the (i+1)-th solution found, for i < k
            (digits 1..size).

    Returns:
        (number of solutions found up to limit, guesses).
    """
    cells = masks0.size
    full = (1 << units.shape[1]) - 1
    masks = np.empty((cells + 1, cells), np.int32)
    done = np.zeros((cells + 1, cells), np.uint8)
    branch_cell = np.zeros(cells + 1, np.int64)
    remaining = np.zeros(cells + 1, np.int32)
    masks[0] = masks0
    count = 0
    guesses = 0
    depth = 0
    ok = _propagate(masks[0], done[0], units, peers, full)
    while True:
        d = depth - 1
        if ok:
            c = _mrv(masks[depth])
            if c < 0:
                if count < solutions.shape[0]:
                    for i in range(cells):
                        m = masks[depth, i]
                        digit = 0
                        while m:
                            m >>= 1
                            digit += 1
                        solutions[count, i] = digit
                count += 1
                if count >= limit:
                    break
            else:
                branch_cell[depth] = c
                remaining[depth] = masks[depth, c]
                d = depth
        while d >= 0 and remaining[d] == 0:
            d -= 1
        if d < 0:
            break
        c = branch_cell[d]
        b = _pick(remaining[d], rank[c])
        remaining[d] ^= b
        if remaining[d] != 0:
            guesses += 1
        masks[d + 1] = masks[d]
        done[d + 1] = done[d]
        masks[d + 1, c] = b
        depth = d + 1
        ok = _propagate(masks[depth], done[depth], units, peers, full)
    return count, guesses


@numba.njit(cache=True)
def grid_masks(flat, size):
    full = (1 << size) - 1
    masks = np.empty(flat.size, np.int32)
    for i in range(flat.size):
        masks[i] = full if flat[i] == 0 else 1 << (flat[i] - 1)
    return masks


@numba.njit(cache=True)
def minimize(solution, cell_order, units, peers, rank):
    """Removes clues of a full grid in ``cell_order`` while the puzzle keeps a unique solution.

    A clue v at cell c can go iff no solution has another digit at c, which one limit-1 search with
    v excluded at c decides.
    """
    size = units.shape[1]
    puzzle = solution.copy()
    scratch = np.zeros((1, solution.size), np.int64)
    for c in cell_order:
        v = puzzle[c]
        puzzle[c] = 0
        masks = grid_masks(puzzle, size)
        masks[c] &= ~(1 << (v - 1))
        found, _ = search(masks, units, peers, rank, 1, scratch)
        if found:
            puzzle[c] = v
    return puzzle
