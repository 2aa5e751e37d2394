"""Every preset builds; paper presets have the papers' parameter counts; engine invariants."""

from __future__ import annotations

import pytest
import torch

from latentloop.config import load_config, preset_names
from latentloop.model.reasoner import Reasoner


def build(name: str, *overrides: str) -> Reasoner:
    cfg = load_config(name, list(overrides))
    return Reasoner(cfg.model, cfg.data.vocab_size, cfg.data.seq_len, 1)


@pytest.mark.parametrize("name", preset_names())
def test_preset_builds_and_steps(name: str) -> None:
    cfg = load_config(name, ["model.forward_dtype=float32"])
    small = ["model.hidden_size=32", "model.num_heads=2", "model.forward_dtype=float32"]
    model = build(name, *small)
    B, L = 2, cfg.data.seq_len
    inputs = torch.randint(1, cfg.data.vocab_size, (B, L))
    out = model(model.initial_states(B), inputs, torch.zeros(B, dtype=torch.int32))
    assert out.logits.shape == (B, L, cfg.data.vocab_size)
    assert out.q_halt.shape == (B,) and out.q_halt.dtype == torch.float32
    assert torch.isfinite(out.logits).all()


def test_trm_mlp_sudoku_parameter_count() -> None:
    assert build("trm-mlp-sudoku").num_parameters() == 5_028_866


def test_trm_att_sudoku_parameter_count() -> None:
    # 2 blocks x (qkv 512x1536 + out 512x512 + SwiGLU 512x3072 + 1536x512) + embed + lm_head + q_head.
    per_block = 512 * 1536 + 512 * 512 + 512 * 3072 + 1536 * 512
    assert build("trm-att-sudoku").num_parameters() == 2 * per_block + 2 * 11 * 512 + 2 * 512 + 2
    # Maze (vocabulary 6) and ARC (12): the same blocks, other embedding and output tables.
    assert build("trm-att-maze").num_parameters() == 2 * per_block + 2 * 6 * 512 + 2 * 512 + 2 == 6_822_914
    assert build("trm-att-arc").num_parameters() == 2 * per_block + 2 * 12 * 512 + 2 * 512 + 2 == 6_829_058


def test_effective_depth_trm() -> None:
    model = build("trm-mlp-sudoku")
    assert model.effective_depth() == 42  # T (n + 1) x layers = 3 * 7 * 2
    assert model.n_grad_calls == 7


def test_layer_sharing_reduces_parameters() -> None:
    full = build("trm-mlp-sudoku", "model.modules.core.layers=4", "model.hidden_size=64", "model.num_heads=2")
    shared = build(
        "trm-mlp-sudoku",
        "model.modules.core.layers=4",
        "model.modules.core.distinct_layers=1",
        "model.hidden_size=64",
        "model.num_heads=2",
    )
    assert len(shared.stacks["core"].layers) == 1 and shared.stacks["core"].depth == 4
    assert shared.effective_depth() == full.effective_depth()
    assert shared.num_parameters() < full.num_parameters()


def test_gradient_window_reaches_only_the_last_calls() -> None:
    """Only the last `grad_calls` module calls build a graph: states entering them carry no grad."""
    model = build("trm-sudoku4-cpu", "model.forward_dtype=float32")
    seen = []
    stack = model.stacks["core"]
    original = stack.forward

    def spy(h, injection, rope):
        out = original(h, injection, rope)
        seen.append(out.requires_grad)
        return out

    stack.forward = spy
    x = torch.randint(1, 6, (2, 16))
    model(model.initial_states(2), x, torch.zeros(2, dtype=torch.int32))
    calls = 2 * (2 + 1)  # T (n + 1)
    assert seen == [False] * (calls - 3) + [True] * 3


def test_states_reset_per_slot() -> None:
    model = build("trm-sudoku4-cpu")
    states = {k: torch.randn_like(v) for k, v in model.initial_states(3).items()}
    reset = model.reset_states(states, torch.tensor([True, False, True]))
    init = model.initial_states(3)
    for k in states:
        assert torch.equal(reset[k][0], init[k][0]) and torch.equal(reset[k][2], init[k][2])
        assert torch.equal(reset[k][1], states[k][1])
