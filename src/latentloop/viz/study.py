"""The study's pictures: accuracy per supervision step for every model, and accuracy against parameters and
against effective depth (block applications per supervision step)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from latentloop.viz.figures import save_figure


def _by_arm(results: list) -> dict[str, list]:
    arms: dict[str, list] = {}
    for r in results:
        arms.setdefault(r.arm, []).append(r)
    return arms


def study_plots(results: list, task: dict[str, str], out: Path) -> dict[str, Path]:
    """refinement.png (one panel per task), parameters.png and depth.png in `out`; returns them by name.
    `task` gives each arm's task."""
    arms = _by_arm(results)
    tasks = list(dict.fromkeys(task.values()))
    plots = {}

    fig, axes = plt.subplots(1, len(tasks), figsize=(6.0 * len(tasks) + 1.5, 4.6), squeeze=False)
    for ax, name in zip(axes[0], tasks, strict=True):
        trained = []  # each arm's N_sup: the line marks the one most arms of the panel were trained with
        for arm, runs in arms.items():
            if task[arm] != name:
                continue
            curves = np.array([r.exact_per_step for r in runs])
            steps = np.arange(1, curves.shape[1] + 1)
            mean, sd = curves.mean(0), curves.std(0)
            (line,) = ax.plot(steps, mean, marker=".", label=arm)
            ax.fill_between(steps, mean - sd, mean + sd, color=line.get_color(), alpha=0.12)
            trained.append(runs[0].n_sup)
        n_sup = max(set(trained), key=trained.count)
        ax.axvline(n_sup, color="grey", lw=0.8, ls="--")
        ax.text(n_sup, 0.02, " trained N_sup (most arms)", color="grey", fontsize=8)
        ax.set(xlabel="supervision steps at test time", ylabel="test exact accuracy", ylim=(0, 1), title=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle("refinement: accuracy after each step (mean ± sd over seeds)")
    fig.tight_layout()
    plots["accuracy per supervision step"] = save_figure(fig, out / "refinement.png")

    markers = {t: "osD^v"[i % 5] for i, t in enumerate(tasks)}
    for key, name, xlabel in (
        ("parameters", "parameters.png", "parameters (puzzle embedding excluded)"),
        ("effective_depth", "depth.png", "effective depth (block applications per supervision step)"),
    ):
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for arm, runs in arms.items():
            x = getattr(runs[0], key)
            y = [r.exact_per_step[r.n_sup - 1] for r in runs]
            ax.errorbar(x, np.mean(y), yerr=np.std(y), fmt=markers[task[arm]], capsize=3)
            ax.annotate(arm, (x, np.mean(y)), fontsize=7, xytext=(4, 3), textcoords="offset points")
        ax.set(xlabel=xlabel, ylabel="test exact accuracy after N_sup steps", ylim=(0, 1))
        if len(tasks) > 1:
            ax.set_title("  ".join(f"{markers[t]} {t}" for t in tasks), fontsize=9)
        if key == "parameters":
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        plots[f"accuracy against {key.replace('_', ' ')}"] = save_figure(fig, out / name)
    return plots
