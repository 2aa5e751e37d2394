"""`latentloop` command line: one verb table, each verb a thin call into the module that owns it.

    latentloop presets                              list the packaged presets
    latentloop config PRESET [k=v ...]              print the resolved config
    latentloop info PRESET [k=v ...]                architecture, parameter count, effective depth
    latentloop data build sudoku|maze|arc ...      build a dataset
    latentloop train PRESET [k=v ...] [--resume]    train (resumes from run_dir's latest checkpoint)
    latentloop eval RUN_DIR [--steps 1..M] [--halt] accuracy per supervision step, halting, difficulty buckets
    latentloop solve RUN_DIR PUZZLE [--trace]       solve a Sudoku, maze or ARC task; --trace shows every step
    latentloop import-checkpoint ...                turn a reference checkpoint into a run directory
    latentloop study [--quick]                      the research line's claims, each with a computed verdict
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

    if args.programs:
        from latentloop.model.program import PROGRAMS

        for p in PROGRAMS.values():
            print(
                f"{p.name:16s} {p.equation}\n{'':16s} streams {', '.join(p.streams)} (answer {p.answer}); "
                f"gradient through the last {p.grad_calls} call(s) (-1: all); {p.source}"
            )
        return
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
    if args.training_flops:  # for scripts: the run's training FLOPs (max_steps x FLOPs per step), one number
        from latentloop.train.trainer import flops_per_step

        if not cfg.train.max_steps:
            raise LatentloopError("--training-flops needs a preset with train.max_steps")
        print(f"{cfg.train.max_steps * flops_per_step(model, cfg):.6e}")
        return
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
    out = args.builder.build(args)
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s")


def cmd_train(args: argparse.Namespace) -> None:
    from latentloop.config import run_config
    from latentloop.train.trainer import Trainer

    if args.preset and "=" in args.preset:  # argparse took the first override for the preset
        args.overrides.insert(0, args.preset)
        args.preset = None
    resume = [o for o in args.overrides if o.startswith("resume=")]
    if resume:  # `resume=RUN_DIR` is the same as `--resume RUN_DIR`
        args.overrides = [o for o in args.overrides if not o.startswith("resume=")]
        args.resume = resume[-1].split("=", 1)[1]
    cfg = run_config(args.preset, args.overrides, args.resume)
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
    from latentloop.api import evaluate_run, output_dir
    from latentloop.config import parse_depth
    from latentloop.evaluate.runner import summary_lines
    from latentloop.viz.curves import eval_plots

    steps = parse_steps(args.steps) if args.steps else None
    result = evaluate_run(
        args.run_dir,
        args.data,
        steps,
        args.checkpoints,
        args.max_examples,
        args.halt,
        progress=not args.quiet,
        sampling=sampling_of(args),
        sweep=parse_sweep(args.sweep),
        depth=parse_depth(args.depth, "--depth") if args.depth else None,
    )
    print("\n".join(summary_lines(result)))
    out_dir = output_dir(args.run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = Path(args.json or out_dir / "eval.json")
    out.write_text(json.dumps(result, indent=1))
    plots = eval_plots(result, out_dir / "plots", label=out_dir.name)
    print(f"wrote {out} and {', '.join(str(p) for p in plots.values())}")


def _read_input(text: str) -> str:
    path = Path(text)
    try:
        is_file = "\n" not in text and len(text) < 4096 and path.is_file()
    except OSError:  # e.g. an inline ARC task longer than a file name may be
        is_file = False
    if is_file:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise LatentloopError(f"cannot read {path}: {e}") from None
    if path.suffix.lower() in (".json", ".txt") and "\n" not in text and not text.lstrip().startswith(("{", "[")):
        raise LatentloopError(f"cannot read {text}: no such file")
    return text


def cmd_solve(args: argparse.Namespace) -> None:
    from latentloop.api import load_run, solve_tokens, task_of
    from latentloop.config import parse_depth
    from latentloop.tasks import companion
    from latentloop.viz.terminal import use_colour
    from latentloop.viz.views import trace_text, view_of

    if bool(args.pretrained) == bool(args.run_dir):
        raise LatentloopError("solve needs a run directory or --pretrained NAME (see `latentloop pretrained`)")
    if args.adapt:  # an ARC task the run never saw: adapt first (`latentloop adapt` with its defaults)
        defaults = build_parser().parse_args(["adapt", args.run_dir or "", args.puzzle])
        cmd_adapt(argparse.Namespace(**{**vars(defaults), "trace": args.trace, "no_colour": args.no_colour}))
        return
    run = load_run(f"pretrained:{args.pretrained}" if args.pretrained else args.run_dir)
    if args.depth:
        run.model.set_depth(*parse_depth(args.depth, "--depth"))
    task, view = task_of(run), view_of(task_of(run))
    text = _read_input(args.puzzle)
    colour = use_colour() and not args.no_colour
    scoring = companion(task, "evaluation")
    steps = args.steps or run.cfg.eval.steps or None  # as `eval` runs it (sudoku9's card: 64 steps)
    if hasattr(scoring, "solve_file"):  # a task whose input is more than one puzzle (ARC: a task file)
        task_id, answers = scoring.solve_file(run, text, Path(args.puzzle), steps)
        view.print_file_answers(task_id, answers, args.trace, colour)
        return
    grid = task.parse(text)
    sampling = sampling_of(args)
    (sol,) = solve_tokens(run.model, task, task.encode(grid)[None], steps=steps, halt=args.halt, sampling=sampling)
    if args.trace:
        print(trace_text(view, sol, colour))
    print(view.terminal_text(sol.answer, sol.puzzle, None, colour))
    *lines, status = task.verdict(sol.puzzle, sol.answer)
    if lines:
        print("\n".join(lines))
    print(
        f"{status}; answer settled after {sol.steps_used} of {len(sol.trajectory)} refinement step(s); "
        f"the halting head stops at step {sol.halt_step}"
    )


def cmd_pretrained(args: argparse.Namespace) -> None:
    from latentloop import pretrained

    if args.export:
        if not args.name:
            raise LatentloopError("pretrained --export RUN_DIR needs --name NAME")
        from latentloop.api import held_out_accuracy, load_run

        run = load_run(args.export)
        held_out = held_out_accuracy(run, args.held_out) if args.held_out else None
        out = pretrained.export(run, args.export, args.name, args.description or "", held_out, args.out)
        print(f"wrote {out}")
        return
    if not pretrained.names():
        print(f"no models are shipped in {pretrained.weights_dir()}")
    for name in pretrained.names():
        info = pretrained.card(name)
        acc = info["accuracy"]
        data = info.get("dataset") or {}
        print(f"{name}: {info['description']}")
        print(
            f"    {info['parameters']:,} parameters, preset {info['config'].get('preset')}, "
            f"{info['training']['steps']} steps; trained on {data.get('generator', data.get('source', '?'))} "
            f"({', '.join(f'{k}={v}' for k, v in (data.get('parameters') or {}).items())})"
        )
        print(
            f"    test split: exact {acc['exact_accuracy']:.4f}, valid {acc['valid_accuracy']:.4f} "
            f"on {acc['count']} held-out puzzles after {acc['steps']} steps"
        )
        trained = info.get("training") or {}
        if trained.get("seconds"):
            where = (trained.get("machine") or {}).get("cpu", "an unrecorded machine")
            print(f"    trained: {trained['steps']} steps in {trained['seconds'] / 60:.1f} min on {where}")
        if info.get("held_out"):
            h = info["held_out"]
            scores = f"exact {h['exact_accuracy']:.4f}, valid {h['valid_accuracy']:.4f}"
            print(f"    fresh set `{h['build']}`: {scores} on {h['count']}")
        print(f"    use: latentloop solve --pretrained {name} PUZZLE")


def cmd_adapt(args: argparse.Namespace) -> None:
    from latentloop.experiments.adapt import adapt
    from latentloop.viz.arc import print_answers
    from latentloop.viz.terminal import use_colour

    path = Path(args.task)
    task_id = path.stem if path.suffix == ".json" and path.is_file() else None
    out = Path(args.out or Path(args.run_dir) / "adapted" / (task_id or "task"))
    result = adapt(
        args.run_dir,
        _read_input(args.task),
        out,
        task_id,
        args.scope,
        args.steps,
        args.aug,
        args.batch,
        args.holdout,
        args.seed,
        args.overrides,
        progress=not args.quiet,
    )
    colour = use_colour() and not args.no_colour
    print("before adaptation (the task's embedding does not exist: the blank row's guess):")
    print_answers(result.before, trace=False, colour=colour)
    print(f"after adapting ({args.scope}, {result.steps} steps, {result.seconds:.0f} s):")
    print_answers(result.after, trace=args.trace, colour=colour)
    if result.holdout_exact is not None:
        print(f"held-out demonstration: exact accuracy {result.holdout_exact:.4f} over its variants")
    print(f"adapted run: {result.run_dir} (eval, solve and report work on it)")


def cmd_import(args: argparse.Namespace) -> None:
    from latentloop.api import import_reference_run

    out = import_reference_run(args.source, args.out, args.format, args.config, args.data, args.revision)
    print(f"wrote run directory {out}")


def cmd_study(args: argparse.Namespace) -> None:
    from latentloop.experiments.study import run_study, tune

    if args.tune:
        lrs = [float(v) for v in args.lrs.split(",")] if args.lrs else None
        seeds = [int(v) for v in args.tune_seeds.split(",")] if args.tune_seeds else None
        picks = tune(Path(args.out), args.spec, lrs, args.tune_steps, seeds)
        for task, families in picks.items():
            for family, pick in families.items():
                scores = ", ".join(
                    f"{lr:g}: {'/'.join(f'{a:.2f}' for a in accs)}" for lr, accs in pick["validation_exact"].items()
                )
                ties = f" (tied: {', '.join(f'{lr:g}' for lr in pick['tied'])})" if len(pick["tied"]) > 1 else ""
                print(
                    f"{task} {family} ({pick['arm']}, {pick['steps']} steps, seeds {pick['seeds']}): "
                    f"validation exact {scores} -> lr {pick['lr']:g}{ties}"
                )
        return
    out = run_study(Path(args.out), args.spec, quick=args.quick, data_root=args.data)
    print(out.read_text(), end="")
    print(f"wrote {out}")


def cmd_report(args: argparse.Namespace) -> None:
    from latentloop.viz.report import write_report

    out = write_report(args.run_dir, baseline=args.baseline, out_dir=args.out)
    print(f"wrote {out}")


DEPTH_HELP = "run each supervision step with T outer and n inner cycles instead of the trained ones (e.g. 6x2)"


def add_sampling_flags(s: argparse.ArgumentParser) -> None:
    """Test-time sampling (latentloop.evaluate.sampling): K noisy trajectories and a selection rule."""
    s.add_argument("--samples", type=int, default=1, metavar="K", help="trajectories per puzzle (one batched pass)")
    s.add_argument(
        "--noise",
        type=float,
        default=None,
        metavar="SIGMA",
        help="Gaussian noise on the latent state (default 0; eval --sweep: 0.2)",
    )
    s.add_argument(
        "--noise-at",
        default="step",
        choices=("step", "call"),
        help="before every supervision step (PTRM) or after every module call",
    )
    s.add_argument(
        "--select",
        default="halt",
        choices=("halt", "vote", "check"),
        help="which trajectory answers: "
        "highest halting logit, most frequent answer, or the first passing the task's rule check",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of the noise (and of random --augment views)")
    s.add_argument(
        "--augment",
        action="store_true",
        help="the K trajectories see the puzzle in K symmetric views, answers mapped back (test-time augmentation: "
        "a maze's 8 dihedral transforms, a Sudoku's identity and random relabellings)",
    )


def sampling_of(args: argparse.Namespace):
    from latentloop.evaluate.sampling import SWEEP_NOISE, Sampling

    noise = args.noise
    if noise is None:  # a sweep of noiseless samples would repeat the plain run K times (unless they are views)
        noise = SWEEP_NOISE if getattr(args, "sweep", None) is not None and not args.augment else 0.0
    return Sampling(args.samples, noise, args.select, args.noise_at, args.seed, args.augment)


def parse_sweep(text: str | None) -> tuple[list[int], list[int]] | None:
    """`8,16,32x1,4,16` -> ([8, 16, 32], [1, 4, 16])."""
    if text is None:
        return None
    try:
        steps, samples = ([int(v) for v in part.split(",")] for part in text.split("x"))
    except ValueError:
        raise LatentloopError(f"--sweep {text!r}: expected STEPSxSAMPLES, e.g. 8,16,32,64x1,4,16") from None
    if min(steps + samples) < 1:
        raise LatentloopError(f"--sweep {text!r}: steps and samples must be >= 1")
    return steps, samples


def build_parser() -> argparse.ArgumentParser:
    from latentloop.tasks import companion, registered

    p = argparse.ArgumentParser(prog="latentloop", description="Latent recursive reasoning: HRM, TRM, SRM.")
    sub = p.add_subparsers(dest="verb", required=True)

    s = sub.add_parser("presets", help="list the packaged presets")
    s.add_argument("--programs", action="store_true", help="list the named update programs instead")
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
        if name == "info":
            s.add_argument("--training-flops", action="store_true", help="print only max_steps x FLOPs per step")

    s = sub.add_parser("data", help="build datasets")
    dsub = s.add_subparsers(dest="action", required=True)
    b = dsub.add_parser("build", help="build a dataset")
    bsub = b.add_subparsers(dest="task", required=True)
    for name, cls in registered().items():  # each task's builder companion brings its own flags
        builder = companion(cls, "builder")
        if builder is None:
            continue
        b = bsub.add_parser(name, help=builder.HELP, description=getattr(builder, "DESCRIPTION", None))
        builder.add_arguments(b)
        b.add_argument("--seed", type=int, default=0)
        b.add_argument("--out", required=True)
        b.add_argument("--quiet", action="store_true")
        b.set_defaults(func=cmd_data_build, builder=builder)

    s = sub.add_parser("train", help="train a preset")
    s.add_argument("preset", nargs="?")
    s.add_argument("overrides", nargs="*", help="section.key=value")
    s.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("eval", help="evaluate a run (or pretrained:NAME) on its test split")
    s.add_argument("run_dir", help="a run directory, or pretrained:NAME (writes to ./pretrained-NAME/)")
    s.add_argument("--steps", help="M or 1..M: supervision steps to run, reported after each (may exceed N_sup)")
    s.add_argument("--halt", action="store_true", help="stop each batch once the halting head stopped every example")
    s.add_argument("--max-examples", type=int, default=0)
    s.add_argument("--data", help="dataset directory (default: the run's)")
    s.add_argument("--json", help="where to write the JSON (default: RUN_DIR/eval.json)")
    s.add_argument(
        "--checkpoints",
        metavar="all|last|STEPS",
        help="checkpoints to evaluate (STEPS: comma-separated training steps); ARC votes across them as TRM "
        "does (default for ARC: all, else last; the accuracy tables are the newest one's)",
    )
    s.add_argument("--depth", metavar="TxN", help=DEPTH_HELP)
    add_sampling_flags(s)
    s.add_argument(
        "--sweep",
        nargs="?",
        const="8,16,32,64x1,4,16",
        metavar="STEPSxSAMPLES",
        help="accuracy against compute for every steps x samples x selection rule (default 8,16,32,64x1,4,16), "
        "with --noise (default 0.2) and --seed",
    )
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("solve", help="solve one puzzle: a Sudoku one-liner, a maze text file, an ARC task JSON")
    s.add_argument("run_dir", nargs="?", help="a run directory (or use --pretrained)")
    s.add_argument("puzzle", help="the puzzle, or a file holding it")
    s.add_argument("--pretrained", metavar="NAME", help="a model shipped with latentloop (`latentloop pretrained`)")
    s.add_argument("--steps", type=int, default=0, help="supervision steps (default: the run's eval.steps, else N_sup)")
    s.add_argument("--depth", metavar="TxN", help=DEPTH_HELP)
    s.add_argument("--halt", action="store_true", help="stop where the halting head says so (early exit)")
    s.add_argument("--trace", action="store_true", help="print the grid after every step")
    s.add_argument("--no-colour", action="store_true", help="plain text even on a terminal")
    s.add_argument("--adapt", action="store_true", help="ARC: adapt the run to this task first (see `adapt`)")
    add_sampling_flags(s)
    s.set_defaults(func=cmd_solve)

    s = sub.add_parser("adapt", help="adapt an ARC run to a task it never saw (test-time training), then answer it")
    s.add_argument("run_dir")
    s.add_argument("task", help="the task: ARC JSON ({train: [...], test: [...]}) or a file holding it")
    s.add_argument("--out", help="the adapted run directory (default RUN_DIR/adapted/TASK)")
    s.add_argument(
        "--scope",
        choices=("all", "embedding"),
        default="all",
        help="train every weight, or only the task's new puzzle-embedding rows",
    )
    s.add_argument("--steps", type=int, default=200, help="optimizer steps")
    s.add_argument("--aug", type=int, default=8, help="augmented variants of the task (dihedral x colour recipes)")
    s.add_argument("--batch", type=int, default=32, help="slots per step")
    s.add_argument("--holdout", action="store_true", help="keep the last demonstration out and report on it")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--trace", action="store_true", help="print the grid after every step")
    s.add_argument("--no-colour", action="store_true")
    s.add_argument("--quiet", action="store_true")
    s.add_argument("overrides", nargs="*", help="section.key=value for the adaptation's training (e.g. train.lr=1e-3)")
    s.set_defaults(func=cmd_adapt)

    s = sub.add_parser("pretrained", help="list the models shipped with latentloop (or --export a run as one)")
    s.add_argument("--export", metavar="RUN_DIR", help="write RUN_DIR's EMA weights and card as a shipped model")
    s.add_argument("--name", help="with --export: the model's name")
    s.add_argument("--description", help="with --export: one line on what it is")
    s.add_argument("--out", help="with --export: directory to write to (default: the package's weights/)")
    s.add_argument(
        "--held-out",
        metavar="BUILD",
        help="with --export: a held-out set, as the task builder's "
        "arguments (e.g. 'sudoku --size 9 --train 0 --test 200 --seed 123'), evaluated into the card",
    )
    s.set_defaults(func=cmd_pretrained)

    s = sub.add_parser("import-checkpoint", help="turn a reference (HRM/TRM) checkpoint into a run directory")
    s.add_argument(
        "--format",
        choices=("trm", "trm_singlez", "hrm", "transformers_baseline"),
        help="the reference model (default: from the config's arch.name)",
    )
    s.add_argument(
        "--config",
        help="the reference's architecture config: a JSON constructor dict or an all_config.yaml "
        "(default: the one beside the weights)",
    )
    s.add_argument("--data", help="the dataset it was trained on: its sizes, and recorded in the run's config")
    s.add_argument("--revision", help="with a Hub name: the branch, tag or commit")
    s.add_argument("source", help="a weights file, a checkpoint folder, or a Hugging Face Hub name ORG/REPO")
    s.add_argument("out")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("study", help="the research line's claims on one CPU-scale task, each with a verdict")
    s.add_argument("--out", default="runs/study", help="where runs, results, plots and study.md go (resumable)")
    s.add_argument("--quick", action="store_true", help="a minutes-long version (fewer steps, seeds, puzzles)")
    s.add_argument("--spec", help="a study description (default: the packaged experiments/study.yaml)")
    s.add_argument("--data", help="where the study's datasets are built (default OUT/data)")
    s.add_argument("--tune", action="store_true", help="pick each family's learning rate on a validation split")
    s.add_argument("--lrs", help="with --tune: the learning rates to try (default: the study's tune.lrs)")
    s.add_argument("--tune-steps", type=int, help="with --tune: optimizer steps per trial (default: each task's)")
    s.add_argument("--tune-seeds", help="with --tune: the seeds of each trial, e.g. 0,1 (default: tune.seeds)")
    s.set_defaults(func=cmd_study)

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
