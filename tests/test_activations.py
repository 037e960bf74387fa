import pytest
import torch

from vgexamples.activations import (
    ACTIVATION_TYPES,
    ACTIVATIONS,
    SATURATION_FRACTION,
    activation_and_derivative,
    make_activation,
    max_derivative,
    saturation_edge,
)


def test_make_activation_covers_every_name():
    for name in ACTIVATIONS:
        module = make_activation(name)
        assert isinstance(module, torch.nn.Module)
        assert name == "identity" or isinstance(module, ACTIVATION_TYPES)
    assert make_activation("prelu").weight.item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match=r"activation must be one of 'sigmoid'"):
        make_activation("swish")


def test_activation_derivatives_by_autograd():
    x, y, dy = activation_and_derivative("sigmoid", torch.tensor([0.0, 2.0]))
    s = torch.sigmoid(x)
    assert torch.allclose(dy, s * (1 - s))
    _, _, dtanh = activation_and_derivative("tanh", torch.tensor([0.5]))
    assert float(dtanh) == pytest.approx(1 - torch.tanh(torch.tensor(0.5)).item() ** 2)
    assert max_derivative("sigmoid") == pytest.approx((0.0, 0.25), abs=1e-9)
    assert max_derivative("tanh") == pytest.approx((0.0, 1.0), abs=1e-9)
    with pytest.raises(ValueError, match="activation"):
        max_derivative("swish")


def test_saturation_edge_matches_the_closed_form():
    # tanh'(x) = 1 - tanh(x)^2 = 0.1  <=>  x = artanh(sqrt(0.9))
    expected = torch.atanh(torch.tensor(0.9, dtype=torch.float64).sqrt()).item()
    assert SATURATION_FRACTION == 0.1
    assert saturation_edge("tanh") == pytest.approx(expected, abs=1e-3)
    # sigmoid'(x) = s(1 - s) = 0.025 at the edge
    s = torch.sigmoid(torch.tensor(saturation_edge("sigmoid"), dtype=torch.float64))
    assert float(s * (1 - s)) == pytest.approx(0.1 * 0.25, rel=1e-3)
    with pytest.raises(ValueError, match="does not saturate"):
        saturation_edge("relu")
