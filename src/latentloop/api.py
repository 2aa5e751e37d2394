"""Python API: load a run directory or a reference checkpoint, and solve puzzles with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from latentloop import pretrained
from latentloop.config import RunConfig, config_from_dict, config_from_yaml_text, to_dict
from latentloop.data.format import DatasetMetadata
from latentloop.errors import CheckpointError, LatentloopError
from latentloop.evaluate.arc import ArcAnswer, solve_arc
from latentloop.evaluate.inference import rollout
from latentloop.evaluate.sampling import Sampling
from latentloop.evaluate.solve import Solution, solve_split, solve_tokens
from latentloop.model.convert import load_into, load_reference_checkpoint
from latentloop.model.reasoner import Reasoner
from latentloop.tasks import sudoku, task_for
from latentloop.tasks.base import Task
from latentloop.train.checkpoint import check_model_config, latest_checkpoint, load_checkpoint

__all__ = [
    "ArcAnswer",
    "Run",
    "Solution",
    "evaluate_run",
    "held_out_accuracy",
    "import_reference_run",
    "load_pretrained",
    "load_reference_checkpoint",
    "load_run",
    "rollout",
    "solve_arc",
    "solve_puzzles",
    "solve_split",
    "solve_sudoku",
    "solve_tokens",
    "task_of",
]


@dataclass
class Run:
    """A trained model with the config it was trained with."""

    cfg: RunConfig
    model: Reasoner
    checkpoint: Path  # the checkpoint directory (or the shipped weights file) it was read from
    step: int
    task_info: dict | None = None  # the dataset's `task` field, when known without the dataset (shipped weights)


def load_run(run_dir: str | Path, ema: bool = True, device: str = "cpu", step: int | None = None) -> Run:
    """The model of a run directory at its latest checkpoint (or the one of training step `step`), with EMA
    weights when it has them; `pretrained:NAME` is a model shipped with latentloop (`latentloop pretrained`)."""
    from latentloop.train.checkpoint import checkpoint_at

    if (name := pretrained.shipped_name(run_dir)) is not None:
        return load_pretrained(name, device)

    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory (no config.yaml)")
    cfg = config_from_yaml_text(cfg_path.read_text())
    path = latest_checkpoint(run_dir) if step is None else checkpoint_at(run_dir, step)
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


def evaluate_run(
    run_dir: str | Path,
    data: str | Path | None = None,
    steps: int | None = None,
    checkpoints: str | None = None,
    max_examples: int = 0,
    halt: bool = False,
    progress: bool = False,
    sampling: Sampling | None = None,
    sweep: tuple[list[int], list[int]] | None = None,
    depth: tuple[int, int] | None = None,
) -> dict:
    """Evaluate a run on the test split of its dataset (or `data`): accuracy after every supervision step, halting,
    difficulty buckets, and the task's own scoring over the split when it has one (ARC: pass@K and
    submission.json, voting across `checkpoints`: all | last | comma-separated steps; default the task's).

    `sampling` runs K noisy trajectories per puzzle and answers with the one its rule picks;
    `sweep` = (steps grid, samples grid) adds accuracy against compute for more steps, more samples and
    both (`test_time` in the result), with the noise and seed of `sampling`. `depth` = (outer, inner) runs every
    supervision step with other loop counts (T x n) than the model was trained with: more depth per step.

    Returns:
        The dict written to eval.json.
    """
    from latentloop.data.format import read_split
    from latentloop.evaluate.runner import collect, summarize
    from latentloop.tasks import companion
    from latentloop.train.checkpoint import select_checkpoints
    from latentloop.train.trainer import compile_stacks

    run = load_run(run_dir)
    data = Path(data or run.cfg.data.path)
    split = read_split(data / "test")
    if split.num_examples == 0:
        raise LatentloopError(f"the test split of {data} is empty: nothing to evaluate")
    steps = steps or run.cfg.eval.steps or run.cfg.model.halt_max_steps
    if sweep:
        steps = max(steps, *sweep[0])
    task = split.task()
    scoring = companion(task, "evaluation")  # task-level scoring over the split (ARC's votes), if any
    spec = checkpoints or (scoring.DEFAULT_CHECKPOINTS if scoring else "last")
    shipped = pretrained.shipped_name(run_dir) is not None
    if shipped and checkpoints not in (None, "last"):
        raise LatentloopError(f"--checkpoints {spec}: a shipped model has one checkpoint")
    chosen = [run.step] if shipped else select_checkpoints(Path(run_dir), spec)
    if scoring is None and len(chosen) > 1:
        raise LatentloopError(
            f"--checkpoints {spec}: votes across checkpoints need task-level scoring, which {task.name} has not; "
            "give one step"
        )
    votes = scoring.collector(data, split) if scoring else None
    for step in chosen:
        if step != run.step:
            run = load_run(run_dir, step=step)
        if depth:
            run.model.set_depth(*depth)
        if run.cfg.train.compile:  # as the trainer evaluates: the same kernels, 1.6x the eager rate (benchmarks/)
            compile_stacks(run.model)
        records = collect(
            run.model,
            split,
            steps,
            run.cfg.eval.batch_size,
            max_examples,
            progress=progress,
            keep_predictions=votes is not None,
            halt=halt,
            sampling=sampling,
        )
        if votes is not None:
            votes.add_records(records)
    result = {"run_dir": str(run_dir), "checkpoint_step": run.step, "data": str(data), **summarize(records, split)}
    if depth:
        result["depth"] = {"outer_cycles": depth[0], "inner_cycles": depth[1]}
    if sampling is not None and not sampling.plain:
        result["sampling"] = asdict(sampling)
    if sweep:
        result["test_time"] = test_time_sweep(run, split, sweep, sampling, result, max_examples, progress)
    if scoring is not None:
        result["task_scoring"] = scoring.report(votes, output_dir(run_dir), chosen)
    return result


def output_dir(run_dir: str | Path) -> Path:
    """Where evaluating `run_dir` writes its files: the run directory, or `pretrained-NAME` in the working
    directory for a shipped model (`pretrained:NAME`)."""
    name = pretrained.shipped_name(run_dir)
    return Path(run_dir) if name is None else Path(f"pretrained-{name}")


def load_pretrained(name: str, device: str = "cpu") -> Run:
    """A model shipped with latentloop (see `latentloop.pretrained`)."""
    info, state = pretrained.read(name)
    cfg = config_from_dict(info["config"])
    shape = info["model_shape"]
    model = Reasoner(cfg.model, shape["vocab_size"], shape["seq_len"], shape["num_puzzle_identifiers"])
    load_into(model, state)
    model.to(device).eval()
    return Run(cfg, model, pretrained.path_of(name), int(info["training"]["steps"]), info.get("task"))


def held_out_accuracy(run: Run, build: str, steps: int | None = None) -> dict:
    """Exact and valid accuracy of a run on a fresh set drawn by its task's builder (`build`: the builder's
    command line, e.g. `sudoku --size 9 --train 0 --test 200 --seed 123`), and how many of the drawn puzzles
    are in the run's training split (when that is at hand)."""
    import argparse
    import shlex
    import tempfile

    from latentloop.data.format import read_split
    from latentloop.evaluate.runner import collect, summarize
    from latentloop.tasks import companion, registered

    argv = shlex.split(build)
    builder = companion(registered()[argv[0]], "builder")
    parser = argparse.ArgumentParser(prog="held-out set")
    builder.add_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    with tempfile.TemporaryDirectory() as tmp:
        args = parser.parse_args(argv[1:])
        args.out, args.quiet = str(Path(tmp) / "held-out"), True
        split = read_split(Path(builder.build(args)) / "test", mmap=False)
        steps = steps or run.cfg.eval.steps or run.cfg.model.halt_max_steps
        ev = summarize(collect(run.model, split, steps, run.cfg.eval.batch_size), split)
        train_dir = Path(run.cfg.data.path or "") / "train"
        overlap = None
        if (train_dir / "dataset.json").is_file():
            seen = {bytes(row) for row in np.asarray(read_split(train_dir).inputs)}
            overlap = sum(bytes(row) in seen for row in np.asarray(split.inputs))
    return {
        "build": build,
        "count": ev["count"],
        "steps": steps,
        "exact_accuracy": ev["exact_accuracy"],
        "valid_accuracy": ev["valid_accuracy"],
        "in_training_split": overlap,
    }


def test_time_sweep(
    run: Run,
    split,
    grids: tuple[list[int], list[int]],
    sampling: Sampling | None,
    plain: dict,
    max_examples: int = 0,
    progress: bool = False,
) -> dict:
    """Accuracy against compute (module calls per puzzle) for every steps x samples x rule of the grids, from one
    run of the largest grid; the deterministic model's curve (`plain`) is the baseline."""
    from latentloop.evaluate.sampling import SWEEP_NOISE, collect_samples, sweep

    steps_grid, samples_grid = grids
    base = sampling or Sampling(noise=SWEEP_NOISE)
    spec = Sampling(max(samples_grid), base.noise, base.select, base.at, base.seed, base.augment)
    records = collect_samples(
        run.model, split, max(steps_grid), spec, run.cfg.eval.batch_size, max_examples, progress=progress
    )
    calls = sum(p.op.kind == "call" for p in run.model.plan)
    rows = sweep(records, plain["exact_accuracy_per_step"], calls, steps_grid, samples_grid)
    return {
        "noise": spec.noise,
        "at": spec.at,
        "seed": spec.seed,
        "augment": spec.augment,
        "module_calls_per_step": calls,
        "rows": rows,
    }


def task_of(run: Run) -> Task:
    """The task a run was trained on: from its dataset's metadata, else from the model's shape."""
    meta = Path(run.cfg.data.path or "") / "train" / "dataset.json"
    info = run.task_info
    if info is None and run.cfg.data.path and meta.is_file():
        info = DatasetMetadata.from_json(meta).task
    return task_for(info, run.model.seq_len, run.model.vocab_size)


def solve_puzzles(
    run: Run, puzzles: list[str], steps: int | None = None, halt: bool = False, sampling: Sampling | None = None
) -> list[Solution]:
    """Solve puzzles given in their task's text form (a Sudoku one-liner, a maze's text), each checked as `solve`
    checks it (see `solve_tokens`)."""
    task = task_of(run)
    tokens = np.stack([task.encode(task.parse(p)) for p in puzzles])
    return solve_tokens(run.model, task, tokens, steps=steps, halt=halt, sampling=sampling)


def solve_sudoku(model: Reasoner, puzzles: list[str], steps: int | None = None, halt: bool = False) -> list[Solution]:
    """Solve one-line Sudoku puzzles with a bare model (a Sudoku of its number of cells; see `solve_puzzles`)."""
    task = sudoku.SudokuTask(sudoku.shape_for_cells(model.seq_len))
    tokens = np.stack([task.encode(task.parse(p)) for p in puzzles])
    return solve_tokens(model, task, tokens, steps=steps, halt=halt)


def import_reference_run(
    source: str | Path,
    out: str | Path,
    fmt: str | None = None,
    config_path: str | Path | None = None,
    data_path: str | None = None,
    revision: str | None = None,
) -> Path:
    """Write a run directory (config + step-0 checkpoint) holding a reference checkpoint's weights.

    `source` is a weights file, a checkpoint folder or a Hub name ORG/REPO (see `latentloop.reference`).
    `eval`, `solve` and `train --resume` then work on the run directory; training starts fresh optimizer state.
    """
    from latentloop import reference
    from latentloop.config import DataConfig, save_config
    from latentloop.train.checkpoint import save_checkpoint

    model, fmt, weights = reference.load(str(source), fmt, config_path, data_path, revision)
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
            "imported_from": str(source),
            "weights_file": str(weights),
            "reference_format": fmt,
            "model_shape": {"vocab_size": model.vocab_size, "seq_len": model.seq_len, "num_puzzle_identifiers": n_ids},
        },
    )
    return out
