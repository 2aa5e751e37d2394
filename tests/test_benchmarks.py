"""The throughput benchmark runs end to end (quick mode) and reports ratios against its own peak."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    return importlib.import_module(f"benchmarks.{name}")


def test_throughput_quick(tmp_path: Path) -> None:
    module = load("throughput")
    out = tmp_path / "t.json"
    module.main(["--quick", "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["results"], data
    row = data["results"][0]
    assert row["example_steps_per_s"] > 0 and row["flops_per_example_step"] > 0
    assert row["peak_memory_mb"] > 0 and row["eval_puzzles_per_s"] > 0
    best = max(data["peak_start"]["fp32"]["gflops"], data["peak_end"]["fp32"]["gflops"])
    assert data["peak"]["fp32"]["gflops"] == best
    assert abs(row["frac_fp32_peak"] - row["gflops"] / best) < 1e-9


def test_gpu_check_runs_on_the_cpu(tmp_path: Path) -> None:
    """The GPU script is exercised here on the CPU at a tiny width, so it is ready when a GPU is."""
    module = load("gpu_check")
    torch.set_num_threads(1)  # tiny ops: one thread cannot be slowed down by a busy second core
    out = tmp_path / "g.json"
    args = ["--device", "cpu", "--seconds", "0", "--settings", "fp32", "--batch", "2", "--width", "64"]
    assert module.main([*args, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    gated = [r for r in data["correctness"] if not r.get("informational")]
    assert len(gated) == (2 if module.GOLDEN.is_dir() else 0)  # the golden TRM-MLP and TRM-Att cases
    assert all(r["bf16_same_argmax"] >= 0.98 for r in gated)
    assert [r["preset"] for r in data["throughput"]] == ["trm-mlp-sudoku", "trm-att-maze"]
    assert all(r["example_steps_per_s"] > 0 for r in data["throughput"])


def test_profile_step_accounts_for_the_matmuls(capsys) -> None:
    module = load("profile_step")
    torch.set_num_threads(1)
    assert module.main(["--preset", "trm-sudoku6-cpu", "--batch", "2", "--width", "32", "--top", "50"]) == 0
    out = capsys.readouterr().out
    shares = [
        float(line.split("|")[3].strip().rstrip("%"))
        for line in out.split("GFLOP/s |\n|---|---:|---:|---:|\n")[1].splitlines()
        if line.startswith("| [")
    ]
    assert shares and abs(sum(shares) - 100.0) < 1.0, out  # every matmul shape listed: shares add up
    assert "`aten::mm`" in out


def test_model_flops_leave_out_the_speed_options() -> None:
    """Padding the token mixer and micro-batching are speed, not work: the model FLOPs the benchmarks divide by
    are the plain model's; the micro-batched benchmark step still runs the whole batch."""
    common = load("common")
    torch.set_num_threads(1)
    tiny = ["model.hidden_size=32", "model.forward_dtype=float32"]
    plain = common.make_config("trm-sudoku4-cpu", "fp32", tiny)
    sped = common.make_config("trm-sudoku4-cpu", "fp32", [*tiny, "model.mixer_pad_to=16", "train.micro_batch=2"])
    assert (
        common.model_flops(sped, 4)
        == common.model_flops(plain, 4)
        == common.count_flops(common.Bench(plain, 4).train_step)
    )
    assert common.count_flops(common.Bench(sped, 4).train_step) > common.model_flops(sped, 4)  # the padded kernels
    bench = common.Bench(sped, 4)
    bench.train_step()
    assert bench.carry.steps.shape == (4,)


def test_speedups_divides_by_the_rounds_peaks(monkeypatch, capsys) -> None:
    """The bf16 peak is timed in every round, interleaved with the variants; the ratio uses their mean."""
    module, common = load("speedups"), load("common")
    torch.set_num_threads(1)
    timed = iter([100.0, 300.0])
    monkeypatch.setattr(common, "matmul_peak", lambda *a, **k: common.Peak("bfloat16", 2048, next(timed)))
    args = ["--preset", "trm-sudoku4-cpu", "--setting", "fp32", "--batch", "2", "--rounds", "2", "--seconds", "0.01"]
    assert module.main([*args, "--variant", "model.hidden_size=32"]) == 0
    out = capsys.readouterr().out
    assert "bf16 matmul peak 200 GFLOP/s (mean of 2 rounds, 100-300)" in out, out
    row = next(line for line in out.splitlines() if line.startswith("| `model.hidden_size=32`"))
    gflops, share = (cell.strip() for cell in row.split("|")[4:6])
    assert abs(float(share.rstrip("%")) - 100 * float(gflops) / 200) <= 0.6, row  # printed rounded
