"""`latentloop ablate`: several presets, one small task, the same data, seed and optimizer-step budget.

Each preset keeps its architecture (streams, program, modules and their sharing, mixer, gradient
window, halting) and is scaled down to the CPU identically: width, heads, prefix length, batch,
optimizer, EMA and dtype are overridden with the same values for all, so the table compares the
recursion designs, not their training recipes.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from latentloop.config import load_config, read_preset
from latentloop.errors import ConfigError
from latentloop.train.trainer import Trainer
from latentloop.viz.figures import save_figure

TASKS = {
    # name: (sudoku size, train puzzles, test puzzles, augmentations)
    "sudoku6": (6, 1000, 300, 100),
    "sudoku4": (4, 200, 60, 20),
}

# The same CPU scale for every preset.
CPU_SCALE = [
    "model.hidden_size=128",
    "model.num_heads=2",
    "model.puzzle_emb_len=1",
    "model.halt_max_steps=8",
    "model.forward_dtype=bfloat16",
    "train.compile=true",
    "train.device=cpu",
    "train.global_batch_size=64",
    "train.lr=2e-3",
    "train.puzzle_emb_lr=2e-3",
    "train.lr_warmup_steps=100",
    "train.lr_min_ratio=1.0",
    "train.weight_decay=0.1",
    "train.puzzle_emb_weight_decay=0.1",
    "train.ema=true",
    "train.ema_decay=0.99",
    "train.eval_interval=0",
    "train.log_interval=50",
    "train.keep_checkpoints=1",
]


def build_task(task: str, out: Path, seed: int) -> Path:
    from latentloop.data.build_sudoku import build_sudoku_dataset

    if task not in TASKS:
        raise ConfigError(f"unknown ablation task {task!r} (known: {', '.join(TASKS)})")
    if (out / "test" / "dataset.json").is_file():
        return out
    size, n_train, n_test, aug = TASKS[task]
    return build_sudoku_dataset(out, size=size, n_train=n_train, n_test=n_test, aug=aug, seed=seed, progress=True)


def run_ablation(
    task: str,
    presets: list[str],
    budget: int,
    out_dir: Path,
    seed: int = 0,
    data_dir: Path | None = None,
    extra: list[str] | None = None,
) -> Path:
    """Train every preset for `budget` optimizer steps; write table.md, table.csv and accuracy.png."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = build_task(task, Path(data_dir or f"data/ablate-{task}"), seed)
    from latentloop.data.format import DatasetMetadata

    meta = DatasetMetadata.from_json(data / "train" / "dataset.json")
    rows = []
    for name in presets:
        read_preset(name)  # fail early on an unknown name
        overrides = [
            f"data.path={data}",
            f"data.seq_len={meta.seq_len}",
            f"data.vocab_size={meta.vocab_size}",
            *CPU_SCALE,
            f"train.max_steps={budget}",
            f"train.seed={seed}",
            f"run_dir={out_dir / 'runs' / name}",
            *(extra or []),
        ]
        cfg = load_config(name, overrides)
        eval_steps = 1 if cfg.model.halt_max_steps == 1 else 8
        cfg = load_config(name, [*overrides, f"eval.steps={eval_steps}"])
        start = time.perf_counter()
        trainer = Trainer(cfg, progress=True)
        result = trainer.fit()
        wall = time.perf_counter() - start
        model, ev = trainer.model, result["eval"]
        rows.append(
            {
                "preset": name,
                "parameters": model.num_parameters(),
                "effective_depth": model.effective_depth(),
                "forward_passes_per_step": 2 if cfg.model.halting == "q_learning" else 1,
                "grad_calls": model.n_grad_calls,
                "exact_accuracy": round(ev["exact_accuracy"], 4),
                "token_accuracy": round(ev["token_accuracy"], 4),
                "exact_at_step_1": round(ev["exact_accuracy_per_step"][0], 4),
                "eval_steps": ev["steps"],
                "train_time_s": round(trainer.elapsed, 1),
                "wall_time_s": round(wall, 1),
            }
        )
        (out_dir / "results.json").write_text(json.dumps(rows, indent=1))
    _write_tables(rows, out_dir, task, budget, seed)
    return out_dir / "table.md"


def _write_tables(rows: list[dict], out_dir: Path, task: str, budget: int, seed: int) -> None:
    with open(out_dir / "table.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    head = (
        "| preset | parameters | effective depth | forward passes / step | grad calls | exact | token | "
        "exact after step 1 | train time (s) |"
    )
    lines = [
        f"Task `{task}`, {budget} optimizer steps per preset, seed {seed}.",
        "",
        head,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['parameters']:,} | {r['effective_depth']} | "
            f"{r['forward_passes_per_step']} | {r['grad_calls']} | {r['exact_accuracy']:.3f} | "
            f"{r['token_accuracy']:.3f} | {r['exact_at_step_1']:.3f} | {r['train_time_s']:.0f} |"
        )
    (out_dir / "table.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(rows)), 3.4))
    ax.bar([r["preset"] for r in rows], [r["exact_accuracy"] for r in rows], color="#1f5fbf")
    ax.set(ylabel="test exact accuracy", ylim=(0, 1), title=f"{task}: {budget} steps per preset")
    ax.tick_params(axis="x", rotation=45)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out_dir / "accuracy.png")
