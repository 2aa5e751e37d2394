"""Test-time adaptation: an ARC run answers a task it never saw only after adapting to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentloop.cli import main
from latentloop.data.build_arc import build_arc_dataset

TINY = [
    "model.hidden_size=32",
    "model.num_heads=2",
    "model.outer_cycles=1",
    "model.inner_cycles=1",
    "model.halt_max_steps=3",
    "model.forward_dtype=float32",
    "train.global_batch_size=8",
    "train.max_steps=4",
    "eval.steps=3",
    "eval.batch_size=32",
    "--quiet",
]


def recolour(grid: list[list[int]]) -> list[list[int]]:
    return [[2 if v == 1 else v for v in row] for row in grid]


GRIDS = [
    [[1, 0, 1], [0, 1, 0], [1, 1, 0]],
    [[0, 1], [1, 1]],
    [[1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 0]],
    [[1, 1, 1], [0, 0, 0]],
]
TASK = {
    "train": [{"input": g, "output": recolour(g)} for g in GRIDS[:3]],
    "test": [{"input": GRIDS[3], "output": recolour(GRIDS[3])}],
}


@pytest.fixture(scope="module")
def arc_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("adapt")
    data = build_arc_dataset(root / "arc", version=1, aug=2, seed=0, progress=False, max_tasks_per_set=2)
    assert main(["train", "trm-att-arc", f"data.path={data}", f"run_dir={root / 'run'}", *TINY]) == 0
    return root / "run"


def test_adapting_makes_a_new_task_right(arc_run: Path, tmp_path: Path, capsys) -> None:
    """A recolour task absent from training: the blank embedding's guess is wrong; after 50 steps on its three
    demonstrations the adapted run's two attempts hold the right grid."""
    task = tmp_path / "recolour.json"
    task.write_text(json.dumps(TASK))
    out = tmp_path / "adapted"
    argv = [
        "adapt",
        str(arc_run),
        str(task),
        "train.lr=3e-3",
        "--out",
        str(out),
        "--steps",
        "50",
        "--aug",
        "0",
        "--batch",
        "8",
        "--no-colour",
        "--quiet",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    before, after = text.split("after adapting")
    assert "wrong: neither attempt" in before and "right (pass@2)" in after
    assert (out / "config.yaml").is_file() and (out / "data" / "identifiers.json").is_file()
    # the adapted run is a run like any other: solve finds the task's variants in it and answers right
    assert main(["solve", str(out), str(task), "--no-colour"]) == 0
    assert "right (pass@2)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"test": []}, "'test' must be a non-empty list"),
        ({"train": [{"input": [[1, 12]], "output": [[1]]}]}, "colour"),
    ],
)
def test_bad_tasks_are_one_line_errors(arc_run: Path, tmp_path: Path, capsys, change: dict, message: str) -> None:
    task = tmp_path / "bad.json"
    task.write_text(json.dumps({**TASK, **change}))
    assert main(["adapt", str(arc_run), str(task), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_only_arc_runs_adapt(sudoku4_dataset: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "s4"
    assert (
        main(
            [
                "train",
                "trm-sudoku4-cpu",
                f"data.path={sudoku4_dataset}",
                f"run_dir={run}",
                "train.max_steps=2",
                "--quiet",
            ]
        )
        == 0
    )
    task = tmp_path / "t.json"
    task.write_text(json.dumps(TASK))
    assert main(["adapt", str(run), str(task), "--quiet"]) == 2
    assert "needs a run trained on ARC" in capsys.readouterr().err
