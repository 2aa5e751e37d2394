"""The interface every task (Sudoku, maze, ARC) offers to the data, training and evaluation code."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Task(Protocol):
    """A puzzle family with a fixed-length token encoding.

    Attributes:
        name: Short task name, e.g. ``"sudoku"``.
        seq_len: Number of tokens per example.
        vocab_size: Number of token ids, PAD (0) included.
    """

    name: str
    seq_len: int
    vocab_size: int

    def parse(self, text: str) -> np.ndarray:
        """Turns the task's text form into a grid."""
        ...

    def render(self, grid: np.ndarray) -> str:
        """Turns a grid into human-readable text."""
        ...

    def encode(self, grid: np.ndarray) -> np.ndarray:
        """Turns a grid into uint8 tokens of shape [seq_len]."""
        ...

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Turns tokens of shape [seq_len] back into a grid; never raises on a model's (garbled) output."""
        ...

    def verify(self, puzzle: np.ndarray, answer: np.ndarray) -> bool:
        """Returns whether ``answer`` is a correct solution of ``puzzle``."""
        ...

    def score(self, inputs: np.ndarray, predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Task-level correctness of predicted token sequences.

        Args:
            inputs, predictions, labels: int [N, seq_len] token ids (labels as stored on disk).

        Returns:
            bool [N]: Sudoku: the grid obeys the rules and keeps the givens; maze: a valid shortest
            path from S to G; ARC: the cropped grid equals the target.
        """
        ...
