"""Every shipped preset resolves to the values it had before presets were derived from bases and
programs were named (`presets_before_refactor.json`, written by the old code).

`model.program` was an inline list then and is a name now: it is compared by its unrolled module
calls. Fields added since are not in the snapshot; changes made on purpose are listed below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentloop.config import load_config, to_dict

SNAPSHOT = json.loads((Path(__file__).parent / "presets_before_refactor.json").read_text())
# preset -> {dotted key: (value now, why)}
_IN_EPOCHS = "evaluations are counted in epochs now: train.eval_interval_epochs, the references' eval_interval"
_STEP_INTERVALS = {
    *("trm-mlp-sudoku", "trm-att-sudoku", "trm-att-maze", "trm-att-arc", "trm-single-z", "trm-multiscale"),
    *("srm", "srm-noskip", "hrm", "hrm-flat", "hrm-shared", "transformer-act", "direct"),
}
INTENDED: dict[str, dict[str, tuple[object, str]]] = {
    name: {"train.eval_interval": (0, _IN_EPOCHS)} for name in _STEP_INTERVALS
}
INTENDED["transformer-act"]["model.num_heads"] = (
    12,
    "the released baseline's 12 heads of 42 (transformers_baseline.yaml)",
)
INTENDED["trm-att-arc"]["train.keep_checkpoints"] = (0, "every evaluation's checkpoint is kept for ARC voting")
_DEMO = "the demo recipe re-tuned for a step budget (issue 16; docs/cpu_recipes.md)"
INTENDED.setdefault("trm-sudoku6-cpu", {}).update(
    {
        "model.inner_cycles": (2, _DEMO),
        "model.halt_max_steps": (4, _DEMO),
        "train.max_steps": (700, _DEMO),
    }
)
RECIPE_CHANGED = {"trm-sudoku6-cpu": _DEMO}  # presets whose unrolled program changed with their recipe
# fields that no longer exist: every preset had them at their default
REMOVED = {"train.time_budget_s": "replaced by train.max_flops (a compute budget, not seconds)"}
# srm-noskip's snapshot was dead (taken, never injected); its named program drops it.
DROPPED_SNAPSHOTS = {"srm-noskip"}


def _ops(cfg) -> list[list]:
    return [[o.kind, o.target, o.module, list(o.inject)] for o in cfg.model.program_ops()]


@pytest.mark.parametrize("name", sorted(SNAPSHOT))
def test_preset_resolves_as_before(name: str) -> None:
    before = SNAPSHOT[name]
    cfg = load_config(name)
    now = to_dict(cfg)
    for section in ("model", "data", "train", "eval"):
        for key, value in before[section].items():
            if key == "program":
                continue
            dotted = f"{section}.{key}"
            if dotted in REMOVED:
                assert value in (0, 0.0) and key not in now[section], dotted
                continue
            expected = INTENDED.get(name, {}).get(dotted, (value, ""))[0]
            assert now[section][key] == expected, dotted
    if name in RECIPE_CHANGED:
        return
    ops = _ops(cfg)
    old_ops = before["_expanded"]["ops"]
    if name in DROPPED_SNAPSHOTS:
        old_ops = [o for o in old_ops if o[0] != "snapshot"]
    assert ops == old_ops
    assert cfg.model.grad_call_count() == before["_expanded"]["grad_calls"]


PRESETS = Path(__file__).resolve().parents[2] / "src" / "latentloop" / "presets"


def test_presets_name_their_programs_and_stay_short() -> None:
    """No preset writes out a program (each names one from model/program.py); the YAML is at most
    half of its 770 lines before presets were derived from bases."""
    import yaml

    lines = 0
    for path in sorted(PRESETS.glob("*.yaml")):
        text = path.read_text()
        lines += len(text.splitlines())
        program = (yaml.safe_load(text).get("model") or {}).get("program")
        assert program is None or isinstance(program, str), path.name
    assert lines <= 770 // 2


def test_no_program_defined_outside_the_program_module() -> None:
    import re

    src = PRESETS.parent
    pattern = re.compile(r"""["']?update["']?\s*:\s*["']?\w+["']?\s*,\s*["']?module""")
    offenders = [
        str(p.relative_to(src))
        for p in [*src.rglob("*.py"), *src.rglob("*.yaml")]
        if p.name != "program.py" and pattern.search(p.read_text())
    ]
    assert not offenders, offenders
