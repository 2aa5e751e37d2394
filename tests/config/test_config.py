from __future__ import annotations

import pytest

from latentloop.config import (
    apply_overrides,
    config_from_yaml_text,
    load_config,
    preset_names,
    to_dict,
)
from latentloop.errors import ConfigError
from latentloop.model.program import eval_count


def test_every_preset_loads_and_round_trips() -> None:
    import yaml

    names = preset_names()
    assert "trm-mlp-sudoku" in names and "trm-sudoku6-cpu" in names
    for name in names:
        cfg = load_config(name)
        again = config_from_yaml_text(yaml.safe_dump(to_dict(cfg)))
        assert to_dict(again) == to_dict(cfg)


def test_overrides_nested_and_typed() -> None:
    cfg = load_config("trm-mlp-sudoku", ["train.lr=3e-4", "model.inner_cycles=4", "train.ema=false"])
    assert cfg.train.lr == pytest.approx(3e-4)
    assert cfg.model.inner_cycles == 4
    assert cfg.train.ema is False


def test_an_empty_override_empties_a_string_setting() -> None:
    assert load_config("trm-maze11-cpu").train.depth_curriculum
    assert load_config("trm-maze11-cpu", ["train.depth_curriculum="]).train.depth_curriculum == ""
    with pytest.raises(ConfigError, match=r"train\.lr: expected a number"):
        load_config("trm-maze11-cpu", ["train.lr="])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lrr=1", "unknown config key 'train.lrr'"),
        ("model.hidden_size=abc", "model.hidden_size: expected an integer"),
        ("model.mixer=conv", "model.mixer='conv' is not one of"),
        ("model.num_heads=7", "needs an even head dimension, got 73"),
        ("model.head_dim=33", "needs an even head dimension, got 33"),
        ("model.head_dim=-1", "model.head_dim >= 0"),
        ("model.num_heads=1024", "model.num_heads=1024 exceeds model.hidden_size=512"),
        ("train.eval_interval=100", "are both set"),
        ("model.grad_calls=99", "exceeds the"),
        ("model.answer_stream=w", "model.answer_stream='w'"),
        ("train.ema=maybe", "train.ema: expected true/false"),
    ],
)
def test_bad_overrides_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config("trm-att-sudoku", [override])


def test_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides({}, ["train.lr"])


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_config("nope")


def test_count_expressions() -> None:
    counts = {"outer_cycles": 3, "inner_cycles": 6}
    assert eval_count("inner_cycles + 1", counts, "k") == 7
    assert eval_count("2 * outer_cycles - 1", counts, "k") == 5
    with pytest.raises(ConfigError, match="unknown name 'n'"):
        eval_count("n + 1", counts, "k")
    with pytest.raises(ConfigError, match="unsupported expression"):
        eval_count("__import__('os')", counts, "k")


def test_program_errors_are_config_errors() -> None:
    bad = [{"update": "q", "module": "core", "inject": ["x"]}]
    with pytest.raises(ConfigError, match=r"model.program\[0\].update: 'q' is not a stream"):
        load_config(None, base={"model": {"program": bad, "streams": ["y", "z"]}})
    with pytest.raises(ConfigError, match=r"model.streams must be given with an inline model.program"):
        load_config(None, base={"model": {"program": bad}})
    with pytest.raises(ConfigError, match=r"'tmr' is not a named program"):
        load_config(None, base={"model": {"program": "tmr"}})
