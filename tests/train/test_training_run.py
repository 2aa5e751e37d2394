"""End-to-end training on a tiny generated 4x4 Sudoku: learning, determinism, resume, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from latentloop.config import load_config
from latentloop.train.checkpoint import latest_checkpoint, load_checkpoint
from latentloop.train.trainer import Trainer


def train(data: Path, run: Path, *overrides: str, resume: bool = False) -> dict:
    cfg = load_config("trm-sudoku4-cpu", [f"data.path={data}", f"run_dir={run}", *overrides])
    return Trainer(cfg, resume=resume, progress=False).fit()


def metric_lines(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if "time" not in k and "per_s" not in k} for r in rows]


@pytest.mark.slow
def test_fixed_step_run_learns_4x4(sudoku4_dataset: Path, tmp_path: Path) -> None:
    """The tiny preset's fixed 300-step run solves held-out 4x4 puzzles (pipeline check)."""
    result = train(sudoku4_dataset, tmp_path / "run")
    ev = result["eval"]
    assert result["step"] == 300
    assert ev["exact_accuracy"] >= 0.95, ev
    assert (tmp_path / "run" / "config.yaml").is_file()
    assert (tmp_path / "run" / "eval.json").is_file()
    assert list((tmp_path / "run" / "tb").iterdir()), "TensorBoard events written"
    losses = [r["train/lm_loss"] for r in metric_lines(tmp_path / "run") if "train/lm_loss" in r]
    assert losses[-1] < 0.2 * losses[0]


def test_same_seed_same_metrics(sudoku4_dataset: Path, tmp_path: Path) -> None:
    train(sudoku4_dataset, tmp_path / "a", "train.max_steps=12", "train.log_interval=1", "eval.max_examples=16")
    train(sudoku4_dataset, tmp_path / "b", "train.max_steps=12", "train.log_interval=1", "eval.max_examples=16")
    train(
        sudoku4_dataset,
        tmp_path / "c",
        "train.max_steps=12",
        "train.log_interval=1",
        "eval.max_examples=16",
        "train.seed=1",
    )
    a, b, c = (metric_lines(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_resume_continues_exactly(sudoku4_dataset: Path, tmp_path: Path) -> None:
    """10 steps straight == 6 steps, stop, resume to 10: same weights, bit for bit on the CPU."""
    common = ("train.log_interval=1", "eval.max_examples=8")
    train(sudoku4_dataset, tmp_path / "full", "train.max_steps=10", *common)
    train(sudoku4_dataset, tmp_path / "split", "train.max_steps=6", *common)
    train(sudoku4_dataset, tmp_path / "split", "train.max_steps=10", *common, resume=True)
    full = load_checkpoint(latest_checkpoint(tmp_path / "full"))
    split = load_checkpoint(latest_checkpoint(tmp_path / "split"))
    assert full["state"]["step"] == split["state"]["step"] == 10
    for key in ("model", "ema", "optimizer", "carry"):
        assert full[key].keys() == split[key].keys()
        for k in full[key]:
            assert torch.equal(full[key][k], split[key][k]), (key, k)


def test_checkpoint_write_is_atomic(sudoku4_dataset: Path, tmp_path: Path, monkeypatch) -> None:
    """A crash while writing a checkpoint leaves the previous one as `latest`, loadable."""
    import latentloop.train.checkpoint as ckpt_mod
    from latentloop.errors import CheckpointError

    run = tmp_path / "run"
    train(sudoku4_dataset, run, "train.max_steps=3", "eval.max_examples=8")
    before = latest_checkpoint(run)
    real = ckpt_mod.save_file

    def failing(tensors, path, *a, **k):
        if path.endswith("optimizer.safetensors"):
            raise OSError(28, "No space left on device")
        return real(tensors, path, *a, **k)

    monkeypatch.setattr(ckpt_mod, "save_file", failing)
    with pytest.raises(CheckpointError, match="No space left on device"):
        train(sudoku4_dataset, run, "train.max_steps=5", "eval.max_examples=8", resume=True)
    assert latest_checkpoint(run) == before
    assert load_checkpoint(before)["state"]["step"] == 3
    assert not list((run / "checkpoints").glob(".tmp-*"))
