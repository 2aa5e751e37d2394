"""The study: verdict rules on known numbers, and a tiny end-to-end study through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from latentloop.cli import main
from latentloop.data.format import read_split
from latentloop.experiments.study import RunResult, judge, load_spec

BUDGET = {"floor": 0.1, "margin": 0.05}


def _runs(arm: str, finals: list[float], first: float = 0.1, deep: float | None = None) -> list[RunResult]:
    return [
        RunResult(arm, s, 1000, 8, 4, 10, [first, f, f if deep is None else deep], 0.9, 1.0, 2)
        for s, f in enumerate(finals)
    ]


def _claim(kind: str, **arms) -> dict:
    return {"id": "X", "claim": "c", "paper": "p", "test": {"kind": kind, **arms}}


def _verdict(kind: str, results: list[RunResult], **arms) -> str:
    return judge({"claims": [_claim(kind, **arms)]}, results, BUDGET)[0].verdict


def test_pairwise_verdicts_follow_the_written_rules() -> None:
    a, b, c = _runs("a", [0.80, 0.82, 0.81]), _runs("b", [0.50, 0.52, 0.51]), _runs("c", [0.79, 0.83, 0.81])
    assert _verdict("better", a + b, a="a", b="b") == "agrees"
    assert _verdict("better", a + b, a="b", b="a") == "disagrees"
    assert _verdict("equal", a + c, a="a", b="c") == "agrees"
    assert _verdict("equal", a + b, a="a", b="b") == "disagrees"
    assert _verdict("at_least", b + a, a="b", b="a") == "disagrees"
    noisy = _runs("n", [0.3, 0.9, 0.6])
    assert _verdict("better", a + noisy, a="a", b="n") == "inconclusive at this budget"
    solved, also = _runs("s", [1.0, 0.99, 1.0]), _runs("t", [1.0, 1.0, 0.99])
    ceiling = judge({"claims": [_claim("better", a="s", b="t")]}, solved + also, BUDGET)[0]
    assert ceiling.verdict == "inconclusive at this budget" and "harder task" in ceiling.note
    assert "seeds per arm" in judge({"claims": [_claim("better", a="a", b="n")]}, a + noisy, BUDGET)[0].note
    floor = _runs("f", [0.02, 0.03, 0.01])
    assert _verdict("better", a + floor, a="a", b="f") == "not testable"  # never "disagrees"
    assert _verdict("better", floor + a, a="f", b="a") == "not testable"
    # a baseline that does not learn can be the finding: only the arms in must_learn need the floor
    assert _verdict("better", a + floor, a="a", b="f", must_learn=["a"]) == "agrees"
    assert _verdict("better", floor + a, a="f", b="a", must_learn=["f"]) == "not testable"


def test_curve_verdicts() -> None:
    rising = _runs("r", [0.8, 0.82, 0.81], first=0.2)
    flat = _runs("f", [0.5, 0.52, 0.51], first=0.5)
    collapsing = _runs("c", [0.8, 0.82, 0.81], deep=0.3)
    assert _verdict("refines", rising, arms=["r"]) == "agrees"
    assert _verdict("refines", rising + flat, arms=["r", "f"]) == "inconclusive at this budget"
    noisy = _runs("n", [0.1, 0.9, 0.5], first=0.2)
    unsettled = judge({"claims": [_claim("refines", arms=["r", "n"])]}, rising + noisy, BUDGET)[0]
    assert unsettled.verdict == "inconclusive at this budget"
    assert unsettled.note.startswith("not settled: n +30.0 pp") and "seeds per arm" in unsettled.note
    assert _verdict("holds", rising, arms=["r"]) == "agrees"
    assert _verdict("holds", collapsing, arms=["c"]) == "disagrees"


def test_the_packaged_study_is_complete() -> None:
    spec = load_spec()
    ids = {c["id"].rstrip("ab") for c in spec["claims"]}
    assert {f"C{i}" for i in range(1, 11)} <= ids
    for claim in spec["claims"]:
        t = claim["test"]
        named = [a for a in [t.get("a"), t.get("b"), *t.get("arms", [])] if a]
        assert all(a in spec["arms"] for a in named) and set(t.get("must_learn", [])) <= set(named), claim["id"]
    assert all(a["family"] in spec["recipes"] for a in spec["arms"].values())
    assert all(a["family"] in spec["rates"][a.get("task", spec["default_task"])] for a in spec["arms"].values())
    for task, families in spec["tune"]["arms"].items():
        for family, arm in families.items():
            assert spec["arms"][arm]["family"] == family and spec["arms"][arm].get("task", "sudoku4") == task


def test_a_tiny_study_end_to_end(tmp_path: Path) -> None:
    spec = load_spec()
    spec["tasks"] = {"sudoku4": {"build": "sudoku --size 4 --train 120 --test 24 --aug 10"}}
    spec["default_task"] = "sudoku4"
    spec["budget"] = {"steps": 30, "seeds": [0, 1], "eval_factor": 2, "floor": 0.0, "margin": 0.05}
    tiny = [
        "model.hidden_size=32",
        "train.compile=false",
        "model.forward_dtype=float32",
        "model.halt_max_steps=2",
        "train.lr_warmup_steps=3",
    ]
    spec["recipes"] = {k: [*v, *tiny] for k, v in spec["recipes"].items()}
    spec["rates"] = {"sudoku4": {"trm": 3e-3}}
    spec["arms"] = {k: {**spec["arms"][k], "task": "sudoku4"} for k in ("trm6", "nsup1")}
    spec["claims"] = [c for c in spec["claims"] if c["id"] in ("C8",)]
    spec["claims"].append(
        {"id": "C10", "claim": "refines", "paper": "p", "test": {"kind": "refines", "arms": ["trm6"]}}
    )
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["study", "--spec", str(path), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    results = json.loads((out / "results.json").read_text())
    assert {(r["arm"], r["seed"]) for r in results} == {(a, s) for a in ("trm6", "nsup1") for s in (0, 1)}
    assert all(len(r["exact_per_step"]) == 2 * r["n_sup"] for r in results)
    claims = {c["id"]: c for c in json.loads((out / "claims.json").read_text())}
    assert set(claims) == {"C8", "C10"}
    assert all(
        c["verdict"] in ("agrees", "disagrees", "inconclusive at this budget", "not testable") for c in claims.values()
    )
    for name in ("study.md", "results.csv", "refinement.png", "parameters.png", "depth.png"):
        assert (out / name).is_file(), name
    # robust at any size: the two arms are one network (equal parameters), trained with 2 and 1 supervision steps
    by_arm = {r["arm"]: r for r in results}
    assert by_arm["trm6"]["parameters"] == by_arm["nsup1"]["parameters"] and by_arm["trm6"]["n_sup"] == 2
    # the study resumes: a second call finds every run done and trains nothing
    before = (out / "results.json").read_text()
    assert main(["study", "--spec", str(path), "--out", str(out)]) == 0
    assert (out / "results.json").read_text() == before
    # an edited recipe retrains exactly the arms it touches: a kept result counts only while its config holds
    spec["arms"]["nsup1"]["overrides"] = [*spec["arms"]["nsup1"]["overrides"], "train.weight_decay=0.2"]
    path.write_text(yaml.safe_dump(spec))
    assert main(["study", "--spec", str(path), "--out", str(out)]) == 0
    old, new = (
        {(r["arm"], r["seed"]): r for r in json.loads(text)} for text in (before, (out / "results.json").read_text())
    )
    assert all(new[("trm6", s)] == old[("trm6", s)] for s in (0, 1))
    assert "weight_decay: 0.2" in (out / "runs" / "nsup1-0" / "config.yaml").read_text()


def test_tune_picks_each_familys_rate_on_a_validation_split(tmp_path: Path, capsys) -> None:
    spec = load_spec()
    spec["tasks"] = {"sudoku4": {"build": "sudoku --size 4 --train 60 --test 10 --aug 2", "val": 10, "tune_steps": 3}}
    spec["default_task"] = "sudoku4"
    tiny = ["model.hidden_size=16", "train.compile=false", "model.forward_dtype=float32", "model.halt_max_steps=1"]
    spec["recipes"] = {"trm": [*spec["recipes"]["trm"], *tiny]}
    spec["rates"] = {"sudoku4": {"trm": 1e-3}}
    spec["arms"] = {"trm": spec["arms"]["trm"]}
    spec["tune"] = {"lrs": [1e-4, 1e-3], "seeds": [0, 1], "arms": {"sudoku4": {"trm": "trm"}}}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["study", "--tune", "--spec", str(path), "--out", str(tmp_path)]) == 0
    pick = json.loads((tmp_path / "tune.json").read_text())["sudoku4"]["trm"]
    scores = {float(lr): accs for lr, accs in pick["validation_exact"].items()}
    assert set(scores) == {1e-4, 1e-3} and all(len(accs) == 2 for accs in scores.values())  # one per seed
    means = {lr: float(np.mean(accs)) for lr, accs in scores.items()}
    assert pick["tied"] == [lr for lr, m in means.items() if m == max(means.values())] and pick["lr"] == pick["tied"][0]
    assert pick["steps"] == 3 and pick["seeds"] == [0, 1]
    # the validation split is carved out of the training split: the two never share a puzzle group
    val = tmp_path / "data" / "sudoku4-val"
    seen = {bytes(row) for row in np.asarray(read_split(val / "train").inputs)}
    held = [bytes(row) for row in np.asarray(read_split(val / "test").inputs)]
    assert len(held) == 10 and not seen.intersection(held)
    assert "sudoku4 trm (trm, 3 steps, seeds [0, 1]): validation exact" in capsys.readouterr().out
    # trials are kept: tuning again with one more rate trains only that rate's runs
    kept = {d.name: (d / "config.yaml").stat().st_mtime_ns for d in (tmp_path / "tune").iterdir()}
    assert main(["study", "--tune", "--spec", str(path), "--out", str(tmp_path), "--lrs", "1e-4,1e-3,3e-3"]) == 0
    now = {d.name: (d / "config.yaml").stat().st_mtime_ns for d in (tmp_path / "tune").iterdir()}
    assert all(now[name] == mtime for name, mtime in kept.items()) and len(now) == len(kept) + 2
