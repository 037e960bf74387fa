"""Claims of the chapter "Recurrent networks: gradients through time".

Each test runs the library calls that docs/chapters/recurrent.md and gallery/recurrent/ use,
over several seeds, and asserts the statement with a margin.
"""

from __future__ import annotations

import pytest
import torch

from vgexamples.runtime import configure
from vgexamples.sequences import (
    ADDING_BASELINE_MSE,
    CELLS,
    RecurrentRegressor,
    adding_problem,
    baseline_mse,
    hidden_gradient_norms,
    make_adding_split,
    solved,
    train_adding,
)

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def device():
    return configure(seed=0)


@pytest.fixture(scope="module")
def probe():
    return adding_problem(256, 50, seed=1)


def test_mean_predictor_mse_is_one_sixth():
    for seed in SEEDS:
        split = make_adding_split(50, n_train=20000, n_test=20000, seed=seed)
        assert abs(baseline_mse(split) - 1 / 6) < 0.006
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_gradient_through_time_vanishes_or_explodes_with_the_gain(seed, probe, device):
    ratios = {}
    for gain in (0.5, 1.0, 2.0):
        torch.manual_seed(seed)
        model = RecurrentRegressor("rnn", recurrent_gain=gain)
        ratios[gain] = hidden_gradient_norms(model, *probe).ratio_first_to_last()
    assert ratios[0.5] < 1e-8 < ratios[1.0] < 1 < ratios[2.0]


@pytest.mark.parametrize("seed", SEEDS)
def test_all_cells_vanish_through_time_at_default_init(seed, probe, device):
    for cell in CELLS:
        torch.manual_seed(seed)
        ratio = hidden_gradient_norms(RecurrentRegressor(cell), *probe).ratio_first_to_last()
        assert ratio < 1e-4, cell


@pytest.mark.parametrize("seed", SEEDS)
def test_forget_bias_opens_the_cell_state_path(seed, probe, device):
    ratio = {}
    for bias in (None, 1.0, 3.0):
        torch.manual_seed(seed)
        p = hidden_gradient_norms(RecurrentRegressor("lstm", forget_bias=bias), *probe)
        ratio[bias] = p.cell[0] / p.hidden[-1]
    assert ratio[None] < 1e-8  # the default forget gate (~1/2) halves it at every step
    assert ratio[None] * 100 < ratio[1.0] and ratio[1.0] * 100 < ratio[3.0]
    assert ratio[3.0] > 0.05


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_learns_part_of_length_10(seed, device):
    _, hist = train_adding("rnn", 10, seed=seed, device=device)
    assert hist.test_loss[-1] < 0.5 * ADDING_BASELINE_MSE


@pytest.fixture(scope="module")
def length25(device):
    split = make_adding_split(25, seed=0)
    probe = (split.x_test[:256], split.y_test[:256])
    out = {}
    for cell in CELLS:
        for seed in SEEDS:
            model, hist = train_adding(cell, 25, data=split, seed=seed, device=device)
            out[cell, seed] = (hist.test_loss[-1], hidden_gradient_norms(model, *probe))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_length_25_gated_cells_solve_rnn_stays_at_baseline(seed, length25):
    assert not solved(length25["rnn", seed][0])
    assert length25["rnn", seed][0] > 0.8 * ADDING_BASELINE_MSE
    assert solved(length25["lstm", seed][0])
    assert solved(length25["gru", seed][0])


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_solved_runs_carry_gradient_to_the_first_steps(seed, length25):
    rnn = length25["rnn", seed][1].ratio_first_to_last()
    for cell in ("lstm", "gru"):
        gated = length25[cell, seed][1].ratio_first_to_last()
        assert gated > 1e-3 and gated > 3 * rnn, cell


@pytest.fixture(scope="module")
def length100(device):
    split = make_adding_split(100, seed=0)
    probe = (split.x_test[:256], split.y_test[:256])
    out = {}
    for cell in CELLS:
        for seed in (0, 1):
            model, hist = train_adding(cell, 100, data=split, seed=seed, device=device)
            out[cell, seed] = (hist.test_loss[-1], hidden_gradient_norms(model, *probe))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", (0, 1))
def test_length_100_only_gru_solves_within_budget(seed, length100):
    assert solved(length100["gru", seed][0])
    assert length100["gru", seed][1].ratio_first_to_last() > 1e-2
    for cell in ("rnn", "lstm"):
        mse, prof = length100[cell, seed]
        assert not solved(mse) and mse > 0.8 * ADDING_BASELINE_MSE, cell
        assert prof.ratio_first_to_last() < 1e-6, cell
