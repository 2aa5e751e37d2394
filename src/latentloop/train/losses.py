"""Losses of deep supervision: stablemax / softmax cross-entropy and the halting losses.

Reduction as in the references: per sequence, the token losses are averaged over scored tokens;
the sequences are then *summed* (the trainer divides by the global batch size). The total is
    lm_loss + halt_weight * (q_halt_loss + q_continue_loss),
with q_halt trained by BCE against "every scored token is right" and, for HRM's Q-learning
halting, q_continue by BCE against the bootstrapped target.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from latentloop.data.format import IGNORE_LABEL_ID


def log_stablemax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(s(x_i) / sum_j s(x_j)) with s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0."""
    s = torch.where(logits < 0, 1 / (1 - logits + 1e-30), logits + 1)
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def log_probs(logits: torch.Tensor, loss_type: str) -> torch.Tensor:
    """[B, L, V] log-probabilities under the loss's normalisation (stablemax in float64, softmax in float32)."""
    if loss_type == "stablemax":
        return log_stablemax(logits.to(torch.float64))
    return torch.log_softmax(logits.float(), dim=-1)


def stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token stablemax CE in float64 [B, L]; 0 where labels == IGNORE_LABEL_ID."""
    logp = log_probs(logits, "stablemax")
    mask = labels != IGNORE_LABEL_ID
    picked = torch.gather(logp, -1, torch.where(mask, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return -torch.where(mask, picked, 0)


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token softmax CE in float32 [B, L]; 0 where ignored."""
    return F.cross_entropy(
        logits.float().transpose(1, 2), labels.long(), ignore_index=IGNORE_LABEL_ID, reduction="none"
    )


LOSSES = {"stablemax": stablemax_cross_entropy, "softmax": softmax_cross_entropy}


@dataclass
class LossOutput:
    total: torch.Tensor  # scalar, summed over the batch
    lm_loss: torch.Tensor
    q_halt_loss: torch.Tensor
    q_continue_loss: torch.Tensor
    seq_correct: torch.Tensor  # [B] bool: every scored token right
    token_correct: torch.Tensor  # [B, L] bool
    n_scored: torch.Tensor  # [B] number of scored tokens
    q_halt: torch.Tensor  # [B] the halting logits the loss was computed on

    @staticmethod
    def cat(parts: list[LossOutput]) -> LossOutput:
        """The losses of micro-batches as those of their union (sums added, per-slot values concatenated)."""
        sums = [
            sum(getattr(p, f).detach() for p in parts) for f in ("total", "lm_loss", "q_halt_loss", "q_continue_loss")
        ]
        rest = [
            torch.cat([getattr(p, f) for p in parts]) for f in ("seq_correct", "token_correct", "n_scored", "q_halt")
        ]
        return LossOutput(*sums, *rest)


def act_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    q_halt: torch.Tensor,
    q_continue: torch.Tensor,
    *,
    loss_type: str = "stablemax",
    halt_weight: float = 0.5,
    target_q_continue: torch.Tensor | None = None,
    aux_logits: list[torch.Tensor] = (),
) -> LossOutput:
    """Deep-supervision loss of one supervision step for every slot.

    Args:
        logits: [B, L, V]; labels: [B, L] with IGNORE_LABEL_ID for unscored positions.
        q_halt, q_continue: [B] halting logits.
        target_q_continue: [B] bootstrapped target (Q-learning halting), or None.
        aux_logits: [B, L, V] each, intermediate loss points (segment / point supervision); their
            cross-entropies are added to lm_loss with the same reduction.
    """
    mask = labels != IGNORE_LABEL_ID
    n_scored = mask.sum(-1)
    token_loss = LOSSES[loss_type](logits, labels)
    lm_loss = (token_loss.sum(-1) / n_scored.clamp_min(1).to(token_loss.dtype)).sum()
    for extra in aux_logits:
        lm_loss = (
            lm_loss + (LOSSES[loss_type](extra, labels).sum(-1) / n_scored.clamp_min(1).to(token_loss.dtype)).sum()
        )
    token_correct = mask & (logits.argmax(-1) == labels)
    seq_correct = token_correct.sum(-1) == n_scored
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, seq_correct.to(q_halt.dtype), reduction="sum")
    q_continue_loss = torch.zeros((), dtype=q_halt.dtype, device=q_halt.device)
    if target_q_continue is not None:
        q_continue_loss = F.binary_cross_entropy_with_logits(q_continue, target_q_continue, reduction="sum")
    total = lm_loss + halt_weight * (q_halt_loss + q_continue_loss)
    return LossOutput(
        total, lm_loss, q_halt_loss, q_continue_loss, seq_correct, token_correct, n_scored, q_halt.detach()
    )
