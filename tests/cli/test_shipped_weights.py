"""The weights that ship in the package answer offline and keep the accuracy their card states."""

from __future__ import annotations

import json

import pytest

from latentloop import load_run, pretrained
from latentloop.api import held_out_accuracy
from latentloop.cli import main

# name -> (a fresh set from another seed than the card's, the floor its accuracy must reach, a puzzle); the
# accuracy is exact for Sudoku and valid shortest paths for mazes (any of the equally short paths counts)
SHIPPED = {
    "sudoku6": (
        "sudoku --size 6 --train 0 --test 100 --seed 7",
        0.9,
        ".....4.3.5...6....4...1...6.....5.2.",  # the README's
    ),
    "sudoku9": (
        "sudoku --size 9 --train 0 --test 100 --seed 7",
        0.85,
        "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..",
    ),
    "maze11": (
        "maze --size 11 --min-path 20 --train 0 --test 100 --seed 7",
        0.9,  # measured 0.96 (0.96 on the card's 200 fresh mazes)
        "   #   ##  \n#       #  \n   # ##  # \n#      #   \n#  # #   # \n  ### # # #\n"
        "G# S #     \n## # #   # \n ##     #  \n   ### #  #\n   #      #",
    ),
}
METRIC = {"sudoku": "exact_accuracy", "maze": "valid_accuracy"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_shipped_model_solves_a_fresh_held_out_set(name: str) -> None:
    build, floor, _ = SHIPPED[name]
    assert name in pretrained.names()
    info = pretrained.card(name)
    assert info["task"]["name"] == build.split()[0] and info["training"]["steps"] > 0
    metric = METRIC[info["task"]["name"]]
    run = load_run(f"pretrained:{name}")
    # the accuracy carries over to puzzles none of the card's figures were measured on
    ev = held_out_accuracy(run, build)
    assert ev[metric] >= floor, ev
    assert info["held_out"][metric] >= floor


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_solve_pretrained_answers_and_refuses_a_wrong_size(name: str, capsys) -> None:
    assert main(["solve", "--pretrained", name, SHIPPED[name][2]]) == 0
    assert main(["solve", "--pretrained", name, "1234"]) == 2
    assert "error" in capsys.readouterr().err.lower()


def test_eval_takes_a_shipped_model_and_writes_into_the_working_directory(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["data", "build", "sudoku", "--size", "6", "--train", "0", "--test", "40", "--seed", "7",
                 "--out", "held-out", "--quiet"]) == 0  # fmt: skip
    assert main(["eval", "pretrained:sudoku6", "--data", "held-out", "--quiet"]) == 0
    result = json.loads((tmp_path / "pretrained-sudoku6" / "eval.json").read_text())
    assert result["count"] == 40 and result["exact_accuracy"] >= 0.9
    assert main(["eval", "pretrained:sudoku6", "--data", "held-out", "--checkpoints", "all"]) == 2
    assert "one checkpoint" in capsys.readouterr().err


def test_eval_depth_runs_more_cycles_per_step(tmp_path, monkeypatch, capsys) -> None:
    """`eval --depth TxN` (and `solve --depth`) runs each supervision step deeper than trained: the maze model,
    trained at T=3 x n=2 with N_sup=2, finds after one step at T=6 the paths of two steps at T=3 (docs/test_time.md)."""
    monkeypatch.chdir(tmp_path)
    assert main(["data", "build", "maze", "--size", "11", "--min-path", "20", "--train", "0", "--test", "60",
                 "--seed", "7", "--out", "mazes", "--quiet"]) == 0  # fmt: skip
    valid = {}
    for depth, steps in (("3x2", "1..2"), ("6x2", "1")):
        out = tmp_path / f"{depth}.json"
        assert main(["eval", "pretrained:maze11", "--data", "mazes", "--steps", steps, "--depth", depth,
                     "--json", str(out), "--quiet"]) == 0  # fmt: skip
        result = json.loads(out.read_text())
        assert result["depth"]["outer_cycles"] == int(depth[0])
        valid[depth] = result["valid_accuracy_per_step"]
    # a step of 6 outer cycles runs what two steps of 3 run (each carries its states into the next): measured
    # 0.967 after one step at 6x2 and after two at 3x2, against 0.883 after one at 3x2
    assert valid["6x2"][0] == pytest.approx(valid["3x2"][1], abs=1 / 60), valid
    assert valid["6x2"][0] >= valid["3x2"][0] + 0.05, valid
    assert main(["eval", "pretrained:maze11", "--data", "mazes", "--depth", "0x2"]) == 2
    assert "--depth" in capsys.readouterr().err
    assert main(["solve", "--pretrained", "maze11", SHIPPED["maze11"][2], "--depth", "6x2", "--steps", "1"]) == 0
