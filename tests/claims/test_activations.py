"""Claims of the activations chapter (docs/chapters/vanishing.md, gallery/activations/).

Each test runs the same library calls as the page or script, over several seeds where the
result depends on the random initialization.
"""

from fractions import Fraction

import pytest
import torch

from vgexamples.data import load_digits
from vgexamples.diagnostics import SATURATION_FRACTION, TrainingRecorder, gradient_profile
from vgexamples.models import MLP
from vgexamples.theory import (
    activation_and_derivative,
    backprop_factors,
    max_derivative,
    running_product,
)
from vgexamples.train import train

SEEDS = (0, 1, 2)
RECTIFIERS = ("relu", "leaky_relu", "prelu")
ALL = ("sigmoid", "tanh", *RECTIFIERS)


@pytest.fixture(scope="module")
def batch():
    data = load_digits(seed=0)
    return data.x_train[:512], data.y_train[:512]


@pytest.fixture(scope="module")
def profiles(batch):
    """gradient_profile of the 20-layer, 64-wide MLP: (init, activation, seed) -> Profile."""
    x, y = batch
    out = {}
    for init in ("default", "he"):
        for act in ALL:
            for seed in SEEDS:
                torch.manual_seed(seed)
                net = MLP(64, 10, depth=20, width=64, activation=act, init=init)
                out[init, act, seed] = gradient_profile(net, x, y)
    return out


# -- the derivative argument ----------------------------------------------------------------
def test_sigmoid_derivative_peaks_at_a_quarter_and_tanh_at_one():
    assert max_derivative("sigmoid") == pytest.approx((0.0, 0.25), abs=1e-9)
    assert max_derivative("tanh") == pytest.approx((0.0, 1.0), abs=1e-9)
    for name in RECTIFIERS:
        assert max_derivative(name)[1] == pytest.approx(1.0)


def test_tanh_goes_flat_sooner_than_the_sigmoid():
    grid = torch.linspace(0, 10, 100_001, dtype=torch.float64)
    edges = {}
    for name in ("sigmoid", "tanh"):
        x, _, dy = activation_and_derivative(name, grid)
        edges[name] = float(x[(dy < SATURATION_FRACTION * dy.max()).nonzero()[0]])
    assert edges["tanh"] < edges["sigmoid"] / 1.5


def test_product_of_fractions_is_exact():
    prod = running_product(
        [Fraction(1, 4), Fraction(1, 3), Fraction(1, 4), Fraction(1, 3), Fraction(1, 4)]
    )
    assert prod[:3] == [Fraction(1, 4), Fraction(1, 12), Fraction(1, 48)]
    assert prod[-1] == Fraction(1, 576)


def test_backprop_factors_below_one_for_sigmoid_default_init():
    f = torch.cat([backprop_factors(20, 64, "sigmoid", seed=s) for s in SEEDS])
    assert float(f.max()) < 1.0  # the "fraction" premise holds in this setting
    assert float(f.median()) < 0.5


def _median_factor(act, init="default", scale=1.0):
    f = torch.cat(
        [backprop_factors(20, 64, act, init=init, seed=s, weight_scale=scale) for s in SEEDS]
    )
    return float(f.median())


def test_backprop_factors_near_one_for_relu_he_and_above_one_for_larger_weights():
    assert 0.8 < _median_factor("relu", "he") < 1.25
    assert _median_factor("relu", "he", 1.5) > 1.25  # the product grows: the premise fails


def test_sigmoid_resists_larger_weights_through_saturation():
    base, x8, x24 = (_median_factor("sigmoid", scale=s) for s in (1.0, 8.0, 24.0))
    assert base < x8 < 1.0 < x24


# -- per-layer gradients at initialization --------------------------------------------------
@pytest.mark.parametrize("init", ["default", "he"])
def test_sigmoid_first_layer_gradient_is_a_millionth_of_the_last(profiles, init):
    for seed in SEEDS:
        assert profiles[init, "sigmoid", seed].ratio_first_to_last() < 1e-6


@pytest.mark.parametrize("act", ALL)
def test_default_init_vanishes_for_every_activation(profiles, act):
    for seed in SEEDS:
        assert profiles["default", act, seed].ratio_first_to_last() < 1e-2


@pytest.mark.parametrize("act", ["tanh", *RECTIFIERS])
def test_he_init_keeps_tanh_and_rectifiers_within_a_small_factor(profiles, act):
    for seed in SEEDS:
        assert 0.1 < profiles["he", act, seed].ratio_first_to_last() < 10


def test_relu_default_init_vanishes_while_he_does_not(profiles):
    for seed in SEEDS:
        assert profiles["default", "relu", seed].ratio_first_to_last() < 1e-3
        assert profiles["he", "relu", seed].ratio_first_to_last() > 0.1


def test_sigmoid_vanishes_without_saturating(profiles):
    for seed in SEEDS:
        prof = profiles["he", "sigmoid", seed]
        assert max(prof.saturated) < 0.05
        assert max(prof.activation_std) < 0.3  # clustered around 1/2
        assert prof.ratio_first_to_last() < 1e-6


def test_tanh_outputs_stay_spread_under_he(profiles):
    for seed in SEEDS:
        assert min(profiles["he", "tanh", seed].activation_std) > 0.45


def test_relu_loses_whole_units_leaky_and_prelu_do_not(profiles):
    for seed in SEEDS:
        assert profiles["he", "relu", seed].dead[-1] > 0.1
        for act in ("leaky_relu", "prelu"):
            assert max(profiles["he", act, seed].dead) == 0.0


# -- training under one budget ----------------------------------------------------------------
BUDGET = {"steps": 1000, "lr": 0.05, "batch_size": 64, "optimizer": "sgd"}


@pytest.fixture(scope="module")
def trained():
    data = load_digits(seed=0)
    out = {}
    for act in ALL:
        for seed in (0, 1):
            torch.manual_seed(seed)
            net = MLP(64, 10, depth=20, width=64, activation=act, init="he")
            rec = TrainingRecorder(net, every=100)
            out[act, seed] = (
                train(net, data, seed=seed, callbacks=[rec], device="cpu", **BUDGET),
                rec,
            )
            rec.remove()
    return out


@pytest.mark.slow
def test_sigmoid_stays_at_chance_others_train(trained):
    for seed in (0, 1):
        assert trained["sigmoid", seed][0].final_test_accuracy < 0.2
        for act in ("tanh", *RECTIFIERS):
            assert trained[act, seed][0].final_test_accuracy > 0.85


@pytest.mark.slow
def test_some_relu_units_stay_dead_through_training(trained):
    for seed in (0, 1):
        dead = trained["relu", seed][1].dead
        assert sum(v[-1] for v in dead.values()) / len(dead) > 0.01
        for act in ("leaky_relu", "prelu"):
            assert all(v[-1] == 0.0 for v in trained[act, seed][1].dead.values())


def test_he_weights_do_not_lift_the_sigmoid_factor_to_one():
    factors = torch.cat([backprop_factors(20, 64, "sigmoid", init="he", seed=s) for s in SEEDS])
    assert float(factors.max()) < 1.0
