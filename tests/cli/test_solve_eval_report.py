"""`solve`, `eval` and `report` for every task, on tiny freshly trained models.

The models train for a few steps only: these tests check the plumbing (parsing, encoding, the
trajectory, validity, voting, files, the HTML page in a browser), not what the models learned.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentloop.api import load_run, solve_arc, solve_tokens, task_of
from latentloop.cli import main
from latentloop.data.build_arc import build_arc_dataset
from latentloop.data.build_maze import build_maze_dataset
from latentloop.data.format import read_split
from latentloop.evaluate.arc import ArcVotes, submission
from latentloop.evaluate.runner import collect
from latentloop.tasks import maze, sudoku
from latentloop.viz.sudoku import terminal_text

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


def train(preset: str, data: Path, run: Path, *extra: str) -> Path:
    assert main(["train", preset, f"data.path={data}", f"run_dir={run}", *extra, *TINY]) == 0
    return run


@pytest.fixture(scope="module")
def runs(sudoku4_dataset: Path, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tasks")
    mazes = build_maze_dataset(root / "maze", size=7, min_path=8, n_train=24, n_test=12, workers=1, progress=False)
    arc = build_arc_dataset(
        root / "arc", version=1, concept_dir=None, aug=2, seed=0, progress=False, max_tasks_per_set=2
    )
    return {
        "sudoku": train("trm-sudoku4-cpu", sudoku4_dataset, root / "run-sudoku"),
        "maze": train("trm-att-maze", mazes, root / "run-maze", "data.seq_len=49"),
        "arc": train("trm-att-arc", arc, root / "run-arc"),
        "root": root,
    }


def test_solve_sudoku_with_trace(runs, capsys) -> None:
    puzzle = "..2.1..3.4......"
    assert main(["solve", str(runs["sudoku"]), puzzle, "--trace", "--no-colour"]) == 0
    out = capsys.readouterr().out
    assert "step 1 (halting logit" in out and "step 3 (halting logit" in out
    assert "refinement step(s)" in out and ("valid" in out)


def test_solve_maze_from_a_text_file(runs, tmp_path: Path, capsys) -> None:
    run = load_run(runs["maze"])
    split_inputs = np.load(Path(run.cfg.data.path) / "test" / "all__inputs.npy")
    text = maze.render(maze.decode(split_inputs[0], 7, 7))
    path = tmp_path / "maze.txt"
    path.write_text(text + "\n")
    assert main(["solve", str(runs["maze"]), str(path), "--trace", "--no-colour"]) == 0
    out = capsys.readouterr().out
    assert "shortest path" in out and out.count("step ") >= 3
    # the API gives the same trajectory, one grid per step, each decoded as a maze
    (sol,) = solve_tokens(run.model, task_of(run), maze.encode(maze.parse(text))[None], steps=5)
    assert len(sol.trajectory) == 5 and sol.trajectory[0].shape == (7, 7) and sol.task == "maze"


def test_solve_maze_of_the_wrong_size_is_one_error_line(runs, capsys) -> None:
    code = main(["solve", str(runs["maze"]), "#####\n#S G#\n#####"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ")


def test_solve_arc_task_votes_over_its_variants(runs, tmp_path: Path, capsys) -> None:
    root = Path(load_run(runs["arc"]).cfg.data.path)
    stored = json.loads((root / "test_puzzles.json").read_text())
    task_id, task = next(iter(stored.items()))
    path = tmp_path / "no-name.json"  # found by its demonstrations, not its file name
    path.write_text(json.dumps(task))
    assert main(["solve", str(runs["arc"]), str(path), "--no-colour"]) == 0
    out = capsys.readouterr().out
    assert f"task {task_id}" in out and "3 variant(s) voted" in out  # the original and 2 augmentations
    found, answers = solve_arc(load_run(runs["arc"]), json.dumps(task))
    assert found == task_id and len(answers) == len(task["test"])
    assert answers[0].variants == 3 and len(answers[0].attempts) <= 2
    assert answers[0].correct is not None  # the stored task has its test outputs


def test_solve_unknown_arc_task_says_so(runs, tmp_path: Path, capsys) -> None:
    task = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3, 4]]}]}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(task))
    assert main(["solve", str(runs["arc"]), str(path), "--no-colour"]) == 0
    assert "not in the run's dataset" in capsys.readouterr().out


def test_eval_beyond_training_steps_with_halting_and_buckets(runs, capsys) -> None:
    run = runs["maze"]
    assert main(["eval", str(run), "--steps", "1..5", "--halt", "--quiet"]) == 0
    ev = json.loads((run / "eval.json").read_text())
    assert ev["steps"] == 5 and len(ev["exact_accuracy_per_step"]) == 5  # N_sup is 3
    assert sum(ev["halt_step_histogram"]) == ev["count"] == 12
    assert ev["buckets"] and sum(b["count"] for b in ev["buckets"]) == 12  # by shortest-path length
    assert {"valid_accuracy", "halting_tradeoff", "exact_accuracy_at_halt"} <= set(ev)
    for name in ("refinement", "compute", "halting", "buckets"):
        assert (run / "plots" / f"{name}.png").stat().st_size > 1000
    assert main(["eval", str(run), "--steps", "2..5"]) == 2


def test_eval_sweep_samples_with_noise_by_default(runs, tmp_path: Path, capsys) -> None:
    """`eval --sweep` without --noise draws noisy samples (noiseless ones would repeat the plain run K times);
    its rows cover the grid and their compute is samples x steps x module calls per step."""
    run, out = runs["sudoku"], tmp_path / "sweep.json"
    assert main(["eval", str(run), "--sweep", "1,2x1,3", "--json", str(out), "--quiet"]) == 0
    sweep = json.loads(out.read_text())["test_time"]
    assert sweep["noise"] == 0.2 and "noise 0.2" in capsys.readouterr().out
    calls = sweep["module_calls_per_step"]
    grid = {(r["rule"], r["samples"], r["steps"]): r for r in sweep["rows"]}
    for rule in ("halt", "vote", "check"):
        for samples in (1, 3):
            for steps in (1, 2):
                row = grid[(rule, samples, steps)]
                assert 0 <= row["exact_accuracy"] <= 1
                assert row["module_calls"] == samples * steps * calls
    assert main(["eval", str(run), "--sweep", "2x3", "--noise", "0", "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["test_time"]["noise"] == 0.0


def test_eval_arc_scores_pass_at_k_and_writes_a_submission(runs) -> None:
    run = runs["arc"]
    assert main(["eval", str(run), "--quiet"]) == 0
    ev = json.loads((run / "eval.json").read_text())
    assert (
        set(ev["task_scoring"]["pass_at_k"])
        == set(ev["task_scoring"]["strict_pass_at_k"])
        == {"1", "2", "5", "10", "100", "1000"}
    )
    assert ev["task_scoring"]["checkpoints"] == [ev["checkpoint_step"]]  # the run has one checkpoint
    submission = json.loads((run / "submission.json").read_text())
    stored = json.loads((Path(load_run(run).cfg.data.path) / "test_puzzles.json").read_text())
    assert set(submission) == set(stored)
    for task_id, attempts in submission.items():
        assert len(attempts) == len(stored[task_id]["test"])
        assert all(set(a) == {"attempt_1", "attempt_2"} for a in attempts)


def test_eval_arc_votes_across_every_checkpoint(runs, tmp_path: Path, capsys) -> None:
    data = Path(load_run(runs["arc"]).cfg.data.path)
    run = train("trm-att-arc", data, tmp_path / "run", "train.eval_interval=2", "train.eval_interval_epochs=0")
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*")) == ["step_0000002", "step_0000004"]
    capsys.readouterr()
    assert main(["eval", str(run), "--quiet"]) == 0  # ARC: --checkpoints all by default, as TRM
    out = capsys.readouterr().out
    assert "ARC pass@2" in out and "TRM / ARC Prize" in out and "strict pass@2" in out
    ev = json.loads((run / "eval.json").read_text())
    assert ev["task_scoring"]["checkpoints"] == [2, 4] and ev["checkpoint_step"] == 4
    assert (
        ev["task_scoring"]["counts"]["evaluations"] == 2 and ev["task_scoring"]["counts"]["examples"] == 2 * ev["count"]
    )
    split = read_split(data / "test")
    votes = ArcVotes.for_dataset(data, split)  # the same votes by hand, checkpoint by checkpoint in step order
    for step in (2, 4):
        votes.add_records(collect(load_run(run, step=step).model, split, 3, keep_predictions=True))
    result = votes.result()
    assert ev["task_scoring"]["pass_at_k"] == {str(k): v for k, v in result.pass_at_k.items()}
    assert json.loads((run / "submission.json").read_text()) == submission(result.attempts)
    assert main(["eval", str(run), "--checkpoints", "4", "--quiet"]) == 0
    ev = json.loads((run / "eval.json").read_text())
    assert ev["task_scoring"]["checkpoints"] == [4] and ev["task_scoring"]["counts"]["evaluations"] == 1
    assert main(["eval", str(run), "--checkpoints", "3", "--quiet"]) == 2
    assert "no checkpoint at step 3 (checkpoints at steps: 2, 4)" in capsys.readouterr().err


def test_terminal_colours_mark_violations() -> None:
    grid = sudoku.parse("1.2.............")
    grid[0, 1] = 1  # a repeated 1 in row 1
    text = terminal_text(grid, sudoku.parse("1.2............."), None, colour=True)
    assert text.count("\x1b[31m") == 2  # both 1s of row 1 in red
    assert "\x1b" not in terminal_text(grid, grid, None, colour=False)


@pytest.mark.parametrize("task", ["sudoku", "maze"])
def test_report_page_in_a_browser(runs, task: str, browser) -> None:
    run = runs[task]
    if not (run / "eval.json").is_file():
        assert main(["eval", str(run), "--quiet"]) == 0
    assert main(["report", str(run)]) == 0
    page_path = run / "report" / "report.html"
    assert (run / "report" / "report.md").is_file() and (run / "report" / "trajectory.gif").is_file()
    html = page_path.read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(page_path.as_uri())
    label = page.locator('[data-testid="step-label-0"]')
    first = label.inner_text()
    page.locator('[data-testid="next-0"]').click()
    assert label.inner_text() != first
    assert page.locator('[data-testid="summary"]').is_visible()
    assert not problems, problems
    page.close()


def test_pretrained_export_then_solve_from_the_file(runs, tmp_path: Path, capsys) -> None:
    run_dir = runs["sudoku"]
    assert main(["eval", str(run_dir), "--quiet"]) == 0
    build = "sudoku --size 4 --train 0 --test 16 --seed 7"
    argv = ["pretrained", "--export", str(run_dir), "--name", "tiny4", "--held-out", build, "--out", str(tmp_path)]
    assert main(argv) == 0
    path = tmp_path / "tiny4.safetensors"
    from latentloop import pretrained

    card = pretrained.card(str(path))
    assert card["task"]["name"] == "sudoku" and card["training"]["steps"] == 4
    assert card["training"]["machine"]["cpu_threads"] >= 1  # machine.json, written when training started
    assert card["held_out"]["build"] == build and card["held_out"]["count"] == 16
    assert 0.0 <= card["held_out"]["exact_accuracy"] <= 1.0
    puzzle = "1.....3..1.....2"
    capsys.readouterr()
    assert main(["solve", "--pretrained", str(path), puzzle]) == 0
    assert len(capsys.readouterr().out.strip()) > 0
    assert main(["solve", "--pretrained", str(path), "12"]) == 2  # a wrong grid size: one error line
    assert capsys.readouterr().err.strip().startswith("error:")
