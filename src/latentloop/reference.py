"""Checkpoints written by the reference repositories (HRM, TRM), from a file, a folder or a Hub name, as
latentloop run directories.

A source is a weights file (the reference's `torch.save` state dict or a safetensors file), a folder
holding one (the layout of the references' checkpoint folders and of published weights such as
`sapientinc/HRM-checkpoint-sudoku-extreme`: the weights, usually a file named `checkpoint` or
`step_N`, beside the `all_config.yaml` that the reference's training script dumps), or a Hugging
Face Hub name `ORG/REPO`, fetched with `huggingface_hub` (offline, from its cache, under
`HF_HUB_OFFLINE=1`). The architecture comes from `--config` (the dict the reference model was built
with, JSON, or an `all_config.yaml`) or from the folder's `all_config.yaml`; the format from
`--format` or from that config's `arch.name`; the sizes the reference takes from its dataset
(sequence length, vocabulary, puzzle identifiers) from `--data` or, where they can be, from the
weights' shapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
import yaml

from latentloop.errors import CheckpointError
from latentloop.model.convert import FORMATS, convert_state_dict, load_into, read_state_dict, reference_model_config
from latentloop.model.reasoner import Reasoner

HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
WEIGHT_NAMES = ("checkpoint", "model.safetensors", "pytorch_model.bin")
CONFIG_NAMES = ("all_config.yaml", "config.json")
# arch.name of the references' configs (module@Class) -> our format
ARCH_FORMATS = {
    "hrm_act_v1": "hrm",
    "trm_singlez": "trm_singlez",
    "transformers_baseline": "transformers_baseline",
    "trm": "trm",
}


def fetch(source: str, revision: str | None = None) -> Path:
    """A local file or folder as it is; a Hub name downloaded (or found in the cache) with huggingface_hub."""
    path = Path(source)
    if path.exists():
        return path
    if not HUB_NAME.match(source):
        raise CheckpointError(f"checkpoint {source} does not exist (nor is it a Hub name ORG/REPO)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(source, revision=revision))
    except LocalEntryNotFoundError:
        raise CheckpointError(
            f"{source} is not in the Hugging Face cache and the Hub cannot be reached (offline)"
        ) from None
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise CheckpointError(f"cannot fetch {source} from the Hub: {type(e).__name__}: {str(e)[:160]}") from None


def _weights_in(folder: Path) -> Path:
    found = [folder / n for n in WEIGHT_NAMES if (folder / n).is_file()]
    found += sorted(folder.glob("step_*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))[-1:]
    found += sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.pt"))
    found = [p for p in found if p.is_file() and not p.name.endswith(("_all_preds.0",))]
    if not found:
        raise CheckpointError(f"{folder} holds no weights file ({', '.join(WEIGHT_NAMES)}, step_N, *.safetensors)")
    return found[0]


def read_reference_config(path: Path) -> dict:
    """The architecture dict: a JSON constructor dict as it is, or the `arch` section of an all_config.yaml."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as e:
        raise CheckpointError(f"cannot read reference config {path} ({type(e).__name__})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"reference config {path} is not a mapping")
    if isinstance(data.get("arch"), dict):  # the training script's dump: the model is its arch section
        return dict(data["arch"])
    return data


def infer_format(ref: dict) -> str:
    """Our format name from the reference config's `name` (e.g. hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1)."""
    module = str(ref.get("name", "")).split("@")[0].rsplit(".", 1)[-1]
    if module not in ARCH_FORMATS:
        raise CheckpointError(f"cannot tell the checkpoint's format from arch.name {ref.get('name')!r}: pass --format")
    return ARCH_FORMATS[module]


def _sizes(ref: dict, state: dict[str, torch.Tensor], data_path: str | None) -> dict:
    """seq_len, vocab_size and num_puzzle_identifiers: from the config, the dataset, or the weights."""
    sizes = {k: ref[k] for k in ("seq_len", "vocab_size", "num_puzzle_identifiers") if k in ref}
    if data_path:
        from latentloop.data.format import DatasetMetadata

        meta = DatasetMetadata.from_json(Path(data_path) / "train" / "dataset.json")
        sizes.update(
            seq_len=meta.seq_len, vocab_size=meta.vocab_size, num_puzzle_identifiers=meta.num_puzzle_identifiers
        )
    for key, value in state.items():
        name = re.sub(r"^(_orig_mod\.)?(model\.)?(inner\.)?", "", key)
        if name == "embed_tokens.embedding_weight":
            sizes.setdefault("vocab_size", int(value.shape[0]))
        elif name == "puzzle_emb.weights":
            sizes.setdefault("num_puzzle_identifiers", int(value.shape[0]))
    if "seq_len" not in sizes:
        raise CheckpointError(
            "the checkpoint does not record its sequence length: pass --data DATASET_DIR (the dataset it was "
            "trained on) or a --config that has seq_len"
        )
    return sizes


def load(
    source: str,
    fmt: str | None = None,
    config: str | Path | None = None,
    data_path: str | None = None,
    revision: str | None = None,
) -> tuple[Reasoner, str, Path]:
    """(model, format, weights file) of a reference checkpoint given by file, folder or Hub name."""
    where = fetch(source, revision)
    folder = where if where.is_dir() else where.parent
    weights = _weights_in(where) if where.is_dir() else where
    if config is None:
        config = next((folder / n for n in CONFIG_NAMES if (folder / n).is_file()), None)
        if config is None:
            raise CheckpointError(f"no --config given and {folder} has none of {', '.join(CONFIG_NAMES)}")
    ref = read_reference_config(Path(config))
    fmt = fmt or infer_format(ref)
    if fmt not in FORMATS:
        raise CheckpointError(f"unknown checkpoint format {fmt!r} (known: {', '.join(FORMATS)})")
    state = read_state_dict(weights)
    ref = {**ref, **_sizes(ref, state, data_path)}
    cfg = reference_model_config(ref, fmt)
    model = Reasoner(cfg, int(ref["vocab_size"]), int(ref["seq_len"]), int(ref.get("num_puzzle_identifiers", 1)))
    load_into(model, convert_state_dict(state, fmt))
    return model, fmt, weights
