"""Test-time sampling: K noisy trajectories in one batch, and the rules that pick one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentloop.config import load_config
from latentloop.data.format import read_split
from latentloop.errors import LatentloopError
from latentloop.evaluate.inference import supervision_steps
from latentloop.evaluate.runner import collect
from latentloop.evaluate.sampling import Sampling, choose, collect_samples, subset_accuracy, sweep, trajectories
from latentloop.model.reasoner import Reasoner


def _model(seed: int = 0) -> Reasoner:
    torch.manual_seed(seed)
    cfg = load_config("trm-sudoku4-cpu", ["model.hidden_size=32", "model.num_heads=2"])
    return Reasoner(cfg.model, 6, 16, 1).eval()


def test_noiseless_samples_reproduce_plain_evaluation(sudoku4_dataset) -> None:
    split, model = read_split(sudoku4_dataset / "test"), _model()
    plain = collect(model, split, 4, batch_size=64)
    for sampling in (Sampling(1, 0.0), Sampling(3, 0.0, "halt"), Sampling(3, 0.0, "vote"), Sampling(3, 0.0, "check")):
        again = collect(model, split, 4, batch_size=64, sampling=sampling)
        for field in ("exact", "token", "valid", "q_halt", "halt_at"):
            assert np.array_equal(getattr(again, field), getattr(plain, field)), (sampling, field)


def test_noise_is_seeded_and_changes_the_trajectories(sudoku4_dataset) -> None:
    split, model = read_split(sudoku4_dataset / "test"), _model()
    a = collect_samples(model, split, 3, Sampling(4, 0.5, seed=1))
    b = collect_samples(model, split, 3, Sampling(4, 0.5, seed=1))
    c = collect_samples(model, split, 3, Sampling(4, 0.5, seed=2))
    assert np.array_equal(a.q, b.q) and np.array_equal(a.keys, b.keys)
    assert not np.array_equal(a.keys, c.keys)  # (an untrained q head is constant: compare the answers)
    assert (a.keys[:, 0] != a.keys[:, 1]).any()  # two samples of one puzzle differ
    assert a.ok is not None and a.ok.shape == a.exact.shape


def test_augmented_samples_are_the_model_on_each_view_mapped_back(sudoku4_dataset) -> None:
    """Sample k of a puzzle is the plain model run on the task's view k of it, its logits read back at the puzzle's
    positions and tokens; so sample 0 (the identity) is the plain run, and the mapped-back answers are the views'
    answers undone."""
    split, model = read_split(sudoku4_dataset / "test"), _model()
    task = split.task()
    inputs = torch.from_numpy(np.asarray(split.inputs[:5]).astype(np.int32))
    ids = torch.zeros(5, dtype=torch.int32)
    K = 4
    sampled = list(trajectories(model, inputs, ids, 2, Sampling(K, augment=True, seed=3), task))
    for k, view in enumerate(task.views(K, seed=3)):
        moved = torch.from_numpy(view.tokens[inputs.numpy()[:, view.positions]].astype(np.int32))
        for out, plain in zip(sampled, supervision_steps(model, moved, ids, 2), strict=True):
            mine = out.logits[k::K]
            assert torch.equal(mine[:, view.positions][:, :, np.argsort(view.tokens)], plain.logits)
            answers = plain.logits.argmax(-1).numpy()
            back = np.empty_like(answers)
            back[:, view.positions] = np.argsort(view.tokens)[answers]
            assert np.array_equal(mine.argmax(-1).numpy(), back)


def test_augment_needs_a_task_with_views(sudoku4_dataset) -> None:
    from latentloop.tasks.arc import ArcTask

    model, inputs = _model(), torch.ones(2, 16, dtype=torch.int32)
    with pytest.raises(LatentloopError, match="--augment needs a task with symmetries"):
        next(trajectories(model, inputs, torch.zeros(2, dtype=torch.int32), 1, Sampling(2, augment=True), ArcTask()))


def test_rules_pick_as_documented() -> None:
    preds = torch.tensor([[[1, 2], [3, 4], [3, 4], [5, 6]]])  # one puzzle, 4 samples
    q = torch.tensor([[0.9, 0.1, 0.2, 0.5]])
    assert choose(preds, q, "halt").tolist() == [0]
    assert choose(preds, q, "vote").tolist() == [2]  # [3, 4] twice; of those the higher halting logit
    assert choose(preds, q, "check", torch.tensor([[False, False, False, True]])).tolist() == [3]
    assert choose(preds, q, "check", torch.zeros(1, 4, dtype=torch.bool)).tolist() == [0]  # none passes: halt


def test_subset_accuracy_matches_choose() -> None:
    rng = np.random.default_rng(0)
    N, K, S = 50, 6, 3
    keys = rng.integers(0, 3, (N, K, S))
    exact = keys == 0
    q = rng.normal(size=(N, K, S)).astype(np.float32)
    ok = rng.random((N, K, S)) < 0.3
    for rule in ("halt", "vote", "check"):
        for k in (1, 3, 6):
            got = subset_accuracy(exact, q, keys, ok, k, rule)
            for s in range(S):
                pick = choose(
                    torch.from_numpy(keys[:, :k, s, None]),
                    torch.from_numpy(q[:, :k, s]),
                    rule,
                    torch.from_numpy(ok[:, :k, s]),
                )
                assert got[s] == pytest.approx(exact[np.arange(N), pick.numpy(), s].mean()), (rule, k, s)


def test_sweep_rows_and_compute(sudoku4_dataset) -> None:
    split, model = read_split(sudoku4_dataset / "test"), _model()
    records = collect_samples(model, split, 4, Sampling(4, 0.3))
    plain = collect(model, split, 4).exact.mean(0).tolist()
    rows = sweep(records, plain, 6, [2, 4], [1, 4])
    assert {(r["rule"], r["samples"]) for r in rows} == {("plain", 1)} | {
        (r, k) for r in ("halt", "vote", "check") for k in (1, 4)
    }
    assert all(r["module_calls"] == r["samples"] * r["steps"] * 6 for r in rows)


def test_bad_sampling_settings_are_one_line_errors() -> None:
    with pytest.raises(LatentloopError, match="--samples"):
        Sampling(0)
    with pytest.raises(LatentloopError, match="--select"):
        Sampling(2, 0.1, "best")
