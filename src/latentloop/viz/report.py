"""`report.md` for a run (optionally against a baseline): accuracies, loss curves, the refinement
curve, and one test puzzle solved step by step."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.api import load_run, solve_sudoku
from latentloop.data.format import read_split
from latentloop.errors import CheckpointError
from latentloop.tasks import sudoku
from latentloop.viz.sudoku import save_figure, trajectory_figure


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} has no metrics.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_eval(run_dir: Path) -> dict:
    path = Path(run_dir) / "eval.json"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} has no eval.json (run `latentloop eval {run_dir}`)")
    return json.loads(path.read_text())


def _label(run_dir: Path) -> str:
    return Path(run_dir).name


def _smooth(values: list[float], k: int = 5) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if len(v) < k:
        return v
    return np.convolve(np.pad(v, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k, mode="valid")


def loss_plot(runs: list[Path], out: Path) -> Path:
    """Training loss and training exact accuracy (slots that halted) against wall-clock time."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for run in runs:
        rows = [r for r in read_metrics(run) if "train/lm_loss" in r]
        batch = _batch_size(run)
        axes[0].plot(
            [r["time_s"] for r in rows], _smooth([r["train/lm_loss"] / batch for r in rows]), label=_label(run)
        )
        acc = [r for r in rows if "train/exact_accuracy" in r]
        axes[1].plot([r["time_s"] for r in acc], _smooth([r["train/exact_accuracy"] for r in acc]), label=_label(run))
    axes[0].set(xlabel="training time (s)", ylabel="cross-entropy per puzzle", yscale="log", title="training loss")
    axes[1].set(
        xlabel="training time (s)", ylabel="exact accuracy", ylim=(0, 1), title="training puzzles solved (when halted)"
    )
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out)
    return out


def refinement_plot(runs: list[Path], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for run in runs:
        curve = read_eval(run)["exact_accuracy_per_step"]
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=_label(run))
    ax.set(xlabel="supervision step", ylabel="exact accuracy", ylim=(0, 1), title="refinement curve (test)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out)
    return out


def _batch_size(run: Path) -> int:
    import yaml

    return int(yaml.safe_load((Path(run) / "config.yaml").read_text())["train"]["global_batch_size"])


def _example_puzzle(run_dir: Path, out: Path) -> tuple[Path, str] | None:
    """Pick a test puzzle the model solves in more than one step (else the first), draw its trajectory."""
    run = load_run(run_dir)
    split = read_split(Path(run.cfg.data.path) / "test")
    shape = sudoku.shape_for_cells(split.metadata.seq_len)
    n = min(64, split.num_examples)
    puzzles = [sudoku.to_line(sudoku.decode(np.asarray(split.inputs[i]), shape)) for i in range(n)]
    solutions = [sudoku.decode(np.asarray(split.labels[i]), shape) for i in range(n)]
    sols = solve_sudoku(run.model, puzzles, steps=run.cfg.eval.steps or run.cfg.model.halt_max_steps)
    first_solved = [next((t for t, g in enumerate(s.trajectory) if sudoku.verify(s.puzzle, g)), None) for s in sols]
    pick = next((i for i, f in enumerate(first_solved) if f is not None and f >= 1), 0)
    s = sols[pick]
    trajectory_figure(s.puzzle, s.trajectory, out, solution=solutions[pick])
    return out, puzzles[pick]


def write_report(run_dir: str | Path, baseline: str | Path | None = None, out_dir: str | Path | None = None) -> Path:
    run_dir = Path(run_dir)
    runs = [run_dir] + ([Path(baseline)] if baseline else [])
    out = Path(out_dir or run_dir / "report")
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# latentloop report", ""]
    lines += [
        "| run | preset | parameters | optimizer steps | train time (s) | test exact | test token | "
        "eval steps | mean halting step |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        ev = read_eval(run)
        metrics = read_metrics(run)
        last = [r for r in metrics if "time_s" in r][-1]
        info = load_run(run)
        lines.append(
            f"| {_label(run)} | {info.cfg.preset} | {info.model.num_parameters():,} | {ev.get('step', '?')} | "
            f"{last['time_s']:.0f} | {ev['exact_accuracy']:.4f} | {ev['token_accuracy']:.4f} | "
            f"{ev['steps']} | {ev['mean_halt_steps']:.2f} |"
        )
    lines += [
        "",
        f"Test set: {read_eval(run_dir)['count']} held-out puzzles. Exact accuracy counts a puzzle only "
        "when every cell is right.",
        "",
    ]
    lines += ["## Training", "", f"![loss curves]({loss_plot(runs, out / 'loss.png').name})", ""]
    lines += [
        "## Refinement: accuracy after each supervision step",
        "",
        f"![refinement curve]({refinement_plot(runs, out / 'refinement.png').name})",
        "",
    ]
    example = _example_puzzle(run_dir, out / "trajectory.png")
    if example:
        path, puzzle = example
        lines += [
            "## One test puzzle, step by step",
            "",
            f"Puzzle `{puzzle}`. Givens bold, the model's digits blue, "
            "digits that break a rule red, cells changed since the previous step on yellow.",
            "",
            f"![trajectory]({path.name})",
            "",
        ]
    report = out / "report.md"
    tmp = report.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(report)
    return report
