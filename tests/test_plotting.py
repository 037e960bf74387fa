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
from vgexamples.train import History, Stop


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
    bad = History(loss=[1.0, 5.0], stop=Stop(3, "the training loss became non-finite (NaN)"))
    fig, ax = plt.subplots()
    plot_training_curves(ax, {"ok": ok, "bad": bad})
    assert len(ax.get_lines()) == 3  # two curves + the divergence marker
    fig, ax = plt.subplots()
    plot_training_curves(ax, {"ok": ok}, metric="test_accuracy")
    assert list(ax.get_lines()[0].get_ydata()) == [0.5]
    with pytest.raises(ValueError, match="metric"):
        plot_training_curves(ax, {"ok": ok}, metric="f1")
