"""Accuracy from predictions: exact (whole puzzle) and token accuracy, ignoring unscored positions."""

from __future__ import annotations

import torch

from latentloop.data.format import IGNORE_LABEL_ID


def token_and_exact(preds: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example: fraction of scored tokens right [B] (float) and all scored tokens right [B] (bool).

    Args:
        preds, labels: [B, L]; labels equal to IGNORE_LABEL_ID are not scored.
    """
    mask = labels != IGNORE_LABEL_ID
    n = mask.sum(-1)
    right = (mask & (preds == labels)).sum(-1)
    return right.float() / n.clamp_min(1).float(), right == n
