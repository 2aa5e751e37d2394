"""Trained weights that ship inside the package: small CPU models that answer right after install, offline.

Each is one safetensors file in `latentloop/weights/` holding the EMA weights and, in its metadata, a
card: what the model is, the resolved config it was trained with, the dataset's provenance, the
command that trained it, and its measured accuracy. `latentloop pretrained` lists them;
`latentloop.load_run("pretrained:NAME")` and `latentloop solve --pretrained NAME PUZZLE` use them.
`export` writes such a file from a run directory.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from latentloop.errors import CheckpointError

PREFIX = "pretrained:"
CARD_KEY = "latentloop.card"


def shipped_name(ref: str | Path) -> str | None:
    """NAME when `ref` names a shipped model (`pretrained:NAME`), else None (a run directory)."""
    return str(ref).removeprefix(PREFIX) if str(ref).startswith(PREFIX) else None


def weights_dir() -> Path:
    """The package's directory of shipped weights."""
    return Path(str(resources.files("latentloop") / "weights"))


def names() -> list[str]:
    """The shipped models, by name."""
    return sorted(p.stem for p in weights_dir().glob("*.safetensors"))


def path_of(name: str) -> Path:
    """The file of a shipped model (or of a file path given directly)."""
    given = Path(name)
    if given.suffix == ".safetensors" and given.is_file():
        return given
    path = weights_dir() / f"{name}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"no pretrained model {name!r} (shipped: {', '.join(names()) or 'none'})")
    return path


def card(name: str) -> dict:
    """The card of a shipped model: name, description, task, config, dataset, training, accuracy."""
    path = path_of(name)
    try:
        with safe_open(str(path), framework="pt") as f:
            text = (f.metadata() or {}).get(CARD_KEY)
    except Exception as e:  # a damaged file: one line, never a traceback from the reader
        raise CheckpointError(f"pretrained file {path} is unreadable ({type(e).__name__})") from None
    if text is None:
        raise CheckpointError(f"{path} has no latentloop card in its metadata")
    return json.loads(text)


def read(name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """(card, model state dict) of a shipped model."""
    from safetensors.torch import load_file

    info = card(name)
    return info, load_file(str(path_of(name)))


def export(
    run,
    run_dir: str | Path,
    name: str,
    description: str,
    held_out: dict | None = None,
    out_dir: str | Path | None = None,
) -> Path:
    """Write the (EMA) weights of a loaded run (`latentloop.api.load_run(run_dir)`) and its card as
    `<out_dir>/<name>.safetensors`. The card's accuracy is the run's eval.json (`latentloop eval RUN_DIR` first)
    and `held_out` (`latentloop.api.held_out_accuracy`: a set drawn by the task's builder, rebuilt by the tests)."""
    from latentloop.config import to_dict
    from latentloop.data.format import DatasetMetadata

    eval_path = Path(run_dir) / "eval.json"
    if not eval_path.is_file():
        raise CheckpointError(f"{run_dir} has no eval.json: run `latentloop eval {run_dir}` first")
    ev = json.loads(eval_path.read_text())
    accuracy = {k: ev[k] for k in ("exact_accuracy", "valid_accuracy", "token_accuracy", "count", "steps")}
    accuracy["checkpoint_step"] = ev.get("checkpoint_step")
    meta_path = Path(run.cfg.data.path) / "train" / "dataset.json"
    meta = DatasetMetadata.from_json(meta_path) if meta_path.is_file() else None
    metrics = Path(run_dir) / "metrics.jsonl"
    times = [json.loads(line).get("time_s") for line in metrics.read_text().splitlines()] if metrics.is_file() else []
    seconds = next((t for t in reversed(times) if t is not None), None)
    machine_path = Path(run_dir) / "machine.json"
    machine = json.loads(machine_path.read_text()) if machine_path.is_file() else None
    info = {
        "name": name,
        "description": description,
        "task": meta.task if meta else None,
        "model_shape": {
            "vocab_size": run.model.vocab_size,
            "seq_len": run.model.seq_len,
            "num_puzzle_identifiers": run.model.puzzle_emb.shape[0] if run.model.puzzle_emb is not None else 1,
        },
        "parameters": run.model.num_parameters(),
        "config": to_dict(run.cfg),
        "dataset": meta.provenance if meta else None,
        "training": {"steps": run.step, "seconds": seconds, "machine": machine},
        "accuracy": accuracy,
        "held_out": held_out,
    }
    out = Path(out_dir or weights_dir()) / f"{name}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in run.model.state_dict().items()}
    save_file(state, str(out), metadata={CARD_KEY: json.dumps(info, sort_keys=True)})
    return out
