"""Batches from an on-disk dataset, with the references' sampling, but seeded and resumable.

Training: an epoch is one random order of the groups (a group = one original puzzle and its
augmented versions); from each group one random puzzle is drawn and all its examples are
appended. Batches of exactly `global_batch_size` examples are cut from this stream; unlike the
references, a batch may span two epochs, so no example is dropped and the stream is a pure
function of (seed, epoch, cursor), which is all a checkpoint needs to resume it.

Evaluation: the split in order, the last batch padded with PAD inputs, ignored labels and the
blank puzzle id. Under DDP each rank keeps its own slice of every global batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentloop.data.format import BLANK_PUZZLE_ID, IGNORE_LABEL_ID, PAD_ID, Split


@dataclass
class Batch:
    inputs: torch.Tensor  # [B, L] int32
    labels: torch.Tensor  # [B, L] int64, IGNORE_LABEL_ID where unscored
    puzzle_identifiers: torch.Tensor  # [B] int32
    valid: torch.Tensor  # [B] bool: false for padding rows

    def to(self, device: torch.device) -> Batch:
        return Batch(
            *(t.to(device, non_blocking=True) for t in (self.inputs, self.labels, self.puzzle_identifiers, self.valid))
        )

    def rows(self, sl: slice) -> Batch:
        return Batch(self.inputs[sl], self.labels[sl], self.puzzle_identifiers[sl], self.valid[sl])

    @staticmethod
    def cat(parts: list[Batch]) -> Batch:
        return Batch(
            *(torch.cat([getattr(p, f) for p in parts]) for f in ("inputs", "labels", "puzzle_identifiers", "valid"))
        )


def _labels(split: Split, rows: np.ndarray) -> torch.Tensor:
    labels = torch.from_numpy(np.asarray(split.labels[rows]).astype(np.int64))
    return labels.masked_fill(labels == split.metadata.ignore_label_id, IGNORE_LABEL_ID)


class TrainStream:
    """Infinite, seeded stream of training batches; `state_dict` / `load_state_dict` resume it exactly."""

    def __init__(self, split: Split, global_batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if global_batch_size % world_size:
            raise ValueError("global batch size must be divisible by the world size")
        self.split, self.batch, self.seed = split, global_batch_size, seed
        self.rank, self.world = rank, world_size
        self.puzzle_of = split.example_puzzles
        self.epoch, self.cursor = 0, 0
        self._order = self._epoch_order(0)

    def _epoch_order(self, epoch: int) -> np.ndarray:
        """Example indices of one epoch: groups shuffled, one random puzzle per group, its examples shuffled."""
        rng = np.random.default_rng([self.seed, epoch])
        gi, pi = self.split.group_indices, self.split.puzzle_indices
        groups = rng.permutation(len(gi) - 1)
        sizes = gi[groups + 1] - gi[groups]
        puzzles = gi[groups] + (rng.random(len(groups)) * sizes).astype(np.int64)
        parts = (
            [rng.permutation(np.arange(pi[p], pi[p + 1])) for p in puzzles]
            if (np.diff(pi).max(initial=1) > 1)
            else [pi[puzzles]]
        )
        return np.concatenate(parts).astype(np.int64)

    def __iter__(self):
        return self

    def __next__(self) -> Batch:
        rows = []
        need = self.batch
        while need:
            take = self._order[self.cursor : self.cursor + need]
            rows.append(take)
            self.cursor += len(take)
            need -= len(take)
            if self.cursor >= len(self._order):
                self.epoch, self.cursor = self.epoch + 1, 0
                self._order = self._epoch_order(self.epoch)
        idx = np.concatenate(rows)
        local = self.batch // self.world
        idx = idx[self.rank * local : (self.rank + 1) * local]
        return Batch(
            torch.from_numpy(np.asarray(self.split.inputs[idx]).astype(np.int32)),
            _labels(self.split, idx),
            torch.from_numpy(self.split.puzzle_identifiers[self.puzzle_of[idx]].astype(np.int32)),
            torch.ones(len(idx), dtype=torch.bool),
        )

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "cursor": self.cursor, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch, self.cursor = state["seed"], state["epoch"], state["cursor"]
        self._order = self._epoch_order(self.epoch)


def eval_batches(split: Split, batch_size: int, max_examples: int = 0, rank: int = 0, world_size: int = 1):
    """Yield (example indices, Batch) over the split in order; the last batch is padded."""
    n = len(split.inputs) if not max_examples else min(max_examples, len(split.inputs))
    puzzle_of = split.example_puzzles
    local = -(-batch_size // world_size)
    for start in range(0, n, local * world_size):
        idx = np.arange(start + rank * local, min(start + (rank + 1) * local, n))
        size = local if world_size > 1 else len(idx)  # pad only where ranks must stay in step
        inputs = torch.full((size, split.inputs.shape[1]), PAD_ID, dtype=torch.int32)
        labels = torch.full((size, split.inputs.shape[1]), IGNORE_LABEL_ID, dtype=torch.int64)
        ids = torch.full((size,), BLANK_PUZZLE_ID, dtype=torch.int32)
        valid = torch.zeros(size, dtype=torch.bool)
        if len(idx):
            inputs[: len(idx)] = torch.from_numpy(np.asarray(split.inputs[idx]).astype(np.int32))
            labels[: len(idx)] = _labels(split, idx)
            ids[: len(idx)] = torch.from_numpy(split.puzzle_identifiers[puzzle_of[idx]].astype(np.int32))
            valid[: len(idx)] = True
        yield idx, Batch(inputs, labels, ids, valid)
