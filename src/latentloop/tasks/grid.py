"""Grid symmetries shared by the tasks: the eight dihedral transforms of a 2-D grid.

Transform k (numbered as in the references' builders): 0 identity, 1 rot90, 2 rot180, 3 rot270
(counter-clockwise), 4 flip left-right, 5 flip up-down, 6 transpose, 7 anti-transpose.
"""

from __future__ import annotations

import numpy as np

from latentloop.errors import PuzzleError

NUM_DIHEDRAL = 8
DIHEDRAL_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)  # D_k^-1 = D_{DIHEDRAL_INVERSE[k]}
_VIEWS = (
    lambda g: g,
    lambda g: g.T[::-1],  # np.rot90(g, 1)
    lambda g: g[::-1, ::-1],  # np.rot90(g, 2)
    lambda g: g.T[:, ::-1],  # np.rot90(g, 3)
    lambda g: g[:, ::-1],  # np.fliplr(g)
    lambda g: g[::-1],  # np.flipud(g)
    lambda g: g.T,  # transpose
    lambda g: g.T[::-1, ::-1],  # np.fliplr(np.rot90(g, 1)), the anti-transpose
)


def check_dihedral(k: int) -> int:
    """`k` as an int in 0..7, else a PuzzleError."""
    if isinstance(k, bool) or k not in range(NUM_DIHEDRAL):
        raise PuzzleError(f"dihedral transform {k!r} does not exist; use 0..7")
    return int(k)


def dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """D_k(grid), as a view."""
    return _VIEWS[check_dihedral(k)](np.asarray(grid))


def inverse_dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """D_k^-1(grid), as a view: ``inverse_dihedral(dihedral(g, k), k) == g``."""
    return dihedral(grid, DIHEDRAL_INVERSE[check_dihedral(k)])
