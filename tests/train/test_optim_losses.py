from __future__ import annotations

import math

import pytest
import torch

from latentloop.model.halting import exploration_min_steps, halt_decision, q_continue_target
from latentloop.train.optim import AdamATan2, SparseSignSGD, lr_at


def test_adam_atan2_matches_formula() -> None:
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5))
    start = p.detach().clone()
    opt = AdamATan2([p], lr=0.1, betas=(0.9, 0.95), weight_decay=0.5)
    grads = [torch.randn(5) for _ in range(3)]
    m = torch.zeros(5)
    v = torch.zeros(5)
    ref = start.clone()
    for t, g in enumerate(grads, 1):
        p.grad = g.clone()
        opt.step()
        ref = ref * (1 - 0.1 * 0.5)
        m = 0.9 * m + 0.1 * g
        v = 0.95 * v + 0.05 * g * g
        ref = ref - 0.1 / (1 - 0.9**t) * torch.atan2(m, v.sqrt() / math.sqrt(1 - 0.95**t))
    torch.testing.assert_close(p.detach(), ref, atol=1e-6, rtol=0)


def test_sparse_sign_sgd_touches_only_looked_up_rows() -> None:
    table = torch.nn.Parameter(torch.ones(6, 3))
    ids = torch.tensor([1, 4, 1])
    out = torch.nn.functional.embedding(ids, table, sparse=True)
    (out * torch.tensor([[1.0, -2.0, 0.0]])).sum().backward()
    opt = SparseSignSGD([table], lr=0.1, weight_decay=1.0)
    opt.step()
    w = table.detach()
    untouched = [0, 2, 3, 5]
    assert torch.equal(w[untouched], torch.ones(4, 3))  # no decay either
    # row: 1 * (1 - 0.1) - 0.1 * sign(g), g = (k, -2k, 0)
    torch.testing.assert_close(w[1], torch.tensor([0.8, 1.0, 0.9]))
    torch.testing.assert_close(w[4], torch.tensor([0.8, 1.0, 0.9]))


def test_lr_schedule() -> None:
    assert lr_at(1, 1.0, 10, 100, 1.0) == pytest.approx(0.1)
    assert lr_at(10, 1.0, 10, 100, 1.0) == pytest.approx(1.0)
    assert lr_at(100, 1.0, 10, 100, 1.0) == pytest.approx(1.0)  # lr_min_ratio 1: constant
    assert lr_at(100, 1.0, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_at(55, 1.0, 10, 100, 0.0) == pytest.approx(0.5)


def test_halting_rules() -> None:
    steps = torch.tensor([1, 1, 4, 2])
    q_halt = torch.tensor([0.5, -0.5, -1.0, 0.2])
    q_cont = torch.tensor([1.0, -1.0, 0.0, 0.0])
    kw = dict(max_steps=4)
    assert halt_decision(q_halt, q_cont, steps, mode="bce", training=True, **kw).tolist() == [True, False, True, True]
    assert halt_decision(q_halt, q_cont, steps, mode="q_learning", training=True, **kw).tolist() == [
        False,
        True,
        True,
        True,
    ]
    assert halt_decision(q_halt, q_cont, steps, mode="bce", training=False, **kw).tolist() == [
        False,
        False,
        True,
        False,
    ]
    assert halt_decision(q_halt, q_cont, steps, mode="none", training=True, **kw).tolist() == [
        False,
        False,
        True,
        False,
    ]
    # Exploration with probability 1: nothing halts before its drawn minimum (>= 2), the limit still halts.
    g = torch.Generator().manual_seed(0)
    low = exploration_min_steps(1000, mode="bce", max_steps=4, prob=1.0, generator=g, device=torch.device("cpu"))
    assert low.min() >= 2 and low.max() <= 4
    h = halt_decision(
        torch.full((1000,), 5.0),
        torch.zeros(1000),
        torch.ones(1000, dtype=torch.long),
        mode="bce",
        training=True,
        max_steps=4,
        min_steps=low,
    )
    assert not h.any()
    assert exploration_min_steps(8, mode="none", max_steps=4, prob=1.0, generator=g, device=torch.device("cpu")) is None
    t = q_continue_target(torch.tensor([0.0, 1.0]), torch.tensor([2.0, -1.0]), torch.tensor([False, True]))
    torch.testing.assert_close(t, torch.sigmoid(torch.tensor([2.0, 1.0])))
