"""Checkpoints: everything needed to resume, as safetensors plus one JSON, written atomically.

    run_dir/checkpoints/step_000100/
        model.safetensors       training weights and buffers (puzzle table, init states)
        ema.safetensors         EMA of the dense weights (used for evaluation), if enabled
        optimizer.safetensors   optimizer moments, flattened
        carry.safetensors       the continuous-batching carry and RNG states
        state.json              format version, step, loader position, optimizer groups, config
    run_dir/checkpoints/latest  name of the newest complete checkpoint

A checkpoint directory is written under a temporary name and renamed when complete, so a crash
mid-write leaves the previous checkpoint untouched and `latest` never points at a partial one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from latentloop.errors import CheckpointError

FORMAT_VERSION = 1
_PREFIX = "step_"  # a checkpoint directory is step_ + the zero-padded training step


def _flatten_optimizer(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors = {
        f"{prefix}.{pid}.{k}": v.contiguous()
        for pid, st in sd["state"].items()
        for k, v in st.items()
        if torch.is_tensor(v)
    }
    return tensors, {"param_groups": sd["param_groups"], "ids": [str(pid) for pid in sd["state"]]}


def _unflatten_optimizer(tensors: dict, meta: dict, prefix: str) -> dict:
    state: dict = {}
    for key, v in tensors.items():
        if key.startswith(prefix + "."):
            _, pid, k = key.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    run_dir: Path,
    step: int,
    *,
    model: torch.nn.Module,
    ema_shadow: dict | None,
    optimizers: dict[str, torch.optim.Optimizer],
    carry: dict[str, torch.Tensor],
    extra: dict,
    keep: int = 3,
) -> Path:
    """Write checkpoint `step` atomically; keep the newest `keep` (0 = all) plus the one marked best."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"{_PREFIX}{step:07d}"
    tmp = root / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_file(
            {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors")
        )
        if ema_shadow is not None:
            save_file({k: v.contiguous().cpu() for k, v in ema_shadow.items()}, str(tmp / "ema.safetensors"))
        opt_tensors, opt_meta = {}, {}
        for key, opt in optimizers.items():
            t, m = _flatten_optimizer(opt, key)
            opt_tensors.update({k: v.cpu() for k, v in t.items()})
            opt_meta[key] = m
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        save_file({k: v.contiguous().cpu() for k, v in carry.items()}, str(tmp / "carry.safetensors"))
        state = {"format_version": FORMAT_VERSION, "step": step, "optimizers": opt_meta, **extra}
        (tmp / "state.json").write_text(json.dumps(state, indent=1))
        final = root / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _write_atomic(root / "latest", name)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(
            f"could not write checkpoint {name} ({e.strerror or e}); the previous one is intact"
        ) from None
    if keep:
        protected = (root / "best").read_text().strip() if (root / "best").is_file() else ""
        for old in [p for p in sorted(root.glob(f"{_PREFIX}*"))[:-keep] if p.name != protected]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def mark_best(checkpoint: Path) -> None:
    """Record `checkpoint` as the best so far; retention never deletes it while it is."""
    _write_atomic(checkpoint.parent / "best", checkpoint.name)


def _write_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small file under a temporary name, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def check_model_config(saved: dict | None, current: dict, where: Path) -> None:
    """Fail with the first model field whose value differs from the checkpoint's (a field the checkpoint's
    version did not have counts at its default)."""
    if not saved:
        return
    from latentloop.config import ModelConfig, to_dict

    defaults = to_dict(ModelConfig())
    for key in sorted(set(saved) | set(current)):
        if saved.get(key, defaults.get(key)) != current.get(key):
            raise CheckpointError(
                f"checkpoint {where} was trained with model.{key}={saved.get(key)!r}, "
                f"but the config has model.{key}={current.get(key)!r}"
            )


def latest_checkpoint(run_dir: Path) -> Path | None:
    root = Path(run_dir) / "checkpoints"
    pointer = root / "latest"
    if pointer.is_file():
        path = root / pointer.read_text().strip()
        if path.is_dir():
            return path
    steps = sorted(root.glob(f"{_PREFIX}*")) if root.is_dir() else []
    return steps[-1] if steps else None


def checkpoint_steps(run_dir: Path) -> dict[int, Path]:
    """Every complete checkpoint of a run by training step, oldest first (empty when there is none)."""
    root = Path(run_dir) / "checkpoints"
    found = {}
    for path in root.glob(f"{_PREFIX}*") if root.is_dir() else ():
        digits = path.name[len(_PREFIX) :]
        if digits.isdigit() and path.is_dir():
            found[int(digits)] = path
    return dict(sorted(found.items()))


def checkpoint_at(run_dir: Path, step: int) -> Path:
    """The checkpoint of `run_dir` written at training step `step`.

    Raises:
        CheckpointError: The run has no checkpoint at that step (the message lists the steps it has).
    """
    steps = checkpoint_steps(run_dir)
    if step not in steps:
        have = ", ".join(map(str, steps)) or "none"
        raise CheckpointError(f"{run_dir} has no checkpoint at step {step} (checkpoints at steps: {have})")
    return steps[step]


def select_checkpoints(run_dir: Path, spec: str) -> list[int]:
    """The training steps named by `spec`, ascending: ``all`` (every checkpoint kept, less one that retention
    kept only because it scored best on the test split: a vote must not include a checkpoint chosen on test
    data), ``last`` (the latest), or a comma-separated list of steps.

    Raises:
        CheckpointError: The run has no checkpoint, the spec is malformed, or a listed step has no checkpoint.
    """
    steps = checkpoint_steps(run_dir)
    if not steps:
        raise CheckpointError(f"{run_dir} has no checkpoint yet")
    if spec == "all":
        best = _kept_only_as_best(Path(run_dir), list(steps.values()))
        return [step for step, path in steps.items() if path != best]
    if spec == "last":
        latest = latest_checkpoint(run_dir)
        return [next((step for step, path in steps.items() if path == latest), max(steps))]
    try:
        chosen = sorted({int(part) for part in spec.split(",")})
    except ValueError:
        raise CheckpointError(f"checkpoints {spec!r}: expected all, last or steps like 1000,2000") from None
    for step in chosen:
        checkpoint_at(run_dir, step)
    return chosen


def _kept_only_as_best(run_dir: Path, kept: list[Path]) -> Path | None:
    """The checkpoint that retention (`train.keep_checkpoints` > 0) kept beyond the newest ones because it
    was marked best, if there is one."""
    import yaml

    marker = run_dir / "checkpoints" / "best"
    try:
        keep = int(yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["keep_checkpoints"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return None
    if not keep or not marker.is_file():
        return None
    newest = sorted(p.name for p in kept)[-keep:]
    best = marker.read_text().strip()
    return next((p for p in kept if p.name == best and best not in newest), None)


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint directory into {model, ema, optimizer tensors, carry, state}."""
    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} has no readable state.json ({type(e).__name__})") from None
    if state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {state.get('format_version')}, "
            f"this latentloop reads {FORMAT_VERSION}"
        )
    out = {"state": state}
    for key in ("model", "ema", "optimizer", "carry"):
        f = path / f"{key}.safetensors"
        if not f.exists():
            out[key] = None
            continue
        try:
            out[key] = load_file(str(f))
        except Exception as e:
            raise CheckpointError(f"{f} is not a valid safetensors file ({str(e)[:80]})") from None
    if out["model"] is None:
        raise CheckpointError(f"checkpoint {path} has no model.safetensors")
    return out


def optimizer_state(ckpt: dict, key: str) -> dict:
    return _unflatten_optimizer(ckpt["optimizer"] or {}, ckpt["state"]["optimizers"][key], key)
