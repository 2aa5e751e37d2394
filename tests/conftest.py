"""Shared fixtures: a tiny generated 4x4 Sudoku dataset and the path of ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _two_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def sudoku4_dataset(tmp_path_factory) -> Path:
    from latentloop.data.build_sudoku import build_sudoku_dataset

    out = tmp_path_factory.mktemp("data") / "sudoku4"
    return build_sudoku_dataset(out, size=4, n_train=200, n_test=60, aug=20, seed=0, progress=False)


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: ../shared is absent (only the project's own checkout is here)")
    return path
