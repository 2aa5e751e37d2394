"""Typed configuration: nested dataclasses, YAML presets, dotted `key=value` overrides.

A run is described by one `RunConfig` (model, data, train, eval). Presets are YAML files in
`latentloop/presets/`; a user picks one by name (or passes a path) and overrides any field with
`section.key=value` on the command line. Unknown keys, wrong types and impossible combinations
raise `ConfigError` naming the key before any data is touched. A resolved config round-trips
through YAML and is stored in every run directory.
"""

from __future__ import annotations

import ast
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from latentloop.errors import ConfigError

MIXERS = ("attention", "mlp")
POS_ENCODINGS = ("rope", "none", "learned")
HALTING = ("none", "bce", "q_learning", "q_compare")
SUPERVISION = ("window", "segment", "point")
LOSSES = ("stablemax", "softmax")
DTYPES = ("float32", "bfloat16", "float16")


@dataclass
class ModuleConfig:
    """One named block stack of the engine."""

    layers: int = 2
    """Blocks applied per call (reference: arch.L_layers / arch.H_layers)."""
    distinct_layers: int = 0
    """Distinct weight sets; block i uses set i % distinct_layers. 0 = one per layer (no sharing)."""


@dataclass
class ModelConfig:
    """The recursion engine: streams, modules, update program, heads, halting."""

    hidden_size: int = 512
    """Width D of every state (reference: arch.hidden_size)."""
    num_heads: int = 8
    """Attention heads (attention mixer only)."""
    expansion: float = 4.0
    """SwiGLU expansion; inner width = ceil256(round(expansion * D * 2/3))."""
    mixer: str = "attention"
    """Token mixer of each block: attention | mlp (TRM's mlp_t, an MLP over positions)."""
    pos_encoding: str = "rope"
    """rope | none | learned (reference: arch.pos_encodings)."""
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    puzzle_emb_len: int = 16
    """Prefix positions reserved for the puzzle embedding (TRM 16, HRM 1, 0 = none)."""
    puzzle_emb_dim: int = -1
    """Width of a puzzle-embedding row; -1 = hidden_size, 0 = no puzzle embedding."""
    streams: list[str] = field(default_factory=lambda: ["y", "z"])
    """Latent states, each [B, P+L, D], started from fixed random buffers."""
    answer_stream: str = "y"
    """Stream read by the output head and the halting head."""
    modules: dict[str, ModuleConfig] = field(default_factory=lambda: {"core": ModuleConfig()})
    outer_cycles: int = 3
    """TRM's T, HRM's N (reference: arch.H_cycles)."""
    inner_cycles: int = 6
    """TRM's n, HRM's T (reference: arch.L_cycles)."""
    program: list[dict] = field(default_factory=list)
    """Update program of one supervision step; see model/program.py. Empty = TRM's."""
    grad_calls: str = "inner_cycles + 1"
    """Module calls at the end of a supervision step that carry gradient (int or expression; -1 = all)."""
    supervision: str = "window"
    """Where gradients and losses go inside one supervision step (refinement learning):
    window = the references: the last `grad_calls` calls with gradient, loss at the end;
    segment = windows of `grad_calls` calls, detached between windows, loss per `segment_loss`;
    point = every call detached from the previous one, a loss after every answer-stream update."""
    segment_loss: str = "end"
    """segment supervision: loss at each window's end (end) or after every answer update in it (every)."""
    skip_transform: str = "identity"
    """How snapshot sources (SRM's segment-start state) are injected: identity | linear (a learned map g)."""
    halting: str = "bce"
    """none | bce (TRM) | q_learning (HRM, bootstrapped continue target) |
    q_compare (halt when q_halt > q_continue, continue head untrained: the released transformer baseline)."""
    halt_max_steps: int = 16
    """N_sup: supervision steps before a slot is forced to halt (reference: arch.halt_max_steps)."""
    halt_exploration_prob: float = 0.1
    forward_dtype: str = "float32"
    """Activation dtype; weights stay fp32 and are cast per use (the references' CastedLinear)."""

    def counts(self) -> dict[str, int]:
        """Names usable in program loop counts and in `grad_calls`."""
        return {"outer_cycles": self.outer_cycles, "inner_cycles": self.inner_cycles}


@dataclass
class DataConfig:
    path: str = "data/sudoku"
    """Dataset directory with train/ and test/ splits (reference: data_paths)."""
    seq_len: int = 0
    """Expected sequence length (0 = take the dataset's); checked against the data, used by `info`."""
    vocab_size: int = 0
    """Expected vocabulary size (0 = take the dataset's); checked against the data, used by `info`."""
    num_puzzle_identifiers: int = 1
    """Used by `info` before the dataset exists; the dataset's value wins when it does."""


@dataclass
class TrainConfig:
    global_batch_size: int = 768
    max_steps: int = 0
    """Optimizer steps; 0 = derive from epochs like the references."""
    epochs: int = 1
    lr: float = 1e-4
    lr_warmup_steps: int = 2000
    lr_min_ratio: float = 1.0
    """Cosine floor as a fraction of lr; 1.0 = constant after warm-up (the references' default)."""
    weight_decay: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.95
    puzzle_emb_lr: float = 1e-4
    puzzle_emb_weight_decay: float = 1.0
    loss: str = "stablemax"
    """stablemax (float64, the references') | softmax."""
    halt_loss_weight: float = 0.5
    ema: bool = True
    ema_decay: float = 0.999
    grad_clip: float = 0.0
    """Clip the global gradient norm to this value; 0 = off (the references)."""
    seed: int = 0
    device: str = "auto"
    """auto | cpu | cuda | cuda:N | mps."""
    compile: bool = False
    threads: int = 0
    """torch CPU threads; 0 = leave torch's default."""
    log_interval: int = 10
    eval_interval: int = 0
    """Evaluate every this many steps; 0 = only at the end."""
    checkpoint_interval: int = 0
    """Checkpoint every this many steps; 0 = at evals and at the end."""
    keep_checkpoints: int = 3
    """Checkpoints kept (the newest ones, plus the best at evaluation); 0 = keep all."""
    time_budget_s: float = 0.0
    """Stop after this many seconds of training (0 = no limit); used for equal-time comparisons."""


@dataclass
class EvalConfig:
    steps: int = 0
    """Supervision steps at evaluation; 0 = halt_max_steps. May exceed the training maximum."""
    batch_size: int = 256
    max_examples: int = 0
    """Evaluate on the first N test examples; 0 = all."""


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run_dir: str = ""
    """Where checkpoints, metrics and the report go; empty = runs/<preset>-<time>."""
    preset: str = ""
    """Name of the preset this config came from (informational)."""

    def __post_init__(self) -> None:
        validate(self)


# ---------------------------------------------------------------------------------------------
# Expressions in loop counts: ints, names of counts, + - * // and parentheses.


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
        if isinstance(node, ast.BinOp):
            ops = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__, ast.FloorDiv: int.__floordiv__}
            if type(node.op) in ops:
                return ops[type(node.op)](ev(node.left), ev(node.right))
        raise ConfigError(f"{key}: unsupported expression {expr!r}")

    return ev(tree)


# ---------------------------------------------------------------------------------------------
# Validation of impossible combinations.


def validate(cfg: RunConfig) -> None:
    m, t = cfg.model, cfg.train
    _choice("model.mixer", m.mixer, MIXERS)
    _choice("model.pos_encoding", m.pos_encoding, POS_ENCODINGS)
    _choice("model.halting", m.halting, HALTING)
    _choice("model.supervision", m.supervision, SUPERVISION)
    _choice("model.segment_loss", m.segment_loss, ("end", "every"))
    _choice("model.skip_transform", m.skip_transform, ("identity", "linear"))
    _choice("model.forward_dtype", m.forward_dtype, DTYPES)
    _choice("train.loss", t.loss, LOSSES)
    if m.hidden_size <= 0:
        raise ConfigError(f"model.hidden_size must be positive, got {m.hidden_size}")
    if m.mixer == "attention" and m.hidden_size % m.num_heads:
        raise ConfigError(f"model.hidden_size={m.hidden_size} is not divisible by model.num_heads={m.num_heads}")
    if m.mixer == "attention" and m.pos_encoding == "rope" and (m.hidden_size // m.num_heads) % 2:
        raise ConfigError("model.pos_encoding=rope needs an even head dimension (hidden_size / num_heads)")
    if m.halt_max_steps < 1:
        raise ConfigError(f"model.halt_max_steps must be >= 1, got {m.halt_max_steps}")
    if not 0.0 <= m.halt_exploration_prob <= 1.0:
        raise ConfigError("model.halt_exploration_prob must lie in [0, 1]")
    if m.puzzle_emb_len < 0:
        raise ConfigError("model.puzzle_emb_len must be >= 0")
    if m.answer_stream not in m.streams:
        raise ConfigError(f"model.answer_stream={m.answer_stream!r} is not one of model.streams {m.streams}")
    if len(set(m.streams)) != len(m.streams) or "x" in m.streams:
        raise ConfigError("model.streams must be distinct names, none of them 'x'")
    if not m.modules:
        raise ConfigError("model.modules must name at least one block stack")
    for name, mod in m.modules.items():
        if mod.layers < 1:
            raise ConfigError(f"model.modules.{name}.layers must be >= 1")
        if mod.distinct_layers < 0 or (mod.distinct_layers and mod.layers % mod.distinct_layers):
            raise ConfigError(f"model.modules.{name}.distinct_layers must divide layers ({mod.layers})")
    if t.global_batch_size < 1:
        raise ConfigError("train.global_batch_size must be >= 1")
    if not 0.0 <= t.lr_min_ratio <= 1.0:
        raise ConfigError("train.lr_min_ratio must lie in [0, 1]")
    if t.halt_loss_weight < 0:
        raise ConfigError("train.halt_loss_weight must be >= 0")
    # The update program is checked by expanding it once.
    from latentloop.model.program import expand_program  # local: model/ imports config, not back

    calls = expand_program(m)
    k = eval_count(m.grad_calls, m.counts(), "model.grad_calls")
    if k == 0 or k < -1:
        raise ConfigError(f"model.grad_calls must be >= 1 or -1 (all), got {k}")
    n_module_calls = sum(1 for c in calls if c.kind == "call")
    if k > n_module_calls:
        raise ConfigError(f"model.grad_calls={k} exceeds the {n_module_calls} module calls of the program")


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not one of {', '.join(allowed)}")


# ---------------------------------------------------------------------------------------------
# Building dataclasses from plain dicts (YAML) with type checks.


def _from_dict(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"unknown config key {full!r} (known: {', '.join(sorted(names))})")
        kwargs[key] = _coerce(hints[key], value, full)
    return cls(**kwargs) if cls is not RunConfig else _make_run(kwargs)


def _make_run(kwargs: dict) -> RunConfig:
    return RunConfig(**kwargs)


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, key)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        for a in args:
            try:
                return _coerce(a, value, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} does not fit type {tp}")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        _, item = typing.get_args(tp)
        return {k: _coerce(item, v, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if tp is dict or tp is typing.Any:
        return value
    raise ConfigError(f"{key}: unsupported type {tp}")


def to_dict(cfg: Any) -> Any:
    """Plain-data form of a config (YAML-serialisable)."""
    return dataclasses.asdict(cfg)


# ---------------------------------------------------------------------------------------------
# Presets and overrides.


def preset_names() -> list[str]:
    files = resources.files("latentloop") / "presets"
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))


def read_preset(name_or_path: str) -> dict:
    """The raw dict of a preset given by name (packaged) or by a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"preset file {name_or_path} does not exist")
        text = path.read_text()
    else:
        res = resources.files("latentloop") / "presets" / f"{name_or_path}.yaml"
        if not res.is_file():
            raise ConfigError(f"unknown preset {name_or_path!r} (known: {', '.join(preset_names())})")
        text = res.read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"preset {name_or_path}: invalid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"preset {name_or_path}: expected a mapping at the top level")
    return data


def parse_value(text: str) -> Any:
    """Parse the right side of `key=value` as YAML, also accepting `1e-4` as a float."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply `a.b.c=value` overrides to a nested dict (a copy)."""
    import copy

    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item or item.startswith("="):
            raise ConfigError(f"bad override {item!r}: expected key=value, e.g. train.lr=3e-4")
        key, text = item.split("=", 1)
        key = key.strip().removeprefix("--")
        parts = key.split(".")
        node = data
        for p in parts[:-1]:
            child = node.get(p)
            if child is None:
                child = node[p] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"bad override {item!r}: {p!r} is not a section")
            node = child
        node[parts[-1]] = parse_value(text)
    return data


def load_config(preset: str | None = None, overrides: list[str] | None = None, base: dict | None = None) -> RunConfig:
    """Resolve a preset (or a base dict) plus overrides into a validated RunConfig."""
    data = dict(base) if base is not None else (read_preset(preset) if preset else {})
    data = apply_overrides(data, overrides or [])
    if preset and "preset" not in data:
        data["preset"] = Path(preset).stem if preset.endswith((".yaml", ".yml")) else preset
    return _from_dict(RunConfig, data, "")


def save_config(cfg: RunConfig, path: Path) -> None:
    """Write the resolved config as YAML (temporary name, then rename)."""
    import os

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    os.replace(tmp, path)


def config_from_yaml_text(text: str) -> RunConfig:
    return _from_dict(RunConfig, yaml.safe_load(text), "")
