"""Unit tests of vgexamples.clipping and vgexamples.exploding."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from vgexamples.clipping import (
    clip_gradient,
    clipping_sweep,
    cosine_similarity,
    plot_clipping_sweep,
    summarize_sweep,
)
from vgexamples.data import make_split
from vgexamples.exploding import chain_bias_gradients, exploding_mlp


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


def test_chain_and_exploding_mlp():
    grads = chain_bias_gradients(4, weight=8.0)
    assert grads == pytest.approx([8.0**3 / 4**4, 8.0**2 / 4**3, 8.0 / 4**2, 1 / 4])
    with pytest.raises(ValueError, match="depth"):
        chain_bias_gradients(0)
    torch.manual_seed(0)
    a = exploding_mlp(5, 2, depth=2, width=4, gain=1.0)
    torch.manual_seed(0)
    b = exploding_mlp(5, 2, depth=2, width=4, gain=3.0)
    assert torch.allclose(3 * a.linears[0].weight, b.linears[0].weight)
    with pytest.raises(ValueError, match="gain"):
        exploding_mlp(5, 2, gain=0.0)


@pytest.fixture(scope="module")
def tiny_sweep():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(80, 4, generator=gen)
    y = (x[:, 0] > 0).long()
    data = make_split(x, y, seed=0)
    return clipping_sweep(
        lambda: exploding_mlp(4, 2, depth=2, width=8, gain=1.0),
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
