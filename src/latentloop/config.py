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
import itertools
import textwrap
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from latentloop.errors import ConfigError
from latentloop.model import program as programs

MIXERS = ("attention", "mlp")
POS_ENCODINGS = ("rope", "none", "learned")
HALTING = ("none", "bce", "q_learning", "q_compare")
SECTIONS = ("model", "data", "train", "eval")
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
    head_dim: int = 0
    """Width of one attention head; 0 = hidden_size // num_heads, rounded down as the references do (12 heads
    on 512 give 42). Attention maps D -> 3 * num_heads * head_dim and num_heads * head_dim -> D; RoPE spans head_dim."""
    expansion: float = 4.0
    """SwiGLU expansion; inner width = ceil256(round(expansion * D * 2/3))."""
    mixer: str = "attention"
    """Token mixer of each block: attention | mlp (TRM's mlp_t, an MLP over positions)."""
    mixer_pad_to: int = 1
    """mlp mixer: zero-pad the positions of its matmuls to a multiple of this (speed only; 1 = none)."""
    pos_encoding: str = "rope"
    """rope | none | learned (reference: arch.pos_encodings)."""
    rope_theta: float = 10000.0
    """RoPE base (reference: arch.rope_theta)."""
    rms_norm_eps: float = 1e-5
    """Epsilon of the parameter-free RMSNorm (reference: arch.rms_norm_eps)."""
    puzzle_emb_len: int = 16
    """Prefix positions reserved for the puzzle embedding (TRM 16, HRM 1, 0 = none)."""
    puzzle_emb_dim: int = -1
    """Width of a puzzle-embedding row; -1 = hidden_size, 0 = no puzzle embedding."""
    program: str | list[dict] = "trm"
    """Update program of one supervision step: a name from model/program.py (trm, trm_single_z, trm_multiscale,
    hrm, hrm_flat, srm, srm_noskip, transformer_act, direct) or an inline list of operations."""
    streams: list[str] = field(default_factory=list)
    """Latent states, each [B, P+L, D], started from fixed random buffers; empty = the named program's."""
    answer_stream: str = ""
    """Stream read by the output head and the halting head; empty = the named program's."""
    modules: dict[str, ModuleConfig] = field(default_factory=lambda: {"core": ModuleConfig()})
    """Named block stacks the program calls (`core`; HRM's `L` and `H`)."""
    outer_cycles: int = 3
    """TRM's T, HRM's N, SRM's segments (reference: arch.H_cycles)."""
    inner_cycles: int = 6
    """TRM's n, HRM's T (reference: arch.L_cycles)."""
    grad_calls: str = ""
    """Module calls at the end of a supervision step that carry gradient (int or expression of the loop counts;
    -1 = all); empty = the named program's window (an inline program: all)."""
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
    """Training: chance that a slot draws a minimum step count in 2..N_sup (reference: arch.halt_exploration_prob)."""
    forward_dtype: str = "float32"
    """Activation dtype; weights stay fp32 and are cast per use (the references' CastedLinear)."""

    def __post_init__(self) -> None:
        """Fill the streams, answer stream and gradient window from a named program where not given."""
        prog = programs.named(self.program)
        if prog is None:
            if not self.streams:
                raise ConfigError("model.streams must be given with an inline model.program")
            self.answer_stream = self.answer_stream or self.streams[0]
            self.grad_calls = self.grad_calls or "-1"
            return
        self.streams = self.streams or list(prog.streams)
        self.answer_stream = self.answer_stream or prog.answer
        self.grad_calls = self.grad_calls or prog.grad_calls

    def attention_head_dim(self) -> int:
        """Width of one attention head: `head_dim`, or hidden_size // num_heads when it is 0."""
        return self.head_dim or self.hidden_size // self.num_heads

    def counts(self) -> dict[str, int]:
        """Names usable in program loop counts and in `grad_calls`."""
        return {"outer_cycles": self.outer_cycles, "inner_cycles": self.inner_cycles}

    def program_ops(self) -> list:
        """The program of one supervision step, unrolled into operations (validated)."""
        prog = programs.named(self.program)
        ops = list(prog.ops) if prog is not None else self.program
        return programs.expand(ops, self.streams, list(self.modules), self.counts())

    def grad_call_count(self) -> int:
        """Trailing module calls of a supervision step that run with gradient."""
        k = programs.eval_count(self.grad_calls, self.counts(), "model.grad_calls")
        return sum(op.kind == "call" for op in self.program_ops()) if k == -1 else k

    def schedule(self) -> list:
        """The gradient/loss schedule of one supervision step (model/program.py `schedule`)."""
        ops = self.program_ops()
        return programs.schedule(ops, self.grad_call_count(), self.supervision, self.segment_loss, self.answer_stream)


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
    """Slots of the carry over all processes (reference: global_batch_size)."""
    max_steps: int = 0
    """Optimizer steps; 0 = derive from epochs like the references."""
    epochs: int = 1
    """Passes over the training groups; sets the step count when max_steps is 0 (reference: epochs)."""
    lr: float = 1e-4
    """AdamATan2 learning rate of every dense weight (reference: lr)."""
    lr_warmup_steps: int = 2000
    """Linear warm-up from 0 over this many optimizer steps (reference: lr_warmup_steps)."""
    lr_min_ratio: float = 1.0
    """Cosine floor as a fraction of lr; 1.0 = constant after warm-up (the references' default)."""
    weight_decay: float = 1.0
    """Decoupled weight decay of the dense weights (reference: weight_decay)."""
    beta1: float = 0.9
    """AdamATan2 first-moment decay (reference: beta1)."""
    beta2: float = 0.95
    """AdamATan2 second-moment decay (reference: beta2)."""
    puzzle_emb_lr: float = 1e-4
    """Sign-SGD learning rate of the puzzle-embedding rows (reference: puzzle_emb_lr)."""
    puzzle_emb_weight_decay: float = 1.0
    """Weight decay of the puzzle-embedding rows (reference: puzzle_emb_weight_decay)."""
    loss: str = "stablemax"
    """stablemax (float64, the references') | softmax."""
    target: str = "label"
    """What the token loss is scored against: label (the dataset's answer, the references') | closest (of the
    puzzle's correct answers, the one the model's output favours, re-chosen at every step; the label among
    equals; tasks with several correct answers, e.g. mazes with equally short paths)."""
    halt_loss_weight: float = 0.5
    """Weight of the halting losses in lm + w * (q_halt + q_continue) (the references' literal 0.5)."""
    ema: bool = True
    """Keep an exponential moving average of the dense weights, used at evaluation (reference: ema)."""
    ema_decay: float = 0.999
    """EMA decay per optimizer step (reference: ema_rate)."""
    grad_clip: float = 0.0
    """Clip the global gradient norm to this value; 0 = off (the references)."""
    seed: int = 0
    """Seeds the weights, the data order and the halting exploration."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N | mps."""
    compile: bool = False
    """torch.compile each block stack (the references compile the whole model)."""
    threads: int = 0
    """torch CPU threads; 0 = leave torch's default."""
    log_interval: int = 10
    """Write training metrics every this many steps."""
    eval_interval: int = 0
    """Evaluate every this many optimizer steps; 0 = only at the end (or per `eval_interval_epochs`)."""
    eval_interval_epochs: int = 0
    """Evaluate every this many epochs (reference: eval_interval), converted to optimizer steps from the dataset's
    size the way `epochs` is; 0 = use eval_interval. Set one of the two."""
    checkpoint_interval: int = 0
    """Checkpoint every this many steps; 0 = at evals and at the end."""
    keep_checkpoints: int = 3
    """Checkpoints kept (the newest ones, plus the best at evaluation); 0 = keep all."""
    optimizer: str = "adam_atan2"
    """Dense weights: adam_atan2 (the references') | muon (torch's Muon for the blocks' matrices, AdamATan2 for
    the rest)."""
    muon_lr: float = 2e-3
    """Muon's learning rate (its update RMS matched to AdamW's, so of the same order as train.lr)."""
    depth_curriculum: str = ""
    """Shallow recursion early (CGAR, Qasim et al. 2025): e.g. `0.3:1x1,0.6:2x2` runs outer_cycles x inner_cycles
    = 1 x 1 for the first 30% of the steps, 2 x 2 until 60%, then the model's own; empty = off."""
    micro_batch: int = 0
    """Slots per forward/backward within one optimizer step (gradient accumulation; the recipe's batch and its
    results unchanged up to rounding): smaller chunks keep activations in cache; 0 = the whole batch at once."""
    init_from: str = ""
    """Start from the weights of this run directory (fine-tuning, adaptation); a larger puzzle table is grown."""
    scope: str = "all"
    """What learns: all | embedding (only the puzzle-embedding rows, the network frozen)."""
    max_flops: float = 0.0
    """Training budget in model FLOPs (forward and backward, counted by torch's FlopCounterMode on one step of
    the global batch); when set it fixes the optimizer steps (equal-compute comparisons); 0 = max_steps/epochs."""


@dataclass
class EvalConfig:
    steps: int = 0
    """Supervision steps at evaluation; 0 = halt_max_steps. May exceed the training maximum."""
    batch_size: int = 256
    """Examples per evaluation batch."""
    max_examples: int = 0
    """Evaluate on the first N test examples; 0 = all."""


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    """The engine: streams, program, block stacks, heads, halting."""
    data: DataConfig = field(default_factory=DataConfig)
    """The dataset."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimizers, schedule, EMA, devices, logging and checkpoints."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Evaluation on the test split."""
    run_dir: str = ""
    """Where checkpoints, metrics and the report go; empty = runs/<preset>-<time>."""
    preset: str = ""
    """Name of the preset this config came from (informational)."""

    def __post_init__(self) -> None:
        validate(self)


# ---------------------------------------------------------------------------------------------
# Validation of impossible combinations.


def validate(cfg: RunConfig) -> None:
    m, t = cfg.model, cfg.train
    _choice("model.mixer", m.mixer, MIXERS)
    if m.mixer_pad_to < 1:
        raise ConfigError(f"model.mixer_pad_to must be >= 1, got {m.mixer_pad_to}")
    _choice("model.pos_encoding", m.pos_encoding, POS_ENCODINGS)
    _choice("model.halting", m.halting, HALTING)
    _choice("model.supervision", m.supervision, programs.SUPERVISION)
    _choice("model.segment_loss", m.segment_loss, ("end", "every"))
    _choice("model.skip_transform", m.skip_transform, ("identity", "linear"))
    _choice("model.forward_dtype", m.forward_dtype, DTYPES)
    _choice("train.loss", t.loss, LOSSES)
    _choice("train.target", t.target, ("label", "closest"))
    _choice("train.scope", t.scope, ("all", "embedding"))
    _choice("train.optimizer", t.optimizer, ("adam_atan2", "muon"))
    parse_curriculum(t.depth_curriculum)
    if t.micro_batch < 0:
        raise ConfigError(f"train.micro_batch must be >= 0, got {t.micro_batch}")
    if t.max_flops < 0:
        raise ConfigError(f"train.max_flops must be >= 0, got {t.max_flops}")
    if t.max_flops and t.max_steps:
        raise ConfigError("train.max_flops and train.max_steps both set: a run has one budget (set the other to 0)")
    if m.hidden_size <= 0:
        raise ConfigError(f"model.hidden_size must be positive, got {m.hidden_size}")
    if m.num_heads < 1 or m.head_dim < 0:
        raise ConfigError(f"model.num_heads must be >= 1 and model.head_dim >= 0, got {m.num_heads} and {m.head_dim}")
    if m.mixer == "attention" and m.attention_head_dim() == 0:
        raise ConfigError(f"model.num_heads={m.num_heads} exceeds model.hidden_size={m.hidden_size}")
    if m.mixer == "attention" and m.pos_encoding == "rope" and m.attention_head_dim() % 2:
        raise ConfigError(
            f"model.pos_encoding=rope needs an even head dimension, got {m.attention_head_dim()} (model.head_dim, "
            "or hidden_size // num_heads when it is 0)"
        )
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
    if t.eval_interval < 0 or t.eval_interval_epochs < 0:
        raise ConfigError("train.eval_interval and train.eval_interval_epochs must be >= 0")
    if t.eval_interval and t.eval_interval_epochs:
        raise ConfigError(
            f"train.eval_interval={t.eval_interval} (steps) and train.eval_interval_epochs={t.eval_interval_epochs} "
            "are both set; set the other to 0"
        )
    # The update program is checked by expanding it once.
    calls = m.program_ops()
    k = programs.eval_count(m.grad_calls, m.counts(), "model.grad_calls")
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


def read_preset(name_or_path: str, _chain: tuple[str, ...] = ()) -> dict:
    """The raw dict of a preset given by name (packaged) or by a path to a YAML file.

    A preset may start from another with `base: NAME` and list only what differs: each section
    (model, data, train, eval) of the base is updated field by field, a field's value replaced
    whole (a `modules` mapping included).
    """
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
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"preset {name_or_path}: base must be a preset name, got {base!r}")
    chain = (*_chain, name_or_path)
    if base in chain:
        raise ConfigError(f"preset {name_or_path}: its base chain loops ({' -> '.join((*chain, base))})")
    if path.is_file() and not Path(base).suffix and (path.parent / f"{base}.yaml").is_file():
        base = str(path.parent / f"{base}.yaml")  # a file's base is looked up beside it first
    return merge_preset(read_preset(base, chain), data)


def merge_preset(base: dict, child: dict) -> dict:
    """`child` over `base`: sections updated field by field, everything else replaced."""
    out = dict(base)
    for key, value in child.items():
        if key in SECTIONS and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def field_docs(cls: type) -> dict[str, str]:
    """The docstrings written under the fields of a config dataclass (the one source of help)."""
    import inspect

    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def explain(cfg: RunConfig) -> str:
    """The resolved config as YAML with each field's docstring as a comment above it."""
    lines = []

    def emit(obj: Any, indent: str) -> None:
        docs = field_docs(type(obj))
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.name in docs:
                lines.extend(
                    textwrap.wrap(docs[f.name], 110, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# ")
                )
            if dataclasses.is_dataclass(value):
                lines.append(f"{indent}{f.name}:")
                emit(value, indent + "  ")
                continue
            text = yaml.safe_dump({f.name: _plain(value)}, sort_keys=False, default_flow_style=None, width=100)
            if text.startswith("{"):  # a scalar: block style reads better
                text = yaml.safe_dump({f.name: value}, sort_keys=False, default_flow_style=False)
            lines.extend(indent + line for line in text.splitlines())

    emit(cfg, "")
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


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
        node[parts[-1]] = parse_value(text) if text.strip() else ""  # `key=` empties a string setting
    return data


def load_config(preset: str | None = None, overrides: list[str] | None = None, base: dict | None = None) -> RunConfig:
    """Resolve a preset (or a base dict) plus overrides into a validated RunConfig.

    Overriding `model.program` also resets what a named program fills in (streams, answer stream,
    gradient window) unless those are overridden too, so a resolved config given a new program takes the
    new program's values, not the old one's.
    """
    data = dict(base) if base is not None else (read_preset(preset) if preset else {})
    keys = {o.split("=", 1)[0].strip().removeprefix("--") for o in overrides or []}
    if "model.program" in keys and isinstance(data.get("model"), dict):
        data["model"] = {k: v for k, v in data["model"].items() if k not in _DERIVED or f"model.{k}" in keys}
    data = apply_overrides(data, overrides or [])
    if preset and "preset" not in data:
        data["preset"] = Path(preset).stem if preset.endswith((".yaml", ".yml")) else preset
    return _from_dict(RunConfig, data, "")


def run_config(preset: str | None, overrides: list[str], resume: str | Path | None = None) -> RunConfig:
    """The config of a training run: a preset plus overrides (run_dir defaults to runs/<preset>-<time>), or, to
    resume, the config.yaml stored in the run directory plus overrides."""
    import time

    if resume:
        cfg_file = Path(resume) / "config.yaml"
        if not cfg_file.is_file():
            raise ConfigError(f"cannot resume: {resume} has no config.yaml")
        base = to_dict(config_from_yaml_text(cfg_file.read_text()))
        return load_config(None, [*overrides, f"run_dir={resume}"], base=base)
    if not preset:
        raise ConfigError("train needs a preset name (see `latentloop presets`) or --resume RUN_DIR")
    cfg = load_config(preset, overrides)
    if cfg.run_dir:
        return cfg
    return load_config(preset, [*overrides, f"run_dir=runs/{cfg.preset}-{time.strftime('%Y%m%d-%H%M%S')}"])


def save_config(cfg: RunConfig, path: Path) -> None:
    """Write the resolved config as YAML (temporary name, then rename)."""
    import os

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    os.replace(tmp, path)


def config_from_yaml_text(text: str) -> RunConfig:
    return config_from_dict(yaml.safe_load(text))


def parse_depth(text: str, where: str) -> tuple[int, int]:
    """`3x2` -> (3, 2): outer x inner cycles (T x n), each at least 1; `where` names the setting in errors."""
    try:
        outer, inner = (int(v) for v in text.split("x"))
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not OUTERxINNER (e.g. 3x2)") from None
    if outer < 1 or inner < 1:
        raise ConfigError(f"{where}: {text!r} needs at least one outer and one inner cycle")
    return outer, inner


def parse_curriculum(text: str) -> list[tuple[float, int, int]]:
    """`0.3:1x1,0.6:2x2` -> [(0.3, 1, 1), (0.6, 2, 2)]: until that fraction of the steps, outer x inner cycles."""
    phases = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            until, counts = part.split(":")
            phases.append((float(until), *parse_depth(counts, "train.depth_curriculum")))
        except ValueError:
            raise ConfigError(f"train.depth_curriculum: {part!r} is not FRACTION:OUTERxINNER (e.g. 0.3:1x1)") from None
    if any(not 0 < f < 1 for f, _, _ in phases) or [f for f, _, _ in phases] != sorted(f for f, _, _ in phases):
        raise ConfigError(f"train.depth_curriculum {text!r}: fractions must rise within (0, 1)")
    return phases


_DERIVED = ("streams", "answer_stream", "grad_calls")  # filled from a named program when not given

# Fields that run directories written by earlier versions may hold: (section, key) -> what replaced it.
RETIRED = {("train", "time_budget_s"): "train.max_flops"}


def config_from_dict(data: dict) -> RunConfig:
    """A resolved config from its plain form (`to_dict`); retired fields at their default are dropped."""
    import copy

    data = copy.deepcopy(data)
    for (section, key), new in RETIRED.items():
        if data.get(section, {}).pop(key, 0) not in (0, 0.0, None):
            raise ConfigError(f"{section}.{key} is no longer supported; use {new}")
    return _from_dict(RunConfig, data, "")
