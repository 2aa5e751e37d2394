"""The weights that ship in the package answer offline and keep the accuracy their card states."""

from __future__ import annotations

from latentloop import load_run, pretrained
from latentloop.api import held_out_accuracy
from latentloop.cli import main


def test_the_6x6_model_ships_and_solves_a_fresh_held_out_set() -> None:
    assert "sudoku6" in pretrained.names()
    info = pretrained.card("sudoku6")
    assert info["task"]["name"] == "sudoku" and info["training"]["steps"] > 0
    run = load_run("pretrained:sudoku6")
    # a fresh set from another seed than the card's: the accuracy carries over to unseen puzzles
    ev = held_out_accuracy(run, "sudoku --size 6 --train 0 --test 100 --seed 7")
    assert ev["exact_accuracy"] >= 0.9, ev
    assert info["held_out"]["exact_accuracy"] >= 0.95


def test_solve_pretrained_answers_and_refuses_a_wrong_size(capsys) -> None:
    puzzle = ".....4.3.5...6....4...1...6.....5.2."  # the README's
    assert main(["solve", "--pretrained", "sudoku6", puzzle]) == 0
    assert main(["solve", "--pretrained", "sudoku6", "1234"]) == 2
    assert "error" in capsys.readouterr().err.lower()
