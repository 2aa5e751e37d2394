"""Parity with the reference implementations (tests/golden, see its README).

Each folder holds a reference model's weights, a batch, and everything the reference computed:
per-step logits, halting logits, states, halting flags, losses, metrics and first-step gradients.
Loading the weights with `load_reference_checkpoint` and running our engine and trainer pieces
must reproduce them within the README's tolerances.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from latentloop.config import RunConfig, TrainConfig
from latentloop.data.loader import Batch
from latentloop.evaluate.inference import rollout
from latentloop.model.convert import convert_state_dict, load_reference_checkpoint
from latentloop.train.losses import act_loss, log_stablemax, softmax_cross_entropy, stablemax_cross_entropy
from latentloop.train.trainer import Carry, supervision_step

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
# folder -> (format, {our stream: reference trace key})
CASES = {
    "trm_att": ("trm", {"y": "z_H", "z": "z_L"}),
    "trm_mlp": ("trm", {"y": "z_H", "z": "z_L"}),
    "hrm": ("hrm", {"z_H": "z_H", "z_L": "z_L"}),
    "trm_singlez": ("trm_singlez", {"z": "z_L"}),
    "transformers_baseline": ("transformers_baseline", {"z": "z_H"}),
}
ATOL = 1e-5
GRAD_ATOL = 1e-6


def load_case(name: str):
    fmt, streams = CASES[name]
    folder = GOLDEN / name
    ref_cfg = json.loads((folder / "config.json").read_text())
    model = load_reference_checkpoint(folder / "weights.safetensors", ref_cfg, fmt)
    batch = load_file(str(folder / "batch.safetensors"))
    trace = load_file(str(folder / "trace.safetensors"))
    cfg = RunConfig(model=model.cfg, train=TrainConfig(loss="stablemax", halt_loss_weight=0.5))
    return fmt, streams, model, batch, trace, cfg


def make_batch(inputs, labels, ids) -> Batch:
    return Batch(inputs, labels.long(), ids, torch.ones(len(ids), dtype=torch.bool))


def close(a: torch.Tensor, b: torch.Tensor, atol: float = ATOL) -> None:
    assert a.shape == b.shape, (a.shape, b.shape)
    torch.testing.assert_close(a.double(), b.double(), atol=atol, rtol=0)


@pytest.mark.parametrize("name", list(CASES))
def test_input_embedding_and_rope(name: str) -> None:
    _, _, model, batch, trace, _ = load_case(name)
    close(model.embed(batch["inputs"], batch["puzzle_identifiers"]), trace["extra/input_embeddings"])
    if "extra/rope_cos" in trace:
        close(model.rope_cos, trace["extra/rope_cos"])
        close(model.rope_sin, trace["extra/rope_sin"])


@pytest.mark.parametrize("name", list(CASES))
def test_parameter_count(name: str) -> None:
    _, _, model, *_ = load_case(name)
    meta = json.loads((GOLDEN / name / "meta.json").read_text())
    assert model.num_parameters() == meta["num_parameters"]


@pytest.mark.parametrize("name", list(CASES))
def test_eval_rollout(name: str) -> None:
    _, streams, model, batch, trace, _ = load_case(name)
    T = trace["eval/logits"].shape[0]
    steps = rollout(model, batch["inputs"], batch["puzzle_identifiers"], T)
    labels = batch["labels"].long()
    for t, rec in enumerate(steps):
        close(rec.logits, trace["eval/logits"][t])
        close(rec.q_halt, trace["eval/q_halt_logits"][t])
        close(rec.q_continue, trace["eval/q_continue_logits"][t])
        # evaluation: every slot runs all T steps, so a slot is "halted" only after the last one
        assert torch.equal(torch.full_like(trace["eval/halted"][t], t + 1 >= T), trace["eval/halted"][t])
        assert torch.equal(torch.full_like(trace["eval/steps"][t], t + 1), trace["eval/steps"][t])
        for ours, ref in streams.items():
            close(rec.states[ours], trace[f"eval/{ref}"][t])
        if "eval/preds" in trace:
            assert torch.equal(rec.logits.argmax(-1), trace["eval/preds"][t])
        loss = act_loss(rec.logits, labels, rec.q_halt, rec.q_continue)
        close(loss.total, trace["eval/loss"][t])
        close(loss.lm_loss, trace["eval/metrics/lm_loss"][t])


def run_training_trace(name: str, stream: bool):
    fmt, streams, model, batch, trace, cfg = load_case(name)
    mode = "train_stream" if stream else "train"
    T = trace[f"{mode}/logits"].shape[0]
    main = make_batch(batch["inputs"], batch["labels"], batch["puzzle_identifiers"])
    carry = Carry.start(model, main)
    for t in range(T):
        new = (
            make_batch(batch["stream/inputs"][t], batch["stream/labels"][t], batch["stream/puzzle_identifiers"][t])
            if stream
            else main
        )
        carry, loss = supervision_step(model, carry, new, cfg)
        yield t, model, carry, loss, trace, mode, streams, fmt
        model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("stream", [False, True], ids=["same_batch", "stream"])
def test_training_steps(name: str, stream: bool) -> None:
    """Continuous-batching carry, halting, Q target, losses and metrics at every call."""
    for t, model, carry, loss, trace, mode, streams, _ in run_training_trace(name, stream):
        del model
        assert torch.equal(carry.halted, trace[f"{mode}/halted"][t])
        assert torch.equal(carry.steps, trace[f"{mode}/steps"][t])
        close(loss.total, trace[f"{mode}/loss"][t])
        close(loss.lm_loss, trace[f"{mode}/metrics/lm_loss"][t])
        close(loss.q_halt_loss, trace[f"{mode}/metrics/q_halt_loss"][t])
        if f"{mode}/metrics/q_continue_loss" in trace:
            close(loss.q_continue_loss, trace[f"{mode}/metrics/q_continue_loss"][t])
        if stream:
            cur = trace[f"{mode}/current_data/inputs"][t]
            assert torch.equal(carry.data.inputs, cur)
            assert torch.equal(carry.data.puzzle_identifiers, trace[f"{mode}/current_data/puzzle_identifiers"][t])
        else:
            for ours, ref in streams.items():
                close(carry.states[ours], trace[f"{mode}/{ref}"][t])
        done = carry.halted & (loss.n_scored > 0)
        assert int(done.sum()) == int(trace[f"{mode}/metrics/count"][t])
        assert int(loss.seq_correct[done].sum()) == int(trace[f"{mode}/metrics/exact_accuracy"][t])
        assert int(carry.steps[done].sum()) == int(trace[f"{mode}/metrics/steps"][t])
        tok = loss.token_correct.sum(-1).float() / loss.n_scored.clamp_min(1).float()
        close(tok[done].sum(), trace[f"{mode}/metrics/accuracy"][t])
        q_right = (loss.q_halt >= 0) == loss.seq_correct
        assert int(q_right[done].sum()) == int(trace[f"{mode}/metrics/q_halt_accuracy"][t])


@pytest.mark.parametrize("name", list(CASES))
def test_first_step_gradients(name: str) -> None:
    """The gradient window: gradients after backward of (1/B) * loss of the first training call."""
    for t, model, carry, loss, trace, _, _, fmt in run_training_trace(name, stream=False):
        B = carry.steps.shape[0]
        (loss.total / B).backward()
        ref = {
            k.removeprefix("grad/"): v
            for k, v in trace.items()
            if k.startswith("grad/") and not k.endswith("local_weights")
        }
        expected = convert_state_dict(ref, fmt)
        params = dict(model.named_parameters())
        for key, g in expected.items():
            assert params[key].grad is not None, key
            close(params[key].grad, g, GRAD_ATOL)
        # Puzzle rows: the reference records one gradient per batch row; ours is summed per id.
        rows = trace["grad/inner.puzzle_emb.local_weights"]
        ids = load_file(str(GOLDEN / name / "batch.safetensors"))["puzzle_identifiers"].long()
        summed = torch.zeros_like(model.puzzle_emb).index_add_(0, ids, rows)
        close(model.puzzle_emb.grad.to_dense(), summed, GRAD_ATOL)
        assert t == 0
        break


def test_losses_match_reference() -> None:
    data = load_file(str(GOLDEN / "losses.safetensors"))
    labels = data["labels"].long()
    close(log_stablemax(data["logits"]), data["log_stablemax"], 1e-10)
    close(stablemax_cross_entropy(data["logits"], labels), data["stablemax_cross_entropy"], 1e-10)
    close(softmax_cross_entropy(data["logits"], labels), data["softmax_cross_entropy"], 1e-6)
    close(stablemax_cross_entropy(data["logits_f32"], labels), data["stablemax_cross_entropy_from_f32"], 1e-6)
    close(softmax_cross_entropy(data["logits_f32"], labels), data["softmax_cross_entropy_from_f32"], 1e-6)


# The shipped presets themselves (not only the converter's configs) reproduce the references when
# sized like the golden models: proof that each preset's program, window and halting are faithful.
PRESET_CASES = {
    "trm-att-sudoku": ("trm_att", ["model.modules.core.layers=2"]),
    "trm-mlp-sudoku": ("trm_mlp", ["model.modules.core.layers=2"]),
    "hrm": ("hrm", ["model.modules.H.layers=2", "model.modules.L.layers=2"]),
    "trm-single-z": ("trm_singlez", ["model.modules.core.layers=2"]),
    "transformer-act": ("transformers_baseline", ["model.modules.core.layers=2", "model.halting=q_compare"]),
}


@pytest.mark.parametrize("preset", list(PRESET_CASES))
def test_preset_reproduces_golden(preset: str) -> None:
    from latentloop.config import load_config
    from latentloop.model.convert import load_into, read_state_dict
    from latentloop.model.reasoner import Reasoner

    folder, extra = PRESET_CASES[preset]
    ref = json.loads((GOLDEN / folder / "config.json").read_text())
    fmt = CASES[folder][0]
    reference_model = load_case(folder)[2]
    overrides = [
        f"model.hidden_size={ref['hidden_size']}",
        f"model.num_heads={ref['num_heads']}",
        f"model.outer_cycles={ref.get('H_cycles', 1)}",
        f"model.inner_cycles={ref.get('L_cycles', 1)}",
        f"model.puzzle_emb_len={reference_model.prefix_len}",
        f"model.halt_max_steps={ref['halt_max_steps']}",
        "model.halt_exploration_prob=0.0",
        "model.forward_dtype=float32",
        f"model.mixer={'mlp' if ref.get('mlp_t') else 'attention'}",
        f"model.pos_encoding={ref['pos_encodings']}",
        *extra,
    ]
    cfg = load_config(preset, overrides)
    model = Reasoner(cfg.model, ref["vocab_size"], ref["seq_len"], ref["num_puzzle_identifiers"])
    load_into(model, convert_state_dict(read_state_dict(GOLDEN / folder / "weights.safetensors"), fmt))
    batch = load_file(str(GOLDEN / folder / "batch.safetensors"))
    trace = load_file(str(GOLDEN / folder / "trace.safetensors"))
    main = make_batch(batch["inputs"], batch["labels"], batch["puzzle_identifiers"])
    carry = Carry.start(model, main)
    for t in range(ref["halt_max_steps"]):  # the reference's training carry on one batch, halting included
        carry, loss = supervision_step(model, carry, main, cfg)
        close(loss.q_halt, trace["train/q_halt_logits"][t])
        close(carry.states[cfg.model.answer_stream], trace[f"train/{CASES[folder][1][cfg.model.answer_stream]}"][t])
        assert torch.equal(carry.halted, trace["train/halted"][t])
        close(loss.total, trace["train/loss"][t])
