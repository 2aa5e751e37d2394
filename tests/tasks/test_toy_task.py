"""A task defined outside latentloop (tests/tasks/toy_copy.py) works through every verb: data build,
train, eval, solve and report, with no edit anywhere else."""

from __future__ import annotations

import json
from pathlib import Path

import toy_copy  # noqa: F401  (registers the copy4 task)

from latentloop.cli import main
from latentloop.tasks import registered


def test_a_new_task_runs_through_every_verb(tmp_path: Path, capsys) -> None:
    assert "copy4" in registered()
    data, run = tmp_path / "copy4", tmp_path / "run"
    assert main(["data", "build", "copy4", "--train", "300", "--test", "40", "--seed", "1", "--out", str(data)]) == 0
    overrides = [f"data.path={data}", "data.seq_len=16", "data.vocab_size=5", f"run_dir={run}"]
    train = ["train.max_steps=80", "train.compile=false", "train.log_interval=40", "model.halt_max_steps=2"]
    assert main(["train", "trm-sudoku4-cpu", *overrides, *train, "eval.steps=2", "--quiet"]) == 0
    assert main(["eval", str(run), "--steps", "1..3", "--quiet"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["task"] == "copy4" and result["count"] == 40
    assert result["token_accuracy_per_step"][1] > 0.8  # chance is 1/4: the model learnt to copy, cell by cell
    capsys.readouterr()
    assert main(["solve", str(run), "1.2.3..12...3.21", "--trace", "--no-colour"]) == 0
    out = capsys.readouterr().out
    assert "step 1 (halting logit" in out and "refinement step" in out
    assert main(["report", str(run)]) == 0
    page = (run / "report" / "report.html").read_text()
    assert "copy4" in page and "data-trajectory" in page
