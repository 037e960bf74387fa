"""Unit tests for vgexamples.propagation."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch

from vgexamples.diagnostics import gradient_profile
from vgexamples.models import MLP
from vgexamples.propagation import (
    backprop_factors,
    backward_gains,
    chain_bias_gradients,
    factor_stats,
    layer_gains,
    moment_factors,
    running_product,
    variance_profile,
    weight_variance,
)


def test_weight_variance_per_scheme():
    assert weight_variance("default", 30, 10) == pytest.approx(1 / 90)
    assert weight_variance("xavier", 30, 10) == pytest.approx(2 / 40)
    assert weight_variance("he", 30, 10) == pytest.approx(2 / 30)
    assert weight_variance("normal", 30, 10, std=0.1) == pytest.approx(0.01)


@pytest.mark.parametrize("init", ["xavier", "he"])
def test_weight_variance_matches_torch_init(init):
    torch.manual_seed(0)
    net = MLP(400, 10, depth=1, width=300, init=init)
    measured = float(net.linears[0].weight.detach().var())
    assert measured == pytest.approx(weight_variance(init, 400, 300), rel=0.02)


def test_weight_variance_bad_arguments():
    with pytest.raises(ValueError, match="init"):
        weight_variance("lecun", 3, 3)
    with pytest.raises(ValueError, match="std"):
        weight_variance("normal", 3, 3)
    with pytest.raises(ValueError, match="std is only used"):
        weight_variance("he", 3, 3, std=0.1)
    with pytest.raises(ValueError, match="fan_in"):
        weight_variance("he", 0, 3)


def test_moment_factors():
    assert moment_factors("relu", 3.0) == pytest.approx((0.5, 0.5), abs=1e-4)
    assert moment_factors("identity") == pytest.approx((1.0, 1.0), abs=1e-6)
    fwd, bwd = moment_factors("tanh", 1e-4)
    assert fwd == pytest.approx(1.0, abs=1e-3) and bwd == pytest.approx(1.0, abs=1e-3)
    fwd, bwd = moment_factors("tanh", 1.0)
    assert fwd < 0.5 and bwd < 0.5
    # Monte Carlo cross-check
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert fwd == pytest.approx(float(torch.tanh(z).pow(2).mean()), rel=0.01)


def test_moment_factors_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        moment_factors("swish")
    with pytest.raises(ValueError, match="var"):
        moment_factors("relu", 0.0)
    with pytest.raises(ValueError, match="n_points"):
        moment_factors("relu", 1.0, n_points=10)


def test_layer_gains():
    assert layer_gains("he", "relu", 64) == pytest.approx((1.0, 1.0), abs=1e-3)
    fwd, _ = layer_gains("normal", "identity", 100, std=0.2)
    assert fwd == pytest.approx(4.0, abs=1e-6)


def test_variance_profile_lengths_and_values():
    torch.manual_seed(0)
    net = MLP(8, 3, depth=4, width=16, activation="tanh")
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    vp = variance_profile(net, x, y)
    assert len(vp.preactivation_var) == 5 and len(vp.grad_var) == 5
    assert len(vp.activation_var) == 4
    with torch.no_grad():
        z1 = net.linears[0](x)
    assert vp.preactivation_var[0] == pytest.approx(float(z1.var()), rel=1e-5)
    assert vp.activation_var[0] == pytest.approx(float(torch.tanh(z1).var()), rel=1e-5)
    assert all(v > 0 and math.isfinite(v) for v in vp.grad_var)
    assert all(p.grad is None for p in net.parameters())
    assert not net.linears[0]._forward_hooks  # hooks removed


def test_variance_profile_relu_he_holds_and_xavier_halves():
    torch.manual_seed(0)
    x, y = torch.randn(256, 256), torch.randint(0, 10, (256,))
    he = variance_profile(MLP(256, 10, depth=10, width=256, activation="relu", init="he"), x, y)
    xa = variance_profile(MLP(256, 10, depth=10, width=256, activation="relu", init="xavier"), x, y)
    assert 0.3 < he.preactivation_var[9] / he.preactivation_var[0] < 3
    assert xa.preactivation_var[9] / xa.preactivation_var[0] == pytest.approx(2.0**-9, rel=0.5)


def test_variance_profile_bad_loss():
    with pytest.raises(ValueError, match="loss"):
        variance_profile(MLP(2, 2, depth=1, width=2), torch.randn(4, 2), torch.zeros(4), loss="l1")


def test_running_product_exact():
    assert running_product([Fraction(1, 4), Fraction(1, 3), Fraction(1, 4)]) == [
        Fraction(1, 4),
        Fraction(1, 12),
        Fraction(1, 48),
    ]
    with pytest.raises(ValueError, match="factors"):
        running_product([])


def test_backprop_factors_are_consecutive_gradient_ratios():
    f = backprop_factors(6, 16, "sigmoid", seed=3, weight_scale=2.0)
    assert f.shape == (5,)  # depth - 1 ratios between consecutive hidden layers
    # the same network and batch, measured by hand: ||dL/dz_l|| / ||dL/dz_{l+1}||
    torch.manual_seed(3)
    net = MLP(16, 1, depth=6, width=16, activation="sigmoid", gain=2.0)
    x = torch.randn(256, 16)
    g = gradient_profile(net, x, torch.zeros(256, 1), loss="mse").output_grad_norm[:-1]
    by_hand = [g[i] / g[i + 1] for i in range(5)][::-1]
    assert f.tolist() == pytest.approx(by_hand, rel=1e-5)
    with pytest.raises(ValueError, match="depth"):
        backprop_factors(1, 16)
    with pytest.raises(ValueError, match="weight_scale"):
        backprop_factors(4, 16, weight_scale=0)


def test_factor_stats_pools_the_seeds():
    pooled = torch.cat([backprop_factors(5, 8, "tanh", seed=s) for s in (0, 1)])
    median, largest = factor_stats("tanh", depth=5, width=8, seeds=(0, 1))
    assert median == pytest.approx(float(pooled.median()))
    assert largest == pytest.approx(float(pooled.max()))
    with pytest.raises(ValueError, match="seeds"):
        factor_stats("tanh", seeds=())


def test_chain_bias_gradients_follow_the_chain_rule():
    grads = chain_bias_gradients(4, weight=8.0)
    assert grads[-1] == pytest.approx(0.25)  # sigma'(0) of the last neuron
    for a, b in itertools.pairwise(grads):
        assert a / b == pytest.approx(8.0 / 4)
    with pytest.raises(ValueError, match="x"):
        chain_bias_gradients(3, x=float("nan"))


# -- backward_gains --------------------------------------------------------------------------
def test_backward_gains_of_a_linear_net_are_n_var_w():
    torch.manual_seed(0)
    net = MLP(8, 3, depth=4, width=16, activation="identity", init="he")
    g = backward_gains(net, torch.randn(64, 8))
    assert len(g.gain) == 3 and len(g.saturated) == 4
    assert g.derivative_moment == pytest.approx([1.0] * 3)
    expected = [16 * float(layer.weight.detach().double().var()) for layer in net.linears[1:-1]]
    assert g.gain == pytest.approx(expected)
    assert g.predicted_ratio() == pytest.approx(math.prod(expected))
    assert all(math.isnan(s) for s in g.saturated)  # the identity never saturates


def test_backward_gains_predict_the_measured_gradient_ratio():
    """Mean field: the product of the gains is the first/last ratio of the gradient variance."""
    torch.manual_seed(1)
    net = MLP(32, 10, depth=12, width=256, activation="tanh", init="he")
    x, y = torch.randn(512, 32), torch.randint(0, 10, (512,))
    g = backward_gains(net, x)
    vp = variance_profile(net, x, y)
    measured = vp.grad_var[0] / vp.grad_var[-2]
    assert 1 < g.mean_gain() < 2
    assert g.predicted_ratio() == pytest.approx(measured, rel=0.3)
    assert 0 <= min(g.saturated) and max(g.saturated) < 0.5


def test_backward_gains_rejects_bad_input():
    with pytest.raises(TypeError, match="model"):
        backward_gains(torch.nn.Linear(3, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match="plain MLP"):
        backward_gains(MLP(3, 2, depth=3, width=4, residual=True), torch.randn(4, 3))
    with pytest.raises(ValueError, match="plain MLP"):
        backward_gains(MLP(3, 2, depth=3, width=4, norm="batch"), torch.randn(4, 3))
    with pytest.raises(ValueError, match="depth"):
        backward_gains(MLP(3, 2, depth=1, width=4), torch.randn(4, 3))
    with pytest.raises(ValueError, match="x"):
        backward_gains(MLP(3, 2, depth=2, width=4), torch.full((4, 3), math.nan))
