"""The update program: a declarative schedule of module calls for one supervision step.

A program is a list of operations, written in YAML inside a preset:

    - repeat: outer_cycles            # a loop; the count may be an int or an expression
      do:
        - repeat: inner_cycles
          do:
            - {update: z, module: core, inject: [y, x]}   # z <- core(z + (y + x))
        - {update: y, module: core, inject: [z]}          # y <- core(y + z)

    - {snapshot: s, of: z}            # s <- z  (SRM: the state at the start of a segment)

`expand_program` unrolls it into a flat list of `Op`s, which the engine runs in order; the
last `grad_calls` module calls run with gradient, everything before under `no_grad`.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentloop.config import ModelConfig, eval_count
from latentloop.errors import ConfigError

# TRM (Jolicoeur-Martineau 2025): repeat T { repeat n { z <- f(z | y + x) }; y <- f(y | z) }.
TRM_PROGRAM: list[dict] = [
    {
        "repeat": "outer_cycles",
        "do": [
            {"repeat": "inner_cycles", "do": [{"update": "z", "module": "core", "inject": ["y", "x"]}]},
            {"update": "y", "module": "core", "inject": ["z"]},
        ],
    },
]


@dataclass(frozen=True)
class Op:
    """One unrolled operation: a module call `target <- module(target + sum(inject))` or a snapshot."""

    kind: str  # "call" | "snapshot"
    target: str
    module: str = ""
    inject: tuple[str, ...] = ()


def expand_program(cfg: ModelConfig) -> list[Op]:
    """Unroll `cfg.program` (TRM's when empty) into a flat list of operations, validating names."""
    program = cfg.program or TRM_PROGRAM
    counts = cfg.counts()
    ops: list[Op] = []
    snapshots: set[str] = set()

    def walk(items: list, where: str) -> None:
        if not isinstance(items, list):
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
                if target not in cfg.streams:
                    raise ConfigError(f"{key}.update: {target!r} is not a stream ({cfg.streams})")
                if module not in cfg.modules:
                    raise ConfigError(f"{key}.module: {module!r} is not a module ({list(cfg.modules)})")
                inject = tuple(item.get("inject") or ())
                for src in inject:
                    if src != "x" and src not in cfg.streams and src not in snapshots:
                        raise ConfigError(f"{key}.inject: unknown source {src!r}")
                ops.append(Op("call", target, module, inject))
            elif "snapshot" in item:
                _check_keys(item, {"snapshot", "of"}, key)
                name, of = item["snapshot"], item.get("of")
                if of not in cfg.streams:
                    raise ConfigError(f"{key}.of: {of!r} is not a stream ({cfg.streams})")
                if name in cfg.streams or name == "x":
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


def grad_call_count(cfg: ModelConfig, ops: list[Op]) -> int:
    """Number of trailing module calls that run with gradient (all of them for -1)."""
    n_calls = sum(op.kind == "call" for op in ops)
    k = eval_count(cfg.grad_calls, cfg.counts(), "model.grad_calls")
    return n_calls if k == -1 else k
