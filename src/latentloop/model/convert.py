"""Reference checkpoints (HRM / TRM repositories) to latentloop models: config and key mapping.

Reference names never leak past this module. Supported formats:
- `trm`: TinyRecursiveModels `trm.py` (attention or `mlp_t` mixer);
- `trm_singlez`: TinyRecursiveModels `trm_singlez.py` (one latent z);
- `hrm`: sapientinc/HRM `hrm_act_v1.py`;
- `transformers_baseline`: TinyRecursiveModels `transformers_baseline.py` (the ARC Prize flat transformer
  with ACT; as released it halts on q_halt > q_continue but never trains q_continue: `halting: q_compare`).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from latentloop.config import ModelConfig, ModuleConfig
from latentloop.errors import CheckpointError
from latentloop.model.reasoner import Reasoner

FORMATS = ("trm", "trm_singlez", "hrm", "transformers_baseline")

# Per format: the named program (model/program.py), reference level -> our module, init buffer -> our stream.
_PROGRAMS = {"transformers_baseline": "transformer_act", "trm": "trm", "trm_singlez": "trm_single_z", "hrm": "hrm"}
_LEVELS = {
    "transformers_baseline": {"H_level": "core"},
    "trm": {"L_level": "core"},
    "trm_singlez": {"L_level": "core"},
    "hrm": {"L_level": "L", "H_level": "H"},
}
_INITS = {
    "transformers_baseline": {"H_init": "z"},
    "trm": {"H_init": "y", "L_init": "z"},
    "trm_singlez": {"L_init": "z"},
    "hrm": {"H_init": "z_H", "L_init": "z_L"},
}
_BLOCK_KEYS = {
    "self_attn.qkv_proj.weight": "mixer.qkv.weight",
    "self_attn.o_proj.weight": "mixer.out.weight",
    "mlp_t.gate_up_proj.weight": "mixer.mlp.gate_up.weight",
    "mlp_t.down_proj.weight": "mixer.mlp.down.weight",
    "mlp.gate_up_proj.weight": "mlp.gate_up.weight",
    "mlp.down_proj.weight": "mlp.down.weight",
}
_TOP_KEYS = {
    "embed_tokens.embedding_weight": "embed_tokens",
    "puzzle_emb.weights": "puzzle_emb",
    "embed_pos.embedding_weight": "embed_pos",
    "lm_head.weight": "lm_head.weight",
    "q_head.weight": "q_head.weight",
    "q_head.bias": "q_head.bias",
}


def reference_model_config(ref: dict, fmt: str) -> ModelConfig:
    """Translate a reference architecture config (the dict given to its constructor) to ours."""
    if fmt not in FORMATS:
        raise CheckpointError(f"unknown checkpoint format {fmt!r} (known: {', '.join(FORMATS)})")
    try:
        hidden = int(ref["hidden_size"])
        emb_ndim = int(ref.get("puzzle_emb_ndim", 0))
        prefix = -(emb_ndim // -hidden)  # ceil(puzzle_emb_ndim / hidden)
        if fmt != "hrm" and int(ref.get("puzzle_emb_len", 0)):
            prefix = int(ref["puzzle_emb_len"])
        common = dict(
            hidden_size=hidden,
            num_heads=int(ref["num_heads"]),
            expansion=float(ref["expansion"]),
            mixer="mlp" if ref.get("mlp_t") else "attention",
            pos_encoding=ref.get("pos_encodings", "rope"),
            rope_theta=float(ref.get("rope_theta", 10000.0)),
            rms_norm_eps=float(ref.get("rms_norm_eps", 1e-5)),
            puzzle_emb_len=prefix,
            puzzle_emb_dim=emb_ndim,
            outer_cycles=int(ref.get("H_cycles", 1)),
            inner_cycles=int(ref.get("L_cycles", 1)),
            halt_max_steps=int(ref["halt_max_steps"]),
            halt_exploration_prob=float(ref["halt_exploration_prob"]),
            forward_dtype=str(ref.get("forward_dtype", "bfloat16")),
        )
        if fmt in ("trm", "trm_singlez"):  # one shared network; single-z keeps only z
            return ModelConfig(
                **common,
                program=_PROGRAMS[fmt],
                modules={"core": ModuleConfig(int(ref["L_layers"]))},
                halting="bce" if ref.get("no_ACT_continue", True) else "q_learning",
            )
        if fmt == "transformers_baseline":
            common["puzzle_emb_len"] = -(emb_ndim // -hidden)
            return ModelConfig(
                **common,
                program=_PROGRAMS[fmt],
                modules={"core": ModuleConfig(int(ref["H_layers"]))},
                halting="q_compare",
            )
        return ModelConfig(
            **common,
            program=_PROGRAMS[fmt],
            modules={"H": ModuleConfig(int(ref["H_layers"])), "L": ModuleConfig(int(ref["L_layers"]))},
            halting="q_learning",
        )
    except KeyError as e:
        raise CheckpointError(f"reference config has no field {e.args[0]!r}") from None


def convert_state_dict(ref_state: dict[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """Rename reference keys (with or without `_orig_mod.` / `model.` / `inner.` prefixes) to ours."""
    out = {}
    for key, value in ref_state.items():
        k = re.sub(r"^(_orig_mod\.)?(model\.)?(inner\.)?", "", key)
        if k in _TOP_KEYS:
            out[_TOP_KEYS[k]] = value
        elif k in _INITS[fmt]:
            out[f"init_{_INITS[fmt][k]}"] = value
        elif m := re.match(r"(\w+_level)\.layers\.(\d+)\.(.+)$", k):
            level, idx, rest = m.groups()
            if level not in _LEVELS[fmt] or rest not in _BLOCK_KEYS:
                raise CheckpointError(f"unexpected key {key!r} for format {fmt}")
            out[f"stacks.{_LEVELS[fmt][level]}.layers.{idx}.{_BLOCK_KEYS[rest]}"] = value
        elif k.endswith(("local_weights", "local_ids")) or "rotary_emb" in k:
            continue  # per-batch scratch buffers and derived tables
        else:
            raise CheckpointError(f"unexpected key {key!r} for format {fmt}")
    return out


def load_reference_checkpoint(weights_path: str | Path, reference_config: dict, format: str) -> Reasoner:
    """Build a latentloop model from a reference checkpoint (safetensors or torch pickle).

    Args:
        weights_path: the reference state dict (`.safetensors`, or a `torch.save` file).
        reference_config: the dict the reference model was constructed with (its arch config
            plus batch_size, seq_len, vocab_size, num_puzzle_identifiers).
        format: trm | trm_singlez | hrm.
    """
    cfg = reference_model_config(reference_config, format)
    state = read_state_dict(weights_path)
    model = Reasoner(
        cfg,
        int(reference_config["vocab_size"]),
        int(reference_config["seq_len"]),
        int(reference_config.get("num_puzzle_identifiers", 1)),
    )
    load_into(model, convert_state_dict(state, format))
    return model


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {type(e).__name__}: {str(e)[:120]}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} does not hold a state dict")
    return state


def load_into(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a converted state dict, failing with one line that names the first mismatch."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise CheckpointError(f"checkpoint does not match the model: missing {missing[:3]}, unexpected {extra[:3]}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise CheckpointError(
                f"checkpoint tensor {k} has shape {tuple(v.shape)}, model expects {tuple(own[k].shape)}"
            )
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
