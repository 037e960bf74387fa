"""Small convolutional networks for 8x8 digits and small generated images.

* :class:`SmallCNN` -- a few 3x3 convolution blocks, either standard or depthwise-separable
  (Howard et al. 2017), then global average pooling and a linear classifier.
* :class:`DeepCNN` -- ``depth`` equal 3x3 convolution layers without pooling: the
  convolutional counterpart of :class:`vgexamples.models.MLP` for gradient measurements.
* :class:`BilinearCNN` -- two convolution streams combined by an outer product at every
  position, pooled over positions, signed square root and L2 normalization, then a linear
  classifier (Lin, RoyChowdhury & Maji 2015).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import check_choice, check_int
from .activations import ACTIVATIONS, make_activation
from .models import INITS, init_weights

__all__ = ["BilinearCNN", "DeepCNN", "SmallCNN", "conv_block", "separable_conv"]


def separable_conv(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """A depthwise 3x3 convolution (one filter per input channel, ``groups=in_channels``)
    followed by a pointwise 1x1 convolution that mixes channels.

    Weights: ``in*k*k + in*out`` instead of ``in*out*k*k`` for a standard convolution.
    """
    check_int("in_channels", in_channels)
    check_int("out_channels", out_channels)
    check_int("kernel_size", kernel_size)
    pad = kernel_size // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, kernel_size, padding=pad, groups=in_channels),
        nn.Conv2d(in_channels, out_channels, 1),
    )


def conv_block(
    in_channels: int, out_channels: int, *, separable: bool = False, activation: str = "relu"
) -> nn.Sequential:
    """``conv 3x3 (same padding) -> activation``; the convolution is a
    :func:`separable_conv` when ``separable`` is true."""
    check_int("in_channels", in_channels)
    check_int("out_channels", out_channels)
    conv = (
        separable_conv(in_channels, out_channels)
        if separable
        else nn.Conv2d(in_channels, out_channels, 3, padding=1)
    )
    return nn.Sequential(conv, make_activation(activation))


class SmallCNN(nn.Module):
    """Convolution blocks, 2x2 max-pooling after each of the first ``n_pool`` blocks, global
    average pooling and a linear classifier.

    Parameters
    ----------
    in_channels, n_classes
        Input channels and number of classes.
    channels
        Output channels of each convolution block, input side first.
    separable
        Make every block but the first a depthwise-separable convolution (the first layer
        sees one input channel, where a depthwise filter would be a single 3x3 kernel;
        MobileNets likewise keep a standard first layer).
    activation
        One of :data:`vgexamples.activations.ACTIVATIONS`.
    n_pool
        Number of blocks followed by 2x2 max-pooling (two turn 8x8 digits into 2x2 maps).

    Examples
    --------
    >>> net = SmallCNN(channels=(16, 32))
    >>> net(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 10])
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        channels: Sequence[int] = (16, 32),
        separable: bool = False,
        activation: str = "relu",
        n_pool: int = 2,
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("n_classes", n_classes)
        check_choice("activation", activation, ACTIVATIONS)
        check_int("n_pool", n_pool, minimum=0)
        channels = [check_int("channels[i]", int(c)) for c in channels]
        if not channels:
            raise ValueError("channels must list at least one block's output channels")
        layers: list[nn.Module] = []
        previous = in_channels
        for i, c in enumerate(channels):
            layers.append(
                conv_block(previous, c, separable=separable and i > 0, activation=activation)
            )
            if i < n_pool:
                layers.append(nn.MaxPool2d(2))
            previous = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class DeepCNN(nn.Module):
    """``depth`` 3x3 convolutions with ``channels`` channels each (same padding, no pooling),
    then global average pooling and a linear head.

    Parameters mirror :class:`vgexamples.models.MLP`: ``depth`` hidden layers, an activation
    and an initialization from :data:`vgexamples.models.INITS`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        depth: int = 10,
        channels: int = 16,
        activation: str = "relu",
        init: str = "default",
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("n_classes", n_classes)
        check_int("depth", depth)
        check_int("channels", channels)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("init", init, INITS)
        self.blocks = nn.Sequential(
            *[
                conv_block(in_channels if i == 0 else channels, channels, activation=activation)
                for i in range(depth)
            ]
        )
        self.head = nn.Linear(channels, n_classes)
        init_weights(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x).mean(dim=(2, 3)))


class BilinearCNN(nn.Module):
    """Two convolution streams whose features are multiplied pairwise at every position.

    For stream outputs :math:`A \\in \\mathbb R^{C_a \\times P}` and
    :math:`B \\in \\mathbb R^{C_b \\times P}` over :math:`P` positions, the image descriptor is
    :math:`z = A B^\\top / P` (the outer products averaged over positions, an orderless
    summary of which features co-occur *at the same place*), then
    :math:`z \\leftarrow \\mathrm{sign}(z)\\sqrt{|z|}`, :math:`z \\leftarrow z/\\|z\\|_2`, and a
    linear classifier on the :math:`C_a C_b` values.

    Parameters
    ----------
    in_channels, n_classes
        Input channels and number of classes.
    channels_a, channels_b
        Output channels of each convolution layer of the two streams (3x3, same padding,
        ReLU).
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        channels_a: Sequence[int] = (8, 8),
        channels_b: Sequence[int] = (8, 8),
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("n_classes", n_classes)
        self.stream_a = self._stream(in_channels, channels_a, "channels_a")
        self.stream_b = self._stream(in_channels, channels_b, "channels_b")
        self.n_a, self.n_b = int(channels_a[-1]), int(channels_b[-1])
        self.head = nn.Linear(self.n_a * self.n_b, n_classes)
        #: Multiply-accumulates of the outer products for one example (set by ``forward``);
        #: :func:`vgexamples.compression.count_macs` adds it to the layer count.
        self.extra_macs = 0

    @staticmethod
    def _stream(in_channels: int, channels: Sequence[int], name: str) -> nn.Sequential:
        channels = [int(c) for c in channels]
        if not channels or any(c < 1 for c in channels):
            raise ValueError(f"{name} must list positive channel counts; got {channels}")
        layers: list[nn.Module] = []
        previous = in_channels
        for c in channels:
            layers += [nn.Conv2d(previous, c, 3, padding=1), nn.ReLU()]
            previous = c
        return nn.Sequential(*layers)

    def streams(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two streams' feature maps, ``(N, C_a, H, W)`` and ``(N, C_b, H, W)``."""
        return self.stream_a(x), self.stream_b(x)

    def descriptor(self, x: torch.Tensor) -> torch.Tensor:
        """The normalized bilinear descriptor ``(N, C_a * C_b)`` fed to the classifier."""
        a, b = self.streams(x)
        n, _, h, w = a.shape
        self.extra_macs = self.n_a * self.n_b * h * w
        z = torch.einsum("nahw,nbhw->nab", a, b).reshape(n, -1) / (h * w)
        z = torch.sign(z) * torch.sqrt(z.abs() + 1e-10)
        return nn.functional.normalize(z, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.descriptor(x))
