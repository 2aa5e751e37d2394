"""`latentloop study`: the research line's findings, reproduced on one CPU-scale task, each with a verdict.

The study (`study.yaml` beside this file) names its tasks (built by the tasks' own builders), the
models of the line ("arms": a preset plus its family's CPU recipe), and the claims of the papers,
each a comparison of arms with the paper's figure beside it. Every arm trains with several seeds;
each claim's verdict is computed from the seed means and their pooled standard error:

    better(a, b)    agrees when mean(a) - mean(b) > 2 SE, disagrees when < -2 SE
    equal(a, b)     agrees when |difference| + 2 SE <= the equivalence margin, disagrees when
                    |difference| - 2 SE > the margin
    at_least(a, b)  (non-inferiority) agrees when difference - 2 SE >= -margin, disagrees when
                    difference + 2 SE < -margin
    refines(a)      accuracy after N_sup steps > after step 1 by more than 2 SE, for every arm listed
    holds(a)        running 2 x N_sup steps keeps accuracy within 2 SE of N_sup's, or raises it

with SE = sqrt(sd_a^2 / n_a + sd_b^2 / n_b) over seeds. Anything else is "inconclusive at this
budget" (with the number of seeds that would settle it at the measured spread, or, when both arms are
within the margin of 100%, that a harder task would); a comparison one of
whose arms stays below the floor of learning is "not testable" (never "disagrees"), unless the claim
lists the arms that must learn (`must_learn`: for depth against width, a baseline that does not learn
is the finding).
`--tune` picks each family's learning rate on each task on a validation split carved out of the training data.
"""

from __future__ import annotations

import csv
import json
import math
import shlex
import shutil
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from latentloop.config import RunConfig, config_from_yaml_text, load_config, to_dict
from latentloop.data.format import carve_validation
from latentloop.errors import ConfigError
from latentloop.tasks import companion, registered
from latentloop.train.trainer import Trainer


@dataclass
class RunResult:
    """One arm trained with one seed and evaluated on its task's test split."""

    arm: str
    seed: int
    parameters: int
    effective_depth: int
    calls_per_step: int
    steps: int
    exact_per_step: list[float]  # after each of eval_steps supervision steps
    token: float
    train_s: float
    n_sup: int


@dataclass
class Verdict:
    """A claim's verdict and the numbers behind it."""

    id: str
    claim: str
    paper: str
    ours: str
    verdict: str  # agrees | disagrees | inconclusive at this budget | not testable
    rule: str
    note: str = ""


def load_spec(path: str | Path | None = None) -> dict:
    """The study description (the packaged study.yaml unless a path is given)."""
    text = Path(path).read_text() if path else (resources.files("latentloop.experiments") / "study.yaml").read_text()
    spec = yaml.safe_load(text)
    for key in ("tasks", "budget", "recipes", "rates", "arms", "claims"):
        if key not in spec:
            raise ConfigError(f"study description lacks '{key}'")
    return spec


def build_task(spec: dict, name: str, root: Path, quick: bool) -> Path:
    """Build a study task's dataset with its task's own builder (once; reused when present)."""
    task = spec["tasks"][name]
    out = root / name
    if (out / "test" / "dataset.json").is_file():
        return out
    argv = shlex.split(task["build"])
    if quick and "quick" in task:
        argv += shlex.split(task["quick"])
    builder = companion(registered()[argv[0]], "builder")
    import argparse

    parser = argparse.ArgumentParser(prog=f"study task {name}")
    builder.add_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args([*argv[1:], "--quiet"])
    args.out = str(out)
    return builder.build(args)


def task_of(spec: dict, arm: str) -> str:
    """The task an arm trains on: its own `task`, else the study's `default_task`."""
    return spec["arms"][arm].get("task", spec["default_task"])


def arm_budget(spec: dict, arm: str, budget: dict, quick: bool) -> dict:
    """The budget an arm trains with: its task's own step count, unless `--quick` sets one for all."""
    steps = budget["steps"] if quick else spec["tasks"][task_of(spec, arm)].get("steps", budget["steps"])
    return {**budget, "steps": steps}


def arm_overrides(spec: dict, arm: str, data: Path, budget: dict, seed: int, run_dir: Path) -> list[str]:
    a = spec["arms"][arm]
    meta = json.loads((data / "train" / "dataset.json").read_text())
    lr = spec["rates"].get(task_of(spec, arm), {}).get(a["family"])
    if lr is None:
        raise ConfigError(f"study: no learning rate for family {a['family']!r} on task {task_of(spec, arm)!r} (rates)")
    return [
        *spec["recipes"][a["family"]],
        *rate_overrides(lr),
        f"data.path={data}",
        f"data.seq_len={meta['seq_len']}",
        f"data.vocab_size={meta['vocab_size']}",
        f"train.max_steps={budget['steps']}",
        f"train.seed={seed}",
        f"run_dir={run_dir}",
        *a.get("overrides", []),
    ]


def rate_overrides(lr: float) -> tuple[str, str]:
    """A study learning rate: the dense weights' and the puzzle embeddings' alike."""
    return f"train.lr={lr}", f"train.puzzle_emb_lr={lr}"


def arm_config(
    spec: dict, arm: str, data: Path, budget: dict, seed: int, run_dir: Path, extra: tuple[str, ...] = ()
) -> RunConfig:
    """The full config an arm trains with: its overrides (then `extra`), evaluated for `eval_factor` x N_sup
    steps."""
    overrides = [*arm_overrides(spec, arm, data, budget, seed, run_dir), *extra]
    n_sup = load_config(spec["arms"][arm]["preset"], overrides).model.halt_max_steps
    return load_config(spec["arms"][arm]["preset"], [*overrides, f"eval.steps={budget['eval_factor'] * n_sup}"])


def train_arm(cfg: RunConfig, arm: str, seed: int) -> RunResult:
    """One arm's result with one seed: the one kept in its run directory while that run's config is `cfg`,
    else trained from scratch (the directory emptied first) and kept there (`study_result.json`)."""
    kept = Path(cfg.run_dir) / "study_result.json"
    if kept.is_file() and _trained_with(cfg):
        return RunResult(**json.loads(kept.read_text()))
    shutil.rmtree(cfg.run_dir, ignore_errors=True)
    trainer = Trainer(cfg, progress=False)
    result = trainer.fit()
    ev, model = result["eval"], trainer.model
    run = RunResult(
        arm,
        seed,
        model.num_parameters(),
        model.effective_depth(),
        sum(p.op.kind == "call" for p in model.plan),
        result["step"],
        ev["exact_accuracy_per_step"],
        ev["token_accuracy"],
        round(trainer.elapsed, 1),
        cfg.model.halt_max_steps,
    )
    kept.write_text(json.dumps(asdict(run)))
    return run


def _trained_with(cfg: RunConfig) -> bool:
    """Whether the run directory holds a run trained with exactly this config."""
    saved = Path(cfg.run_dir) / "config.yaml"
    return saved.is_file() and to_dict(config_from_yaml_text(saved.read_text())) == to_dict(cfg)


def run_study(out: Path, spec_path: str | None = None, quick: bool = False, data_root: Path | None = None) -> Path:
    """Train every arm with every seed, judge every claim, and write the study's files into `out`.

    Resumable: a run's kept result is reused only while its run directory's config is the one the arm would
    train with now, so an edited recipe or budget retrains exactly the arms it touches."""
    spec = load_spec(spec_path)
    budget = {**spec["budget"], **(spec.get("quick", {}) if quick else {})}
    out.mkdir(parents=True, exist_ok=True)
    data_root = Path(data_root or out / "data")
    plan = {
        (arm, seed): arm_config(
            spec,
            arm,
            build_task(spec, task_of(spec, arm), data_root, quick),
            arm_budget(spec, arm, budget, quick),
            seed,
            out / "runs" / f"{arm}-{seed}",
        )
        for arm in spec["arms"]
        for seed in budget["seeds"]
    }
    start = time.perf_counter()
    results = []
    bar = tqdm(plan.items(), desc="study", unit="run")
    for (arm, seed), cfg in bar:
        bar.set_postfix_str(f"{arm} seed {seed}")
        results.append(train_arm(cfg, arm, seed))  # each run keeps its result: a crash loses the one in progress
    (out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    verdicts = judge(spec, results, budget)
    write_outputs(out, spec, budget, results, verdicts, time.perf_counter() - start)
    return out / "study.md"


# ---------------------------------------------------------------------------------------------
# Verdicts


@dataclass
class Stat:
    """A statistic of one arm over its seeds."""

    mean: float
    sd: float
    n: int
    values: list[float] = field(default_factory=list)

    @staticmethod
    def of(values: list[float]) -> Stat:
        v = np.asarray(values, dtype=np.float64)
        return Stat(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v), v.tolist())

    def text(self) -> str:
        return f"{100 * self.mean:.1f} ± {100 * self.sd:.1f}"


def _final(r: RunResult) -> float:
    return r.exact_per_step[r.n_sup - 1]


def _stat(results: list[RunResult], arm: str, read=_final) -> Stat:
    values = [read(r) for r in results if r.arm == arm]
    if not values:
        raise ConfigError(f"a claim names arm {arm!r}, which the study did not run")
    return Stat.of(values)


def _seeds_needed(diff: float, se: float, n: int, target: float) -> int:
    """Seeds per arm at which 2 SE (shrinking as 1/sqrt(n)) would fall below `target`."""
    if target <= 0 or se == 0:
        return n
    return max(n + 1, math.ceil(n * (2 * se / target) ** 2))


def judge(spec: dict, results: list[RunResult], budget: dict) -> list[Verdict]:
    """The verdict of every claim of the study."""
    floor = budget["floor"]
    margin = budget["margin"]
    verdicts = []
    for claim in spec["claims"]:
        test = claim["test"]
        kind = test["kind"]
        arms = [test[k] for k in ("a", "b") if k in test] + list(test.get("arms", []))
        stats = {a: _stat(results, a) for a in arms}
        must_learn = test.get("must_learn", arms)  # a baseline's failure to learn can be the finding (C1)
        if any(stats[a].mean < floor for a in must_learn):
            low = ", ".join(f"{a} {stats[a].text()}" for a in must_learn if stats[a].mean < floor)
            verdicts.append(_verdict(claim, stats, "not testable", f"below the floor of {100 * floor:.0f}%: {low}"))
            continue
        if kind in ("better", "equal", "at_least"):
            a, b = stats[test["a"]], stats[test["b"]]
            diff, se = a.mean - b.mean, math.sqrt(a.sd**2 / a.n + b.sd**2 / b.n)
            verdict, rule = _pairwise(kind, diff, se, margin)
            note = f"difference {100 * diff:+.1f} pp, 2 SE = {200 * se:.1f} pp"
            if verdict == "inconclusive at this budget" and min(a.mean, b.mean) >= 1 - margin:
                note += f"; both arms within {100 * margin:.0f} pp of 100%: a harder task would separate them"
            elif verdict == "inconclusive at this budget":
                goal = abs(diff) if kind == "better" else margin - abs(diff) if kind == "equal" else diff + margin
                note += f"; about {_seeds_needed(diff, se, a.n, abs(goal))} seeds per arm would settle it"
            verdicts.append(_verdict(claim, stats, verdict, note, rule))
        elif kind in ("refines", "holds"):
            verdicts.append(_curve_verdict(claim, results, arms, kind, stats))
        else:
            raise ConfigError(f"claim {claim['id']}: unknown test kind {kind!r}")
    return verdicts


def _pairwise(kind: str, diff: float, se: float, margin: float) -> tuple[str, str]:
    if kind == "better":
        rule = "a - b > 2 SE agrees; < -2 SE disagrees"
        verdict = "agrees" if diff > 2 * se else "disagrees" if diff < -2 * se else "inconclusive at this budget"
    elif kind == "equal":
        rule = f"|a - b| + 2 SE <= {100 * margin:.0f} pp agrees; |a - b| - 2 SE > {100 * margin:.0f} pp disagrees"
        verdict = (
            "agrees"
            if abs(diff) + 2 * se <= margin
            else "disagrees"
            if abs(diff) - 2 * se > margin
            else "inconclusive at this budget"
        )
    else:
        rule = f"a - b - 2 SE >= -{100 * margin:.0f} pp agrees; a - b + 2 SE < -{100 * margin:.0f} pp disagrees"
        verdict = (
            "agrees"
            if diff - 2 * se >= -margin
            else "disagrees"
            if diff + 2 * se < -margin
            else "inconclusive at this budget"
        )
    return verdict, rule


def _curve_verdict(claim: dict, results: list[RunResult], arms: list[str], kind: str, stats: dict) -> Verdict:
    parts, verdicts, unsettled = [], [], []
    for arm in arms:
        runs = [r for r in results if r.arm == arm]
        n_sup = runs[0].n_sup
        if kind == "refines":
            first = Stat.of([r.exact_per_step[0] for r in runs])
            last = stats[arm]
            gain = last.mean - first.mean
            se = math.sqrt(first.sd**2 / first.n + last.sd**2 / last.n)
            ok = "agrees" if gain > 2 * se else "disagrees" if gain < -2 * se else "inconclusive at this budget"
            ceiling = " (solved after one step: no room to refine)" if ok != "agrees" and first.mean >= 0.99 else ""
            parts.append(f"{arm} {100 * first.mean:.1f} -> {100 * last.mean:.1f}{ceiling}")
            if ok == "inconclusive at this budget" and not ceiling:
                seeds = _seeds_needed(gain, se, last.n, abs(gain))
                unsettled.append(f"{arm} {100 * gain:+.1f} pp, 2 SE = {200 * se:.1f} pp (about {seeds} seeds per arm)")
        else:
            deep = Stat.of([r.exact_per_step[-1] for r in runs])
            last = stats[arm]
            diff = deep.mean - last.mean
            se = math.sqrt(deep.sd**2 / deep.n + last.sd**2 / last.n)
            ok = "agrees" if diff >= -2 * se else "disagrees"
            parts.append(
                f"{arm} {100 * last.mean:.1f} at {n_sup} -> {100 * deep.mean:.1f} at {len(runs[0].exact_per_step)}"
            )
        verdicts.append(ok)
    verdict = (
        "agrees"
        if all(v == "agrees" for v in verdicts)
        else ("disagrees" if "disagrees" in verdicts else "inconclusive at this budget")
    )
    rule = (
        "exact after N_sup steps - after step 1 > 2 SE, for every arm"
        if kind == "refines"
        else "exact after 2 N_sup steps >= after N_sup - 2 SE, for every arm"
    )
    note = f"not settled: {'; '.join(unsettled)}" if unsettled else ""
    return Verdict(claim["id"], claim["claim"], claim["paper"], "; ".join(parts), verdict, rule, note)


def _verdict(claim: dict, stats: dict[str, Stat], verdict: str, note: str, rule: str = "") -> Verdict:
    ours = ", ".join(f"{a} {s.text()}" for a, s in stats.items())
    return Verdict(claim["id"], claim["claim"], claim["paper"], ours, verdict, rule, note)


# ---------------------------------------------------------------------------------------------
# Outputs: results.json / results.csv / claims.json / study.md and the plots


def write_outputs(
    out: Path, spec: dict, budget: dict, results: list[RunResult], verdicts: list[Verdict], seconds: float
) -> None:
    from latentloop.viz.study import study_plots

    with open(out / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "arm",
                "seed",
                "parameters",
                "effective_depth",
                "calls_per_step",
                "steps",
                "train_s",
                "exact_at_1",
                "exact_at_n_sup",
                "exact_at_2n_sup",
                "token",
            ]
        )
        for r in results:
            w.writerow(
                [
                    r.arm,
                    r.seed,
                    r.parameters,
                    r.effective_depth,
                    r.calls_per_step,
                    r.steps,
                    r.train_s,
                    r.exact_per_step[0],
                    _final(r),
                    r.exact_per_step[-1],
                    r.token,
                ]
            )
    (out / "claims.json").write_text(json.dumps([asdict(v) for v in verdicts], indent=1))
    plots = study_plots(results, {arm: task_of(spec, arm) for arm in spec["arms"]}, out)
    lines = [
        "# The research line's claims on one CPU",
        "",
        f"{len(spec['arms'])} models x {len(budget['seeds'])} seeds, {_steps_text(spec, results)}; "
        f"{len(results)} runs, {sum(r.train_s for r in results) / 60:.0f} min of training in all "
        f"(this invocation: {seconds / 60:.0f} min of wall time, kept runs reused). "
        "A model has learnt when its test exact accuracy after "
        f"N_sup steps is at least {100 * budget['floor']:.0f}%; equivalence margin {100 * budget['margin']:.0f} pp; "
        "SE = the pooled standard error of the two seed means.",
        "",
        "| claim | paper | ours (exact %, mean ± sd over seeds) | verdict | rule and numbers |",
        "|---|---|---|---|---|",
        *(
            f"| **{v.id}** {v.claim} | {v.paper} | {v.ours} | **{v.verdict}** | {_join(v.rule, v.note)} |"
            for v in verdicts
        ),
        "",
        "## Models",
        "",
        "| arm | what | task | preset | parameters | effective depth | calls / step | exact after 1 | after N_sup | "
        "after 2 N_sup | train s |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arm, a in spec["arms"].items():
        runs = [r for r in results if r.arm == arm]
        s1 = Stat.of([r.exact_per_step[0] for r in runs])
        sn = Stat.of([_final(r) for r in runs])
        s2 = Stat.of([r.exact_per_step[-1] for r in runs])
        lines.append(
            f"| {arm} | {a['label']} | {task_of(spec, arm)} | `{a['preset']}` | {runs[0].parameters:,} | "
            f"{runs[0].effective_depth} | {runs[0].calls_per_step} | {s1.text()} | {sn.text()} | {s2.text()} | "
            f"{np.mean([r.train_s for r in runs]):.0f} |"
        )
    lines += ["", "## Recipes", ""]
    for family, overrides in spec["recipes"].items():
        rates = ", ".join(f"{r[family]:g} on {task}" for task, r in spec["rates"].items() if family in r)
        lines.append(f"- **{family}** (lr {rates}): `{' '.join(overrides)}`")
    lines += ["", "## Plots", "", *(f"![{name}]({p.name})" for name, p in plots.items()), ""]
    (out / "study.md").write_text("\n".join(lines))


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _steps_text(spec: dict, results: list[RunResult]) -> str:
    """'1200 optimizer steps on sudoku4, 600 on sudoku6' (as trained)."""
    steps = {}
    for r in results:
        steps.setdefault(task_of(spec, r.arm), r.steps)
    return ", ".join(f"{n}{' optimizer steps' if i == 0 else ''} on {t}" for i, (t, n) in enumerate(steps.items()))


def tune(
    out: Path,
    spec_path: str | None = None,
    lrs: list[float] | None = None,
    steps: int | None = None,
    seeds: list[int] | None = None,
) -> dict:
    """Each family's learning rate on each task, picked on a validation split carved out of the task's
    training data (never the test split): every rate trains the family's tuning arm on that task (`tune.arms`)
    with every seed for the task's `tune_steps`; the best mean validation exact accuracy wins (ties: the first
    rate listed; all tied rates are reported). `lrs`, `steps` and `seeds` override the study's `tune`."""
    spec = load_spec(spec_path)
    plan = spec.get("tune", {})
    lrs, seeds = lrs or plan.get("lrs", []), seeds or plan.get("seeds", [0])
    if not lrs or not plan.get("arms"):
        raise ConfigError("study: --tune needs rates to try (--lrs or tune.lrs) and tuning arms (tune.arms)")
    picks: dict = {}
    for task, families in plan["arms"].items():
        data = build_task(spec, task, out / "data", quick=False)
        val = carve_validation(data, out / "data" / f"{task}-val", spec["tasks"][task].get("val", 100), 0)
        n = steps or spec["tasks"][task].get("tune_steps") or spec["tasks"][task].get("steps", spec["budget"]["steps"])
        budget = {**spec["budget"], "steps": n, "eval_factor": 1}
        for family, arm in families.items():
            if spec["arms"][arm]["family"] != family or task_of(spec, arm) != task:
                raise ConfigError(f"study: tuning arm {arm!r} is not a {family} arm on {task}")
            scores = {}
            for lr in lrs:
                scores[lr] = []
                for seed in seeds:
                    run_dir = out / "tune" / f"{task}-{family}-{lr:g}-s{seed}"
                    cfg = arm_config(spec, arm, val, budget, seed, run_dir, rate_overrides(lr))
                    scores[lr].append(_final(train_arm(cfg, arm, seed)))
            means = {lr: float(np.mean(v)) for lr, v in scores.items()}
            tied = [lr for lr, m in means.items() if m == max(means.values())]
            picks.setdefault(task, {})[family] = {
                "arm": arm,
                "steps": n,
                "seeds": seeds,
                "validation_exact": scores,
                "mean": means,
                "lr": tied[0],
                "tied": tied,
            }
    (out / "tune.json").write_text(json.dumps(picks, indent=1))
    return picks
