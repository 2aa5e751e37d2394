#!/usr/bin/env python
"""latentloop against the TRM reference model code, side by side in one process, at equal configurations.

Given a checkout of SamsungSAILMontreal/TinyRecursiveModels (never vendored: pass its path), builds
the reference's own model class with its ACT loss head (`models/recursive_reasoning/trm.py`,
`models/losses.py`) and latentloop's trainer step (`common.Bench`: the supervision step, the loss,
the backward and the optimizers) at the same sizes, and times both in interleaved rounds
(reference, ours, reference, ours, ...) on the same random batch. The reference's training step is
its pretrain.py's: carry and loss head, backward of the batch mean, one optimizer step. Its own
optimizer (adam-atan2) is a CUDA extension, so it takes torch's AdamW; the puzzle-embedding
buffer has no optimizer there (at one puzzle identifier it costs nothing). Each side runs its best
path for the dtype: a compile of the whole loss-head module for the reference (as pretrain.py
does), of the block stacks for latentloop; `--eager` times both uncompiled.

The reference needs pydantic and einops; put them on a path of their own, e.g.
    pip install --target /tmp/refpkgs pydantic einops
    .venv/bin/python -m benchmarks.vs_reference --reference /path/to/TinyRecursiveModels --extra-path /tmp/refpkgs
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import torch

from benchmarks import common

# name -> (mixer, hidden, dtype); TRM's Sudoku recipe otherwise: T=3, n=6, 2 layers, 81 cells, 16 prefix slots
CONFIGS = {
    "mlp-512-fp32": ("mlp", 512, "float32"),
    "mlp-512-bf16": ("mlp", 512, "bfloat16"),
    "att-512-bf16": ("attention", 512, "bfloat16"),
    "mlp-128-fp32": ("mlp", 128, "float32"),
    "att-128-fp32": ("attention", 128, "float32"),
    "mlp-128-bf16": ("mlp", 128, "bfloat16"),
    "att-128-bf16": ("attention", 128, "bfloat16"),
}


def reference_config(mixer: str, hidden: int, dtype: str, batch: int) -> dict:
    """The dict the reference model is built with (its arch config plus the dataset's sizes)."""
    return {
        "batch_size": batch,
        "seq_len": 81,
        "puzzle_emb_ndim": hidden,
        "num_puzzle_identifiers": 1,
        "vocab_size": 11,
        "H_cycles": 3,
        "L_cycles": 6,
        "H_layers": 0,
        "L_layers": 2,
        "hidden_size": hidden,
        "expansion": 4,
        "num_heads": max(2, hidden // 64),
        "pos_encodings": "none" if mixer == "mlp" else "rope",
        "halt_max_steps": 16,
        "halt_exploration_prob": 0.1,
        "forward_dtype": dtype,
        "mlp_t": mixer == "mlp",
        "puzzle_emb_len": 16,
        "no_ACT_continue": True,
    }


def our_overrides(mixer: str, hidden: int, dtype: str) -> list[str]:
    preset_mixer = (
        ["model.mixer=mlp", "model.pos_encoding=none"]
        if mixer == "mlp"
        else ["model.mixer=attention", "model.pos_encoding=rope"]
    )
    return [*preset_mixer, *common.width_overrides(hidden), f"model.forward_dtype={dtype}"]


@dataclass
class ReferenceStep:
    """The reference's training step on a fixed batch (as its pretrain.py's train_batch, with AdamW)."""

    head: torch.nn.Module
    optimizer: torch.optim.Optimizer
    batch: dict
    carry: object = None

    def __call__(self) -> None:
        if self.carry is None:
            self.carry = self.head.initial_carry(self.batch)
        self.carry, loss, _, _, _ = self.head(carry=self.carry, batch=self.batch, return_keys=[])
        (loss / self.batch["inputs"].shape[0]).backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def reference_step(ref_config: dict, batch: common.Batch, compiled: bool) -> ReferenceStep:
    from models.losses import ACTLossHead
    from models.recursive_reasoning.trm import TinyRecursiveReasoningModel_ACTV1

    head = ACTLossHead(TinyRecursiveReasoningModel_ACTV1(ref_config), loss_type="stablemax_cross_entropy")
    head.train()
    opt = torch.optim.AdamW(head.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    if compiled:
        head = torch.compile(head)
    data = {"inputs": batch.inputs, "labels": batch.labels, "puzzle_identifiers": batch.puzzle_identifiers}
    return ReferenceStep(head, opt, data)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", required=True, help="a checkout of SamsungSAILMontreal/TinyRecursiveModels")
    p.add_argument("--extra-path", action="append", default=[], help="a directory with pydantic and einops")
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seconds", type=float, default=6.0, help="timed seconds per side and round")
    p.add_argument("--eager", action="store_true", help="no compile on either side")
    p.add_argument(
        "--override",
        action="append",
        default=[],
        help="config override for latentloop's side, repeatable: its speed options (model.mixer_pad_to, "
        "train.micro_batch), which keep the math",
    )
    args = p.parse_args(argv)
    sys.path[:0] = [args.reference, *args.extra_path]  # the reference's own layout: `models.` from its root
    torch.manual_seed(0)
    rows = []
    start = time.perf_counter()
    for name in args.configs.split(","):
        mixer, hidden, dtype = CONFIGS[name]
        setting = ("fp32" if dtype == "float32" else "bf16") + ("" if args.eager else "+compile")
        cfg = common.make_config("trm-mlp-sudoku", setting, [*our_overrides(mixer, hidden, dtype), *args.override])
        ours = common.Bench(cfg, args.batch)
        ref = reference_step(reference_config(mixer, hidden, dtype, args.batch), ours.batch, not args.eager)
        params = (ours.model.num_parameters(), sum(p.numel() for p in ref.head.parameters() if p.requires_grad))
        flops = common.model_flops(cfg, args.batch)
        if cfg.train.compile:
            ours.compile()
        for _ in range(3):  # warm up (and compile) both
            ours.train_step()
            ref()
        timed = {"reference": [0, 0.0], "latentloop": [0, 0.0]}
        for _ in range(args.rounds):
            for side, fn in (("reference", ref), ("latentloop", ours.train_step)):
                n, wall, _ = common.time_steps(fn, args.seconds, 2, torch.device("cpu"))
                timed[side][0] += n
                timed[side][1] += wall
        rate = {k: args.batch * n / w for k, (n, w) in timed.items()}
        rows.append((name, setting, params, rate["reference"], rate["latentloop"], flops))
        common.log(f"{name}: reference {rate['reference']:.2f}, latentloop {rate['latentloop']:.2f} ex-steps/s")
    peaks = common.matmul_peaks(2048, 3)
    print(
        f"{common.cpu_name()}; torch {torch.__version__}; batch {args.batch}, {torch.get_num_threads()} threads; "
        f"matmul peaks fp32 {peaks['fp32'].gflops:.0f}, bf16 {peaks['bf16'].gflops:.0f} GFLOP/s\n"
    )
    print(
        "| config | setting (both sides) | parameters (ours / reference) | reference ex-steps/s | latentloop "
        "ex-steps/s | ratio | latentloop GFLOP/s | of the dtype's peak |\n|---|---|---|---:|---:|---:|---:|---:|"
    )
    for name, setting, (ours_p, ref_p), r, o, f in rows:
        peak = peaks["fp32" if "fp32" in setting else "bf16"].gflops
        g = f * o / args.batch / 1e9
        print(
            f"| {name} | {setting} | {ours_p:,} / {ref_p:,} | {r:.2f} | {o:.2f} | {o / r:.2f}x | {g:.1f} | "
            f"{g / peak:.0%} |"
        )
    print(f"\ntotal {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
