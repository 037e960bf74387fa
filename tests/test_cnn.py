import pytest
import torch

from vgexamples.cnn import (
    BilinearCNN,
    DeepCNN,
    LocallyConnected2d,
    SmallCNN,
    conv_block,
    separable_conv,
)
from vgexamples.compression import count_macs
from vgexamples.models import count_parameters


def test_separable_conv_parameters():
    sep = separable_conv(16, 32)
    assert count_parameters(sep) == 16 * 9 + 16 + 16 * 32 + 32
    assert sep(torch.zeros(2, 16, 8, 8)).shape == (2, 32, 8, 8)
    assert isinstance(conv_block(3, 4, activation="tanh")[1], torch.nn.Tanh)


def test_small_cnn_shapes():
    x = torch.zeros(5, 1, 8, 8)
    assert SmallCNN()(x).shape == (5, 10)
    assert SmallCNN(separable=True)(x).shape == (5, 10)
    assert count_parameters(SmallCNN(separable=True)) < count_parameters(SmallCNN())
    assert SmallCNN(1, 6, channels=(4,), n_pool=0)(torch.zeros(2, 1, 16, 16)).shape == (2, 6)
    with pytest.raises(ValueError, match="channels"):
        SmallCNN(channels=())
    with pytest.raises(ValueError, match="activation"):
        SmallCNN(activation="swish")


def test_deep_cnn():
    net = DeepCNN(depth=4, channels=8, activation="sigmoid", init="xavier")
    assert len([m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]) == 4
    assert net(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    with pytest.raises(ValueError, match="init"):
        DeepCNN(init="orthogonal")


def test_bilinear_cnn():
    net = BilinearCNN(1, 6, channels_a=(4, 5), channels_b=(3,))
    x = torch.randn(2, 1, 16, 16)
    z = net.descriptor(x)
    assert z.shape == (2, 15)
    assert torch.allclose(z.norm(dim=1), torch.ones(2), atol=1e-5)
    assert net(x).shape == (2, 6)
    # outer-product multiply-adds are counted on top of the convolutions
    convs = sum(
        256 * m.out_channels * m.in_channels * 9
        for m in net.modules()
        if isinstance(m, torch.nn.Conv2d)
    )
    assert count_macs(net, (1, 16, 16)) == convs + 15 * 6 + 5 * 3 * 256
    with pytest.raises(ValueError, match="channels_a"):
        BilinearCNN(channels_a=())


def test_locally_connected_matches_a_conv_with_copied_filters():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1)
    layer = LocallyConnected2d.from_conv(conv, (6, 7))
    x = torch.randn(4, 3, 6, 7)
    assert torch.allclose(layer(x), conv(x), atol=1e-5)
    # untied: changing one position's filter changes that output position only
    with torch.no_grad():
        layer.weight[0].add_(1.0)
    diff = (layer(x) - conv(x)).abs().sum(dim=(0, 1))
    assert diff[0, 0] > 0
    assert diff.flatten()[1:].max() < 1e-4
    valid = LocallyConnected2d(2, 3, 3, (8, 8))  # no padding: 6x6 output
    assert valid(torch.zeros(1, 2, 8, 8)).shape == (1, 3, 6, 6)
    assert tuple(valid.weight.shape) == (36, 3, 18)


@pytest.mark.parametrize("init", ["default", "xavier", "he"])
def test_locally_connected_init_matches_the_conv(init):
    torch.manual_seed(0)
    layer = LocallyConnected2d(16, 16, 3, (8, 8), padding=1, init=init)
    conv = DeepCNN(depth=2, channels=16, init=init).blocks[1][0]
    ratio = float(layer.weight.detach().std() / conv.weight.detach().std())
    assert ratio == pytest.approx(1.0, abs=0.05)
    # positions are drawn independently, not copies
    assert not torch.equal(layer.weight[0], layer.weight[1])


def test_untied_deep_cnn():
    torch.manual_seed(0)
    net = DeepCNN(depth=3, channels=4, activation="tanh", init="xavier", shared=False)
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    kinds = [type(m).__name__ for m in net.layers().values()]
    assert kinds == ["LocallyConnected2d"] * 3 + ["Linear"]
    assert list(DeepCNN(depth=2, channels=4).layers()) == ["blocks.0.0", "blocks.1.0", "head"]


def test_locally_connected_bad_input():
    with pytest.raises(TypeError, match="input_size"):
        LocallyConnected2d(1, 2, 3, 8)
    with pytest.raises(ValueError, match="kernel_size"):
        LocallyConnected2d(1, 2, 5, (3, 3))
    with pytest.raises(ValueError, match="init"):
        LocallyConnected2d(1, 2, 3, (8, 8), init="orthogonal")
    with pytest.raises(ValueError, match="init"):
        DeepCNN(shared=False, init="normal")
    with pytest.raises(TypeError, match="shared"):
        DeepCNN(shared="no")
    with pytest.raises(ValueError, match="built for"):
        LocallyConnected2d(1, 2, 3, (8, 8), padding=1)(torch.zeros(1, 1, 6, 6))
    with pytest.raises(ValueError, match="stride"):
        LocallyConnected2d.from_conv(torch.nn.Conv2d(1, 2, 3, stride=2), (8, 8))
