"""The interface every task offers to the rest of latentloop, and the registry of tasks.

A task is one puzzle family with a fixed-length token encoding. Its module (e.g. `tasks/sudoku.py`)
owns parsing, rendering, encoding, verification and augmentation, and names its companions by
module path, so that nothing outside the task's own modules branches on its name:

    builder     `data build NAME`: a module with `HELP` (and `DESCRIPTION`), `add_arguments(parser)` and
                `build(args) -> Path`; "" = none
    view        pictures, terminal and HTML rendering (see `latentloop.viz.views`); "" = the generic view
    evaluation  task-level scoring over a whole split (ARC: voting, pass@K, submission.json); "" = none.
                A module with `DEFAULT_CHECKPOINTS` (all | last: which checkpoints `eval` votes over),
                `collector(dataset_dir, split)` (an object whose `add_records(records)` takes each
                checkpoint's per-example records), `report(collector, run_dir, checkpoints) -> dict`
                (eval.json's `task_scoring`), `lines(report)` (console lines), `summary(report)` (the
                report's headline numbers), and optionally `solve_file(run, text, path, steps)` for `solve` on
                an input that is more than one puzzle (an ARC task file; the view's `print_file_answers`
                prints what it returns)

A new task is a new module that defines a class following `Task` and calls `register` on it
(packages may also declare one under the entry-point group `latentloop.tasks`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from latentloop.errors import DatasetError

BUILTIN_MODULES = ("latentloop.tasks.sudoku", "latentloop.tasks.maze", "latentloop.tasks.arc")


@dataclass(frozen=True, eq=False)
class View:
    """A symmetry of a task written on its tokens: the view of a sequence x is ``tokens[x[positions]]``.

    A puzzle's view has the view of its answer as its answer, so a model can be asked the same puzzle in
    other clothes and its answers mapped back (`latentloop.evaluate.sampling`: test-time augmentation).

    Attributes:
        positions: int64 [seq_len]: the position of x that each position of the view reads.
        tokens: int64 [vocab_size]: the token each token becomes (a permutation; PAD stays PAD).
    """

    positions: np.ndarray
    tokens: np.ndarray


@runtime_checkable
class Task(Protocol):
    """A puzzle family with a fixed-length token encoding.

    Attributes:
        name: Short task name, e.g. ``"sudoku"``; the ``task.name`` field of a dataset.json.
        seq_len: Number of tokens per example.
        vocab_size: Number of token ids, PAD (0) included.
        rating_name: What the dataset's per-puzzle ``ratings`` measure ("" when it has none).
        builder, view, evaluation: module paths of the companions (see the module docstring).
    """

    name: str
    seq_len: int
    vocab_size: int
    rating_name: ClassVar[str]
    builder: ClassVar[str]
    view: ClassVar[str]
    evaluation: ClassVar[str]

    @classmethod
    def from_metadata(cls, info: dict[str, Any], seq_len: int, vocab_size: int) -> Task:
        """The task of a dataset whose dataset.json names this task (``info`` = its ``task`` field)."""
        ...

    @classmethod
    def recognise(cls, seq_len: int, vocab_size: int, root: Path | None) -> Task | None:
        """The task of a foreign dataset without a ``task`` field (e.g. built by the references), if it is this one."""
        ...

    def parse(self, text: str) -> np.ndarray:
        """A user's puzzle in the task's text form -> grid; one clear `PuzzleError` when it is not a valid puzzle."""
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
        """Returns whether ``answer`` is a correct solution of ``puzzle`` (by the rules, no label needed)."""
        ...

    def verdict(self, puzzle: np.ndarray, answer: np.ndarray) -> list[str]:
        """Lines that `solve` prints under the answer: its one-line form if any, and whether it is valid."""
        ...

    def check(self, inputs: np.ndarray, predictions: np.ndarray) -> np.ndarray | None:
        """Label-free rule check of token sequences [N, seq_len] (a Sudoku that obeys the rules and keeps its
        givens; a valid shortest maze path); None when the task has none (ARC needs the target)."""
        ...

    def closest_answers(self, inputs: np.ndarray, log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Training targets for `train.target=closest`: of each puzzle's correct answers, the one the model favours.

        Args:
            inputs, labels: int [N, seq_len] token ids (labels as the trainer holds them).
            log_probs: float [N, seq_len, vocab_size], the model's log-probabilities under the training loss.

        Returns:
            int [N, seq_len]: per puzzle the correct answer of highest log-probability, the label among equals;
            the labels themselves where a puzzle has one answer (or the label is not of the task's form).
        """
        ...

    def views(self, count: int, seed: int) -> list[View] | None:
        """``count`` symmetries of the task, the identity first (random ones drawn from ``seed`` where the task
        has many); None when the task has none to offer (ARC augments in its own evaluation)."""
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


class TaskDefaults:
    """What a task has unless it says otherwise: no ratings, no builder, the generic view, no task-level
    scoring, no recognition of unnamed datasets, and one answer per puzzle."""

    rating_name: ClassVar[str] = ""
    builder: ClassVar[str] = ""
    view: ClassVar[str] = ""
    evaluation: ClassVar[str] = ""

    @classmethod
    def recognise(cls, seq_len: int, vocab_size: int | None, root: Path | None) -> Task | None:
        return None

    def check(self, inputs: np.ndarray, predictions: np.ndarray) -> np.ndarray | None:
        """bool [N]: whether each predicted answer passes the task's own rules, with no label (None: no such rule)."""
        return None

    def closest_answers(self, inputs: np.ndarray, log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One answer per puzzle (the label) unless the task says otherwise."""
        return labels

    def views(self, count: int, seed: int) -> list[View] | None:
        """No symmetries unless the task says otherwise."""
        return None


_REGISTRY: dict[str, type] = {}
_loaded = False


def register(cls: type) -> type:
    """Add a task class to the registry (usable as a class decorator); a name is taken only once."""
    other = _REGISTRY.get(cls.name)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise ValueError(f"task name {cls.name!r} is taken by {other.__module__}.{other.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> dict[str, type]:
    """Every registered task class by name: the built-in ones, entry points, and any registered since."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for ep in entry_points(group="latentloop.tasks"):
            ep.load()
    return dict(_REGISTRY)


def task_for(
    info: dict[str, Any] | None, seq_len: int, vocab_size: int | None = None, root: str | Path | None = None
) -> Task:
    """The task of a dataset: named by its dataset.json's ``task`` field, else recognised by its shape and layout.

    Raises:
        DatasetError: The named task is unknown, or no task recognises an unnamed dataset.
    """
    tasks = registered()
    name = (info or {}).get("name")
    if name is not None:
        if name not in tasks:
            raise DatasetError(f"dataset.json names an unknown task {name!r} (known: {', '.join(sorted(tasks))})")
        return tasks[name].from_metadata(info or {}, seq_len, vocab_size)
    where = Path(root) if root is not None else None
    for cls in tasks.values():
        found = cls.recognise(seq_len, vocab_size, where)
        if found is not None:
            return found
    raise DatasetError(
        f"dataset.json has no 'task' field and seq_len {seq_len} / vocab_size {vocab_size} match no task; "
        f'add "task": {{"name": ...}} ({", ".join(sorted(tasks))}) to its dataset.json'
    )


def companion(task: Task, role: str) -> Any:
    """The task's companion module for `role` (builder, view, evaluation), or None when it has none."""
    path = getattr(task, role, "")
    return importlib.import_module(path) if path else None
