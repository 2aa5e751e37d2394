"""Bad input at the command line: one `error: ...` line, exit status 2, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from latentloop.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err


def test_unknown_config_key(capsys) -> None:
    code, err = run_cli(["config", "trm-mlp-sudoku", "train.lrr=1"], capsys)
    assert_one_line_error(code, err, "unknown config key 'train.lrr'")


def test_unknown_preset(capsys) -> None:
    code, err = run_cli(["info", "no-such-preset"], capsys)
    assert_one_line_error(code, err, "unknown preset")


def test_bad_override_syntax(capsys) -> None:
    code, err = run_cli(["config", "trm-mlp-sudoku", "train.lr"], capsys)
    assert_one_line_error(code, err, "expected key=value")


def train_on_damaged_copy(dataset: Path, tmp_path: Path, damage, capsys) -> tuple[int, str]:
    """Copy the dataset, let `damage` edit the copy's train/dataset.json text, and train on it."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    meta = data / "train" / "dataset.json"
    meta.write_text(damage(meta.read_text()))
    args = ["train", "trm-sudoku4-cpu", f"data.path={data}", f"run_dir={tmp_path / 'run'}", "train.max_steps=1"]
    return run_cli([*args, "--quiet"], capsys)


def test_corrupt_dataset_json(tmp_path: Path, sudoku4_dataset: Path, capsys) -> None:
    code, err = train_on_damaged_copy(sudoku4_dataset, tmp_path, lambda text: "{ not json", capsys)
    assert_one_line_error(code, err, "dataset.json")


def test_missing_dataset_field(tmp_path: Path, sudoku4_dataset: Path, capsys) -> None:
    def drop_seq_len(text: str) -> str:
        meta = json.loads(text)
        del meta["seq_len"]
        return json.dumps(meta)

    code, err = train_on_damaged_copy(sudoku4_dataset, tmp_path, drop_seq_len, capsys)
    assert_one_line_error(code, err, "seq_len")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, sudoku4_dataset: Path) -> Path:
    run = tmp_path_factory.mktemp("runs") / "tiny"
    assert (
        main(
            [
                "train",
                "trm-sudoku4-cpu",
                f"data.path={sudoku4_dataset}",
                f"run_dir={run}",
                "train.max_steps=3",
                "eval.max_examples=8",
                "--quiet",
            ]
        )
        == 0
    )
    return run


@pytest.mark.parametrize(
    ("puzzle", "fragment"),
    [
        ("12.4..........", "14 cells"),  # wrong length for any board
        ("12x4............", "x"),  # illegal character
        ("11..............", "1"),  # contradictory givens
        ("1.3.5.7.9.......................................................................", "cells"),  # 9x9-ish
    ],
)
def test_malformed_puzzles(trained_run: Path, puzzle: str, fragment: str, capsys) -> None:
    code, err = run_cli(["solve", str(trained_run), puzzle], capsys)
    assert_one_line_error(code, err, fragment)


def test_wrong_size_board(trained_run: Path, capsys) -> None:
    """A valid 9x9 puzzle given to a model trained on 4x4 boards."""
    nine = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
    code, err = run_cli(["solve", str(trained_run), nine], capsys)
    assert_one_line_error(code, err, "81 cells")


def test_solve_prints_grid(trained_run: Path, capsys) -> None:
    assert main(["solve", str(trained_run), "..2.1..3.4......"]) == 0
    out = capsys.readouterr().out
    assert "refinement step" in out


def test_console_script_exit_status(tmp_path: Path) -> None:
    """The installed entry point, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "latentloop.cli", "config", "trm-mlp-sudoku", "model.bogus=1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown config key 'model.bogus'")
    assert "Traceback" not in proc.stderr


def test_solve_a_missing_task_file_says_so(capsys) -> None:
    """A file name that does not exist is not read as an inline puzzle (which would blame its JSON)."""
    code, err = run_cli(["solve", "--pretrained", "sudoku6", "no-such-task.json"], capsys)
    assert_one_line_error(code, err, "no-such-task.json: no such file")
