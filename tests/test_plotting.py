import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from vgexamples.plotting import (
    MAX_FIGURE_WIDTH,
    PALETTE,
    histogram_edges,
    plot_histograms,
    plot_layer_values,
    plot_training_curves,
    use_style,
)
from vgexamples.train import History, Stop


def test_use_style_sets_palette():
    use_style()
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"][0] == PALETTE[0]


def test_plot_layer_values_marks_zeros_on_the_bottom_edge():
    fig, ax = plt.subplots()
    plot_layer_values(ax, {"a": [1.0, 0.1, 0.0], "b": torch.tensor([2.0, 3.0])}, ylabel="g")
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines[0].get_xdata()) == 2  # the zero has no place on the log axis's line...
    zero = lines[1]  # ...but is marked, in the same colour, at layer 3 on the bottom edge
    assert list(zero.get_xdata()) == [3] and zero.get_marker() == "v"
    assert zero.get_color() == lines[0].get_color()
    assert "exactly 0" in ax.get_legend_handles_labels()[1]
    fig, ax = plt.subplots()
    plot_layer_values(ax, {"b": [2.0, 3.0]}, ylabel="g")  # no zero: no marker, no legend entry
    assert "exactly 0" not in ax.get_legend_handles_labels()[1]
    with pytest.raises(ValueError, match="series"):
        plot_layer_values(ax, {}, ylabel="g")


def test_layer_axis_has_whole_number_ticks():
    fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH, 4))
    plot_layer_values(ax, {"a": [1.0, 2.0, 3.0, 4.0, 5.0]}, ylabel="g", log=False)
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 5]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_histogram_edges_follow_the_distinct_values():
    rng = np.random.default_rng(0)
    continuous = rng.normal(size=20_000)
    # 64 units, each giving the same value for 256 images: 64 values, not 16,384
    clumped = np.repeat(rng.uniform(0.2, 0.8, 64), 256)
    # a continuous sample: within 20% of Freedman-Diaconis's bins while it has few values, and (its
    # values counted at a thousandth of the range) at least 25 when it has many
    small = continuous[:500]
    fd = len(np.histogram_bin_edges(small, bins="fd")) - 1
    assert 0.8 * fd <= len(histogram_edges(small)) - 1 <= fd
    assert len(histogram_edges(continuous)) - 1 >= 25
    n_clumped = len(histogram_edges(clumped)) - 1
    assert 5 <= n_clumped <= 10
    # binning every value as independent would give the comb: far more bins than that
    assert len(np.histogram_bin_edges(clumped, bins="fd")) - 1 > 5 * n_clumped
    # the same units whose outputs differ from image to image in the last digits only (a deep
    # sigmoid layer): still 64 values to the eye, binned like the clumped sample
    jittered = clumped + rng.normal(scale=1e-7, size=clumped.size)
    assert len(histogram_edges(jittered)) - 1 == n_clumped
    assert len(histogram_edges(np.full(10, 0.5))) == 2  # a single value: one bin around it
    with pytest.raises(ValueError, match="finite"):
        histogram_edges([np.nan])


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
