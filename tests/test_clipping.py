"""Unit tests of vgexamples.clipping."""

from __future__ import annotations

import dataclasses
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from vgexamples.clipping import (
    clip_gradient,
    clipping_sweep,
    cosine_similarity,
    dead_unit_fraction,
    plot_clipping_sweep,
    summarize_sweep,
    sweep_table,
)
from vgexamples.data import make_split
from vgexamples.models import MLP


def test_clip_gradient_both_kinds():
    g = torch.tensor([3.0, -4.0, 0.5])
    v = clip_gradient(g, "value", 1.0)
    assert torch.equal(v, torch.tensor([1.0, -1.0, 0.5]))
    n = clip_gradient(g, "norm", 1.0)
    assert float(n.norm()) == pytest.approx(1.0, rel=1e-5)
    assert torch.equal(g, torch.tensor([3.0, -4.0, 0.5]))  # input untouched
    assert torch.equal(clip_gradient(g, "norm", 100.0), g)
    with pytest.raises(ValueError, match="mode"):
        clip_gradient(g, "sign", 1.0)
    with pytest.raises(ValueError, match="threshold"):
        clip_gradient(g, "value", 0.0)


def test_cosine_similarity():
    a = torch.tensor([1.0, 0.0])
    assert cosine_similarity(a, 3 * a) == pytest.approx(1.0)
    assert cosine_similarity(a, torch.tensor([0.0, 2.0])) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same size"):
        cosine_similarity(a, torch.ones(3))
    with pytest.raises(ValueError, match="zero"):
        cosine_similarity(a, torch.zeros(2))


@pytest.fixture(scope="module")
def tiny_sweep():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(80, 4, generator=gen)
    y = (x[:, 0] > 0).long()
    data = make_split(x, y, seed=0)
    return clipping_sweep(
        lambda: MLP(4, 2, depth=2, width=8, init="he"),
        data,
        thresholds=[0.1, 1.0],
        seeds=[0, 1],
        fail_above=math.log(2),
        steps=5,
        lr=0.1,
        device="cpu",
    )


def test_sweep_and_summary(tiny_sweep):
    assert len(tiny_sweep) == 2 + 2 * 2 * 2
    s = summarize_sweep(tiny_sweep)
    assert set(s) == {"none", "value", "norm"}
    assert list(s["norm"]["threshold"]) == [0.1, 1.0]
    assert all(n == 2 for n in s["value"]["n"])
    fig, axes = plt.subplots(1, 2)
    plot_clipping_sweep(*axes, tiny_sweep, value_scale=2.0)
    # per kind: a failed and a non-finite line, plus the unclipped reference line
    assert len(axes[0].get_lines()) == 2 * 2 + 1
    value_line = axes[0].get_lines()[0]
    assert list(value_line.get_xdata()) == pytest.approx([0.2, 2.0])  # thresholds x value_scale
    assert list(value_line.get_ydata()) == list(s["value"]["failed"])
    assert axes[0].get_xscale() == "log" and axes[1].get_xscale() == "log"
    plt.close(fig)


def test_sweep_bad_arguments():
    with pytest.raises(TypeError, match="build_model"):
        clipping_sweep(3, None, thresholds=[1.0])
    with pytest.raises(ValueError, match="thresholds"):
        clipping_sweep(lambda: None, None, thresholds=[-1.0])
    with pytest.raises(ValueError, match="seed is set by"):
        clipping_sweep(lambda: None, None, thresholds=[1.0], seed=3)
    with pytest.raises(ValueError, match="runs"):
        summarize_sweep([])


def test_sweep_table_one_line_per_setting(tiny_sweep):
    lines = sweep_table(tiny_sweep, loss_name="MSE")
    assert len(lines) == 1 + 2 * 2  # unclipped, then each kind at each threshold
    assert lines[0].startswith("no clipping")
    s = summarize_sweep(tiny_sweep)
    assert lines[1] == (
        f"value c=   1e-01: non-finite {s['value']['diverged'][0]:4.0%}, failed "
        f"{s['value']['failed'][0]:4.0%}, median final MSE {s['value']['median_loss'][0]:.4g}"
    )
    diverged = [
        dataclasses.replace(r, diverged=True, stop_step=3, final_loss=math.nan, failed=True)
        for r in tiny_sweep
    ]
    assert all(line.endswith("- (every run diverged)") for line in sweep_table(diverged))


def test_sweep_counts_clipped_steps_and_dead_units(tiny_sweep):
    none = [r for r in tiny_sweep if r.mode == "none"]
    assert all(math.isnan(r.clipped_share) for r in none)
    for r in tiny_sweep:
        assert 0.0 <= r.dead_fraction <= 1.0
        if r.mode != "none":
            assert 0.0 <= r.clipped_share <= 1.0
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(40, 4, generator=gen)
    data = make_split(x, (x[:, 0] > 0).long(), seed=0)
    runs = clipping_sweep(
        lambda: MLP(4, 2, depth=2, width=8, init="he"),
        data,
        thresholds=[1e-9, 1e9],
        seeds=[0],
        include_unclipped=False,
        steps=4,
        lr=0.1,
        device="cpu",
    )
    share = {(r.mode, r.threshold): r.clipped_share for r in runs}
    assert share["value", 1e-9] == share["norm", 1e-9] == 1.0  # every step clipped
    assert share["value", 1e9] == share["norm", 1e9] == 0.0  # none


def test_dead_unit_fraction():
    net = MLP(3, 2, depth=2, width=4, activation="relu", init="he")
    with torch.no_grad():
        first = net.linears[0]
        first.weight[:2] = 0.0
        first.bias[:2] = -1.0  # two of the four first-layer units output 0 for every input
        first.bias[2:] = 10.0
        first.weight[2:] = 0.0  # the other two output 10: alive
    x = torch.randn(16, 3)
    frac = dead_unit_fraction(net, x)
    second_layer_dead = float((net.blocks[1](net.blocks[0](x)) == 0).all(dim=0).float().mean())
    assert frac == pytest.approx((2 + 4 * second_layer_dead) / 8)
    assert net.training  # left in the mode it was in
    assert math.isnan(dead_unit_fraction(nn.Sequential(nn.Linear(3, 2)), x))
    with pytest.raises(TypeError, match="model"):
        dead_unit_fraction("net", x)
