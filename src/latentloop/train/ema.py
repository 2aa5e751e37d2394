"""Exponential moving average of the dense weights (TRM: decay 0.999, used for eval and checkpoints)."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class EMA:
    """shadow <- decay * shadow + (1 - decay) * param, for every parameter the model marks as dense."""

    def __init__(self, named_params: list[tuple[str, nn.Parameter]], decay: float = 0.999) -> None:
        self.decay = decay
        self.params = dict(named_params)
        self.shadow = {n: p.detach().clone() for n, p in self.params.items()}

    @torch.no_grad()
    def update(self) -> None:
        for n, p in self.params.items():
            self.shadow[n].lerp_(p.detach(), 1 - self.decay)

    @contextmanager
    def applied(self):
        """Temporarily swap the EMA weights into the model."""
        backup = {n: p.detach().clone() for n, p in self.params.items()}
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(self.shadow[n])
        try:
            yield
        finally:
            with torch.no_grad():
                for n, p in self.params.items():
                    p.copy_(backup[n])
