"""Test-time adaptation of a trained ARC run to a task it never saw (`latentloop adapt`).

An ARC model of this family knows a task only through its learnt puzzle-embedding rows, so a new
task has none. Adapting it, as ARC-AGI-2 entries with these models do (e.g. McGovern 2025, "Test-
time adaptation of tiny recursive models"): grow the embedding table by one row per augmented
variant of the new task (started at the mean of the trained rows), train on the task's
demonstration pairs under the builder's dihedral x colour recipes for a few hundred steps, either
the new rows only (`--scope embedding`, the network frozen) or every weight (`--scope all`), then
predict each variant's test input with its own row, undo the augmentation and vote as `eval` does.
The adapted run is a run directory like any other (`eval`, `solve`, `report` work on it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from latentloop.api import load_run, task_of
from latentloop.config import load_config, to_dict
from latentloop.data.build_arc import build_adaptation_dataset
from latentloop.data.format import read_identifiers
from latentloop.errors import LatentloopError, PuzzleError
from latentloop.evaluate.arc import ArcAnswer, solve_arc
from latentloop.tasks.arc import ArcTask, parse_task
from latentloop.train.trainer import Trainer


@dataclass
class Adaptation:
    """What `adapt` did and what the adapted run answers."""

    run_dir: Path  # the adapted run
    task_id: str
    before: list[ArcAnswer]  # the unadapted run's answers (the blank embedding: a guess)
    after: list[ArcAnswer]
    steps: int
    seconds: float
    holdout_exact: float | None  # with --holdout: exact accuracy on the held-out demonstration's variants


def adapt(
    run_dir: str | Path,
    task_json: str,
    out: str | Path,
    task_id: str | None = None,
    scope: str = "all",
    steps: int = 200,
    aug: int = 8,
    batch: int = 32,
    holdout: bool = False,
    seed: int = 0,
    overrides: list[str] | None = None,
    progress: bool = True,
) -> Adaptation:
    """Adapt the ARC run in `run_dir` to the task in `task_json` and write the adapted run to `out`.

    Raises:
        LatentloopError: The run is not an ARC run, or the task is malformed (no test input, colours out of
            range, a demonstration without its output), with one line naming the problem.
    """
    run = load_run(run_dir)
    if not isinstance(task_of(run), ArcTask):
        raise LatentloopError(f"adapt needs a run trained on ARC; {run_dir} was trained on {task_of(run).name}")
    task_id = task_id or "task"
    task = parse_task(task_json, task_id)
    if not task["test"]:
        raise PuzzleError(f"{task_id}: the task has no test input to answer")
    if not task["train"]:
        raise PuzzleError(f"{task_id}: the task has no demonstration pairs to adapt on")
    out = Path(out)
    root = Path(run.cfg.data.path or "")
    table = run.model.puzzle_emb.shape[0] if run.model.puzzle_emb is not None else 1
    prior = read_identifiers(root) if (root / "identifiers.json").is_file() else []
    prior = prior if len(prior) == table else ["<blank>", *(f"row{i}" for i in range(1, table))]
    if any(name.split("|||")[0] == task_id for name in prior[1:]):
        raise LatentloopError(f"task {task_id} is in the run's dataset already: `latentloop solve` answers it as it is")
    data = build_adaptation_dataset(out / "data", task_id, task, prior, aug, seed, holdout)
    before = solve_arc(run, task_json, task_id)[1]
    n_examples = (aug + 1) * len(task["train"])
    settings = [
        f"data.path={data}",
        f"run_dir={out}",
        f"train.init_from={run_dir}",
        f"train.scope={scope}",
        f"train.max_steps={steps}",
        f"train.global_batch_size={min(batch, n_examples)}",
        f"train.lr_warmup_steps={max(1, steps // 10)}",
        "train.ema=false",
        "train.eval_interval=0",
        "train.eval_interval_epochs=0",
        "train.checkpoint_interval=0",
        "train.keep_checkpoints=1",
        "train.max_flops=0",
        f"train.seed={seed}",
        *(overrides or []),
    ]
    cfg = load_config(None, settings, base={**to_dict(run.cfg), "preset": f"{run.cfg.preset}+adapt"})
    start = time.perf_counter()
    result = Trainer(cfg, progress=progress).fit()
    seconds = time.perf_counter() - start
    ev = result.get("eval")
    adapted = load_run(out)
    after = solve_arc(adapted, task_json, task_id)[1]
    return Adaptation(
        out, task_id, before, after, result["step"], seconds, ev["exact_accuracy"] if holdout and ev else None
    )
