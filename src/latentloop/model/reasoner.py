"""The recursion engine: one small network applied to latent states again and again.

HRM (Wang et al. 2025), TRM (Jolicoeur-Martineau 2025) and SRM (Liao & Poggio 2025) are all
the same pattern, and each is a preset of this engine:

    x      = sqrt(D) * [puzzle prefix ; token embeddings]          input, [B, P+L, D]
    states = fixed random buffers (one per stream), reset per slot  each [B, P+L, D]
    one supervision step = the update program, e.g. TRM:
        repeat T { repeat n { z <- f(z + (y + x)) }; y <- f(y + z) }
        (the last n+1 calls with gradient, the rest under no_grad)
    logits = lm_head(answer stream)[:, P:]                          [B, L, V]
    q      = q_head(answer stream[:, 0])                            [B, 2] = (q_halt, q_continue)
    states are detached before the next supervision step.

Glossary (paper letter / reference key -> our field):
    TRM y (ref z_H) -> stream `y`;  TRM z (ref z_L) -> stream `z`;  HRM z_H, z_L -> `z_H`, `z_L`
    TRM T, HRM N (ref H_cycles) -> `outer_cycles`;  TRM n, HRM T (ref L_cycles) -> `inner_cycles`
    N_sup (ref halt_max_steps, plus the carry) -> `halt_max_steps`
    f (ref L_level / H_level) -> a module in `modules` (`core`, or `L` and `H`)
    gradient window (TRM: last cycle, HRM: 1-step) -> `grad_calls`
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentloop.config import ModelConfig, ModuleConfig
from latentloop.model.layers import AttentionMixer, Block, Linear, TokenMLPMixer, rope_tables, trunc_normal_
from latentloop.model.program import Planned

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class Noise:
    """Gaussian noise on latent states, for sampled trajectories at test time (PTRM, Sghaier et al. 2026).

    at="step": added once before every supervision step (PTRM's placement); at="call": after every
    module call that updates one of the streams. `streams` empty = every stream but the answer
    stream (the latent z of TRM, z_L of HRM), or the only stream of a single-state model.
    """

    sigma: float
    at: str = "step"
    streams: tuple[str, ...] = ()
    generator: torch.Generator | None = None

    def targets(self, cfg: ModelConfig) -> tuple[str, ...]:
        latent = tuple(s for s in cfg.streams if s != cfg.answer_stream) or tuple(cfg.streams)
        return self.streams or latent

    def add(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.sigma * torch.randn(h.shape, generator=self.generator, device=h.device, dtype=h.dtype)


@dataclass
class StepOutput:
    """What one supervision step returns."""

    states: dict[str, torch.Tensor]  # new carry, detached, each [B, P+L, D]
    logits: torch.Tensor  # [B, L, V]
    q_halt: torch.Tensor  # [B] fp32
    q_continue: torch.Tensor  # [B] fp32
    aux_logits: list[torch.Tensor]  # [B, L, V] each: extra loss points inside the step (segment/point supervision)


class BlockStack(nn.Module):
    """A module f: f(h | injection) = blocks(h + injection); `distinct_layers` < `layers` shares weights."""

    def __init__(self, cfg: ModelConfig, mod: ModuleConfig, total_len: int) -> None:
        super().__init__()
        D = cfg.hidden_size

        def make_block() -> Block:
            if cfg.mixer == "attention":
                mixer: nn.Module = AttentionMixer(D, cfg.num_heads, cfg.rms_norm_eps, cfg.attention_head_dim())
            else:
                mixer = TokenMLPMixer(total_len, cfg.expansion, cfg.rms_norm_eps, cfg.mixer_pad_to)
            return Block(mixer, D, cfg.expansion, cfg.rms_norm_eps)

        self.layers = nn.ModuleList(make_block() for _ in range(mod.distinct_layers or mod.layers))
        self.depth = mod.layers

    def forward(self, h: torch.Tensor, injection: torch.Tensor | None, rope) -> torch.Tensor:
        if injection is not None:
            h = h + injection
        for i in range(self.depth):
            h = self.layers[i % len(self.layers)](h, rope)
        return h


class Reasoner(nn.Module):
    """Token ids in, logits and halting logits out, for one supervision step at a time."""

    def __init__(self, cfg: ModelConfig, vocab_size: int, seq_len: int, num_puzzle_identifiers: int) -> None:
        super().__init__()
        self.cfg, self.vocab_size, self.seq_len = cfg, vocab_size, seq_len
        D = cfg.hidden_size
        self.prefix_len = cfg.puzzle_emb_len
        self.total_len = seq_len + self.prefix_len
        self.dtype = DTYPES[cfg.forward_dtype]
        self.plan: list[Planned] = cfg.schedule()  # the program, unrolled, with its gradient/loss schedule
        self.n_grad_calls = cfg.grad_call_count()

        # Input embedding x. Token table std 1/sqrt(D), scaled by sqrt(D) after concatenation.
        self.embed_tokens = nn.Parameter(trunc_normal_(torch.empty(vocab_size, D), 1 / math.sqrt(D)))
        self.puzzle_emb_dim = (D if cfg.puzzle_emb_dim < 0 else cfg.puzzle_emb_dim) if self.prefix_len else 0
        if self.puzzle_emb_dim > self.prefix_len * D:
            raise ValueError("puzzle_emb_dim exceeds puzzle_emb_len * hidden_size")
        # Puzzle embedding: zero-init, sparse gradient, trained by sign-SGD outside AdamATan2 and EMA.
        self.puzzle_emb = (
            nn.Parameter(torch.zeros(max(num_puzzle_identifiers, 1), self.puzzle_emb_dim))
            if self.puzzle_emb_dim
            else None
        )
        self.embed_pos = (
            nn.Parameter(trunc_normal_(torch.empty(self.total_len, D), 1 / math.sqrt(D)))
            if cfg.pos_encoding == "learned"
            else None
        )
        if cfg.pos_encoding == "rope" and cfg.mixer == "attention":
            cos, sin = rope_tables(cfg.attention_head_dim(), self.total_len, cfg.rope_theta)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        else:
            self.rope_cos = self.rope_sin = None

        self.stacks = nn.ModuleDict({name: BlockStack(cfg, mod, self.total_len) for name, mod in cfg.modules.items()})
        # SRM's g: a learned linear map applied to a snapshot before it is injected (skip_transform=linear).
        snapshots = sorted({p.op.target for p in self.plan if p.op.kind == "snapshot"})
        self.skip_maps = nn.ModuleDict({s: Linear(D, D) for s in snapshots} if cfg.skip_transform == "linear" else {})

        # Fixed, non-learned initial states: one [D] vector per stream, truncated normal std 1.
        for name in cfg.streams:
            self.register_buffer(f"init_{name}", trunc_normal_(torch.empty(D), 1.0))

        self.lm_head = Linear(D, vocab_size)
        self.q_head = Linear(D, 2, bias=True)
        with torch.no_grad():  # halting starts almost never (sigmoid(-5) ~ 0.7%)
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)

    def set_depth(self, outer_cycles: int, inner_cycles: int) -> None:
        """Run the program with other loop counts from now on (a depth curriculum); the weights do not depend on
        them. `self.cfg` keeps the model's own counts."""
        cfg = dataclasses.replace(self.cfg, outer_cycles=outer_cycles, inner_cycles=inner_cycles)
        self.plan, self.n_grad_calls = cfg.schedule(), cfg.grad_call_count()

    # -- parameters --------------------------------------------------------------------------

    def dense_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """Everything trained by the main optimizer and tracked by EMA (all but the puzzle table)."""
        return [(n, p) for n, p in self.named_parameters() if n != "puzzle_emb"]

    def num_parameters(self) -> int:
        """Trainable parameters excluding the puzzle-embedding table (the papers' count)."""
        return sum(p.numel() for _, p in self.dense_parameters())

    def effective_depth(self) -> int:
        """Block applications per supervision step (the TRM paper's T(n+1) x layers)."""
        return sum(self.stacks[p.op.module].depth for p in self.plan if p.op.kind == "call")

    # -- states ------------------------------------------------------------------------------

    def initial_states(self, batch_size: int, device: torch.device | None = None) -> dict[str, torch.Tensor]:
        device = device or self.lm_head.weight.device
        return {
            s: getattr(self, f"init_{s}").to(device, self.dtype).expand(batch_size, self.total_len, -1).clone()
            for s in self.cfg.streams
        }

    def reset_states(self, states: dict[str, torch.Tensor], reset: torch.Tensor) -> dict[str, torch.Tensor]:
        """Put slots where `reset` [B] is true back to the initial buffers."""
        mask = reset.view(-1, 1, 1)
        return {s: torch.where(mask, getattr(self, f"init_{s}").to(v.dtype), v) for s, v in states.items()}

    # -- forward -----------------------------------------------------------------------------

    def embed(self, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor) -> torch.Tensor:
        """x = sqrt(D) * [puzzle prefix ; tokens]  ->  [B, P+L, D]."""
        D = self.cfg.hidden_size
        x = F.embedding(inputs.long(), self.embed_tokens).to(self.dtype)
        if self.puzzle_emb is not None:
            rows = F.embedding(puzzle_identifiers.long(), self.puzzle_emb, sparse=True).to(self.dtype)
            pad = self.prefix_len * D - self.puzzle_emb_dim
            prefix = F.pad(rows, (0, pad)).view(-1, self.prefix_len, D)
            x = torch.cat([prefix, x], dim=1)
        elif self.prefix_len:
            x = torch.cat([x.new_zeros(x.shape[0], self.prefix_len, D), x], dim=1)
        if self.embed_pos is not None:
            x = 0.707106781 * (x + self.embed_pos.to(self.dtype))  # (tok + pos) / sqrt(2)
        return math.sqrt(D) * x

    def run_program(
        self,
        states: dict[str, torch.Tensor],
        x: torch.Tensor,
        noise: Noise | None = None,
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        """Run the update program once, following its schedule (model/program.py `schedule`).

        Returns the new states and the answer stream at the intermediate loss points (segment and
        point supervision, while training). `noise` with at="call" perturbs each targeted update.
        """
        noisy = noise.targets(self.cfg) if noise is not None and noise.at == "call" else ()
        rope = (self.rope_cos, self.rope_sin) if self.rope_cos is not None else None
        training = torch.is_grad_enabled()
        values = dict(states, x=x)
        loss_points: list[torch.Tensor] = []
        for step in self.plan:
            op = step.op
            if step.cut_before:
                values = {k: (v if k == "x" else v.detach()) for k, v in values.items()}
            if op.kind == "snapshot":
                values[op.target] = values[op.inject[0]]
                continue
            with torch.set_grad_enabled(training and step.grad):
                injection = None
                for src in op.inject:  # the references sum the injection first: z + (y + x)
                    v = self.skip_maps[src](values[src]) if src in self.skip_maps else values[src]
                    injection = v if injection is None else injection + v
                h = self.stacks[op.module](values[op.target], injection, rope)
                values[op.target] = noise.add(h) if op.target in noisy else h
            if training and step.loss_after:
                loss_points.append(values[self.cfg.answer_stream])
        return {s: values[s] for s in self.cfg.streams}, loss_points

    def forward(
        self,
        states: dict[str, torch.Tensor],
        inputs: torch.Tensor,
        puzzle_identifiers: torch.Tensor,
        noise: Noise | None = None,
    ) -> StepOutput:
        """One supervision step.

        Args:
            states: the carry, each [B, P+L, D].
            inputs: token ids [B, L]. puzzle_identifiers: [B].
            noise: test-time sampling (see `Noise`); None = the deterministic model.
        """
        x = self.embed(inputs, puzzle_identifiers)
        if noise is not None and noise.at == "step":
            states = {s: noise.add(v) if s in noise.targets(self.cfg) else v for s, v in states.items()}
        states, loss_points = self.run_program(states, x, noise)
        answer = states[self.cfg.answer_stream]
        logits = self.lm_head(answer)[:, self.prefix_len :]
        q = self.q_head(answer[:, 0]).float()
        aux = [self.lm_head(h)[:, self.prefix_len :] for h in loss_points]
        return StepOutput({s: v.detach() for s, v in states.items()}, logits, q[:, 0], q[:, 1], aux)
