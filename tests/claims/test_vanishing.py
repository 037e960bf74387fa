"""Claims of the vanishing-gradients chapter (docs/chapters/vanishing.md, gallery/vanishing/).

Each test calls the experiment the page and the example use, at their budget, and asserts the
statement with a margin over every seed.
"""

from fractions import Fraction

import pytest
import torch

from vgexamples.activations import max_derivative, saturation_edge
from vgexamples.diagnostics import FLOAT32_EPS
from vgexamples.experiments import activation_training, gradients_at_init
from vgexamples.propagation import factor_stats, running_product

RECTIFIERS = ("relu", "leaky_relu", "prelu")


# -- the derivative argument ----------------------------------------------------------------
def test_sigmoid_derivative_peaks_at_a_quarter_and_tanh_at_one():
    assert max_derivative("sigmoid") == pytest.approx((0.0, 0.25), abs=1e-9)
    assert max_derivative("tanh") == pytest.approx((0.0, 1.0), abs=1e-9)
    for name in RECTIFIERS:
        assert max_derivative(name)[1] == pytest.approx(1.0)


def test_tanh_goes_flat_sooner_than_the_sigmoid():
    assert saturation_edge("tanh") < saturation_edge("sigmoid") / 1.5


def test_product_of_fractions_is_exact():
    prod = running_product(
        [Fraction(1, 4), Fraction(1, 3), Fraction(1, 4), Fraction(1, 3), Fraction(1, 4)]
    )
    assert prod[:3] == [Fraction(1, 4), Fraction(1, 12), Fraction(1, 48)]
    assert prod[-1] == Fraction(1, 576)


def test_backprop_factors_below_one_for_sigmoid_default_init():
    median, largest = factor_stats("sigmoid")
    assert largest < 1.0  # the "fraction" premise holds in this setting
    assert median < 0.5


def test_backprop_factors_near_one_for_relu_he_and_above_one_for_larger_weights():
    assert 0.8 < factor_stats("relu", init="he")[0] < 1.25
    assert factor_stats("relu", init="he", weight_scale=1.5)[0] > 1.25  # the product grows


def test_sigmoid_resists_larger_weights_through_saturation():
    base, x8, x24 = (factor_stats("sigmoid", weight_scale=s)[0] for s in (1.0, 8.0, 24.0))
    assert base < x8 < 1.0 < x24


def test_he_weights_do_not_lift_the_sigmoid_factor_to_one():
    assert factor_stats("sigmoid", init="he")[1] < 1.0


# -- per-layer gradients at initialization --------------------------------------------------
@pytest.mark.parametrize("init", gradients_at_init.INITS)
def test_sigmoid_first_layer_gradient_is_a_millionth_of_the_last(at_init, init):
    assert max(at_init.ratios(init, "sigmoid")) < 1e-6


@pytest.mark.parametrize("act", gradients_at_init.ACTIVATIONS)
def test_default_init_vanishes_for_every_activation(at_init, act):
    assert max(at_init.ratios("default", act)) < 1e-2


@pytest.mark.parametrize("init", ["xavier", "he"])
@pytest.mark.parametrize("act", ["tanh", *RECTIFIERS])
def test_xavier_and_he_keep_tanh_and_rectifiers_within_a_small_factor(at_init, act, init):
    for ratio in at_init.ratios(init, act):
        assert 0.1 < ratio < 10


# -- the forward signal at initialization -----------------------------------------------------
@pytest.mark.parametrize("init", gradients_at_init.INITS)
def test_sigmoid_last_hidden_layer_is_input_independent(at_init, init):
    """Every image gives the same last hidden vector, to float32 rounding, on every seed."""
    for spread in at_init.last_spreads(init, "sigmoid"):
        assert spread < FLOAT32_EPS
    # the collapse is gradual: the first hidden layer still tells the images apart
    for seed in at_init.seeds:
        assert at_init.spread(init, "sigmoid", seed)[0] > 0.1


def test_sigmoid_last_hidden_vector_is_literally_the_same_for_every_image(at_init):
    """He init: outputs differ by at most a few float32 steps; default init: exactly equal on
    some seed (as the example says)."""
    a = at_init.profile("he", "sigmoid").activations
    last = list(a.values())[-1]
    ulp = torch.finfo(torch.float32).eps * float(last.abs().max())
    assert float((last - last[0]).abs().max()) <= 4 * ulp
    assert min(at_init.last_spreads("default", "sigmoid")) == 0.0


@pytest.mark.parametrize("init", ["xavier", "he"])
@pytest.mark.parametrize("act", ["tanh", *RECTIFIERS])
def test_control_networks_keep_the_images_apart(at_init, act, init):
    """The control: where the signal survives, the spread is far above the rounding floor, so
    the sigmoid test above would fail on a network that had not collapsed."""
    for spread in at_init.last_spreads(init, act):
        assert spread > 0.1


@pytest.mark.parametrize("act", gradients_at_init.ACTIVATIONS)
def test_default_init_fades_the_forward_signal_for_every_activation(at_init, act):
    assert max(at_init.last_spreads("default", act)) < 1e-3


def test_median_layer_is_unsaturated_for_sigmoid_and_tanh(at_init):
    for seed in at_init.seeds:
        for init in gradients_at_init.INITS:
            assert at_init.median_saturated(init, "sigmoid", seed) < 0.05
        assert at_init.median_saturated("he", "tanh", seed) < 0.05
        # the largest layer's fraction is several times the median: reporting it would mislead
        assert max(at_init.profile("he", "tanh", seed).saturated) > 3 * at_init.median_saturated(
            "he", "tanh", seed
        )


def test_relu_default_init_vanishes_while_he_does_not(at_init):
    assert max(at_init.ratios("default", "relu")) < 1e-3
    assert min(at_init.ratios("he", "relu")) > 0.1


def test_sigmoid_vanishes_without_saturating(at_init):
    for seed in at_init.seeds:
        prof = at_init.profile("he", "sigmoid", seed)
        assert max(prof.saturated) < 0.05
        assert max(prof.activation_std) < 0.3  # clustered around 1/2
        assert prof.ratio_first_to_last() < 1e-6


def test_tanh_outputs_stay_spread_under_he(at_init):
    for seed in at_init.seeds:
        assert min(at_init.profile("he", "tanh", seed).activation_std) > 0.45


def test_relu_loses_whole_units_leaky_and_prelu_do_not(at_init):
    for seed in at_init.seeds:
        assert at_init.profile("he", "relu", seed).dead[-1] > 0.1
        for act in ("leaky_relu", "prelu"):
            assert max(at_init.profile("he", act, seed).dead) == 0.0


def test_the_summary_is_what_the_pages_read(at_init):
    summary = at_init.summary()
    assert summary["sigmoid_he_ratio"] == at_init.ratio("he", "sigmoid")
    assert summary["ratios"]["he"]["relu"] == at_init.ratios("he", "relu")
    assert len(summary["weight_grad_norm"]["he"]["tanh"]) == at_init.depth + 1
    assert len(summary["spread"]["xavier"]["sigmoid"]) == at_init.depth
    assert summary["sigmoid_default_last_spread"] == at_init.last_spreads("default", "sigmoid")[0]
    assert summary["last_spreads"]["he"]["relu"] == at_init.last_spreads("he", "relu")
    assert summary["tanh_he_median_saturated"] == at_init.median_saturated("he", "tanh")
    assert summary["float32_eps"] == FLOAT32_EPS
    for key in ("sigmoid_xavier_ratio", "tanh_default_ratio", "relu_he_zero_fraction"):
        assert key in summary


# -- training under one budget ----------------------------------------------------------------
#: The page's budget, run on its seed and one more.
TWO_SEEDS = activation_training.BUDGET.replace(seeds=(0, 1))


@pytest.fixture(scope="module")
def trained():
    return activation_training.run(budget=TWO_SEEDS, device="cpu")


@pytest.mark.slow
def test_sigmoid_stays_at_chance_others_train(trained):
    for seed in TWO_SEEDS.seeds:
        assert trained.history("sigmoid", seed).final_test_accuracy < 0.2
        for act in ("tanh", *RECTIFIERS):
            assert trained.history(act, seed).final_test_accuracy > 0.85


@pytest.mark.slow
def test_sigmoid_lacks_both_signals_before_and_after_training(trained):
    for seed in TWO_SEEDS.seeds:
        for when in ("initial", "final"):
            assert trained.last_spread("sigmoid", when, seed) < FLOAT32_EPS
            assert trained.profile("sigmoid", when, seed).ratio_first_to_last() < 1e-6
            for act in ("tanh", *RECTIFIERS):
                assert trained.last_spread(act, when, seed) > 0.1


@pytest.mark.slow
def test_some_relu_units_stay_dead_through_training(trained):
    for seed in TWO_SEEDS.seeds:
        assert trained.final_fraction("relu", "dead", seed) > 0.01
        for act in ("leaky_relu", "prelu"):
            assert trained.final_fraction(act, "dead", seed) == 0.0
