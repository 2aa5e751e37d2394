"""Python API: load a run directory or a reference checkpoint, and solve puzzles with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentloop.config import RunConfig, config_from_yaml_text, to_dict
from latentloop.data.format import DatasetMetadata, Split
from latentloop.errors import CheckpointError
from latentloop.evaluate.inference import rollout
from latentloop.model.convert import load_into, load_reference_checkpoint
from latentloop.model.reasoner import Reasoner
from latentloop.tasks import sudoku, task_for
from latentloop.tasks.arc import Recipe
from latentloop.tasks.base import Task
from latentloop.train.checkpoint import check_model_config, latest_checkpoint, load_checkpoint

__all__ = [
    "ArcAnswer",
    "Run",
    "Solution",
    "import_reference_run",
    "load_reference_checkpoint",
    "load_run",
    "rollout",
    "solve_arc",
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
    info = DatasetMetadata.from_json(meta).task if run.cfg.data.path and meta.is_file() else None
    return task_for(info, run.model.seq_len, run.model.vocab_size)


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
    trace = rollout(
        model,
        torch.from_numpy(inputs.astype(np.int32)).to(device),
        torch.from_numpy(ids.astype(np.int32)).to(device),
        steps,
    )
    preds = [rec.logits.argmax(-1).cpu().numpy() for rec in trace]
    wants = [rec.wants_halt.cpu().numpy() for rec in trace]
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
                [float(rec.q_halt[i]) for rec in trace[:last]],
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
    task = task_for(split.metadata.task, split.metadata.seq_len, split.metadata.vocab_size)
    idx = np.asarray(indices, dtype=np.int64)
    counts = np.diff(split.puzzle_indices)
    ids = split.puzzle_identifiers[np.repeat(np.arange(len(counts)), counts)[idx]]
    targets = [task.decode(np.asarray(split.labels[i])) for i in idx]
    return solve_tokens(run.model, task, np.asarray(split.inputs[idx]), ids, steps, targets=targets)


@dataclass
class ArcAnswer:
    """The voted answer to one test input of an ARC task."""

    attempts: list[np.ndarray]  # the top two candidates (fewer when fewer grids came out)
    votes: list[int]  # votes of each attempt
    candidates: int  # distinct grids voted for
    variants: int  # augmented variants run
    correct: bool | None  # attempt 1 or 2 equals the known output (None without one)
    trajectory: Solution  # the un-augmented variant's run, step by step


def _arc_variants(run: Run, task: dict, hint: str | None) -> tuple[str | None, list[tuple[int, Recipe]]]:
    """The task's id and its (puzzle identifier, recipe) variants in the run's dataset, if it is there.

    The task is looked up by `hint` (e.g. the file name), else by its demonstrations among the
    dataset's evaluation tasks (`test_puzzles.json`).
    """
    import json

    from latentloop.data.format import read_identifiers
    from latentloop.evaluate.arc import TEST_PUZZLES
    from latentloop.tasks.arc import parse_puzzle_name, parse_task

    root = Path(run.cfg.data.path or "")
    if not (root / "identifiers.json").is_file():
        return None, []
    by_task: dict[str, list[tuple[int, Recipe]]] = {}
    for ident, name in enumerate(read_identifiers(root)[1:], start=1):
        tid, recipe = parse_puzzle_name(name)
        by_task.setdefault(tid, []).append((ident, recipe))
    if hint in by_task:
        return hint, by_task[hint]
    if (root / TEST_PUZZLES).is_file():
        demos = [(p["input"].tolist(), p["output"].tolist()) for p in task["train"]]
        for tid, raw in json.loads((root / TEST_PUZZLES).read_text()).items():
            stored = parse_task(raw, tid)["train"]
            if [(p["input"].tolist(), p["output"].tolist()) for p in stored] == demos and tid in by_task:
                return tid, by_task[tid]
    return None, []


@torch.no_grad()
def solve_arc(
    run: Run, task_json: str, task_id: str | None = None, steps: int | None = None
) -> tuple[str | None, list[ArcAnswer]]:
    """Solve every test input of an ARC task as the references do: run each augmented variant the
    model was trained with (its own puzzle embedding), undo the augmentation, vote.

    A task the model never saw has no puzzle embedding: it runs once with the blank identifier,
    which rarely gives a right answer (ARC models of this family need the task's demonstrations
    in training).

    Returns:
        (the task's id in the run's dataset, None when it is not there; one ArcAnswer per test input).
    """
    from latentloop.evaluate.arc import vote
    from latentloop.tasks.arc import IDENTITY, ArcTask, encode_grid, parse_task

    task = parse_task(task_json, task_id or "task")
    task_id, variants = _arc_variants(run, task, task_id)
    variants = variants or [(0, IDENTITY)]
    arc = ArcTask()
    answers = []
    for test in task["test"]:
        tokens = np.stack([encode_grid(recipe.apply(test["input"])) for _, recipe in variants])
        ids = np.array([ident for ident, _ in variants], np.int32)
        sols = []
        for start in range(0, len(tokens), 256):
            sols += solve_tokens(run.model, arc, tokens[start : start + 256], ids[start : start + 256], steps)
        grids = [r.invert(s.answer) if s.answer.size else None for s, (_, r) in zip(sols, variants, strict=True)]
        ranked = vote(grids, [1 / (1 + np.exp(-s.q_halt[-1])) for s in sols])
        attempts = [g for g, _, _ in ranked[:2]]
        target = test.get("output")
        plain = next((i for i, (_, r) in enumerate(variants) if r.is_identity), 0)  # shown step by step
        recipe, first = variants[plain][1], sols[plain]
        first.trajectory = [recipe.invert(g) if g.size else g for g in first.trajectory]
        first.puzzle, first.answer, first.target = test["input"], first.trajectory[-1], target
        if target is not None:
            first.correct = [g.shape == target.shape and bool((g == target).all()) for g in first.trajectory]
        answers.append(
            ArcAnswer(
                attempts,
                [v for _, v, _ in ranked[:2]],
                len(ranked),
                len(variants),
                None if target is None else any(a.shape == target.shape and (a == target).all() for a in attempts),
                first,
            )
        )
    return task_id, answers


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
