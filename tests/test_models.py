import pytest
import torch
from torch import nn

from vgexamples.activations import ACTIVATIONS, make_activation
from vgexamples.compression import prune_magnitude
from vgexamples.data import load_digits
from vgexamples.models import MLP, count_parameters, init_weights, seeded_mlp


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_forward_every_activation(activation):
    net = MLP(64, 10, depth=3, width=16, activation=activation)
    out = net(torch.randn(5, 64))
    assert out.shape == (5, 10)
    assert len(net.linears) == 4
    assert len(net.activations) == 3


def test_mlp_flattens_images_and_counts_parameters():
    net = MLP(64, 10, depth=2, width=8)
    assert net(torch.randn(4, 1, 8, 8)).shape == (4, 10)
    assert count_parameters(net) == 64 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10


@pytest.mark.parametrize(
    ("init", "expected_var"),
    [("xavier", 2 / (256 + 256)), ("he", 2 / 256), ("normal", 0.3**2)],
)
def test_init_variances(init, expected_var):
    torch.manual_seed(0)
    net = MLP(256, 256, depth=4, width=256, init=init, init_std=0.3 if init == "normal" else None)
    w = torch.cat([lin.weight.flatten() for lin in net.linears])
    assert float(w.detach().var()) == pytest.approx(expected_var, rel=0.03)
    assert all(float(lin.bias.detach().abs().max()) == 0 for lin in net.linears)


def test_default_init_is_pytorch_uniform():
    torch.manual_seed(0)
    net = MLP(100, 10, depth=1, width=100)
    bound = 1 / 100**0.5
    assert float(net.linears[0].weight.detach().abs().max()) <= bound


def test_norm_positions_and_residual():
    before = MLP(8, 2, depth=2, width=8, activation="tanh", norm="batch", norm_position="before")
    after = MLP(8, 2, depth=2, width=8, activation="tanh", norm="batch", norm_position="after")
    assert isinstance(before.blocks[0][1], nn.BatchNorm1d)
    assert isinstance(after.blocks[0][2], nn.BatchNorm1d)
    layer = MLP(8, 2, depth=2, width=8, norm="layer")
    assert isinstance(layer.blocks[1][1], nn.LayerNorm)
    res = MLP(8, 2, depth=3, width=8, activation="relu", residual=True)
    plain = MLP(8, 2, depth=3, width=8, activation="relu")
    plain.load_state_dict(res.state_dict())
    x = torch.randn(4, 8)
    assert not torch.allclose(res(x), plain(x))
    assert "residual=True" in repr(res)


def test_branch_scale_starts_each_residual_branch_at_the_given_multiple():
    torch.manual_seed(0)
    full = MLP(8, 2, depth=4, width=8, activation="relu", residual=True)
    x = torch.randn(16, 8)
    # zero: every residual block starts as the identity, the net as block 1 -> head
    zero = MLP(8, 2, depth=4, width=8, activation="relu", residual=True, branch_scale=0.0)
    zero.load_state_dict(full.state_dict() | {"branch_scales": zero.branch_scales.detach()})
    first = full.blocks[0](x)
    assert torch.allclose(zero(x), full.head(first))
    # one: the same function as plain skips
    one = MLP(8, 2, depth=4, width=8, activation="relu", residual=True, branch_scale=1.0)
    one.load_state_dict(full.state_dict() | {"branch_scales": one.branch_scales.detach()})
    assert torch.allclose(one(x), full(x))
    # the multipliers are learned: a zero start still gets a gradient
    loss = zero(x).pow(2).sum()
    loss.backward()
    assert zero.branch_scales.shape == (3,)
    assert zero.branch_scales.grad is not None and zero.branch_scales.grad.abs().sum() > 0
    assert "branch_scale=0" in repr(zero)
    assert "branch_scales" not in full.state_dict()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"branch_scale": 0.5}, ValueError, "branch_scale needs residual=True"),
        ({"residual": True, "branch_scale": -1.0}, ValueError, "branch_scale must be a finite"),
        ({"residual": True, "branch_scale": float("nan")}, ValueError, "branch_scale must be"),
        ({"residual": True, "branch_scale": "small"}, TypeError, "branch_scale must be a number"),
    ],
)
def test_branch_scale_is_validated(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(8, 2, depth=3, width=8, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"depth": 0}, "depth"),
        ({"width": 0}, "width"),
        ({"activation": "swish"}, "activation"),
        ({"init": "lecun"}, "init"),
        ({"norm": "group"}, "norm"),
        ({"norm_position": "middle"}, "norm_position"),
        ({"init": "normal"}, "std"),
        ({"init": "normal", "init_std": -1.0}, "std"),
        ({"init": "he", "init_std": 0.1}, "std"),
    ],
)
def test_mlp_bad_arguments_name_the_parameter(kwargs, param):
    args = {"depth": 2, "width": 4} | kwargs
    with pytest.raises(ValueError, match=param):
        MLP(4, 2, **args)


def test_error_lists_allowed_values():
    with pytest.raises(ValueError, match="'sigmoid', 'tanh', 'relu'"):
        make_activation("swish")
    with pytest.raises(ValueError, match="'default', 'normal', 'xavier', 'he'"):
        init_weights(nn.Linear(2, 2), "orthogonal")


def test_init_weights_reaches_conv_layers():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(8, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3))
    init_weights(conv, "normal", std=0.5)
    for layer in (conv[0], conv[2]):
        assert float(layer.weight.detach().std()) == pytest.approx(0.5, rel=0.05)
        assert float(layer.bias.detach().abs().sum()) == 0.0
    init_weights(conv, "he")
    fan_in = 32 * 3 * 3  # He's variance uses the convolution's fan-in, not its channels
    assert float(conv[2].weight.detach().var()) == pytest.approx(2 / fan_in, rel=0.05)


def test_gain_multiplies_every_linear_layer():
    torch.manual_seed(0)
    base = MLP(5, 2, depth=2, width=4, init="he")
    torch.manual_seed(0)
    scaled = MLP(5, 2, depth=2, width=4, init="he", gain=3.0)
    for a, b in zip(base.linears, scaled.linears, strict=True):
        assert torch.allclose(3 * a.weight, b.weight)
        assert torch.equal(a.bias, b.bias)
    with pytest.raises(ValueError, match="gain"):
        MLP(5, 2, depth=2, width=4, gain=0.0)


def test_seeded_mlp_is_reproducible_and_sized():
    data = load_digits(seed=0)
    a = seeded_mlp(data, 3, depth=2, width=8, activation="tanh", device="cpu")
    b = seeded_mlp(data, 3, depth=2, width=8, activation="tanh", device="cpu")
    c = seeded_mlp(data, 4, depth=2, width=8, activation="tanh", device="cpu")
    assert a.linears[0].in_features == 64 and a.head.out_features == 10
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.linears[0].weight, c.linears[0].weight)
    with pytest.raises(TypeError, match="data"):
        seeded_mlp((1, 2), 0, depth=1, width=2)
    with pytest.raises(ValueError, match="seed"):
        seeded_mlp(data, -1, depth=1, width=2)
    with pytest.raises(ValueError, match="device"):
        seeded_mlp(data, 0, depth=1, width=2, device="gpu")


def test_count_parameters_sees_pruning_masks():
    torch.manual_seed(0)
    net = MLP(64, 10, depth=2, width=16)
    n = 64 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    assert count_parameters(net) == n
    prune_magnitude(net, 0.5, scope="layer")
    assert count_parameters(net) == n  # the masked weights are still stored
    weights = 64 * 16 + 16 * 16 + 16 * 10
    assert count_parameters(net, nonzero=True) == n - weights // 2
    with pytest.raises(TypeError, match="model"):
        count_parameters("net")
