"""The report of a run (optionally against a baseline): `report.html`, self-contained, and `report.md`.

Both show the accuracies, the training curves, the refinement curve, accuracy against compute
(fixed steps vs. the halting head), the halting histogram, accuracy per difficulty bucket and test
puzzles solved step by step (pictures and a GIF; in the HTML page also a step-through viewer).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from latentloop.api import Run, Solution, load_run, solve_split, task_of
from latentloop.config import to_dict
from latentloop.data.format import read_split
from latentloop.errors import CheckpointError
from latentloop.tasks import companion
from latentloop.viz import curves
from latentloop.viz.html import write_html_report
from latentloop.viz.views import save_trajectory

N_VIEWERS = 4


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} has no metrics.jsonl")
    rows = []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # a line torn by a crash: the trainer drops it on resume too
                break
            raise CheckpointError(f"{path}, line {i + 1}: not JSON") from None
    return rows


def read_eval(run_dir: Path) -> dict:
    path = Path(run_dir) / "eval.json"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} has no eval.json (run `latentloop eval {run_dir}`)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON ({e.msg}); run `latentloop eval {run_dir}` again") from None


def summary_row(run_dir: Path, run: Run, ev: dict) -> dict:
    timed = [r for r in read_metrics(run_dir) if "time_s" in r]
    row = {
        "run": Path(run_dir).name,
        "preset": run.cfg.preset,
        "parameters": f"{run.model.num_parameters():,}",
        "optimizer steps": ev.get("step", run.step),
        "train time (s)": round(timed[-1]["time_s"]) if timed else 0,
        "test exact": ev["exact_accuracy"],
        "test valid": ev.get("valid_accuracy", ev["exact_accuracy"]),
        "test token": ev["token_accuracy"],
        "eval steps": ev["steps"],
        "mean halting step": ev["mean_halt_steps"],
        "exact at halt": ev["exact_accuracy_at_halt"],
    }
    scoring = companion(task_of(run), "evaluation")
    if scoring is not None and "task_scoring" in ev:
        row.update(scoring.summary(ev["task_scoring"]))
    return row


def pick_examples(sols: list[Solution], n: int = N_VIEWERS) -> list[int]:
    """Prefer puzzles solved only after refinement (more than one step), then solved ones, then failures."""

    def first_right(s: Solution) -> int | None:
        return next((t for t, ok in enumerate(s.correct or []) if ok), None)

    later = [i for i, s in enumerate(sols) if (first_right(s) or 0) >= 1]
    solved = [i for i, s in enumerate(sols) if first_right(s) == 0]
    failed = [i for i, s in enumerate(sols) if first_right(s) is None]
    picked = later[: n - 1] + solved[:1] + failed[:1]
    return (picked + [i for i in later + solved + failed if i not in picked])[:n]


def trajectory_dict(sol: Solution, name: str) -> dict:
    return {
        "task": sol.task,
        "name": name,
        "puzzle": sol.puzzle,
        "steps": sol.trajectory,
        "target": sol.target,
        "q_halt": [float(1 / (1 + np.exp(-q))) for q in sol.q_halt],
        "halt_step": sol.halt_step,
        "correct": sol.correct,
    }


def bucket_rows(ev: dict, rating_name: str) -> list[dict]:
    return [
        {
            rating_name: f"{b['low']:.3g}-{b['high']:.3g}",
            "puzzles": b["count"],
            "exact": b["exact_accuracy"],
            "valid": b["valid_accuracy"],
            "mean halting step": b["mean_halt_steps"],
            "exact at halt": b["exact_accuracy_at_halt"],
        }
        for b in ev.get("buckets") or []
    ]


def _md_table(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    cols = list(rows[0])

    def fmt(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    return [
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
        *("| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows),
        "",
    ]


def write_report(run_dir: str | Path, baseline: str | Path | None = None, out_dir: str | Path | None = None) -> Path:
    """Write report.html and report.md for `run_dir` (and `baseline`); returns the HTML page's path."""
    run_dir = Path(run_dir)
    dirs = [run_dir] + ([Path(baseline)] if baseline else [])
    out = Path(out_dir or run_dir / "report")
    out.mkdir(parents=True, exist_ok=True)
    runs = {d.name: load_run(d) for d in dirs}
    evals = {d.name: read_eval(d) for d in dirs}
    main_ev = evals[run_dir.name]
    rows = [summary_row(d, runs[d.name], evals[d.name]) for d in dirs]
    run = runs[run_dir.name]
    task = task_of(run)
    rating_name = task.rating_name or "rating"

    metrics = {d.name: (read_metrics(d), runs[d.name].cfg.train.global_batch_size) for d in dirs}
    figures = {
        "training loss and accuracy": curves.loss_plot(metrics, out / "loss.png"),
        "refinement curve: test accuracy after each supervision step": curves.refinement_plot(
            evals, out / "refinement.png"
        ),
        "accuracy against compute: fixed steps vs. the halting head": curves.compute_plot(evals, out / "compute.png"),
        "where the halting head stops": curves.halting_histogram(main_ev, out / "halting.png"),
    }
    if main_ev.get("buckets"):
        figures["accuracy and halting per difficulty bucket"] = curves.bucket_plot(
            main_ev, out / "buckets.png", rating_name
        )

    split = read_split(Path(run.cfg.data.path) / "test")
    candidates = list(range(min(64, split.num_examples)))
    sols = solve_split(run.model, split, candidates, steps=main_ev["steps"])
    picked = pick_examples(sols)
    trajectories = [trajectory_dict(sols[i], f"test example {candidates[i]}") for i in picked]
    pictures = {}
    if picked:
        s = sols[picked[0]]
        pictures = save_trajectory(
            task, s.puzzle, s.trajectory, s.target, out / "trajectory.png", out / "trajectory.gif"
        )
        figures["one test puzzle, step by step (animated)"] = pictures["gif"]

    n = main_ev["count"]
    notes = [
        f"Test set: {n} held-out examples of {task.name}. Exact accuracy counts an example only when every cell "
        "is right; "
        "valid accuracy applies the task's own check (Sudoku rules and givens; a valid shortest maze path; "
        "the ARC grid).",
        "The halting head's step is where it would stop; the headline accuracy runs every step, as the references.",
    ]
    tables = {"Accuracy per difficulty bucket": bucket_rows(main_ev, rating_name)}
    html_path = write_html_report(
        out / "report.html",
        title=f"latentloop report: {run_dir.name}",
        config=to_dict(run.cfg),
        summary_rows=rows,
        figures=figures,
        trajectories=trajectories,
        notes=notes,
        tables=tables,
    )

    lines = ["# latentloop report", "", *_md_table(rows), *(f"{x}\n" for x in notes)]
    for caption, path in figures.items():
        lines += [f"## {caption[0].upper()}{caption[1:]}", "", f"![{caption}]({Path(path).name})", ""]
        if "bucket" in caption:
            lines += _md_table(bucket_rows(main_ev, rating_name))
    if pictures:
        lines += [
            "## One test puzzle, step by step",
            "",
            "Givens / inputs on the left, then the model's answer after each supervision step, then the target.",
            "",
            f"![trajectory]({pictures['png'].name})",
            "",
            f"The page `{html_path.name}` (open it in a browser; it needs no network) steps through "
            f"{len(trajectories)} test puzzles.",
            "",
        ]
    report = out / "report.md"
    tmp = report.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(report)
    return html_path
