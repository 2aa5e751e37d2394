"""`import-checkpoint` turns a reference checkpoint into a run directory that eval/solve/train accept."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from latentloop.api import load_run
from latentloop.cli import main
from latentloop.evaluate.inference import rollout


def test_import_trm_and_reproduce_golden(tmp_path: Path, capsys) -> None:
    golden = Path(__file__).resolve().parents[1] / "golden" / "trm_att"
    out = tmp_path / "imported"
    assert (
        main(
            [
                "import-checkpoint",
                "--format",
                "trm",
                "--config",
                str(golden / "config.json"),
                str(golden / "weights.safetensors"),
                str(out),
            ]
        )
        == 0
    )
    run = load_run(out)
    batch = load_file(str(golden / "batch.safetensors"))
    trace = load_file(str(golden / "trace.safetensors"))
    steps = rollout(run.model, batch["inputs"], batch["puzzle_identifiers"], 4)
    for t, rec in enumerate(steps):
        torch.testing.assert_close(rec.logits, trace["eval/logits"][t], atol=1e-5, rtol=0)
    # The golden model works on 16-token boards of vocabulary 6, i.e. 4x4 Sudoku: solve runs on it.
    assert main(["solve", str(out), "..2.1..3.4......"]) == 0
    assert "refinement step" in capsys.readouterr().out


def _hrm_checkpoint_folder(folder: Path) -> None:
    """A checkpoint folder as HRM's pretrain.py writes it: `torch.save` of the compiled loss head's state dict
    (keys `_orig_mod.model.inner.*`) as `step_N`, beside `all_config.yaml` (yaml.dump of its PretrainConfig)."""
    import json

    import yaml

    golden = Path(__file__).resolve().parents[1] / "golden" / "hrm"
    state = {f"_orig_mod.model.{k}": v for k, v in load_file(str(golden / "weights.safetensors")).items()}
    folder.mkdir(parents=True)
    torch.save(state, folder / "step_52080")
    arch = {
        k: v
        for k, v in json.loads((golden / "config.json").read_text()).items()
        if k not in ("batch_size", "seq_len", "vocab_size", "num_puzzle_identifiers")
    }  # the dataset's, not arch's
    config = {
        "arch": {
            "name": "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1",
            "loss": {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"},
            **arch,
        },
        "data_path": "data/tiny",
        "global_batch_size": 4,
        "epochs": 1,
        "lr": 1e-4,
        "lr_min_ratio": 1.0,
        "lr_warmup_steps": 1,
        "weight_decay": 1.0,
        "beta1": 0.9,
        "beta2": 0.95,
        "puzzle_emb_lr": 1e-4,
        "puzzle_emb_weight_decay": 1.0,
        "project_name": None,
        "run_name": None,
        "checkpoint_path": str(folder),
        "seed": 0,
        "checkpoint_every_eval": False,
        "eval_interval": None,
        "eval_save_outputs": [],
    }
    (folder / "all_config.yaml").write_text(yaml.dump(config))


def _tiny_dataset(root: Path) -> Path:
    """The sizes HRM took from its dataset (seq_len 16, vocabulary 6, 3 puzzle identifiers): a dataset.json."""
    import json

    (root / "train").mkdir(parents=True)
    meta = {
        "seq_len": 16,
        "vocab_size": 6,
        "pad_id": 0,
        "ignore_label_id": 0,
        "blank_identifier_id": 0,
        "num_puzzle_identifiers": 3,
        "total_groups": 1,
        "mean_puzzle_examples": 1.0,
        "sets": ["all"],
    }
    (root / "train" / "dataset.json").write_text(json.dumps(meta))
    return root


def _reproduces_hrm_golden(run: Path) -> None:
    golden = Path(__file__).resolve().parents[1] / "golden" / "hrm"
    batch = load_file(str(golden / "batch.safetensors"))
    trace = load_file(str(golden / "trace.safetensors"))
    steps = rollout(load_run(run).model, batch["inputs"], batch["puzzle_identifiers"], 4)
    for t, rec in enumerate(steps):
        torch.testing.assert_close(rec.logits, trace["eval/logits"][t], atol=1e-5, rtol=0)


def test_import_an_hrm_checkpoint_folder(tmp_path: Path) -> None:
    """The reference's own folder layout: format from arch.name, sizes from the dataset."""
    _hrm_checkpoint_folder(tmp_path / "ckpt")
    data = _tiny_dataset(tmp_path / "data")
    assert main(["import-checkpoint", "--data", str(data), str(tmp_path / "ckpt"), str(tmp_path / "run")]) == 0
    _reproduces_hrm_golden(tmp_path / "run")


def test_import_from_a_hub_name_offline(tmp_path: Path) -> None:
    """A Hub name resolves through huggingface_hub's cache (offline): the cache layout written here is the one
    huggingface_hub keeps (models--ORG--REPO/refs/main -> snapshots/<commit>/files)."""
    import os
    import subprocess
    import sys

    cache = tmp_path / "hub"
    repo = cache / "models--someorg--HRM-checkpoint-tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    _hrm_checkpoint_folder(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    data = _tiny_dataset(tmp_path / "data")
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "latentloop.cli", "import-checkpoint", "--data", str(data)]
    done = subprocess.run(
        [*cmd, "someorg/HRM-checkpoint-tiny", str(tmp_path / "run")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    _reproduces_hrm_golden(tmp_path / "run")
    missing = subprocess.run([*cmd, "someorg/not-there", str(tmp_path / "x")], env=env, capture_output=True, text=True)
    assert (
        missing.returncode == 2
        and missing.stderr.count("\n") == 1
        and "not in the Hugging Face cache" in missing.stderr
    )
