"""Every preset builds; paper presets have the papers' parameter counts; engine invariants."""

from __future__ import annotations

import math

import pytest
import torch

from latentloop.config import load_config, preset_names
from latentloop.model.layers import AttentionMixer, apply_rope, rms_norm, rope_tables
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
    assert build("trm-att-arc2").num_parameters() == 6_829_058


def test_hrm_recipes_parameter_counts() -> None:
    """HRM's 8 blocks and, per vocabulary, token embedding + lm_head + q_head (Sudoku 11, Maze 6, ARC 12)."""
    blocks = 8 * (512 * 1536 + 512 * 512 + 512 * 3072 + 1536 * 512)
    counts = {"hrm": 11, "hrm-sudoku-1gpu": 11, "hrm-maze": 6, "hrm-arc1": 12, "hrm-arc2": 12}
    with torch.device("meta"):  # shapes only: no weights are drawn
        params = {name: build(name).num_parameters() for name in counts}
    for name, vocab in counts.items():
        assert params[name] == blocks + 2 * vocab * 512 + 2 * 512 + 2, name
    assert params["hrm-maze"] == 27_270_146 and params["hrm-arc1"] == 27_276_290


def test_head_dim_narrower_than_the_width() -> None:
    """12 heads of 42 on width 512 (the released transformer baseline): q, k, v are 504 wide, RoPE spans 42."""
    with torch.device("meta"):  # shapes only: no weights are drawn
        model, explicit = build("transformer-act"), build("transformer-act", "model.head_dim=42")
        narrow = build("trm-att-sudoku", "model.head_dim=32")  # 8 heads of 32: attention width 256 on 512
        full = build("trm-att-sudoku")
    attention = model.stacks["core"].layers[0].mixer
    assert attention.qkv.weight.shape == (3 * 12 * 42, 512)
    assert attention.out.weight.shape == (512, 504)
    assert model.rope_cos.shape == (model.total_len, 42)
    assert {k: v.shape for k, v in explicit.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    assert narrow.num_parameters() == full.num_parameters() - 2 * 4 * 512 * 256


def test_attention_with_head_dim_equals_the_formula() -> None:
    """h <- norm(h + o(softmax(rope(q) rope(k)^T / sqrt(d)) v)) with 3 heads of 4 on width 16."""
    torch.manual_seed(0)
    heads, d, S = 3, 4, 5
    mixer = AttentionMixer(16, heads, 1e-5, head_dim=d)
    cos, sin = rope_tables(d, S, 10000.0)
    h = torch.randn(2, S, 16)
    q, k, v = mixer.qkv(h).view(2, S, 3, heads, d).unbind(2)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d)
    attn = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).reshape(2, S, heads * d)
    expected = rms_norm(h + mixer.out(attn), 1e-5)
    torch.testing.assert_close(mixer(h, (cos, sin)), expected, rtol=1e-5, atol=1e-5)


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
