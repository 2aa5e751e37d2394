"""The throughput benchmark runs end to end (quick mode) and reports ratios against its own peak."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_throughput_quick(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("throughput", ROOT / "benchmarks" / "throughput.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["throughput"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    out = tmp_path / "t.json"
    module.main(["--quick", "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["results"], data
    row = data["results"][0]
    assert row["example_steps_per_s"] > 0 and row["flops_per_example_step"] > 0
