"""Terminal colours: whether to use them, and how to paint a cell. Each task's view renders its grids."""

from __future__ import annotations

import os
import sys

RESET, BOLD, RED, GREEN, CHANGED_CELL = "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[4;43m"


def use_colour(stream=None) -> bool:
    """Colours on a terminal unless NO_COLOR is set or TERM is dumb (https://no-color.org)."""
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def paint(text: str, *codes: str, colour: bool) -> str:
    """`text` wrapped in ANSI `codes` (when colour is on and there are any)."""
    return "".join(codes) + text + RESET if colour and codes else text
