"""Plots of a run's metrics and of its evaluation (eval.json): training curves, the refinement curve,
accuracy against compute (fixed steps vs. halting), the halting histogram, and difficulty buckets."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.viz.figures import save_figure


def _smooth(values: list[float], k: int = 5) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if len(v) < k:
        return v
    return np.convolve(np.pad(v, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k, mode="valid")


def _finish(fig: plt.Figure, axes, out: Path, legend: bool = True) -> Path:
    for ax in np.atleast_1d(axes):
        ax.grid(alpha=0.3)
        if legend and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out)
    return out


def loss_plot(runs: dict[str, tuple[list[dict], int]], out: Path) -> Path:
    """Training loss per puzzle and exact accuracy of halted training slots against wall-clock time.

    Args:
        runs: label -> (metrics.jsonl records, global batch size).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for label, (records, batch) in runs.items():
        rows = [r for r in records if "train/lm_loss" in r]
        axes[0].plot([r["time_s"] for r in rows], _smooth([r["train/lm_loss"] / batch for r in rows]), label=label)
        acc = [r for r in rows if "train/exact_accuracy" in r]
        axes[1].plot([r["time_s"] for r in acc], _smooth([r["train/exact_accuracy"] for r in acc]), label=label)
    axes[0].set(xlabel="training time (s)", ylabel="cross-entropy per puzzle", yscale="log", title="training loss")
    axes[1].set(xlabel="training time (s)", ylabel="exact accuracy", ylim=(0, 1), title="training puzzles (halted)")
    return _finish(fig, axes, out)


def refinement_plot(evals: dict[str, dict], out: Path) -> Path:
    """Exact (and task-valid) accuracy after each supervision step."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, ev in evals.items():
        curve = ev["exact_accuracy_per_step"]
        (line,) = ax.plot(range(1, len(curve) + 1), curve, marker="o", ms=3, label=f"{label} exact")
        valid = ev.get("valid_accuracy_per_step")
        if valid and not np.allclose(valid, curve):
            ax.plot(range(1, len(valid) + 1), valid, ls="--", color=line.get_color(), label=f"{label} valid")
    ax.set(xlabel="supervision steps run", ylabel="test accuracy", ylim=(0, 1), title="refinement curve")
    return _finish(fig, ax, out)


def compute_plot(evals: dict[str, dict], out: Path) -> Path:
    """Accuracy against mean supervision steps: fixed step counts vs. stopping by the halting head."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, ev in evals.items():
        curve = ev["exact_accuracy_per_step"]
        (line,) = ax.plot(range(1, len(curve) + 1), curve, marker="o", ms=3, label=f"{label}: fixed steps")
        trade = ev.get("halting_tradeoff") or []
        if trade:
            ax.plot(
                [r["mean_steps"] for r in trade],
                [r["exact_accuracy"] for r in trade],
                ls=":",
                marker="s",
                ms=3,
                color=line.get_color(),
                label=f"{label}: halt at p > tau",
            )
        ax.plot(
            [ev["mean_halt_steps"]],
            [ev["exact_accuracy_at_halt"]],
            marker="*",
            ms=12,
            ls="",
            color=line.get_color(),
            label=f"{label}: halting head",
        )
    ax.set(xlabel="mean supervision steps per puzzle", ylabel="test exact accuracy", ylim=(0, 1))
    ax.set_title("accuracy vs. compute")
    return _finish(fig, ax, out)


def halting_histogram(ev: dict, out: Path) -> Path:
    """How many test puzzles the halting head stops at each step."""
    hist = ev["halt_step_histogram"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(range(1, len(hist) + 1), hist, color="#4c72b0")
    ax.set(xlabel="step where the halting head stops", ylabel="test puzzles", title="halting steps")
    return _finish(fig, ax, out, legend=False)


def bucket_plot(ev: dict, out: Path, rating_name: str = "rating") -> Path:
    """Accuracy and mean halting step per difficulty bucket."""
    rows = ev.get("buckets") or []
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    labels = [f"{r['low']:.3g}-{r['high']:.3g}" for r in rows]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["exact_accuracy"] for r in rows], width=0.4, label="exact accuracy", color="#4c72b0")
    ax.set(ylim=(0, 1), ylabel="exact accuracy", xlabel=rating_name)
    ax.set_xticks(x, labels, fontsize=7)
    twin = ax.twinx()
    twin.bar(x + 0.2, [r["mean_halt_steps"] for r in rows], width=0.4, label="mean halting step", color="#dd8452")
    twin.set_ylabel("mean halting step")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles, ["exact accuracy", "mean halting step"], fontsize=8, loc="upper right")
    ax.set_title("difficulty buckets")
    return _finish(fig, ax, out, legend=False)


def test_time_plot(ev: dict, out: Path) -> Path:
    """Exact accuracy against module calls per puzzle: more steps (one line per samples count and rule) and the
    deterministic model's curve (`eval --sweep`)."""
    rows = ev["test_time"]["rows"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (rule, k), group in _groups(rows):
        style = "k-" if rule == "plain" else ("-" if rule == "halt" else "--" if rule == "vote" else ":")
        label = "plain (deterministic)" if rule == "plain" else f"{k} samples, {rule}"
        marker = "o" if rule == "plain" else "."
        ax.plot(
            [r["module_calls"] for r in group], [r["exact_accuracy"] for r in group], style, marker=marker, label=label
        )
    ax.set(
        xscale="log",
        xlabel="module calls per puzzle (samples x steps x calls per step)",
        ylabel="test exact accuracy",
        title=f"test-time compute (noise {ev['test_time']['noise']}, at each {ev['test_time']['at']})",
    )
    ax.grid(alpha=0.3)
    return _finish(fig, ax, out)


def _groups(rows: list[dict]) -> list[tuple[tuple[str, int], list[dict]]]:
    keys = list(dict.fromkeys((r["rule"], r["samples"]) for r in rows))
    return [
        (key, sorted((r for r in rows if (r["rule"], r["samples"]) == key), key=lambda r: r["steps"])) for key in keys
    ]


def eval_plots(ev: dict, out_dir: Path, label: str = "model") -> dict[str, Path]:
    """The evaluation's plots, by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {
        "refinement": refinement_plot({label: ev}, out_dir / "refinement.png"),
        "compute": compute_plot({label: ev}, out_dir / "compute.png"),
        "halting": halting_histogram(ev, out_dir / "halting.png"),
    }
    if ev.get("buckets"):
        plots["buckets"] = bucket_plot(ev, out_dir / "buckets.png")
    if ev.get("test_time"):
        plots["test_time"] = test_time_plot(ev, out_dir / "test_time.png")
    return plots
