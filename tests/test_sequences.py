"""Unit tests of vgexamples.sequences."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from vgexamples.data import Split
from vgexamples.sequences import (
    ADDING_BASELINE_MSE,
    ADDING_BUDGET,
    ADDING_LAST_VALUE_MSE,
    RecurrentRegressor,
    adding_problem,
    baseline_mse,
    fraction_correct,
    hidden_gradient_norms,
    last_value_baseline_mse,
    make_adding_split,
    solved,
    target_range,
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


# -- the 1997 variant, the baselines and the paper's criterion --------------------------------
def test_hochreiter1997_variant_follows_the_paper():
    x, y = adding_problem(2000, 40, variant="hochreiter1997", seed=5)
    values, marker = x[..., 0], x[..., 1]
    assert values.min() >= -1 and values.max() <= 1 and values.min() < -0.9
    marked = marker == 1
    assert torch.all(marked.sum(1) == 2)
    position = torch.arange(40).expand_as(marked)
    first = torch.where(marked, position, 99).min(1).values
    second = torch.where(marked, position, -1).max(1).values
    # one marker among the first ten steps, both among the first T/2 - 1 = 19
    assert torch.all(first < 10) and torch.all(second < 19) and second.max() >= 10
    # -1 at the first and last steps unless marked there; 0 elsewhere
    assert torch.all(marker[:, -1] == -1)
    assert torch.all((marker[:, 0] == -1) | marked[:, 0])
    assert torch.all(marker[:, 1:-1] >= 0)
    assert torch.all(values[marked[:, 0], 0] == 0)  # a marked first value is set to 0
    assert torch.allclose(y[:, 0], 0.5 + (values * marked).sum(1) / 4)
    assert y.min() >= 0 and y.max() <= 1
    with pytest.raises(ValueError, match="length"):
        adding_problem(5, 21, variant="hochreiter1997")
    with pytest.raises(ValueError, match="variant"):
        adding_problem(5, 30, variant="1997")
    assert target_range("le2015") == (0.0, 2.0) and target_range("hochreiter1997") == (0.0, 1.0)


@pytest.mark.parametrize(
    ("variant", "mean", "last"),
    [
        ("le2015", ADDING_BASELINE_MSE, ADDING_LAST_VALUE_MSE),
        # Var(X) = 1/3 for U[-1, 1], scaled by 1/16; less for the earlier marked value, set to
        # 0 when the first step is marked (probability 1/10 + 9/10 * 1/18 = 0.15 at T = 40).
        ("hochreiter1997", (0.85 / 3 + 1 / 3) / 16, (0.85 / 3) / 16),
    ],
)
def test_baselines_match_their_derivation(variant, mean, last):
    split = make_adding_split(40, n_train=20000, n_test=20000, seed=2, variant=variant)
    assert baseline_mse(split) == pytest.approx(mean, rel=0.05)
    assert last_value_baseline_mse(split) == pytest.approx(last, rel=0.05)
    with pytest.raises(ValueError, match="adding-problem"):
        last_value_baseline_mse(Split(torch.zeros(3, 4), torch.zeros(3, 1), *[torch.zeros(3)] * 2))


def test_fraction_correct_uses_the_papers_tolerance_on_the_unit_scale():
    y = torch.tensor([[0.5], [0.5], [0.5], [0.5]])
    p = y + torch.tensor([[0.0], [0.039], [0.05], [0.079]])
    assert fraction_correct(p, y, variant="hochreiter1997") == 0.5
    assert fraction_correct(p, y, variant="le2015") == 1.0  # the error is halved
    assert fraction_correct(y + 0.081, y) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        fraction_correct(p[:, 0], y)
    with pytest.raises(ValueError, match="prediction"):
        fraction_correct(torch.full((4, 1), math.nan), y)


# -- the GRU equations the chapter page states --------------------------------------------
PAGE = Path(__file__).parents[1] / "docs" / "chapters" / "recurrent.md"


def _gru_step_as_on_page(cell: torch.nn.GRUCell, x, h, *, swap_update=False, cho_reset=False):
    """One GRU step computed by hand with the page's equations (or a variant of them)."""
    w_ir, w_iz, w_in = cell.weight_ih.chunk(3)
    w_hr, w_hz, w_hn = cell.weight_hh.chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
    z = torch.sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
    if cho_reset:  # Cho et al. 2014: reset applied to h before the recurrent product
        n = torch.tanh(x @ w_in.T + b_in + (r * h) @ w_hn.T + b_hn)
    else:  # the page: n_t = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        n = torch.tanh(x @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
    if swap_update:
        return z * n + (1 - z) * h
    return z * h + (1 - z) * n  # the page: h_t = z * h_{t-1} + (1 - z) * n_t


def test_page_states_the_gru_equations_this_test_checks():
    text = PAGE.read_text()
    assert r"h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t" in text
    assert r"r_t \odot (W_{hn} h_{t-1} + b_{hn})" in text


def test_page_gru_equations_match_pytorch():
    torch.manual_seed(0)
    cell = torch.nn.GRUCell(3, 5)
    with torch.no_grad():  # gates far from 1/2, so that a swapped update is visible
        cell.bias_ih.mul_(8)
    x, h = torch.randn(7, 3), torch.randn(7, 5)
    with torch.no_grad():
        expected = cell(x, h)
        assert torch.allclose(_gru_step_as_on_page(cell, x, h), expected, atol=1e-6)
        # The opposite conventions are measurably different functions.
        assert not torch.allclose(_gru_step_as_on_page(cell, x, h, swap_update=True), expected)
        assert not torch.allclose(_gru_step_as_on_page(cell, x, h, cho_reset=True), expected)
        # nn.GRU, the layer the site trains, is the same cell.
        layer = torch.nn.GRU(3, 5, batch_first=True)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, f"{name}_l0").copy_(getattr(cell, name))
        _, h_layer = layer(x.unsqueeze(1), h.unsqueeze(0))
        assert torch.allclose(h_layer[0], expected, atol=1e-6)
