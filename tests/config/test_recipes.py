"""Every paper preset resolves to its reference's recipe, and its header builds the paper's data.

`REFERENCE` is transcribed from the reference repositories (sapientinc/HRM at 42410da,
SamsungSAILMontreal/TinyRecursiveModels at e7b6871), in their own vocabulary, one citation per
value: the arch config, then `config/cfg_pretrain.yaml`, then the README command's overrides
(the reference composes them in that order). `in_reference_terms` translates a resolved preset
into that vocabulary; docs/recipes.md holds the same values side by side.
"""

from __future__ import annotations

import shlex
from importlib import resources
from types import SimpleNamespace

import pytest

from latentloop.cli import build_parser
from latentloop.config import RunConfig, load_config
from latentloop.train.trainer import eval_interval_steps, total_steps

# ---------------------------------------------------------------------------------------------
# HRM (sapientinc/HRM 42410da). Paths are relative to that repository.

HRM_ARCH = {
    "hidden_size": 512,  # config/arch/hrm_v1.yaml:15
    "num_heads": 8,  # config/arch/hrm_v1.yaml:16
    "head_dim": 64,  # models/hrm/hrm_act_v1.py:66  hidden_size // num_heads
    "expansion": 4,  # config/arch/hrm_v1.yaml:17
    "H_layers": 4,  # config/arch/hrm_v1.yaml:12
    "L_layers": 4,  # config/arch/hrm_v1.yaml:13
    "H_cycles": 2,  # config/arch/hrm_v1.yaml:9
    "L_cycles": 2,  # config/arch/hrm_v1.yaml:10
    "halt_max_steps": 16,  # config/arch/hrm_v1.yaml:7
    "halt_exploration_prob": 0.1,  # config/arch/hrm_v1.yaml:6
    "puzzle_emb_ndim": 512,  # config/arch/hrm_v1.yaml:19  ${.hidden_size}
    "puzzle_emb_len": 1,  # models/hrm/hrm_act_v1.py:116  ceil(puzzle_emb_ndim / hidden_size)
    "pos_encodings": "rope",  # config/arch/hrm_v1.yaml:21
    "mlp_t": False,  # models/hrm/hrm_act_v1.py:64  every block is self-attention
    "forward_dtype": "bfloat16",  # models/hrm/hrm_act_v1.py:57  (class default; the yaml does not set it)
    "loss_type": "stablemax_cross_entropy",  # config/arch/hrm_v1.yaml:4
    "halting": "q_learning",  # models/hrm/hrm_act_v1.py:268,281  q_halt > q_continue, bootstrapped continue target
    "eval_segments": 16,  # models/hrm/hrm_act_v1.py:262,265  eval halts at halt_max_steps only
}
HRM_TRAIN = {
    "data_path": "data/arc-aug-1000",  # config/cfg_pretrain.yaml:11
    "global_batch_size": 768,  # config/cfg_pretrain.yaml:14
    "epochs": 100000,  # config/cfg_pretrain.yaml:16
    "eval_interval": 10000,  # config/cfg_pretrain.yaml:17
    "lr": 1e-4,  # config/cfg_pretrain.yaml:20
    "lr_min_ratio": 1.0,  # config/cfg_pretrain.yaml:21
    "lr_warmup_steps": 2000,  # config/cfg_pretrain.yaml:22
    "beta1": 0.9,  # config/cfg_pretrain.yaml:25
    "beta2": 0.95,  # config/cfg_pretrain.yaml:26
    "weight_decay": 0.1,  # config/cfg_pretrain.yaml:27
    "puzzle_emb_weight_decay": 0.1,  # config/cfg_pretrain.yaml:28
    "puzzle_emb_lr": 1e-2,  # config/cfg_pretrain.yaml:31
    "ema": False,  # pretrain.py: no EMA anywhere
}
HRM_SUDOKU = {  # README.md:143
    "data_path": "data/sudoku-extreme-1k-aug-1000",
    "epochs": 20000,
    "eval_interval": 2000,
    "lr": 1e-4,
    "puzzle_emb_lr": 1e-4,
    "weight_decay": 1.0,
    "puzzle_emb_weight_decay": 1.0,
}

# ---------------------------------------------------------------------------------------------
# TRM (SamsungSAILMontreal/TinyRecursiveModels e7b6871). Paths are relative to that repository.

TRM_ARCH = {
    "hidden_size": 512,  # config/arch/trm.yaml:15
    "num_heads": 8,  # config/arch/trm.yaml:16
    "head_dim": 64,  # models/recursive_reasoning/trm.py:79  hidden_size // num_heads
    "expansion": 4,  # config/arch/trm.yaml:17
    "H_layers": 0,  # config/arch/trm.yaml:12  (one network, L_level)
    "L_layers": 2,  # config/arch/trm.yaml:13
    "H_cycles": 3,  # config/arch/trm.yaml:9
    "L_cycles": 6,  # config/arch/trm.yaml:10
    "halt_max_steps": 16,  # config/arch/trm.yaml:7
    "halt_exploration_prob": 0.1,  # config/arch/trm.yaml:6
    "puzzle_emb_ndim": 512,  # config/arch/trm.yaml:19  ${.hidden_size}
    "puzzle_emb_len": 16,  # config/arch/trm.yaml:25
    "pos_encodings": "rope",  # config/arch/trm.yaml:21
    "mlp_t": False,  # config/arch/trm.yaml:24
    "forward_dtype": "bfloat16",  # config/arch/trm.yaml:22
    "loss_type": "stablemax_cross_entropy",  # config/arch/trm.yaml:4
    "halting": "bce",  # config/arch/trm.yaml:26 no_ACT_continue: True; trm.py:280-281 halt on q_halt > 0
    "eval_segments": 16,  # models/recursive_reasoning/trm.py:272,275  eval halts at halt_max_steps only
}
TRM_TRAIN = {
    "global_batch_size": 768,  # config/cfg_pretrain.yaml:18
    "epochs": 100000,  # config/cfg_pretrain.yaml:20
    "eval_interval": 10000,  # config/cfg_pretrain.yaml:21
    "lr": 1e-4,  # config/cfg_pretrain.yaml:24
    "lr_min_ratio": 1.0,  # config/cfg_pretrain.yaml:25
    "lr_warmup_steps": 2000,  # config/cfg_pretrain.yaml:26
    "beta1": 0.9,  # config/cfg_pretrain.yaml:29
    "beta2": 0.95,  # config/cfg_pretrain.yaml:30
    "weight_decay": 0.1,  # config/cfg_pretrain.yaml:31
    "puzzle_emb_weight_decay": 0.1,  # config/cfg_pretrain.yaml:32
    "puzzle_emb_lr": 1e-2,  # config/cfg_pretrain.yaml:35
    "ema": False,  # config/cfg_pretrain.yaml:40  (every README command sets ema=True)
    "ema_rate": 0.999,  # config/cfg_pretrain.yaml:41
}
TRM_SMALL_DATA = {  # README.md:100-101 (Sudoku), :129-130 (Maze): the same overrides
    "epochs": 50000,
    "eval_interval": 5000,
    "lr": 1e-4,
    "puzzle_emb_lr": 1e-4,
    "weight_decay": 1.0,
    "puzzle_emb_weight_decay": 1.0,
}

REFERENCE: dict[str, dict[str, object]] = {
    "hrm": {**HRM_ARCH, **HRM_TRAIN, **HRM_SUDOKU},  # HRM README.md:143 (8 GPUs)
    "hrm-sudoku-1gpu": {
        **HRM_ARCH,
        **HRM_TRAIN,
        **HRM_SUDOKU,  # HRM README.md:77, the 1-GPU command: as :143 but
        "global_batch_size": 384,  # README.md:77
        "lr": 7e-5,  # README.md:77
        "puzzle_emb_lr": 7e-5,  # README.md:77
    },
    "hrm-maze": {
        **HRM_ARCH,
        **HRM_TRAIN,
        **HRM_SUDOKU,  # HRM README.md:151 has :143's overrides with another data_path
        "data_path": "data/maze-30x30-hard-1k",  # README.md:151
    },
    "hrm-arc1": {**HRM_ARCH, **HRM_TRAIN},  # HRM README.md:127, `pretrain.py` without overrides
    "hrm-arc2": {**HRM_ARCH, **HRM_TRAIN, "data_path": "data/arc-2-aug-1000"},  # HRM README.md:135
    "trm-mlp-sudoku": {
        **TRM_ARCH,
        **TRM_TRAIN,
        **TRM_SMALL_DATA,  # TRM README.md:96-105
        "data_path": "data/sudoku-extreme-1k-aug-1000",  # README.md:98
        "mlp_t": True,  # README.md:102
        "pos_encodings": "none",  # README.md:102
        "L_layers": 2,  # README.md:103
        "H_cycles": 3,  # README.md:104
        "L_cycles": 6,  # README.md:104
        "ema": True,  # README.md:105
    },
    "trm-att-sudoku": {
        **TRM_ARCH,
        **TRM_TRAIN,
        **TRM_SMALL_DATA,  # TRM README.md:108-116
        "data_path": "data/sudoku-extreme-1k-aug-1000",  # README.md:110
        "L_layers": 2,  # README.md:114
        "H_cycles": 3,  # README.md:115
        "L_cycles": 6,  # README.md:115
        "ema": True,  # README.md:116
    },
    "trm-att-maze": {
        **TRM_ARCH,
        **TRM_TRAIN,
        **TRM_SMALL_DATA,  # TRM README.md:125-133
        "data_path": "data/maze-30x30-hard-1k",  # README.md:127
        "L_layers": 2,  # README.md:131
        "H_cycles": 3,  # README.md:132
        "L_cycles": 4,  # README.md:132
        "ema": True,  # README.md:133
    },
    "trm-att-arc": {
        **TRM_ARCH,
        **TRM_TRAIN,  # TRM README.md:66-71
        "data_path": "data/arc1concept-aug-1000",  # README.md:68
        "L_layers": 2,  # README.md:69
        "H_cycles": 3,  # README.md:70
        "L_cycles": 4,  # README.md:70
        "ema": True,  # README.md:71
    },
    "trm-att-arc2": {
        **TRM_ARCH,
        **TRM_TRAIN,  # TRM README.md:81-86
        "data_path": "data/arc2concept-aug-1000",  # README.md:83
        "L_layers": 2,  # README.md:84
        "H_cycles": 3,  # README.md:85
        "L_cycles": 4,  # README.md:85
        "ema": True,  # README.md:86
    },
    # The released flat baseline: its architecture only (the references give no training command for it).
    "transformer-act": {
        "hidden_size": 512,  # TRM config/arch/transformers_baseline.yaml:12
        "num_heads": 12,  # transformers_baseline.yaml:13
        "head_dim": 42,  # models/recursive_reasoning/transformers_baseline.py:80  512 // 12
        "expansion": 4,  # transformers_baseline.yaml:14
        "H_layers": 8,  # transformers_baseline.yaml:10
        "H_cycles": 1,  # transformers_baseline.yaml:9
        "halt_max_steps": 16,  # transformers_baseline.yaml:7
        "halt_exploration_prob": 0.1,  # transformers_baseline.yaml:6
        "puzzle_emb_ndim": 512,  # transformers_baseline.yaml:16
        "puzzle_emb_len": 1,  # transformers_baseline.py:138  ceil(puzzle_emb_ndim / hidden_size)
        "pos_encodings": "rope",  # transformers_baseline.yaml:18
        "mlp_t": False,  # transformers_baseline.py:78  every block is self-attention
        "forward_dtype": "bfloat16",  # transformers_baseline.py:71
        "loss_type": "stablemax_cross_entropy",  # transformers_baseline.yaml:4
        # halting: q_halt > q_continue with an untrained continue head (transformers_baseline.py:275,309; its
        # loss head never passes compute_target_q): see KNOWN_DIFFERENCES.
        "halting": "q_compare",
        "eval_segments": 16,  # transformers_baseline.py:69,305  act_inference False: eval runs halt_max_steps
    },
}

# Where a preset departs from its reference on purpose: (preset, key) -> (our value, why). docs/recipes.md says so too.
KNOWN_DIFFERENCES: dict[tuple[str, str], tuple[object, str]] = {
    ("transformer-act", "halting"): (
        "q_learning",
        "HRM's trained continue target, as the ARC Prize analysis describes its baseline; "
        "`model.halting=q_compare` reproduces the released file (tests/model/test_golden.py)",
    ),
}

# Which of our module names plays the reference's H_level / L_level, per named program.
LEVELS = {
    "hrm": {"H_layers": "H", "L_layers": "L"},
    "trm": {"H_layers": None, "L_layers": "core"},
    "transformer_act": {"H_layers": "core"},
}


def in_reference_terms(cfg: RunConfig) -> dict[str, object]:
    """The resolved preset under the references' names (the glossary of docs/recipes.md)."""
    m, t = cfg.model, cfg.train
    out: dict[str, object] = {
        "hidden_size": m.hidden_size,
        "num_heads": m.num_heads,
        "head_dim": m.attention_head_dim(),
        "expansion": m.expansion,
        "H_cycles": m.outer_cycles,
        "L_cycles": m.inner_cycles,
        "halt_max_steps": m.halt_max_steps,
        "halt_exploration_prob": m.halt_exploration_prob,
        "puzzle_emb_ndim": m.hidden_size if m.puzzle_emb_dim < 0 else m.puzzle_emb_dim,
        "puzzle_emb_len": m.puzzle_emb_len,
        "pos_encodings": m.pos_encoding,
        "mlp_t": m.mixer == "mlp",
        "forward_dtype": m.forward_dtype,
        "loss_type": f"{t.loss}_cross_entropy",
        "halting": m.halting,
        "eval_segments": cfg.eval.steps or m.halt_max_steps,
        "data_path": cfg.data.path,
        "global_batch_size": t.global_batch_size,
        "epochs": t.epochs,
        "eval_interval": t.eval_interval_epochs,
        "lr": t.lr,
        "lr_min_ratio": t.lr_min_ratio,
        "lr_warmup_steps": t.lr_warmup_steps,
        "beta1": t.beta1,
        "beta2": t.beta2,
        "weight_decay": t.weight_decay,
        "puzzle_emb_weight_decay": t.puzzle_emb_weight_decay,
        "puzzle_emb_lr": t.puzzle_emb_lr,
        "ema": t.ema,
        "ema_rate": t.ema_decay,
    }
    for key, module in LEVELS[str(m.program)].items():
        out[key] = m.modules[module].layers if module else 0
    return out


@pytest.mark.parametrize("preset", sorted(REFERENCE))
def test_preset_matches_its_reference(preset: str) -> None:
    cfg = load_config(preset)
    assert cfg.train.max_steps == 0, "a paper recipe counts epochs, like the reference"
    ours = in_reference_terms(cfg)
    expected = {key: KNOWN_DIFFERENCES.get((preset, key), (value, ""))[0] for key, value in REFERENCE[preset].items()}
    assert {key: ours[key] for key in expected} == expected


def test_known_differences_are_real() -> None:
    for (preset, key), (ours, why) in KNOWN_DIFFERENCES.items():
        assert ours != REFERENCE[preset][key] and why, (preset, key)


# ---------------------------------------------------------------------------------------------
# The data command in each paper preset's header.

CONCEPT = "CONCEPTARC_DIR"  # a directory with ConceptARC in the Kaggle layout (a placeholder in the headers)
SUDOKU_EXTREME_1K = {"task": "sudoku", "preset": "extreme", "size": 9, "train": 1000, "aug": 1000}
MAZE_HARD_1K = {"task": "maze", "size": 30, "min_path": 110, "train": 1000, "test": 1000, "aug": False}
# Sources of each paper's dataset (the reference builders' commands):
DATA = {
    # HRM README.md:107 / TRM README.md:54: --subsample-size 1000 --num-aug 1000
    "hrm": SUDOKU_EXTREME_1K,
    "hrm-sudoku-1gpu": SUDOKU_EXTREME_1K,
    "trm-mlp-sudoku": SUDOKU_EXTREME_1K,
    "trm-att-sudoku": SUDOKU_EXTREME_1K,
    # HRM README.md:110 / TRM README.md:57: build_maze_dataset.py with its defaults (aug: False, line 27)
    "hrm-maze": MAZE_HARD_1K,
    "trm-att-maze": MAZE_HARD_1K,
    # HRM README.md:101: ARC-AGI-1 + ConceptARC (dataset/build_arc_dataset.py:21), num_aug 1000 (:29)
    "hrm-arc1": {"task": "arc", "version": 1, "concept": CONCEPT, "aug": 1000},
    # HRM README.md:103: ARC-AGI-2 alone
    "hrm-arc2": {"task": "arc", "version": 2, "concept": None, "aug": 1000},
    # TRM README.md:38-42: --subsets training evaluation concept; num_aug 1000 (dataset/build_arc_dataset.py:24)
    "trm-att-arc": {"task": "arc", "version": 1, "concept": CONCEPT, "aug": 1000},
    # TRM README.md:45-49: --subsets training2 evaluation2 concept
    "trm-att-arc2": {"task": "arc", "version": 2, "concept": CONCEPT, "aug": 1000},
}


def header_data_command(preset: str) -> list[str]:
    """The arguments of the `# Data:  latentloop ...` line of a packaged preset's header."""
    text = (resources.files("latentloop") / "presets" / f"{preset}.yaml").read_text()
    lines = [line.removeprefix("#").strip() for line in text.splitlines() if line.startswith("# Data:")]
    assert len(lines) == 1, f"{preset}: expected one '# Data:' line in the header"
    words = shlex.split(lines[0].removeprefix("Data:"))
    assert words[:3] == ["latentloop", "data", "build"], words
    return words[1:]


def test_every_paper_preset_names_its_data() -> None:
    assert set(DATA) == set(REFERENCE) - {"transformer-act"}


@pytest.mark.parametrize("preset", sorted(DATA))
def test_header_builds_the_papers_data(preset: str) -> None:
    args = build_parser().parse_args(header_data_command(preset))
    assert {key: getattr(args, key) for key in DATA[preset]} == DATA[preset]
    assert args.out == load_config(preset).data.path


# ---------------------------------------------------------------------------------------------
# Evaluations are counted in epochs, as in the references, whatever the batch size.


def _split(groups: int, mean_examples: float) -> SimpleNamespace:
    return SimpleNamespace(metadata=SimpleNamespace(total_groups=groups, mean_puzzle_examples=mean_examples))


@pytest.mark.parametrize("batch", [768, 128])
def test_eval_interval_in_epochs_gives_the_references_evaluation_count(batch: int) -> None:
    """Maze-Hard, 50000 epochs, an evaluation every 5000: ten evaluations at batch 768 and at batch 128."""
    cfg = load_config("trm-att-maze", [f"train.global_batch_size={batch}"])
    maze = _split(1000, 1.0)
    every, total = eval_interval_steps(cfg, maze), total_steps(cfg, maze)
    assert every == int(5000 * 1000 / batch) and total == int(50000 * 1000 / batch)
    assert total // every == 10


def test_eval_interval_in_steps_still_works() -> None:
    cfg = load_config("trm-att-maze", ["train.eval_interval_epochs=0", "train.eval_interval=100"])
    assert eval_interval_steps(cfg, _split(1000, 1.0)) == 100
    cfg = load_config("trm-sudoku4-cpu")
    assert eval_interval_steps(cfg, _split(200, 1.0)) == 0  # only at the end
