"""Shared fixtures: a tiny generated 4x4 Sudoku dataset and the path of ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _two_threads():
    # 2 on CI (the machine's cores); LATENTLOOP_TEST_THREADS=1 while another job holds the cores, where
    # tiny models on two oversubscribed threads run many times slower
    torch.set_num_threads(int(os.environ.get("LATENTLOOP_TEST_THREADS", "2")))


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


# Headless Chromium for the report's browser tests (Debian's chromium; CI installs it).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path(playwright) -> str:
    """The browser binary: $LATENTLOOP_CHROMIUM, a system Chromium, or the one Playwright installed."""
    if env := os.environ.get("LATENTLOOP_CHROMIUM"):
        if not Path(env).is_file():
            pytest.fail(f"LATENTLOOP_CHROMIUM={env} is not a file")
        return env
    candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", playwright.chromium.executable_path]
    found = next((c for c in candidates if Path(c).is_file()), None)
    if found is None:
        _skip_or_fail("no Chromium: set LATENTLOOP_CHROMIUM or install /usr/bin/chromium to run the browser test")
    return found


def _skip_or_fail(reason: str) -> None:
    """Skip on a user's machine; CI sets LATENTLOOP_REQUIRE_BROWSER=1 so that the browser tests must run."""
    if os.environ.get("LATENTLOOP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (LATENTLOOP_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api
    except ImportError:
        _skip_or_fail("playwright is not importable (pip install playwright)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=_chromium_path(p), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
