"""A toy task that lives only here, to show that a new puzzle family needs no edit in latentloop:
copy a 4x4 grid of digits 1..3 (blanks stay blank). This one module is the task, its registration
and its dataset builder; pictures, the terminal and the report use the generic view.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from latentloop.data.format import DatasetMetadata, write_dataset_atomically, write_identifiers, write_split
from latentloop.errors import PuzzleError
from latentloop.tasks.base import TaskDefaults, register

SIDE, DIGITS = 4, 3
HELP = "toy: copy a 4x4 grid of digits (a test task)"


@register
@dataclass(frozen=True)
class CopyTask(TaskDefaults):
    name: str = "copy4"
    seq_len: int = SIDE * SIDE
    vocab_size: int = DIGITS + 2  # PAD, blank, digits
    builder: ClassVar[str] = __name__  # this module; no view (the generic one) and no ratings

    @classmethod
    def from_metadata(cls, info: dict, seq_len: int, vocab_size: int | None) -> CopyTask:
        return cls()

    def parse(self, text: str) -> np.ndarray:
        cells = text.strip()
        if len(cells) != SIDE * SIDE or any(c not in ".123" for c in cells):
            raise PuzzleError(f"a copy4 puzzle is {SIDE * SIDE} characters of . and 1..{DIGITS}")
        return np.array([0 if c == "." else int(c) for c in cells], np.int8).reshape(SIDE, SIDE)

    def render(self, grid: np.ndarray) -> str:
        return "".join("." if v == 0 else str(int(v)) for v in np.asarray(grid).ravel())

    def encode(self, grid: np.ndarray) -> np.ndarray:
        return (np.asarray(grid).reshape(-1) + 1).astype(np.uint8)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        t = np.asarray(tokens).reshape(-1)[: SIDE * SIDE].astype(np.int64)
        return np.clip(t - 1, 0, DIGITS).astype(np.int8).reshape(SIDE, SIDE)

    def verify(self, puzzle: np.ndarray, answer: np.ndarray) -> bool:
        return bool(np.array_equal(puzzle, answer))

    def verdict(self, puzzle: np.ndarray, answer: np.ndarray) -> list[str]:
        return [self.render(answer), "a copy" if self.verify(puzzle, answer) else "NOT a copy"]

    def score(self, inputs: np.ndarray, predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return (np.asarray(predictions) == np.asarray(inputs)).all(axis=1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument("--test", type=int, default=50)


def build(args: argparse.Namespace) -> Path:
    rng = np.random.default_rng(args.seed)
    task = CopyTask()

    def write(root: Path) -> None:
        for split, n in (("train", args.train), ("test", args.test)):
            grids = rng.integers(0, DIGITS + 1, (n, SIDE, SIDE))
            tokens = np.stack([task.encode(g) for g in grids])
            meta = DatasetMetadata(
                seq_len=task.seq_len,
                vocab_size=task.vocab_size,
                pad_id=0,
                ignore_label_id=0,
                blank_identifier_id=0,
                num_puzzle_identifiers=1,
                total_groups=n,
                mean_puzzle_examples=1.0,
                task={"name": task.name},
            )
            arrays = {
                "inputs": tokens,
                "labels": tokens,
                "puzzle_identifiers": np.zeros(n, np.int32),
                "puzzle_indices": np.arange(n + 1),
                "group_indices": np.arange(n + 1),
            }
            write_split(root / split, arrays, meta)
        write_identifiers(root, ["<blank>"])

    return write_dataset_atomically(args.out, write)
