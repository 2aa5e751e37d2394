"""Every published recursion as a named update program, and the gradient/loss schedule as data.

An update program says what one supervision step does to the latent streams. It is a list of
operations, written here with three constructors (a preset may write the same in YAML):

    repeat(count, *ops)               a loop; `count` is an int or an expression such as `inner_cycles + 1`
    update(target, module, *inject)   target <- module(target | sum(inject)), e.g. z <- f(z | y + x)
    snapshot(name, of)                name <- of: keep a state for later injection (SRM's segment start)

`x` is the input embedding. `PROGRAMS` below holds the recursion of every paper of the line (TRM and
its single-z and multi-scale variants, HRM and flat HRM, SRM with and without its skip, the flat
transformer with ACT and the one-pass baseline), each named once with its source and equation;
`latentloop presets --programs` prints them.

The gradient window and the loss points of one supervision step (refinement learning) are a
schedule: `schedule` returns, per operation, whether it runs with gradient, whether every state
is detached before it, and whether an intermediate loss reads the answer stream after it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from latentloop.errors import ConfigError

SUPERVISION = ("window", "segment", "point")


def repeat(count: int | str, *ops: dict) -> dict:
    """A loop of `count` iterations over `ops`."""
    return {"repeat": count, "do": list(ops)}


def update(target: str, module: str, *inject: str) -> dict:
    """One module call: target <- module(target | sum(inject))."""
    return {"update": target, "module": module, "inject": list(inject)}


def snapshot(name: str, of: str) -> dict:
    """Remember the current value of stream `of` under `name`."""
    return {"snapshot": name, "of": of}


@dataclass(frozen=True)
class Program:
    """A named recursion: its streams, the stream read by the heads, its gradient window and ops."""

    name: str
    source: str  # the paper or code it comes from
    equation: str
    streams: tuple[str, ...]
    answer: str
    grad_calls: str  # module calls at the end of a supervision step that carry gradient (-1 = all)
    ops: tuple[dict, ...]


_ZS = tuple(f"z{i}" for i in range(1, 7))
_ONE_PASS = (update("z", "core", "x"),)

PROGRAMS: dict[str, Program] = {
    p.name: p
    for p in (
        Program(
            "trm",
            "Jolicoeur-Martineau 2025, trm.py",
            "repeat T { repeat n { z <- f(z | y + x) }; y <- f(y | z) }; the last cycle (n+1 calls) with gradient",
            ("y", "z"),
            "y",
            "inner_cycles + 1",
            (repeat("outer_cycles", repeat("inner_cycles", update("z", "core", "y", "x")), update("y", "core", "z")),),
        ),
        Program(
            "trm_single_z",
            "Jolicoeur-Martineau 2025, Table 2; trm_singlez.py",
            "repeat T { repeat n { z <- f(z | x) }; z <- f(z) }; answer read from z",
            ("z",),
            "z",
            "inner_cycles + 1",
            (repeat("outer_cycles", repeat("inner_cycles", update("z", "core", "x")), update("z", "core")),),
        ),
        Program(
            "trm_multiscale",
            "Jolicoeur-Martineau 2025, Table 2; trm_hier6.py (six latent slots, n fixed at 6)",
            "repeat T { z_i <- f(z_i | sum_{j != i} z_j + y + x) for i = 1..6; y <- f(y | z_1 + ... + z_6) }",
            ("y", *_ZS),
            "y",
            "7",
            (
                repeat(
                    "outer_cycles",
                    *(update(z, "core", *(o for o in _ZS if o != z), "y", "x") for z in _ZS),
                    update("y", "core", *_ZS),
                ),
            ),
        ),
        Program(
            "hrm",
            "Wang et al. 2025, hrm_act_v1.py",
            "repeat N { repeat T { z_L <- f_L(z_L | z_H + x) }; z_H <- f_H(z_H | z_L) }; "
            "1-step gradient (the last L and H calls)",
            ("z_H", "z_L"),
            "z_H",
            "2",
            (
                repeat(
                    "outer_cycles", repeat("inner_cycles", update("z_L", "L", "z_H", "x")), update("z_H", "H", "z_L")
                ),
            ),
        ),
        Program(
            "hrm_flat",
            "Ge, Liao & Poggio 2025 (HRM without the hierarchy)",
            "repeat n { z <- f_L(z | x) }; gradient through the last call (HRM's 1-step gradient)",
            ("z",),
            "z",
            "1",
            (repeat("inner_cycles", update("z", "L", "x")),),
        ),
        Program(
            "srm",
            "Liao & Poggio 2025",
            "repeat S { s <- z; repeat n { z <- f(z | x + g(s)) } }; the last segment with gradient",
            ("z",),
            "z",
            "inner_cycles",
            (repeat("outer_cycles", snapshot("s", "z"), repeat("inner_cycles", update("z", "core", "x", "s"))),),
        ),
        Program(
            "srm_noskip",
            "Liao & Poggio 2025, the ablation without the skip connection",
            "repeat S { repeat n { z <- f(z | x) } }; the last segment with gradient",
            ("z",),
            "z",
            "inner_cycles",
            (repeat("outer_cycles", repeat("inner_cycles", update("z", "core", "x"))),),
        ),
        Program(
            "transformer_act",
            "ARC Prize HRM analysis 2025; transformers_baseline.py",
            "z <- f(z | x) once per supervision step, full gradient; refined across steps with ACT",
            ("z",),
            "z",
            "-1",
            _ONE_PASS,
        ),
        Program(
            "direct",
            "HRM paper's baseline; TRM Table 4",
            "z <- f(z | x), one pass and one supervision step: no recursion",
            ("z",),
            "z",
            "-1",
            _ONE_PASS,
        ),
    )
}


def named(program: str | list) -> Program | None:
    """The named program `program` refers to (None for an inline list)."""
    if isinstance(program, list):
        return None
    if program not in PROGRAMS:
        raise ConfigError(f"model.program={program!r} is not a named program (known: {', '.join(PROGRAMS)})")
    return PROGRAMS[program]


# ---------------------------------------------------------------------------------------------
# Loop counts: ints, names of counts, + - * // and parentheses.


def eval_count(expr: int | str, counts: dict[str, int], key: str) -> int:
    """Evaluate a loop count such as `inner_cycles + 1`; errors name `key`."""
    if isinstance(expr, bool):
        raise ConfigError(f"{key}: expected an integer or expression, got {expr!r}")
    if isinstance(expr, int):
        return expr
    try:
        tree = ast.parse(str(expr), mode="eval")
    except SyntaxError:
        raise ConfigError(f"{key}: cannot parse expression {expr!r}") from None
    binary = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__, ast.FloorDiv: int.__floordiv__}

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in counts:
                raise ConfigError(f"{key}: unknown name {node.id!r} (known: {', '.join(counts)})")
            return counts[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in binary:
            return binary[type(node.op)](ev(node.left), ev(node.right))
        raise ConfigError(f"{key}: unsupported expression {expr!r}")

    return ev(tree)


# ---------------------------------------------------------------------------------------------
# Unrolling a program.


@dataclass(frozen=True)
class Op:
    """One unrolled operation: a module call `target <- module(target | sum(inject))` or a snapshot."""

    kind: str  # "call" | "snapshot"
    target: str
    module: str = ""
    inject: tuple[str, ...] = ()


def expand(program: list | tuple, streams: list[str], modules: list[str], counts: dict[str, int]) -> list[Op]:
    """Unroll a program into a flat list of operations, validating every name."""
    ops: list[Op] = []
    snapshots: set[str] = set()

    def walk(items: list, where: str) -> None:
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{where}: expected a list of operations")
        for i, item in enumerate(items):
            key = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise ConfigError(f"{key}: expected a mapping, got {item!r}")
            if "repeat" in item:
                _check_keys(item, {"repeat", "do"}, key)
                n = eval_count(item["repeat"], counts, f"{key}.repeat")
                if n < 0:
                    raise ConfigError(f"{key}.repeat must be >= 0, got {n}")
                for _ in range(n):
                    walk(item.get("do", []), f"{key}.do")
            elif "update" in item:
                _check_keys(item, {"update", "module", "inject"}, key)
                target, module = item["update"], item.get("module")
                if target not in streams:
                    raise ConfigError(f"{key}.update: {target!r} is not a stream ({streams})")
                if module not in modules:
                    raise ConfigError(f"{key}.module: {module!r} is not a module ({modules})")
                inject = tuple(item.get("inject") or ())
                for src in inject:
                    if src != "x" and src not in streams and src not in snapshots:
                        raise ConfigError(f"{key}.inject: unknown source {src!r}")
                ops.append(Op("call", target, module, inject))
            elif "snapshot" in item:
                _check_keys(item, {"snapshot", "of"}, key)
                name, of = item["snapshot"], item.get("of")
                if of not in streams:
                    raise ConfigError(f"{key}.of: {of!r} is not a stream ({streams})")
                if name in streams or name == "x":
                    raise ConfigError(f"{key}.snapshot: name {name!r} clashes with a stream")
                snapshots.add(name)
                ops.append(Op("snapshot", name, inject=(of,)))
            else:
                raise ConfigError(f"{key}: expected one of repeat / update / snapshot, got {sorted(item)}")

    walk(program, "model.program")
    if not any(op.kind == "call" for op in ops):
        raise ConfigError("model.program makes no module call")
    return ops


def _check_keys(item: dict, allowed: set[str], key: str) -> None:
    extra = set(item) - allowed
    if extra:
        raise ConfigError(f"{key}: unknown field(s) {sorted(extra)} (allowed: {sorted(allowed)})")


# ---------------------------------------------------------------------------------------------
# The schedule: where gradients and losses go inside one supervision step.


@dataclass(frozen=True)
class Planned:
    """One operation of a supervision step with its place in the gradient/loss schedule."""

    op: Op
    grad: bool  # runs with gradient (while training)
    cut_before: bool  # every state is detached before it
    loss_after: bool  # an intermediate loss reads the answer stream after it (the step's own loss is the last)


def schedule(ops: list[Op], grad_calls: int, supervision: str, segment_loss: str, answer: str) -> list[Planned]:
    """The gradient window and loss points of one supervision step, per operation.

    window  (the references): the last `grad_calls` module calls with gradient, the rest without;
            one loss, at the end of the step.
    segment: every call with gradient, states detached every `grad_calls` calls (truncated BPTT);
            a loss at each segment's end (`segment_loss=end`) or after every answer update (`every`).
    point:  every call detached from the previous one; a loss after every answer-stream update.
    """
    n_calls = sum(op.kind == "call" for op in ops)
    k = n_calls if grad_calls == -1 else grad_calls
    window = 1 if supervision == "point" else k
    plan = []
    done = 0  # module calls before this operation
    for op in ops:
        call = op.kind == "call"
        grad = supervision != "window" or done >= n_calls - k
        cut = call and supervision != "window" and done > 0 and done % window == 0
        after = done + call
        if supervision == "window" or not call or after == n_calls:
            loss = False
        elif supervision == "segment" and segment_loss == "end":
            loss = after % window == 0
        else:
            loss = op.target == answer
        plan.append(Planned(op, grad, cut, loss))
        done = after
    return plan


def format_schedule(plan: list[Planned]) -> str:
    """The schedule as a table, one line per operation (`latentloop info --schedule`)."""
    lines = [f"{'#':>3s}  {'operation':34s} {'grad':5s} {'cut':4s} loss"]
    calls = 0
    for p in plan:
        op = p.op
        if op.kind == "call":
            calls += 1
            text = f"{op.target} <- {op.module}({op.target} | {' + '.join(op.inject) or '-'})"
            index = f"{calls:3d}"
        else:
            text, index = f"{op.target} <- {op.inject[0]}  (snapshot)", "  ."
        loss = "end" if op.kind == "call" and calls == sum(q.op.kind == "call" for q in plan) else ""
        loss = "yes" if p.loss_after else loss
        lines.append(f"{index}  {text:34s} {'yes' if p.grad else '-':5s} {'yes' if p.cut_before else '-':4s} {loss}")
    return "\n".join(lines)
