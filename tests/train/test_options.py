"""Training options off the references' path: a depth curriculum (CGAR), the Muon optimizer, and scoring
against the closest correct answer (train.target=closest)."""

from __future__ import annotations

import pytest
import torch

from latentloop.config import load_config, parse_curriculum
from latentloop.data.build_maze import build_maze_dataset
from latentloop.errors import ConfigError
from latentloop.train.trainer import Carry, Trainer, supervision_step


def test_curriculum_text() -> None:
    assert parse_curriculum("0.3:1x1,0.6:2x2") == [(0.3, 1, 1), (0.6, 2, 2)]
    assert parse_curriculum("") == []
    for bad in ("0.3:1", "1.5:1x1", "0.6:2x2,0.3:1x1"):
        with pytest.raises(ConfigError, match="depth_curriculum"):
            parse_curriculum(bad)


def test_curriculum_runs_shallow_first(sudoku4_dataset, tmp_path) -> None:
    cfg = load_config(
        "trm-sudoku4-cpu",
        [f"data.path={sudoku4_dataset}", f"run_dir={tmp_path}", "train.max_steps=10", "train.depth_curriculum=0.5:1x1"],
    )
    trainer = Trainer(cfg, progress=False)
    calls = lambda: sum(p.op.kind == "call" for p in trainer.model.plan)  # noqa: E731
    full = calls()  # T=2, n=2: 6 calls
    trainer._follow_curriculum()
    assert calls() == 2  # T=1, n=1
    trainer.step = 6
    trainer._follow_curriculum()
    assert calls() == full
    result = trainer.fit()
    assert result["step"] == 10 and calls() == full  # evaluated at the model's own depth


def test_muon_trains_the_block_matrices(sudoku4_dataset, tmp_path) -> None:
    cfg = load_config(
        "trm-sudoku4-cpu",
        [f"data.path={sudoku4_dataset}", f"run_dir={tmp_path}", "train.max_steps=3", "train.optimizer=muon"],
    )
    trainer = Trainer(cfg, progress=False)
    muon = trainer.optimizers["muon"]
    assert isinstance(muon, torch.optim.Muon)
    assert all(p.ndim == 2 for g in muon.param_groups for p in g["params"])
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    moved = [k for k, v in trainer.model.state_dict().items() if "stacks" in k and not torch.equal(v, before[k])]
    assert moved
    resumed = Trainer(
        load_config(
            "trm-sudoku4-cpu",
            [f"data.path={sudoku4_dataset}", f"run_dir={tmp_path}", "train.max_steps=4", "train.optimizer=muon"],
        ),
        resume=True,
        progress=False,
    )
    assert resumed.step == 3 and resumed.fit()["step"] == 4


def test_closest_target_scores_the_shortest_path_the_model_favours(tmp_path) -> None:
    """On mazes with several shortest paths the loss against the closest answers is the least over all of them,
    so below the label's wherever the model leans to another shortest path; a run trains with the option."""
    data = build_maze_dataset(tmp_path / "maze", size=6, min_path=6, n_train=32, n_test=0, workers=1, progress=False)
    overrides = [
        f"data.path={data}",
        "data.seq_len=36",
        f"run_dir={tmp_path / 'run'}",
        "model.hidden_size=32",
        "train.max_steps=3",
    ]
    cfg = load_config("trm-maze11-cpu", [*overrides, "train.target=closest", "train.compile=false"])
    trainer = Trainer(cfg, progress=False)
    batch = next(iter(trainer.stream))
    carry = Carry.start(trainer.model, batch)
    with torch.no_grad():
        _, label_loss = supervision_step(trainer.model, carry, batch, cfg)
        _, closest_loss = supervision_step(trainer.model, carry, batch, cfg, task=trainer.task)
    assert closest_loss.lm_loss < label_loss.lm_loss
    with pytest.raises(ConfigError, match=r"train\.target"):
        load_config("trm-maze11-cpu", [*overrides, "train.target=nearest"])
    assert trainer.fit()["step"] == cfg.train.max_steps
