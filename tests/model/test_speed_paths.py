"""The fast paths are switches, not forks: bf16 compute with fp32 master weights, torch.compile and
fused attention (SDPA) give the results of the plain fp32 eager path (within their precision)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from latentloop.config import load_config
from latentloop.data.loader import Batch
from latentloop.evaluate.inference import rollout
from latentloop.model.layers import AttentionMixer, TokenMLPMixer, rms_norm
from latentloop.model.reasoner import Reasoner
from latentloop.train.trainer import Carry, supervision_step

TINY = ["model.hidden_size=64", "model.num_heads=2", "model.halt_exploration_prob=0"]


def model_and_batch(dtype: str, preset: str = "trm-att-sudoku"):
    cfg = load_config(preset, [*TINY, f"model.forward_dtype={dtype}"])
    torch.manual_seed(0)
    model = Reasoner(cfg.model, cfg.data.vocab_size, cfg.data.seq_len, 1)
    g = torch.Generator().manual_seed(1)
    inputs = torch.randint(1, cfg.data.vocab_size, (8, cfg.data.seq_len), generator=g)
    labels = torch.randint(2, cfg.data.vocab_size, (8, cfg.data.seq_len), generator=g)
    batch = Batch(inputs.int(), labels.long(), torch.zeros(8, dtype=torch.int32), torch.ones(8, dtype=torch.bool))
    return cfg, model, batch


def test_bf16_keeps_fp32_master_weights_and_stays_close() -> None:
    _, fp32, batch = model_and_batch("float32")
    cfg, bf16, _ = model_and_batch("bfloat16")
    bf16.load_state_dict(fp32.state_dict())
    # one supervision step (21 block calls); an untrained recursion then drifts apart chaotically
    a = rollout(fp32, batch.inputs, batch.puzzle_identifiers, 1)
    b = rollout(bf16, batch.inputs, batch.puzzle_identifiers, 1)
    for ra, rb in zip(a, b, strict=True):
        assert rb.logits.dtype == torch.bfloat16 and rb.q_halt.dtype == torch.float32
        rel = (rb.logits.float() - ra.logits).norm() / ra.logits.norm()
        assert rel < 0.05, rel
        assert (rb.logits.argmax(-1) == ra.logits.argmax(-1)).float().mean() > 0.98
    _, loss = supervision_step(bf16, Carry.start(bf16, batch), batch, cfg)
    loss.total.backward()
    for name, p in bf16.named_parameters():
        assert p.dtype == torch.float32, name
        if p.grad is not None:
            assert p.grad.dtype == torch.float32, name


@pytest.mark.slow
def test_compiled_step_matches_eager() -> None:
    cfg, eager, batch = model_and_batch("float32", "trm-mlp-sudoku")
    _, compiled, _ = model_and_batch("float32", "trm-mlp-sudoku")
    compiled.load_state_dict(eager.state_dict())
    for stack in compiled.stacks.values():
        stack.compile()
    results = []
    for model in (eager, compiled):
        carry = Carry.start(model, batch)
        carry, loss = supervision_step(model, carry, batch, cfg)
        loss.total.backward()
        results.append(
            (loss.total.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
        )
    (la, ga), (lb, gb) = results
    torch.testing.assert_close(la, lb, rtol=1e-5, atol=1e-5)
    for name in ga:
        rel = ((ga[name] - gb[name]).norm() / (ga[name].norm() + 1e-12)).item()
        assert rel < 2e-4, (name, rel)  # fused kernels round in another order (measured: about 3e-5)


def test_fused_attention_equals_the_formula() -> None:
    """SDPA = softmax(q k^T / sqrt(d)) v, bidirectional, with the output projection, residual and norm."""
    torch.manual_seed(0)
    mixer = AttentionMixer(64, 4, 1e-5)
    h = torch.randn(2, 10, 64)
    B, S, D = h.shape
    q, k, v = mixer.qkv(h).view(B, S, 3, 4, 16).unbind(2)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(16)
    attn = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).reshape(B, S, D)
    torch.testing.assert_close(mixer(h, None), rms_norm(h + mixer.out(attn), 1e-5), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True])
def test_token_mixer_equals_the_formula(compiled: bool) -> None:
    """The MLP mixer, whose matmuls run on one [B*D, S] matrix, is norm_S(h^T + down(silu(gate) * up)) over each
    channel's positions, eager and compiled without gradient (the evaluation and no-grad cycles' path)."""
    torch.manual_seed(0)
    mixer = TokenMLPMixer(seq_len=13, expansion=4, eps=1e-5)
    h = torch.randn(3, 13, 32)
    w_gate, w_up = mixer.mlp.gate_up.weight.chunk(2)
    ht = h.transpose(1, 2)  # [B, D, S]
    hidden = F.silu(torch.einsum("bds,es->bde", ht, w_gate)) * torch.einsum("bds,es->bde", ht, w_up)
    expected = rms_norm(ht + torch.einsum("bde,se->bds", hidden, mixer.mlp.down.weight), 1e-5).transpose(1, 2)
    with torch.no_grad():
        out = (torch.compile(mixer) if compiled else mixer)(h)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_compiled_token_mixer_runs_plain_matmuls_without_gradient() -> None:
    """Compiled in bf16 without gradient, the mixer's matmuls stay `aten::mm`: on the transposed view inductor
    chose a batched matmul at half the rate (benchmarks/README.md)."""
    from torch.profiler import ProfilerActivity, profile

    mixer = torch.compile(TokenMLPMixer(seq_len=13, expansion=4, eps=1e-5))
    h = torch.randn(3, 13, 32, dtype=torch.bfloat16)
    with torch.no_grad():
        mixer(h)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            mixer(h)
    ops = {e.key for e in prof.key_averages()}
    assert "aten::mm" in ops and "aten::bmm" not in ops, sorted(ops)


@pytest.mark.parametrize("pad_to", [16, 64])
def test_padded_token_mixer_equals_the_plain_one(pad_to: int) -> None:
    """Zero-padding the MLP mixer's position axis changes nothing but the matmul kernels' rounding."""
    torch.manual_seed(0)
    cfg = load_config("trm-sudoku6-cpu", ["model.forward_dtype=float32"])
    plain = Reasoner(cfg.model, 8, 36, 1)
    padded = Reasoner(
        load_config("trm-sudoku6-cpu", ["model.forward_dtype=float32", f"model.mixer_pad_to={pad_to}"]).model, 8, 36, 1
    )
    padded.load_state_dict(plain.state_dict())
    assert plain.num_parameters() == padded.num_parameters()
    g = torch.Generator().manual_seed(1)
    inputs = torch.randint(1, 8, (4, 36), generator=g, dtype=torch.int32)
    labels = torch.randint(2, 8, (4, 36), generator=g, dtype=torch.int64)
    batch = Batch(inputs, labels, torch.zeros(4, dtype=torch.int32), torch.ones(4, dtype=torch.bool))
    _, a = supervision_step(plain, Carry.start(plain, batch), batch, cfg)
    _, b = supervision_step(padded, Carry.start(padded, batch), batch, cfg)
    torch.testing.assert_close(b.total, a.total, rtol=1e-6, atol=1e-6)
    a.total.backward()
    b.total.backward()
    for (name, p), q in zip(plain.named_parameters(), padded.parameters(), strict=True):
        if p.grad is not None:
            torch.testing.assert_close(q.grad.to_dense(), p.grad.to_dense(), rtol=1e-4, atol=1e-6, msg=name)


def test_micro_batches_train_like_the_whole_batch(sudoku4_dataset, tmp_path) -> None:
    """Gradient accumulation over chunks of slots: the same weights after a few steps, up to summation order
    (halting exploration included: it is drawn once per step for the whole batch)."""
    from latentloop.train.trainer import Trainer

    weights = {}
    for micro in (0, 8):
        cfg = load_config(
            "trm-sudoku4-cpu",
            [
                f"data.path={sudoku4_dataset}",
                f"run_dir={tmp_path / str(micro)}",
                "train.max_steps=4",
                f"train.micro_batch={micro}",
                "train.global_batch_size=32",
                "model.halt_exploration_prob=0.5",
            ],
        )
        trainer = Trainer(cfg, progress=False)
        trainer.fit()
        weights[micro] = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    for key, value in weights[0].items():
        torch.testing.assert_close(weights[8][key], value, rtol=1e-4, atol=1e-5, msg=key)


@pytest.mark.parametrize("shape", [(37, 512), (256, 37), (8, 128), (2, 128)])
def test_linear_gradients_are_those_of_f_linear(shape) -> None:
    """`layers.linear` computes the weight gradient in the order that does not depend on the thread count; the
    values are F.linear's (fp32, up to summation order), bias included."""
    from latentloop.model.layers import linear

    g = torch.Generator().manual_seed(0)
    n_in, n_out = shape
    x = torch.randn(4, 9, n_in, generator=g, requires_grad=True)
    w = torch.randn(n_out, n_in, generator=g, requires_grad=True)
    b = torch.randn(n_out, generator=g, requires_grad=True)
    upstream = torch.randn(4, 9, n_out, generator=g)
    grads = []
    for f in (torch.nn.functional.linear, linear):
        y = f(x, w, b)
        grads.append((y, *torch.autograd.grad(y, (x, w, b), upstream)))
    for ours, theirs in zip(grads[1], grads[0], strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_token_mixer_weight_gradient_is_the_same_on_one_thread_and_two() -> None:
    """The bf16 weight gradient of the demo's token mixer ([512, 37] from 8,192 rows): F.linear's own backward
    gives different bits with 1 and 2 threads on this CPU; `layers.linear` gives the same."""
    from latentloop.model.layers import linear

    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 128, 37, generator=g).bfloat16()
    upstream = torch.randn(64, 128, 512, generator=g).bfloat16()
    grads = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            w = torch.randn(512, 37, generator=torch.Generator().manual_seed(1)).bfloat16().requires_grad_()
            (grad,) = torch.autograd.grad(linear(x, w), w, upstream)
            grads.append(grad)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(grads[0], grads[1])
