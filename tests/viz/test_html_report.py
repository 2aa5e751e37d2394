from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from latentloop.tasks import maze, sudoku
from latentloop.viz.html import trajectory_payload, write_html_report

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _trajectories() -> list[dict]:
    rng = np.random.default_rng(0)
    puzzle, solution = sudoku.generate(sudoku.shape_for_size(4), rng)
    wrong = solution.copy()
    wrong[0, 0] = wrong[0, 1]
    grid = maze.parse("#####\n#S  #\n# #G#\n#####")
    path = grid.copy()
    path[1, 2] = 4
    target = rng.integers(0, 10, (3, 4))
    return [
        {
            "task": "sudoku",
            "name": "sudoku </script><b>x</b>",
            "puzzle": puzzle,
            "steps": [wrong, solution, solution],
            "target": solution,
            "q_halt": [0.1, 0.6, 0.9],
            "halt_step": 2,
            "correct": [False, True, True],
        },
        {"task": "maze", "name": "maze", "puzzle": grid, "steps": [grid, path], "target": path},
        {
            "task": "arc",
            "name": "arc",
            "puzzle": target.tolist(),
            "steps": [[], target[:2], target],
            "target": None,
            "q_halt": [0.0, 0.2, 0.7],
            "halt_step": 3,
            "correct": [False, False, True],
        },
    ]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    (tmp_path / "loss.png").write_bytes(PNG)
    return write_html_report(
        tmp_path / "report.html",
        title="demo & report",
        config={"model": {"hidden": 64, "program": [{"repeat": 2}]}, "data": {"path": tmp_path}},
        summary_rows=[
            {"run": "six", "parameters": 452354, "test exact": 0.87346, "valid": True},
            {"run": "flat", "parameters": np.int64(1000), "mean halting step": None},
        ],
        figures={"loss curves": tmp_path / "loss.png"},
        trajectories=_trajectories(),
        notes=["500 held-out <puzzles>"],
    )


def _embedded_data(page: str) -> list[dict]:
    match = re.search(r'<script type="application/json" id="latentloop-data">(.*?)</script>', page, re.S)
    assert match
    return json.loads(match.group(1))


def test_page_is_self_contained(report: Path) -> None:
    page = report.read_text()
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert f"data:image/png;base64,{base64.b64encode(PNG).decode()}" in page
    assert page.count("</script>") == 2  # the data and the viewer script; a name cannot close them
    assert "&lt;puzzles&gt;" in page and "demo &amp; report" in page
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".")]  # atomic write, nothing left


def test_data_tables_and_config_are_embedded(report: Path) -> None:
    page = report.read_text()
    data = _embedded_data(page)
    assert data == [trajectory_payload(t) for t in _trajectories()]
    assert data[0]["name"] == "sudoku </script><b>x</b>" and data[2]["steps"][0] == []
    wrong = np.array(data[0]["steps"][0])
    bad = [["bad" in cls.split() for _, cls in row] for row in data[0]["cells"]["steps"][0]]
    assert np.array_equal(np.array(bad), sudoku.violations(wrong))
    assert not any("bad" in cls for row in data[0]["cells"]["steps"][1] for _, cls in row)
    assert "452,354" in page and "0.8735" in page and "—" in page and ">yes<" in page
    assert "<details" in page and "hidden: 64" in page and "- repeat: 2" in page
    for i in range(3):
        for hook in ("step-slider", "step-label", "grid", "prev", "next"):
            assert f'data-testid="{hook}-{i}"' in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": "chess"}, "task must be one of"),
        ({"steps": []}, "at least one step"),
        ({"q_halt": [0.5]}, "q_halt has 1 values for 3 steps"),
        ({"steps": [np.zeros(3, dtype=int)]}, "2-D array of integers"),
    ],
)
def test_bad_trajectories_are_refused(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        trajectory_payload({**_trajectories()[0], **change})


def test_missing_figure_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="loss"):
        write_html_report(
            tmp_path / "r.html",
            title="t",
            config={},
            summary_rows=[],
            figures={"loss": tmp_path / "no.png"},
            trajectories=[],
        )


# ------------------------------------------------------------------------------------------------
# In a real browser


def _cells(page, i: int) -> list[int]:
    return page.eval_on_selector_all(f'[data-testid="grid-{i}"] td', "tds => tds.map(td => Number(td.dataset.v))")


def test_viewer_steps_through_in_chromium(browser, report: Path) -> None:
    steps = [[np.asarray(g).ravel().tolist() for g in t["steps"]] for t in _trajectories()]
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(report.as_uri())

    def hook(name: str):
        return page.locator(f'[data-testid="{name}"]')

    assert hook("step-label-0").inner_text() == "step 1 / 3"
    assert _cells(page, 0) == steps[0][0]
    assert hook("prev-0").is_disabled() and hook("step-correct-0").inner_text() == "wrong"
    bad = page.eval_on_selector_all('[data-testid="grid-0"] td', "tds => tds.map(td => td.classList.contains('bad'))")
    assert np.flatnonzero(bad).tolist() == np.flatnonzero(sudoku.violations(_trajectories()[0]["steps"][0])).tolist()

    hook("next-0").click()
    assert hook("step-label-0").inner_text() == "step 2 / 3" and _cells(page, 0) == steps[0][1]
    assert hook("step-correct-0").inner_text() == "correct" and hook("step-qhalt-0").inner_text() == "p(halt) = 0.600"
    assert hook("halted-0").is_visible() and hook("step-slider-0").input_value() == "2"

    hook("step-slider-0").fill("3")
    assert hook("step-label-0").inner_text() == "step 3 / 3" and hook("next-0").is_disabled()
    assert not hook("halted-0").is_visible()
    hook("step-slider-0").press("ArrowLeft")
    assert hook("step-label-0").inner_text() == "step 2 / 3"

    assert hook("grid-1").get_attribute("data-step") == "1" and _cells(page, 1) == steps[1][0]
    hook("next-1").click()
    assert _cells(page, 1) == steps[1][1]
    changed = page.eval_on_selector_all('[data-testid="grid-1"] td.chg', "tds => tds.length")
    assert changed == int(np.sum(np.asarray(steps[1][1]) != np.asarray(steps[1][0])))

    assert hook("grid-2").inner_text() == "no valid grid" and _cells(page, 2) == []
    hook("step-slider-2").fill("2")
    assert _cells(page, 2) == steps[2][1] and hook("step-label-2").inner_text() == "step 2 / 3"
    assert page.locator('[data-testid="target-grid-2"]').count() == 0  # no target given
    page.close()
    assert not problems, problems
