from fractions import Fraction

import matplotlib.pyplot as plt
import pytest
import torch

from vgexamples.plotting import (
    PALETTE,
    plot_histograms,
    plot_layer_values,
    plot_training_curves,
    use_style,
)
from vgexamples.theory import (
    activation_and_derivative,
    backprop_factors,
    max_derivative,
    running_product,
)
from vgexamples.train import History


def test_use_style_sets_palette():
    use_style()
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"][0] == PALETTE[0]


def test_plot_layer_values_log_drops_nonpositive():
    fig, ax = plt.subplots()
    plot_layer_values(ax, {"a": [1.0, 0.1, 0.0], "b": torch.tensor([2.0, 3.0])}, ylabel="g")
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines[0].get_xdata()) == 2  # the zero is not drawn on a log axis
    with pytest.raises(ValueError, match="series"):
        plot_layer_values(ax, {}, ylabel="g")


def test_plot_histograms_caps_lines():
    fig, ax = plt.subplots()
    tensors = {f"l{i}": torch.randn(100) for i in range(20)}
    plot_histograms(ax, tensors, max_lines=5)
    assert len(ax.get_lines()) == 5
    with pytest.raises(ValueError, match="bins"):
        plot_histograms(ax, tensors, bins=1)


def test_plot_training_curves_metrics_and_divergence_marker():
    ok = History(loss=[3.0, 2.0, 1.0], eval_step=[3], test_accuracy=[0.5])
    bad = History(loss=[1.0, 5.0], stop_reason="stopped at step 3: non-finite")
    fig, ax = plt.subplots()
    plot_training_curves(ax, {"ok": ok, "bad": bad})
    assert len(ax.get_lines()) == 3  # two curves + the divergence marker
    fig, ax = plt.subplots()
    plot_training_curves(ax, {"ok": ok}, metric="test_accuracy")
    assert list(ax.get_lines()[0].get_ydata()) == [0.5]
    with pytest.raises(ValueError, match="metric"):
        plot_training_curves(ax, {"ok": ok}, metric="f1")


def test_activation_derivatives_by_autograd():
    x, y, dy = activation_and_derivative("sigmoid", torch.tensor([0.0, 2.0]))
    s = torch.sigmoid(x)
    assert torch.allclose(dy, s * (1 - s))
    assert max_derivative("sigmoid") == pytest.approx((0.0, 0.25), abs=1e-9)
    assert max_derivative("tanh") == pytest.approx((0.0, 1.0), abs=1e-9)
    with pytest.raises(ValueError, match="activation"):
        max_derivative("swish")


def test_running_product_exact():
    assert running_product([Fraction(1, 4), Fraction(1, 3), Fraction(1, 4)]) == [
        Fraction(1, 4),
        Fraction(1, 12),
        Fraction(1, 48),
    ]
    with pytest.raises(ValueError, match="factors"):
        running_product([])


def test_backprop_factors_shape_and_bounds():
    f = backprop_factors(6, 16, "sigmoid")
    assert f.shape == (5,)  # depth - 1 ratios between consecutive hidden layers
    assert bool((f > 0).all())
    with pytest.raises(ValueError, match="depth"):
        backprop_factors(1, 16)
    with pytest.raises(ValueError, match="weight_scale"):
        backprop_factors(4, 16, weight_scale=0)
