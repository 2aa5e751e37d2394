"""Training with deep supervision and the references' continuous-batching carry.

Each training step is one supervision step for every slot of the batch plus one optimizer step:

    refill halted slots (fresh states, next batch's example) -> one supervision step
    -> halting decision (and HRM's bootstrapped target: one extra no-grad step)
    -> loss on every slot / global batch -> backward -> optimizer step -> EMA -> log, eval, checkpoint

A slot keeps its example and its detached states until it halts (halting head, or N_sup steps),
so one example receives up to N_sup optimizer updates spread over consecutive steps.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from latentloop.config import RunConfig, parse_curriculum, save_config, to_dict
from latentloop.data.format import Split, read_split
from latentloop.data.loader import Batch, TrainStream
from latentloop.errors import CheckpointError, ConfigError, LatentloopError
from latentloop.evaluate.runner import evaluate
from latentloop.model.halting import exploration_min_steps, halt_decision, q_continue_target
from latentloop.model.reasoner import Reasoner
from latentloop.tasks import task_for
from latentloop.tasks.base import Task
from latentloop.train.checkpoint import (
    check_model_config,
    latest_checkpoint,
    load_checkpoint,
    mark_best,
    optimizer_state,
    save_checkpoint,
    write_text_atomic,
)
from latentloop.train.distributed import (
    Dist,
    all_reduce_grads,
    all_reduce_sum,
    any_rank,
    describe_machine,
    gather_rows,
    init_distributed,
    local_rank,
    pick_device,
)
from latentloop.train.ema import EMA
from latentloop.train.losses import LossOutput, act_loss, log_probs
from latentloop.train.optim import AdamATan2, SparseSignSGD, optimizer_step


@dataclass
class Carry:
    """Per-slot training state across steps."""

    states: dict[str, torch.Tensor]  # each [B, P+L, D], detached
    steps: torch.Tensor  # [B] int32: supervision steps taken by the slot's current example
    halted: torch.Tensor  # [B] bool: slot is refilled at the next step
    data: Batch  # the example each slot is working on

    @staticmethod
    def start(model: Reasoner, batch: Batch) -> Carry:
        B = batch.inputs.shape[0]
        device = batch.inputs.device
        return Carry(
            model.initial_states(B, device),
            torch.zeros(B, dtype=torch.int32, device=device),
            torch.ones(B, dtype=torch.bool, device=device),
            batch,
        )

    def refill(self, model: Reasoner, batch: Batch) -> Carry:
        """Halted slots restart from the initial states on the new batch's example at the same index."""
        h = self.halted
        row = h.view(-1, 1)
        data = Batch(
            torch.where(row, batch.inputs, self.data.inputs),
            torch.where(row, batch.labels, self.data.labels),
            torch.where(h, batch.puzzle_identifiers, self.data.puzzle_identifiers),
            torch.where(h, batch.valid, self.data.valid),
        )
        return Carry(
            model.reset_states(self.states, h), torch.where(h, torch.zeros_like(self.steps), self.steps), h, data
        )

    def rows(self, sl: slice) -> Carry:
        return Carry({k: v[sl] for k, v in self.states.items()}, self.steps[sl], self.halted[sl], self.data.rows(sl))

    @staticmethod
    def cat(parts: list[Carry]) -> Carry:
        states = {k: torch.cat([p.states[k] for p in parts]) for k in parts[0].states}
        steps, halted = (torch.cat([getattr(p, f) for p in parts]) for f in ("steps", "halted"))
        return Carry(states, steps, halted, Batch.cat([p.data for p in parts]))

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {f"states.{k}": v for k, v in self.states.items()}
        out.update(
            steps=self.steps,
            halted=self.halted,
            inputs=self.data.inputs,
            labels=self.data.labels,
            puzzle_identifiers=self.data.puzzle_identifiers,
            valid=self.data.valid,
        )
        return out

    @staticmethod
    def from_tensors(t: dict[str, torch.Tensor], device: torch.device) -> Carry:
        states = {k.removeprefix("states."): v.to(device) for k, v in t.items() if k.startswith("states.")}
        data = Batch(t["inputs"], t["labels"], t["puzzle_identifiers"], t["valid"]).to(device)
        return Carry(states, t["steps"].to(device), t["halted"].to(device), data)


def supervision_step(
    model: Reasoner,
    carry: Carry,
    batch: Batch,
    cfg: RunConfig,
    generator: torch.Generator | None = None,
    shard: tuple[int, int] = (0, 1),
    min_steps: torch.Tensor | None = None,
    task: Task | None = None,
) -> tuple[Carry, LossOutput]:
    """Refill, run one supervision step, decide halting, and compute the loss (no backward).

    Halting exploration: drawn here from `generator` when one is given (`shard` = (rank, world size):
    this process holds that slice of the global batch), else `min_steps` (drawn by the caller; None = none).
    With `task`, the loss is scored against `task.closest_answers` (train.target=closest), else the labels.
    """
    m = cfg.model
    carry = carry.refill(model, batch)
    data = carry.data
    if generator is not None:
        min_steps = draw_exploration(cfg, data.inputs.shape[0], generator, shard)
    out = model(carry.states, data.inputs, data.puzzle_identifiers)
    steps = carry.steps + 1
    with torch.no_grad():
        halted = halt_decision(
            out.q_halt,
            out.q_continue,
            steps,
            mode=m.halting,
            max_steps=m.halt_max_steps,
            training=True,
            min_steps=min_steps,
        )
        target = None
        if m.halting == "q_learning":  # HRM: bootstrap from one more (no-grad) step on the same data
            nxt = model(out.states, data.inputs, data.puzzle_identifiers)
            target = q_continue_target(nxt.q_halt, nxt.q_continue, steps >= m.halt_max_steps)
        labels = data.labels if task is None else closest_labels(task, data, out.logits, cfg.train.loss)
    loss = act_loss(
        out.logits,
        labels,
        out.q_halt,
        out.q_continue,
        loss_type=cfg.train.loss,
        halt_weight=cfg.train.halt_loss_weight,
        target_q_continue=target,
        aux_logits=out.aux_logits,
    )
    return Carry(out.states, steps, halted, data), loss


def closest_labels(task: Task, data: Batch, logits: torch.Tensor, loss_type: str) -> torch.Tensor:
    """Per slot, the correct answer the model's output favours most (`Task.closest_answers`), as labels."""
    chosen = task.closest_answers(
        data.inputs.cpu().numpy(), log_probs(logits, loss_type).cpu().numpy(), data.labels.cpu().numpy()
    )
    return torch.as_tensor(chosen, dtype=data.labels.dtype).to(data.labels.device)


def micro_batch_step(
    model: Reasoner,
    carry: Carry,
    batch: Batch,
    cfg: RunConfig,
    min_steps: torch.Tensor | None,
    divisor: int,
    task: Task | None = None,
) -> tuple[Carry, LossOutput]:
    """One supervision step for every slot and the backward of loss / `divisor`, `train.micro_batch` slots at a
    time (gradient accumulation: the same update up to summation order; `min_steps`, the step's exploration, is
    drawn once by the caller)."""
    size = batch.inputs.shape[0]
    micro = cfg.train.micro_batch or size
    parts = []
    for start in range(0, size, micro):
        rows = slice(start, start + micro)
        chunk = None if min_steps is None else min_steps[rows]
        part, loss = supervision_step(model, carry.rows(rows), batch.rows(rows), cfg, min_steps=chunk, task=task)
        (loss.total / divisor).backward()
        parts.append((part, loss))
    if len(parts) == 1:
        return parts[0]
    return Carry.cat([c for c, _ in parts]), LossOutput.cat([loss for _, loss in parts])


def draw_exploration(
    cfg: RunConfig, batch: int, generator: torch.Generator, shard: tuple[int, int] = (0, 1)
) -> torch.Tensor | None:
    """This step's halting exploration for `batch` slots (see `exploration_min_steps`)."""
    m = cfg.model
    return exploration_min_steps(
        batch,
        mode=m.halting,
        max_steps=m.halt_max_steps,
        prob=m.halt_exploration_prob,
        generator=generator,
        device=generator.device,
        shard=shard,
    )


def step_metrics(carry: Carry, loss: LossOutput, dist_info: Dist | None = None) -> dict:
    """The references' training metrics, over the global batch: losses summed over slots, accuracies
    averaged over the slots that halted at this step."""
    done = carry.halted & (loss.n_scored > 0) & carry.data.valid
    tok = loss.token_correct.sum(-1).float() / loss.n_scored.clamp_min(1).float()
    sums = torch.stack(
        [
            loss.total.detach().double(),
            loss.lm_loss.detach().double(),
            loss.q_halt_loss.detach().double(),
            loss.q_continue_loss.detach().double(),
            done.sum().double(),
            tok[done].sum().double(),
            loss.seq_correct[done].sum().double(),
            carry.steps[done].sum().double(),
        ]
    )
    if dist_info is not None and dist_info.active:
        sums = all_reduce_sum(sums)
    total, lm, q_halt, q_cont, count, acc, exact, steps = sums.tolist()
    metrics = {"loss": total, "lm_loss": lm, "q_halt_loss": q_halt, "q_continue_loss": q_cont, "count": int(count)}
    if count:
        metrics.update(accuracy=acc / count, exact_accuracy=exact / count, steps=steps / count)
    return metrics


def epochs_to_steps(cfg: RunConfig, train: Split, epochs: int) -> int:
    """Optimizer steps of `epochs` passes over the training groups, as the references count them (at least 1)."""
    meta = train.metadata
    return max(1, int(epochs * meta.total_groups * meta.mean_puzzle_examples / cfg.train.global_batch_size))


def total_steps(cfg: RunConfig, train: Split, flops_per_step: float = 0.0) -> int:
    """train.max_flops / FLOPs per step, else train.max_steps, else train.epochs converted to optimizer steps."""
    t = cfg.train
    if t.max_flops:
        return max(1, int(t.max_flops // flops_per_step))
    return t.max_steps or epochs_to_steps(cfg, train, t.epochs)


def flops_per_step(model: Reasoner, cfg: RunConfig, world_size: int = 1) -> float:
    """Model FLOPs of one training step of the global batch (one supervision step for every slot, HRM's extra
    target step included, and the backward), counted on a copy of the model on the meta device (no arithmetic)."""
    import copy

    from torch.utils.flop_counter import FlopCounterMode

    probe = copy.deepcopy(model).to("meta")
    B, L = cfg.train.global_batch_size // world_size, model.seq_len

    def full(shape: tuple[int, ...], dtype: torch.dtype, value: int = 1) -> torch.Tensor:
        return torch.full(shape, value, dtype=dtype, device="meta")

    batch = Batch(
        full((B, L), torch.int32), full((B, L), torch.int64), full((B,), torch.int32, 0), full((B,), torch.bool)
    )
    with FlopCounterMode(display=False) as counter:
        _, loss = supervision_step(probe, Carry.start(probe, batch), batch, cfg)
        loss.total.backward()
    return float(counter.get_total_flops()) * world_size


def eval_interval_steps(cfg: RunConfig, train: Split) -> int:
    """Optimizer steps between evaluations: train.eval_interval, or train.eval_interval_epochs converted; 0 = none."""
    t = cfg.train
    return epochs_to_steps(cfg, train, t.eval_interval_epochs) if t.eval_interval_epochs else t.eval_interval


def build_model(cfg: RunConfig, split: Split) -> Reasoner:
    """The preset's model sized for the dataset; a mismatch with data.seq_len / vocab_size is an error."""
    meta = split.metadata
    for key in ("seq_len", "vocab_size"):
        want, have = getattr(cfg.data, key), getattr(meta, key)
        if want and want != have:
            raise ConfigError(f"data.{key}={want} but the dataset at {cfg.data.path} has {key}={have}")
    return Reasoner(cfg.model, meta.vocab_size, meta.seq_len, meta.num_puzzle_identifiers)


def dense_optimizers(
    dense: list[tuple[str, torch.nn.Parameter]], t
) -> tuple[dict[str, torch.optim.Optimizer], dict[str, float]]:
    """The optimizers of the dense weights and their base learning rates: AdamATan2 for all (the references'),
    or with `train.optimizer=muon` torch's Muon for the blocks' matrices (Jordan et al. 2024: momentum,
    Newton-Schulz orthogonalised updates, lr matched to AdamW's RMS) and AdamATan2 for the embeddings, heads
    and vectors."""
    matrices = [p for n, p in dense if t.optimizer == "muon" and n.startswith("stacks.") and p.ndim == 2]
    rest = [p for _, p in dense if not any(p is m for m in matrices)]
    optimizers = {"main": AdamATan2(rest, lr=t.lr, betas=(t.beta1, t.beta2), weight_decay=t.weight_decay)}
    lrs = {"main": t.lr}
    if matrices:
        optimizers["muon"] = torch.optim.Muon(
            matrices, lr=t.muon_lr, weight_decay=t.weight_decay, adjust_lr_fn="match_rms_adamw"
        )
        lrs["muon"] = t.muon_lr
    return optimizers, lrs


def compile_stacks(model: Reasoner) -> None:
    """torch.compile every block stack. Each stack is traced in a few variants (with and without gradient,
    a detached or a differentiable state, with or without an injection), and HRM has two stacks: dynamo's
    default of 8 variants per function would silently fall back to eager, so allow more."""
    import torch._dynamo

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    for stack in model.stacks.values():
        stack.compile()


def init_weights(model: Reasoner, run_dir: str | Path) -> None:
    """Start from the (EMA) weights of a run's latest checkpoint (or `pretrained:NAME`); a larger puzzle-embedding
    table keeps the run's rows and starts its new rows at their mean (new tasks begin where an average task is)."""
    from latentloop import pretrained
    from latentloop.model.convert import load_into

    if (name := pretrained.shipped_name(run_dir)) is not None:
        source = pretrained.read(name)[1]
    else:
        path = latest_checkpoint(Path(run_dir))
        if path is None:
            raise CheckpointError(f"train.init_from={run_dir}: no checkpoint there")
        ckpt = load_checkpoint(path)
        source = {**ckpt["model"], **(ckpt["ema"] or {})}
    table = source.get("puzzle_emb")
    if table is not None and model.puzzle_emb is not None and table.shape[0] < model.puzzle_emb.shape[0]:
        grown = table.mean(0, keepdim=True).expand(model.puzzle_emb.shape[0], -1).clone()
        grown[: table.shape[0]] = table
        source["puzzle_emb"] = grown
    load_into(model, source)


class Trainer:
    """Owns the model, optimizers, EMA, data stream and carry of one run directory."""

    def __init__(self, cfg: RunConfig, resume: bool = False, progress: bool = True) -> None:
        self.cfg, self.progress = cfg, progress
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        self.device = pick_device(t.device, local_rank())
        self.dist: Dist = init_distributed(self.device)
        self.run_dir = Path(cfg.run_dir)
        data = Path(cfg.data.path)
        self.train_split = read_split(data / "train")
        self.test_split = read_split(data / "test") if (data / "test").is_dir() else None
        if self.test_split is not None and self.test_split.num_examples == 0:
            self.test_split = None  # e.g. `data build sudoku --test 0`: nothing to evaluate on
        meta = self.train_split.metadata  # which task: known now, not at the first evaluation hours later
        self.task = task_for(meta.task, meta.seq_len, meta.vocab_size, root=data)
        torch.manual_seed(t.seed)  # identical initial weights and random streams on every rank
        self.model = build_model(cfg, self.train_split).to(self.device)
        if t.init_from and not resume:
            init_weights(self.model, t.init_from)
        if t.scope == "embedding":  # only the puzzle-embedding rows learn (e.g. adapting to new tasks)
            for _, p in self.model.dense_parameters():
                p.requires_grad_(False)
        # counted only for a FLOP budget (the count costs a few seconds): before compiling, on a meta copy
        self.flops_per_step = flops_per_step(self.model, cfg, self.dist.world_size) if t.max_flops else 0.0
        if t.compile:
            compile_stacks(self.model)
        dense = self.model.dense_parameters()
        self.optimizers, self.base_lrs = dense_optimizers(dense, t)
        if self.model.puzzle_emb is not None:
            self.optimizers["puzzle_emb"] = SparseSignSGD(
                [self.model.puzzle_emb], lr=t.puzzle_emb_lr, weight_decay=t.puzzle_emb_weight_decay
            )
            self.base_lrs["puzzle_emb"] = t.puzzle_emb_lr
        self.ema = EMA(dense, t.ema_decay) if t.ema else None
        self.stream = TrainStream(self.train_split, t.global_batch_size, t.seed, self.dist.rank, self.dist.world_size)
        # Halting exploration: the same stream on every rank, drawn for the global batch (see halt_decision).
        self.generator = torch.Generator(device=self.device).manual_seed(t.seed + 1000)
        self.total_steps = total_steps(cfg, self.train_split, self.flops_per_step)
        self.step = 0
        self.elapsed = 0.0
        self.best_exact = -1.0  # best test accuracy seen at an evaluation (valid with train.target=closest)
        self.carry: Carry | None = None
        if resume:
            self._restore()

    # -- checkpoints -------------------------------------------------------------------------

    def save(self) -> Path | None:
        """Checkpoint (rank 0 writes; every rank must call it, for the carry is gathered first).

        The carry is stored for the global batch, so a run resumes on any number of processes.
        """
        carry = self.carry.tensors() if self.carry is not None else {}
        if self.dist.active:
            carry = {k: gather_rows(v) for k, v in carry.items()}
        if not self.dist.is_main:
            return None
        carry["rng.torch"] = torch.get_rng_state()
        carry["rng.generator"] = self.generator.get_state()
        meta = self.train_split.metadata
        extra = {
            "best_exact": self.best_exact,
            "stream": self.stream.state_dict(),
            "elapsed": self.elapsed,
            "config": to_dict(self.cfg),
            "model_shape": {
                "vocab_size": meta.vocab_size,
                "seq_len": meta.seq_len,
                "num_puzzle_identifiers": meta.num_puzzle_identifiers,
            },
        }
        return save_checkpoint(
            self.run_dir,
            self.step,
            model=self.model,
            ema_shadow=self.ema.shadow if self.ema else None,
            optimizers=self.optimizers,
            carry=carry,
            extra=extra,
            keep=self.cfg.train.keep_checkpoints,
        )

    def _restore(self) -> None:
        path = latest_checkpoint(self.run_dir)
        if path is None:
            raise CheckpointError(f"nothing to resume: {self.run_dir} has no checkpoint")
        ckpt = load_checkpoint(path)
        from latentloop.model.convert import load_into

        check_model_config((ckpt["state"].get("config") or {}).get("model"), to_dict(self.cfg.model), path)
        load_into(self.model, ckpt["model"])
        if self.ema and ckpt["ema"] is not None:
            self.ema.shadow = {k: v.to(self.device) for k, v in ckpt["ema"].items()}
        state = ckpt["state"]
        for key, opt in self.optimizers.items():
            if key in state.get("optimizers", {}):  # absent in imported reference checkpoints
                opt.load_state_dict(optimizer_state(ckpt, key))
        self.step, self.elapsed = state["step"], state.get("elapsed", 0.0)
        self.best_exact = state.get("best_exact", -1.0)
        if state.get("stream"):
            self.stream.load_state_dict(state["stream"])
        carry = dict(ckpt["carry"] or {})
        if "rng.torch" in carry:
            torch.set_rng_state(carry.pop("rng.torch"))
            self.generator.set_state(carry.pop("rng.generator"))
        if carry:
            rows = next(iter(carry.values())).shape[0]
            if rows != self.cfg.train.global_batch_size:
                raise CheckpointError(
                    f"checkpoint {path} holds a carry of {rows} slots but train.global_batch_size is "
                    f"{self.cfg.train.global_batch_size}; resume with the global batch size it was trained with"
                )
            local = rows // self.dist.world_size
            mine = slice(self.dist.rank * local, (self.dist.rank + 1) * local)
            carry = {k: v[mine] for k, v in carry.items()}
        self.carry = Carry.from_tensors(carry, self.device) if carry else None
        if self.ema and ckpt["ema"] is None:
            self.ema = EMA(self.model.dense_parameters(), self.cfg.train.ema_decay)

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, progress: bool = False) -> dict | None:
        if self.test_split is None:
            return None
        e = self.cfg.eval
        steps = e.steps or self.cfg.model.halt_max_steps
        ctx = self.ema.applied() if self.ema else contextlib.nullcontext()
        with ctx:
            result = evaluate(self.model, self.test_split, steps, e.batch_size, e.max_examples, self.device, progress)
        self.model.train()
        return result

    # -- the loop ----------------------------------------------------------------------------

    def fit(self) -> dict:
        cfg, t = self.cfg, self.cfg.train
        main = self.dist.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir / "config.yaml")
            machine = describe_machine(self.device, self.dist.world_size)
            write_text_atomic(self.run_dir / "machine.json", json.dumps(machine, indent=1))
        log = _Logger(self.run_dir, enabled=main, resume_step=self.step)
        dense = [p for _, p in self.model.dense_parameters()]
        stop = _StopFlag()
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            disable=not (self.progress and main),
            desc="train",
            dynamic_ncols=True,
        )
        self.model.train()
        last_eval: dict | None = None
        window_examples, window_start = 0, time.perf_counter()
        shown = {"acc": "-", "exact": "-"}
        interrupted = False
        while self.step < self.total_steps:
            interrupted = stop.requested
            if self.dist.active:  # every rank stops at the same step, or the collectives would hang
                interrupted = any_rank([interrupted], self.device)[0]
            if interrupted:
                break
            tick = time.perf_counter()
            self._follow_curriculum()
            # 1. refill halted slots and run one supervision step
            batch = next(self.stream).to(self.device)
            if self.carry is None:
                self.carry = Carry.start(self.model, batch)
            # (and 2. backward on the global-batch mean), in micro-batches of slots when asked
            self.carry, loss = self.step_slots(batch)
            # 2. all-reduce, optimizer step, EMA
            if self.dist.active:
                all_reduce_grads(dense)
            self.step += 1
            lr = optimizer_step(
                [(o, self.base_lrs[k]) for k, o in self.optimizers.items()],
                self.step,
                t.lr_warmup_steps,
                self.total_steps,
                t.lr_min_ratio,
                dense,
                t.grad_clip,
            )
            if self.ema:
                self.ema.update()
            self.elapsed += time.perf_counter() - tick
            # 3. log, evaluate, checkpoint
            metrics = step_metrics(self.carry, loss, self.dist)
            loss_value = metrics["loss"]
            if not math.isfinite(loss_value):
                log.close()
                raise LatentloopError(
                    f"loss became {loss_value} at step {self.step}; the last checkpoint is kept. Usual causes: "
                    "learning rate too high, fp16 overflow, or corrupt data"
                )
            window_examples += batch.inputs.shape[0] * self.dist.world_size
            if metrics["count"]:  # accuracy of the slots that halted now; keep the last for the bar
                shown.update(acc=f"{metrics['accuracy']:.3f}", exact=f"{metrics['exact_accuracy']:.3f}")
            bar.update(1)
            if self.step % t.log_interval == 0 or self.step == 1:
                now = time.perf_counter()
                rate = window_examples / max(now - window_start, 1e-9)
                window_examples, window_start = 0, now
                record = {f"train/{k}": v for k, v in metrics.items()}
                record.update({"train/lr": lr, "train/examples_per_s": rate, "time_s": self.elapsed})
                if self.flops_per_step:
                    record["train/flops"] = self.step * self.flops_per_step
                log.write(self.step, record)
                bar.set_postfix(
                    loss=f"{metrics['loss'] / t.global_batch_size:.3f}",
                    **shown,
                    ex_s=f"{rate:.0f}",
                )
            if (
                (every := eval_interval_steps(self.cfg, self.train_split))
                and self.step % every == 0
                and self.step < self.total_steps
            ):
                checkpoint = self.save()
                last_eval = self._eval_and_log(log, checkpoint)
                window_examples, window_start = 0, time.perf_counter()  # keep eval out of the rate
            elif t.checkpoint_interval and self.step % t.checkpoint_interval == 0:
                self.save()
        bar.close()
        self.model.set_depth(cfg.model.outer_cycles, cfg.model.inner_cycles)  # evaluation runs the model's own depth
        checkpoint = self.save()
        if interrupted:  # pre-empted or Ctrl-C: the checkpoint is what matters, skip the evaluation
            log.close()
            stop.restore()
            return {"step": self.step, "eval": None, "interrupted": True}
        last_eval = self._eval_and_log(log, checkpoint, progress=self.progress)
        log.close()
        if main and last_eval is not None:
            write_text_atomic(self.run_dir / "eval.json", json.dumps({"step": self.step, **last_eval}, indent=1))
        stop.restore()
        return {"step": self.step, "eval": last_eval, "interrupted": False}

    def _follow_curriculum(self) -> None:
        """train.depth_curriculum: the loop counts of the phase this step falls in."""
        m = self.cfg.model
        phases = parse_curriculum(self.cfg.train.depth_curriculum)
        if not phases:
            return
        frac = self.step / self.total_steps
        depth = next(((o, i) for until, o, i in phases if frac < until), (m.outer_cycles, m.inner_cycles))
        if depth != getattr(self, "_depth", None):
            self.model.set_depth(*depth)
            self._depth = depth

    def step_slots(self, batch: Batch) -> tuple[Carry, LossOutput]:
        """One supervision step for every slot and the backward of its loss, `train.micro_batch` slots at a time
        (gradient accumulation: the same update up to summation order; the exploration is drawn once)."""
        cfg = self.cfg
        min_steps = draw_exploration(cfg, batch.inputs.shape[0], self.generator, (self.dist.rank, self.dist.world_size))
        task = self.task if cfg.train.target == "closest" else None
        return micro_batch_step(self.model, self.carry, batch, cfg, min_steps, cfg.train.global_batch_size, task)

    def _eval_and_log(self, log: _Logger, checkpoint: Path | None, progress: bool = False) -> dict | None:
        """Evaluate, log, and mark the checkpoint just written as best when its accuracy is."""
        result = self.evaluate(progress)
        if result is None:
            return None
        log.write(
            self.step,
            {f"eval/{k}": v for k, v in result.items() if not isinstance(v, list)}
            | {"eval/exact_accuracy_per_step": result["exact_accuracy_per_step"]},
        )
        # best by what the loss is scored against: the label (exact), or any correct answer (valid)
        accuracy = result["valid_accuracy" if self.cfg.train.target == "closest" else "exact_accuracy"]
        if checkpoint is not None and accuracy > self.best_exact:
            self.best_exact = accuracy
            mark_best(checkpoint)
        return result


class _StopFlag:
    """SIGINT / SIGTERM finish the current step, then the loop writes a final checkpoint and stops."""

    def __init__(self) -> None:
        self.requested = False
        self._old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _step_of(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return 1 << 62  # a torn last line from a crash: drop it


class _Logger:
    """Metrics to metrics.jsonl and TensorBoard (rank 0 only)."""

    def __init__(self, run_dir: Path, enabled: bool, resume_step: int = 0) -> None:
        self.enabled = enabled
        path = run_dir / "metrics.jsonl"
        if enabled and path.is_file():  # after a crash: drop lines past the checkpoint we resume from
            lines = [x for x in path.read_text().splitlines() if x.strip()]
            keep = [x for x in lines if _step_of(x) <= resume_step]
            if len(keep) != len(lines):
                write_text_atomic(path, "".join(x + "\n" for x in keep))
        self.file = open(run_dir / "metrics.jsonl", "a") if enabled else None  # noqa: SIM115
        self.tb = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tb"))
            except ImportError:
                self.tb = None

    def write(self, step: int, record: dict) -> None:
        if not self.enabled:
            return
        self.file.write(json.dumps({"step": step, **record}) + "\n")
        self.file.flush()
        if self.tb:
            for k, v in record.items():
                if isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.file:
            self.file.close()
        if self.tb:
            self.tb.close()
