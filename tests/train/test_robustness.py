"""Interrupted runs resume exactly, signals leave a checkpoint, faults stop cleanly, retention keeps the best."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from latentloop.config import load_config
from latentloop.errors import CheckpointError, LatentloopError
from latentloop.train.checkpoint import latest_checkpoint, load_checkpoint, select_checkpoints
from latentloop.train.trainer import Trainer

FAST = ("train.log_interval=1", "eval.max_examples=8")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "latentloop.cli", *args]


def train_args(data: Path, run: Path, *extra: str) -> list[str]:
    return cli("train", "trm-sudoku4-cpu", f"data.path={data}", f"run_dir={run}", *FAST, *extra, "--quiet")


def latest_step(run: Path) -> int:
    path = latest_checkpoint(run) if (run / "checkpoints").is_dir() else None
    return int(path.name.split("_")[1]) if path else -1


def assert_same_checkpoint(a: Path, b: Path) -> None:
    ca, cb = load_checkpoint(latest_checkpoint(a)), load_checkpoint(latest_checkpoint(b))
    assert ca["state"]["step"] == cb["state"]["step"]
    for key in ("model", "ema", "optimizer", "carry"):
        assert ca[key].keys() == cb[key].keys()
        for k in ca[key]:
            assert torch.equal(ca[key][k], cb[key][k]), (key, k)


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(sudoku4_dataset: Path, tmp_path: Path) -> None:
    steps = 30
    common = (f"train.max_steps={steps}", "train.checkpoint_interval=1")
    subprocess.run(train_args(sudoku4_dataset, tmp_path / "full", *common), check=True, timeout=300)

    run = tmp_path / "killed"
    kill_after = random.Random(os.getpid()).randint(3, steps - 5)
    proc = subprocess.Popen(train_args(sudoku4_dataset, run, *common))
    deadline = time.time() + 300
    while latest_step(run) < kill_after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert latest_step(run) < steps, "the run finished before it could be killed"
    subprocess.run(cli("train", "--resume", str(run), "--quiet"), check=True, timeout=300)
    assert_same_checkpoint(tmp_path / "full", run)
    # metrics.jsonl holds each step once, in order, after the replay
    steps_logged = [
        json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines() if "train/loss" in x
    ]
    assert steps_logged == sorted(set(steps_logged))


@pytest.mark.slow
def test_sigterm_writes_a_final_checkpoint(sudoku4_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = subprocess.Popen(
        train_args(sudoku4_dataset, run, "train.max_steps=100000"), stderr=subprocess.PIPE, text=True
    )
    metrics = run / "metrics.jsonl"
    deadline = time.time() + 120
    while (not metrics.is_file() or metrics.read_text().count("train/loss") < 5) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "stopped by a signal" in err and "Traceback" not in err
    assert latest_step(run) >= 5
    # and it resumes from there
    subprocess.run(
        cli("train", "--resume", str(run), "train.max_steps=" + str(latest_step(run) + 2), "--quiet"),
        check=True,
        timeout=300,
    )


def test_nan_loss_stops_and_keeps_last_checkpoint(sudoku4_dataset: Path, tmp_path: Path, monkeypatch) -> None:
    import latentloop.train.trainer as trainer_mod

    real = trainer_mod.act_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 4:
            out.total = out.total * float("nan")
        return out

    monkeypatch.setattr(trainer_mod, "act_loss", poisoned)
    cfg = load_config(
        "trm-sudoku4-cpu",
        [
            f"data.path={sudoku4_dataset}",
            f"run_dir={tmp_path}",
            *FAST,
            "train.max_steps=10",
            "train.checkpoint_interval=1",
        ],
    )
    with pytest.raises(LatentloopError, match="loss became nan at step 4"):
        Trainer(cfg, progress=False).fit()
    assert latest_step(tmp_path) == 3
    load_checkpoint(latest_checkpoint(tmp_path))


def test_resume_with_a_different_model_names_the_field(sudoku4_dataset: Path, tmp_path: Path) -> None:
    Trainer(
        load_config(
            "trm-sudoku4-cpu", [f"data.path={sudoku4_dataset}", f"run_dir={tmp_path}", *FAST, "train.max_steps=2"]
        ),
        progress=False,
    ).fit()
    cfg = load_config(
        "trm-sudoku4-cpu",
        [f"data.path={sudoku4_dataset}", f"run_dir={tmp_path}", *FAST, "train.max_steps=4", "model.hidden_size=32"],
    )
    with pytest.raises(CheckpointError, match=r"model\.hidden_size=64, but the config has model\.hidden_size=32"):
        Trainer(cfg, resume=True, progress=False)


def test_retention_keeps_newest_and_best(sudoku4_dataset: Path, tmp_path: Path) -> None:
    cfg = load_config(
        "trm-sudoku4-cpu",
        [
            f"data.path={sudoku4_dataset}",
            f"run_dir={tmp_path}",
            *FAST,
            "train.max_steps=12",
            "train.checkpoint_interval=1",
            "train.eval_interval=4",
            "train.keep_checkpoints=2",
        ],
    )
    Trainer(cfg, progress=False).fit()
    root = tmp_path / "checkpoints"
    kept = sorted(p.name for p in root.glob("step_*"))
    best = (root / "best").read_text().strip()
    assert best in kept
    assert {"step_0000011", "step_0000012"} <= set(kept)
    assert len(kept) <= 3
    # a vote across "all" checkpoints leaves out one kept only because it scored best on the test split
    voted = select_checkpoints(tmp_path, "all")
    assert {11, 12} <= set(voted)
    assert (int(best.removeprefix("step_")) in voted) == (best in {"step_0000011", "step_0000012"})
    shutil.copytree(root / "step_0000011", root / "step_0000003")  # an old checkpoint kept as the best
    (root / "best").write_text("step_0000003")
    assert 3 not in select_checkpoints(tmp_path, "all") and 3 in select_checkpoints(tmp_path, "3,12")


def test_checkpoint_that_is_not_safetensors(sudoku4_dataset: Path, tmp_path: Path, capsys) -> None:
    from latentloop.cli import main

    Trainer(
        load_config(
            "trm-sudoku4-cpu", [f"data.path={sudoku4_dataset}", f"run_dir={tmp_path}", *FAST, "train.max_steps=1"]
        ),
        progress=False,
    ).fit()
    (latest_checkpoint(tmp_path) / "model.safetensors").write_bytes(b"\x00garbage, not a safetensors file")
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a valid safetensors file" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("puzzle", "fragment"), [(".23..1..4.......", "no solution"), ("................", "several solutions")]
)
def test_solve_refuses_unsolvable_puzzles(
    sudoku4_dataset: Path, tmp_path: Path, puzzle: str, fragment: str, capsys
) -> None:
    from latentloop.cli import main

    Trainer(
        load_config(
            "trm-sudoku4-cpu", [f"data.path={sudoku4_dataset}", f"run_dir={tmp_path}", *FAST, "train.max_steps=1"]
        ),
        progress=False,
    ).fit()
    assert main(["solve", str(tmp_path), puzzle]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and fragment in err


def test_resume_override_form(sudoku4_dataset: Path, tmp_path: Path) -> None:
    """`latentloop train resume=RUN_DIR key=value` is the same as `--resume RUN_DIR key=value`."""
    from latentloop.cli import main

    assert (
        main(
            [
                "train",
                "trm-sudoku4-cpu",
                f"data.path={sudoku4_dataset}",
                f"run_dir={tmp_path}",
                *FAST,
                "train.max_steps=2",
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["train", f"resume={tmp_path}", "train.max_steps=3", "--quiet"]) == 0
    assert latest_step(tmp_path) == 3
