"""Python API: load a run directory or a reference checkpoint, and solve puzzles with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentloop.config import RunConfig, config_from_yaml_text, to_dict
from latentloop.data.format import DatasetMetadata, Split
from latentloop.errors import CheckpointError
from latentloop.evaluate.runner import wants_halt
from latentloop.model.convert import load_into, load_reference_checkpoint
from latentloop.model.reasoner import Reasoner
from latentloop.tasks import sudoku, task_for
from latentloop.tasks.base import Task
from latentloop.train.checkpoint import check_model_config, latest_checkpoint, load_checkpoint

__all__ = [
    "Run",
    "Solution",
    "import_reference_run",
    "load_reference_checkpoint",
    "load_run",
    "solve_split",
    "solve_sudoku",
    "solve_tokens",
    "task_of",
]


@dataclass
class Run:
    cfg: RunConfig
    model: Reasoner
    checkpoint: Path
    step: int


def load_run(run_dir: str | Path, ema: bool = True, device: str = "cpu") -> Run:
    """The model of a run directory at its latest checkpoint, with EMA weights when it has them."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory (no config.yaml)")
    cfg = config_from_yaml_text(cfg_path.read_text())
    path = latest_checkpoint(run_dir)
    if path is None:
        raise CheckpointError(f"{run_dir} has no checkpoint yet")
    ckpt = load_checkpoint(path)
    check_model_config((ckpt["state"].get("config") or {}).get("model"), to_dict(cfg.model), path)
    shape = ckpt["state"].get("model_shape") or {}
    try:
        model = Reasoner(cfg.model, shape["vocab_size"], shape["seq_len"], shape["num_puzzle_identifiers"])
    except KeyError as e:
        raise CheckpointError(f"checkpoint {path} does not record the model shape ({e.args[0]})") from None
    load_into(model, ckpt["model"])
    if ema and ckpt["ema"] is not None:
        params = dict(model.named_parameters())
        with torch.no_grad():
            for k, v in ckpt["ema"].items():
                params[k].copy_(v)
    model.to(device).eval()
    return Run(cfg, model, path, ckpt["state"]["step"])


@dataclass
class Solution:
    """One puzzle run through the model, step by step."""

    task: str  # sudoku | maze | arc
    puzzle: np.ndarray  # the input grid (Sudoku givens, maze without path, ARC test input)
    answer: np.ndarray  # the model's grid after the last step run
    steps_used: int  # first step from which the answer no longer changed
    halt_step: int  # step at which the halting head would stop (the last step when it never does)
    valid: bool  # Sudoku: obeys the rules, keeps the givens; maze: a valid shortest path; ARC: a grid came out
    trajectory: list[np.ndarray]  # the predicted grid after every supervision step
    q_halt: list[float]  # halting logit after every step
    target: np.ndarray | None = None  # the known answer, when there is one
    correct: list[bool] | None = None  # per step, equal to the target (when known)


def task_of(run: Run) -> Task:
    """The task a run was trained on: from its dataset's metadata, else from the model's shape."""
    meta = Path(run.cfg.data.path or "") / "train" / "dataset.json"
    info = None
    if run.cfg.data.path and meta.is_file():
        info = DatasetMetadata.from_json(meta).task
    elif run.model.seq_len == 900:
        info = {"name": "arc" if run.model.vocab_size == 12 else "maze"}
    return task_for(info, run.model.seq_len)


@torch.no_grad()
def solve_tokens(
    model: Reasoner,
    task: Task,
    inputs: np.ndarray,
    puzzle_identifiers: np.ndarray | None = None,
    steps: int | None = None,
    halt: bool = False,
    targets: list[np.ndarray | None] | None = None,
) -> list[Solution]:
    """Run encoded puzzles [B, L] for `steps` supervision steps (default N_sup) and decode every step.

    With `halt=True` each puzzle stops at the step where its halting head says so (early exit);
    otherwise all steps run, as the references do at test time.
    """
    inputs = np.asarray(inputs)
    ids = np.zeros(len(inputs), np.int32) if puzzle_identifiers is None else np.asarray(puzzle_identifiers)
    device = model.lm_head.weight.device
    steps = steps or model.cfg.halt_max_steps
    trace = model.rollout(
        torch.from_numpy(inputs.astype(np.int32)).to(device), torch.from_numpy(ids.astype(np.int32)).to(device), steps
    )
    preds = [rec["logits"].argmax(-1).cpu().numpy() for rec in trace]
    wants = [wants_halt(rec["q_halt"], rec["q_continue"], model.cfg.halting).cpu().numpy() for rec in trace]
    out = []
    for i in range(len(inputs)):
        puzzle = task.decode(inputs[i])
        halt_step = next((t + 1 for t in range(steps) if wants[t][i]), steps)
        last = halt_step if halt else steps
        traj = [task.decode(p[i]) for p in preds[:last]]
        settled = last
        while settled > 1 and np.array_equal(traj[settled - 2], traj[-1]):
            settled -= 1
        target = targets[i] if targets is not None else None
        out.append(
            Solution(
                task.name,
                puzzle,
                traj[-1],
                settled,
                halt_step,
                bool(task.verify(puzzle, traj[-1])),
                traj,
                [float(rec["q_halt"][i]) for rec in trace[:last]],
                target,
                None if target is None else [g.shape == target.shape and bool((g == target).all()) for g in traj],
            )
        )
    return out


def solve_sudoku(model: Reasoner, puzzles: list[str], steps: int | None = None, halt: bool = False) -> list[Solution]:
    """Solve one-line Sudoku puzzles (see `solve_tokens`)."""
    task = sudoku.SudokuTask(sudoku.shape_for_cells(model.seq_len))
    grids = [sudoku.parse(p, task.shape) for p in puzzles]
    return solve_tokens(model, task, np.stack([task.encode(g) for g in grids]), steps=steps, halt=halt)


def solve_split(run: Run, split: Split, indices: list[int], steps: int | None = None) -> list[Solution]:
    """Run examples of a dataset split (by example index), with their labels as targets."""
    task = task_for(split.metadata.task, split.metadata.seq_len)
    idx = np.asarray(indices, dtype=np.int64)
    counts = np.diff(split.puzzle_indices)
    ids = split.puzzle_identifiers[np.repeat(np.arange(len(counts)), counts)[idx]]
    targets = [task.decode(np.asarray(split.labels[i])) for i in idx]
    return solve_tokens(run.model, task, np.asarray(split.inputs[idx]), ids, steps, targets=targets)


def import_reference_run(
    weights: str | Path, config_path: str | Path, fmt: str, out: str | Path, data_path: str | None = None
) -> Path:
    """Write a run directory (config + step-0 checkpoint) holding a reference checkpoint's weights.

    `eval`, `solve` and `train --resume` then work on it; training starts fresh optimizer state.
    """
    import json

    from latentloop.config import DataConfig, save_config
    from latentloop.train.checkpoint import save_checkpoint

    try:
        ref_cfg = json.loads(Path(config_path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"cannot read reference config {config_path} ({type(e).__name__})") from None
    model = load_reference_checkpoint(weights, ref_cfg, fmt)
    out = Path(out)
    cfg = RunConfig(
        model=model.cfg,
        data=DataConfig(path=data_path or "", seq_len=model.seq_len, vocab_size=model.vocab_size),
        run_dir=str(out),
        preset=f"imported-{fmt}",
    )
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    n_ids = model.puzzle_emb.shape[0] if model.puzzle_emb is not None else 1
    save_checkpoint(
        out,
        0,
        model=model,
        ema_shadow=None,
        optimizers={},
        carry={},
        extra={
            "imported_from": str(weights),
            "reference_format": fmt,
            "model_shape": {"vocab_size": model.vocab_size, "seq_len": model.seq_len, "num_puzzle_identifiers": n_ids},
        },
    )
    return out
