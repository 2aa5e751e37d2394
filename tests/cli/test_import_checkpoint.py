"""`import-checkpoint` turns a reference checkpoint into a run directory that eval/solve/train accept."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from latentloop.api import load_run
from latentloop.cli import main
from latentloop.evaluate.inference import rollout


def test_import_trm_and_reproduce_golden(tmp_path: Path, capsys) -> None:
    from conftest import shared_or_skip as need

    golden = need("golden", "trm_att")
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
