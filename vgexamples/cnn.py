"""Small convolutional networks for 8x8 digits and small generated images.

* :class:`SmallCNN` -- a few 3x3 convolution blocks, either standard or depthwise-separable
  (Howard et al. 2017), then global average pooling and a linear classifier.
* :class:`DeepCNN` -- ``depth`` equal 3x3 convolution layers without pooling: the
  convolutional counterpart of :class:`vgexamples.models.MLP` for gradient measurements;
  with ``shared=False`` its *untied twin*, the same network built from
  :class:`LocallyConnected2d` layers.
* :class:`LocallyConnected2d` -- a convolution whose filter is not shared: the same receptive
  field, padding and channels, but a separate filter (and bias) at every output position.
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

__all__ = [
    "BilinearCNN",
    "DeepCNN",
    "LocallyConnected2d",
    "SmallCNN",
    "conv_block",
    "separable_conv",
]


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


class LocallyConnected2d(nn.Module):
    """A stride-1 convolution with *untied* weights: every output position has its own filter.

    The receptive field (``kernel_size`` x ``kernel_size``), the zero padding and the channel
    counts are those of ``nn.Conv2d(in_channels, out_channels, kernel_size,
    padding=padding)``; only the sharing differs. Output position ``l`` computes
    ``W_l @ patch_l + b_l`` where ``patch_l`` is the ``in_channels * k * k`` patch that
    ``torch.nn.functional.unfold`` extracts, so the layer holds as many filters as there are
    output positions.

    Parameters
    ----------
    in_channels, out_channels, kernel_size
        As for ``nn.Conv2d``.
    input_size
        ``(height, width)`` of the input maps (the number of filters depends on it).
    padding
        Zero padding on each side, >= 0 (``kernel_size // 2`` keeps the size for odd kernels).
    init
        One of :data:`vgexamples.models.INITS`; see :meth:`reset_parameters`.

    Attributes
    ----------
    weight
        ``(positions, out_channels, in_channels * k * k)``.
    bias
        ``(out_channels, positions)``.

    Examples
    --------
    >>> layer = LocallyConnected2d(1, 4, 3, (8, 8), padding=1)
    >>> layer(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 4, 8, 8])
    >>> tuple(layer.weight.shape)
    (64, 4, 9)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        input_size: tuple[int, int],
        padding: int = 0,
        init: str = "default",
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("out_channels", out_channels)
        check_int("kernel_size", kernel_size)
        check_int("padding", padding, minimum=0)
        check_choice("init", init, INITS)
        if not isinstance(input_size, (tuple, list)) or len(input_size) != 2:
            raise TypeError(f"input_size must be a (height, width) pair; got {input_size!r}")
        height, width = (check_int("input_size[i]", int(s)) for s in input_size)
        out_h, out_w = height + 2 * padding - kernel_size + 1, width + 2 * padding - kernel_size + 1
        if out_h < 1 or out_w < 1:
            raise ValueError(
                f"kernel_size {kernel_size} with padding {padding} does not fit input_size "
                f"{(height, width)}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.padding = kernel_size, padding
        self.input_size, self.output_size = (height, width), (out_h, out_w)
        positions, patch = out_h * out_w, in_channels * kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(positions, out_channels, patch))
        self.bias = nn.Parameter(torch.empty(out_channels, positions))
        self.reset_parameters(init)

    def _conv(self) -> nn.Conv2d:
        return nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size)

    def reset_parameters(self, init: str = "default") -> None:
        """Draw every position's filter and bias independently from the distribution that
        :func:`vgexamples.models.init_weights` gives the matching ``nn.Conv2d`` under
        ``init`` (PyTorch's default for ``"default"``): same fan-in, same fan-out, same law."""
        check_choice("init", init, INITS)
        if init == "normal":
            raise ValueError("init must be one of 'default', 'xavier', 'he' here; got 'normal'")
        with torch.no_grad():
            for position in range(self.weight.shape[0]):
                conv = self._conv()
                init_weights(conv, init)
                self.weight[position] = conv.weight.reshape(self.out_channels, -1)
                self.bias[:, position] = conv.bias

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, input_size: tuple[int, int]) -> LocallyConnected2d:
        """The untied layer that computes exactly what ``conv`` computes: its filter copied to
        every position (training would then let the copies drift apart)."""
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"conv must be a torch.nn.Conv2d; got {type(conv).__name__}")
        if conv.stride != (1, 1) or conv.dilation != (1, 1) or conv.groups != 1:
            raise ValueError("conv must have stride 1, dilation 1 and groups 1")
        k, p = conv.kernel_size, conv.padding
        if k[0] != k[1] or not isinstance(p, tuple) or p[0] != p[1]:
            raise ValueError(f"conv must have a square kernel and equal padding; got {k}, {p}")
        layer = cls(conv.in_channels, conv.out_channels, k[0], input_size, padding=p[0])
        with torch.no_grad():
            layer.weight.copy_(
                conv.weight.reshape(1, conv.out_channels, -1).expand_as(layer.weight)
            )
            bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
            layer.bias.copy_(bias.reshape(-1, 1).expand_as(layer.bias))
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != self.input_size:
            raise ValueError(
                f"LocallyConnected2d was built for {self.input_size} maps; got {tuple(x.shape)}"
            )
        cols = nn.functional.unfold(x, self.kernel_size, padding=self.padding)
        out = torch.einsum("ncl,loc->nol", cols, self.weight) + self.bias
        return out.reshape(x.shape[0], self.out_channels, *self.output_size)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, padding={self.padding}, untied"
        )


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
    and an initialization from :data:`vgexamples.models.INITS` (``"normal"`` excepted).

    With ``shared=False`` every convolution is replaced by a :class:`LocallyConnected2d` of the
    same kernel, padding and channels on ``input_size`` maps, each position's filter drawn
    from the distribution the convolution's filter would get: the *untied twin*, which
    differs from the CNN in weight sharing only.

    Examples
    --------
    >>> tied = DeepCNN(depth=3, channels=4)
    >>> untied = DeepCNN(depth=3, channels=4, shared=False)
    >>> untied(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        depth: int = 10,
        channels: int = 16,
        activation: str = "relu",
        init: str = "default",
        shared: bool = True,
        input_size: tuple[int, int] = (8, 8),
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("n_classes", n_classes)
        check_int("depth", depth)
        check_int("channels", channels)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("init", init, INITS)
        if not isinstance(shared, bool):
            raise TypeError(f"shared must be True or False; got {shared!r}")
        self.shared = shared
        if shared:
            blocks = [
                conv_block(in_channels if i == 0 else channels, channels, activation=activation)
                for i in range(depth)
            ]
        else:
            if init == "normal":
                raise ValueError("init must be one of 'default', 'xavier', 'he' when shared=False")
            blocks = [
                nn.Sequential(
                    LocallyConnected2d(
                        in_channels if i == 0 else channels,
                        channels,
                        3,
                        input_size,
                        padding=1,
                        init=init,
                    ),
                    make_activation(activation),
                )
                for i in range(depth)
            ]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, n_classes)
        init_weights(self, init)

    def layers(self) -> dict[str, nn.Module]:
        """``name -> module`` of the weight layers, input side first (for
        :func:`vgexamples.diagnostics.gradient_profile`)."""
        kinds = (nn.Conv2d, nn.Linear, LocallyConnected2d)
        return {n: m for n, m in self.named_modules() if n and isinstance(m, kinds)}

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
