"""Python API: load a run directory or a reference checkpoint, and solve puzzles with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentloop.config import RunConfig, config_from_yaml_text, to_dict
from latentloop.errors import CheckpointError
from latentloop.evaluate.runner import wants_halt
from latentloop.model.convert import load_into, load_reference_checkpoint
from latentloop.model.reasoner import Reasoner
from latentloop.tasks import sudoku
from latentloop.train.checkpoint import check_model_config, latest_checkpoint, load_checkpoint

__all__ = ["Run", "Solution", "import_reference_run", "load_reference_checkpoint", "load_run", "solve_sudoku"]


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
    puzzle: np.ndarray  # [n, n] givens (0 = blank)
    answer: np.ndarray  # [n, n] the model's grid after the last step run
    steps_used: int  # first step from which the answer no longer changed
    halt_step: int  # step at which the halting head would stop (the last step when it never does)
    valid: bool  # the answer obeys the rules and keeps the givens
    trajectory: list[np.ndarray]  # the predicted grid after every supervision step
    q_halt: list[float]  # halting logit after every step


@torch.no_grad()
def solve_sudoku(model: Reasoner, puzzles: list[str], steps: int | None = None, halt: bool = False) -> list[Solution]:
    """Run the model on one-line Sudoku puzzles for `steps` supervision steps (default N_sup).

    With `halt=True` each puzzle stops at the step where its halting head says so (early exit);
    otherwise all steps run, as the references do at test time.
    """
    shape = sudoku.shape_for_cells(model.seq_len)
    grids = [sudoku.parse(p, shape) for p in puzzles]
    tokens = torch.from_numpy(np.stack([sudoku.encode(g, shape) for g in grids]).astype(np.int32))
    ids = torch.zeros(len(grids), dtype=torch.int32)
    device = model.lm_head.weight.device
    steps = steps or model.cfg.halt_max_steps
    trace = model.rollout(tokens.to(device), ids.to(device), steps, training=False)
    preds = [rec["logits"].argmax(-1).cpu().numpy() for rec in trace]
    wants = [wants_halt(rec["q_halt"], rec["q_continue"], model.cfg.halting).cpu().numpy() for rec in trace]
    out = []
    for i, g in enumerate(grids):
        traj = [sudoku.decode(p[i], shape) for p in preds]
        halt_step = next((t + 1 for t in range(steps) if wants[t][i]), steps)
        last = halt_step if halt else steps
        traj = traj[:last]
        settled = last
        while settled > 1 and np.array_equal(traj[settled - 2], traj[-1]):
            settled -= 1
        answer = traj[-1]
        out.append(
            Solution(
                g,
                answer,
                settled,
                halt_step,
                bool(sudoku.verify(g, answer, shape)),
                traj,
                [float(rec["q_halt"][i]) for rec in trace[:last]],
            )
        )
    return out


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
