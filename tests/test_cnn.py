import pytest
import torch

from vgexamples.cnn import BilinearCNN, DeepCNN, SmallCNN, conv_block, separable_conv
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
