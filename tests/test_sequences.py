"""Unit tests of vgexamples.sequences."""

from __future__ import annotations

import math

import pytest
import torch

from vgexamples.data import Split
from vgexamples.sequences import (
    ADDING_BASELINE_MSE,
    ADDING_BUDGET,
    RecurrentRegressor,
    adding_problem,
    baseline_mse,
    hidden_gradient_norms,
    make_adding_split,
    solved,
    train_adding,
)


def test_adding_problem_shapes_markers_and_targets():
    x, y = adding_problem(50, 12, seed=3)
    assert x.shape == (50, 12, 2) and y.shape == (50, 1)
    markers = x[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :6].sum(1) == 1) and torch.all(markers[:, 6:].sum(1) == 1)
    assert torch.allclose(y[:, 0], (x[..., 0] * markers).sum(1))
    x2, y2 = adding_problem(50, 12, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_adding_problem_bad_arguments():
    with pytest.raises(ValueError, match="length"):
        adding_problem(5, 1)
    with pytest.raises(TypeError, match="n"):
        adding_problem(2.5, 10)
    with pytest.raises(ValueError, match="either generator or seed"):
        adding_problem(5, 10, seed=1, generator=torch.Generator())
    with pytest.raises(TypeError, match="generator"):
        adding_problem(5, 10, generator=3)


def test_split_and_baseline():
    split = make_adding_split(8, n_train=4000, n_test=4000, seed=1)
    assert isinstance(split, Split) and split.x_train.shape == (4000, 8, 2)
    assert abs(baseline_mse(split) - ADDING_BASELINE_MSE) < 0.015
    with pytest.raises(TypeError, match="data"):
        baseline_mse("not a split")


def test_solved():
    assert solved(0.001) and not solved(0.1) and not solved(math.nan)
    with pytest.raises(ValueError, match="baseline"):
        solved(0.1, baseline=0.0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_unroll_matches_forward(cell):
    torch.manual_seed(0)
    model = RecurrentRegressor(cell, hidden_size=8)
    x, _ = adding_problem(4, 7, seed=0)
    out, hidden, cells = model.unroll(x)
    assert torch.allclose(out, model(x), atol=1e-6)
    assert len(hidden) == 7 and hidden[0].shape == (4, 8)
    assert (cells is not None) == (cell == "lstm")


def test_model_options_and_errors():
    model = RecurrentRegressor("rnn", hidden_size=6, recurrent_gain=2.0)
    s = torch.linalg.svdvals(model.rnn.weight_hh_l0.detach())
    assert torch.allclose(s, torch.full_like(s, 2.0), atol=1e-5)
    lstm = RecurrentRegressor("lstm", hidden_size=4, forget_bias=1.5)
    bias = (lstm.rnn.bias_ih_l0 + lstm.rnn.bias_hh_l0)[4:8]
    assert torch.allclose(bias, torch.full_like(bias, 1.5))
    with pytest.raises(ValueError, match="cell"):
        RecurrentRegressor("transformer")
    with pytest.raises(ValueError, match="nonlinearity"):
        RecurrentRegressor("lstm", nonlinearity="relu")
    with pytest.raises(ValueError, match="forget_bias"):
        RecurrentRegressor("gru", forget_bias=1.0)
    with pytest.raises(ValueError, match="recurrent_gain"):
        RecurrentRegressor("rnn", recurrent_gain=-1.0)
    with pytest.raises(ValueError, match="x must be shaped"):
        model.unroll(torch.zeros(3, 2))


def test_hidden_gradient_norms_matches_autograd_and_keeps_grads():
    torch.manual_seed(0)
    model = RecurrentRegressor("rnn", hidden_size=5)
    x, y = adding_problem(3, 6, seed=0)
    sentinel = [torch.full_like(p, 7.0) for p in model.parameters()]
    for p, s in zip(model.parameters(), sentinel, strict=True):
        p.grad = s.clone()
    prof = hidden_gradient_norms(model, x, y)
    assert len(prof.hidden) == 6 and prof.cell is None
    for p, s in zip(model.parameters(), sentinel, strict=True):
        assert torch.equal(p.grad, s)
    # Independent check with torch.autograd.grad on a fresh unroll.
    out, hidden, _ = model.unroll(x)
    grads = torch.autograd.grad(((out - y) ** 2).sum(), [hidden[0], hidden[-1]])
    expected = [float(g.norm(dim=-1).mean()) for g in grads]
    assert prof.hidden[0] == pytest.approx(expected[0], rel=1e-5)
    assert prof.hidden[-1] == pytest.approx(expected[1], rel=1e-5)
    assert prof.ratio_first_to_last() == pytest.approx(expected[0] / expected[1], rel=1e-5)
    lstm = RecurrentRegressor("lstm", hidden_size=5)
    p = hidden_gradient_norms(lstm, x, y)
    assert len(p.cell) == 6 and p.cell[-1] == 0.0
    with pytest.raises(TypeError, match="RecurrentRegressor"):
        hidden_gradient_norms(torch.nn.Linear(2, 1), x, y)
    with pytest.raises(ValueError, match="same length"):
        hidden_gradient_norms(model, x, y[:2])


def test_train_adding_runs_and_validates():
    tiny = ADDING_BUDGET.replace(steps=5)
    model, hist = train_adding("gru", 6, budget=tiny, hidden_size=4, n_train=64, device="cpu")
    assert isinstance(model, RecurrentRegressor) and hist.steps_run == 5
    assert hist.eval_step == [5] and math.isfinite(hist.final_test_loss)
    with pytest.raises(ValueError, match="cell"):
        train_adding("cnn", 6)
