"""DDP through torchrun on the CPU (gloo): two processes train exactly like one with the same global batch.

The dataset gives its puzzles several embedding ids, so the sparse puzzle-embedding update (rows
all-gathered across ranks) is exercised as well as the dense gradient all-reduce.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from latentloop.train.checkpoint import latest_checkpoint, load_checkpoint

STEPS = 6
N_IDS = 8


@pytest.fixture(scope="module")
def multi_id_dataset(sudoku4_dataset: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp") / "sudoku4-ids"
    shutil.copytree(sudoku4_dataset, out)
    for split in ("train", "test"):
        ids_path = out / split / "all__puzzle_identifiers.npy"
        n = np.load(ids_path).shape[0]
        np.save(ids_path, (np.arange(n) % (N_IDS - 1) + 1).astype(np.int32))
        meta_path = out / split / "dataset.json"
        meta = json.loads(meta_path.read_text())
        meta["num_puzzle_identifiers"] = N_IDS
        meta_path.write_text(json.dumps(meta))
    (out / "identifiers.json").write_text(json.dumps(["<blank>"] + [f"p{i}" for i in range(1, N_IDS)]))
    return out


def train(data: Path, run: Path, nproc: int, *extra: str) -> None:
    args = [
        "train",
        "trm-sudoku4-cpu",
        f"data.path={data}",
        f"run_dir={run}",
        f"train.max_steps={STEPS}",
        "train.checkpoint_interval=3",
        "train.keep_checkpoints=0",
        "train.threads=1",
        "train.log_interval=1",
        "eval.max_examples=24",
        "eval.batch_size=8",
        *extra,
        "--quiet",
    ]
    if nproc == 1:
        cmd = [sys.executable, "-m", "latentloop.cli", *args]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
        cmd = [*launcher, "-m", "latentloop.cli", *args]
    subprocess.run(cmd, check=True, timeout=300, capture_output=True)


def weights(run: Path) -> dict[str, torch.Tensor]:
    ckpt = load_checkpoint(latest_checkpoint(run))
    assert ckpt["state"]["step"] == STEPS
    return {**ckpt["model"], **{f"ema.{k}": v for k, v in ckpt["ema"].items()}}


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=1e-4, msg=k)


def losses(run: Path) -> list[float]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["train/loss"] for r in rows if "train/loss" in r]


@pytest.fixture(scope="module")
def runs(multi_id_dataset: Path, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ddp-runs")
    train(multi_id_dataset, root / "one", 1)
    train(multi_id_dataset, root / "two", 2)
    return {"one": root / "one", "two": root / "two", "data": multi_id_dataset}


@pytest.mark.slow
def test_two_processes_match_one(runs: dict[str, Path]) -> None:
    one, two = runs["one"], runs["two"]
    assert_close(weights(one), weights(two))
    np.testing.assert_allclose(losses(one), losses(two), rtol=1e-5)
    assert len(losses(one)) == STEPS
    # evaluation is sharded over the ranks and gathered: the same examples, the same answers
    ev1, ev2 = (json.loads((r / "eval.json").read_text()) for r in (one, two))
    assert ev1["count"] == ev2["count"] == 24
    np.testing.assert_allclose(ev1["token_accuracy_per_step"], ev2["token_accuracy_per_step"], atol=1e-6)
    # the carry is stored for the global batch, whatever the number of processes
    carry = load_checkpoint(latest_checkpoint(two))["carry"]
    assert carry["inputs"].shape[0] == 32


@pytest.mark.slow
def test_resume_with_another_world_size(runs: dict[str, Path], tmp_path: Path) -> None:
    """Two processes for 3 steps, then one process for the other 3 = one process all along."""
    resumed = tmp_path / "resumed"
    shutil.copytree(runs["two"], resumed)
    shutil.rmtree(resumed / "checkpoints" / f"step_{STEPS:07d}")
    (resumed / "checkpoints" / "latest").write_text("step_0000003")
    subprocess.run(
        [sys.executable, "-m", "latentloop.cli", "train", "--resume", str(resumed), "--quiet"],
        check=True,
        timeout=300,
        capture_output=True,
    )
    assert_close(weights(runs["one"]), weights(resumed))
