"""Model builders with the knobs the site turns: depth, width, activation, init, norm, skips.

Every builder validates its arguments and raises a ``ValueError`` that names the parameter and
lists the allowed values.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_choice, check_int, check_positive

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "NORMS",
    "init_weights",
    "make_activation",
    "n_parameters",
]

#: Activation names accepted by :func:`make_activation` and :class:`MLP`.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "gelu", "identity")
#: Initialization schemes accepted by :func:`init_weights` and :class:`MLP`.
INITS = ("default", "normal", "xavier", "he")
#: Normalization layers accepted by :class:`MLP`.
NORMS = ("none", "batch", "layer")


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for ``name`` (one of :data:`ACTIVATIONS`).

    ``leaky_relu`` uses PyTorch's default slope of 0.01; ``prelu`` learns one slope per layer,
    starting at 0.25 as in He et al. (2015).
    """
    check_choice("activation", name, ACTIVATIONS)
    return {
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "prelu": nn.PReLU,
        "gelu": nn.GELU,
        "identity": nn.Identity,
    }[name]()


def init_weights(module: nn.Module, init: str = "default", std: float | None = None) -> None:
    """Re-initialize every ``nn.Linear`` and ``nn.Conv*d`` inside ``module`` in place.

    Parameters
    ----------
    module
        Any module; its linear and convolutional layers are re-initialized.
    init
        One of :data:`INITS`:

        * ``"default"`` -- leave PyTorch's own initialization (uniform with bound
          :math:`1/\\sqrt{n_\\text{in}}`) untouched;
        * ``"normal"`` -- :math:`\\mathcal N(0, \\text{std}^2)` weights (``std`` required);
        * ``"xavier"`` -- Glorot & Bengio (2010): variance :math:`2/(n_\\text{in}+n_\\text{out})`;
        * ``"he"`` -- He et al. (2015): variance :math:`2/n_\\text{in}`.

        Biases are set to zero for every scheme but ``"default"``.
    std
        Standard deviation for ``init="normal"``; must be > 0.
    """
    check_choice("init", init, INITS)
    if init == "normal":
        if std is None:
            raise ValueError("init='normal' needs std, a finite number > 0; got None")
        check_positive("std", std)
    elif std is not None:
        raise ValueError(f"std is only used with init='normal'; got init={init!r}, std={std}")
    if init == "default":
        return
    for layer in module.modules():
        if not isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            continue
        with torch.no_grad():
            if init == "normal":
                layer.weight.normal_(0.0, std)
            elif init == "xavier":
                nn.init.xavier_normal_(layer.weight)
            else:
                nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            if layer.bias is not None:
                layer.bias.zero_()


class MLP(nn.Module):
    """A fully connected network: ``depth`` hidden layers of ``width`` units, then a linear head.

    Each hidden block is ``Linear -> [norm] -> activation`` (``norm_position="before"``, as in
    Ioffe & Szegedy 2015) or ``Linear -> activation -> [norm]`` (``"after"``). With
    ``residual=True`` every block after the first adds its input to its output
    (``h <- h + block(h)``), He et al. (2016) style.

    Parameters
    ----------
    in_features, out_features
        Input size (inputs are flattened) and number of outputs.
    depth
        Number of hidden layers, >= 1. The network has ``depth + 1`` linear layers.
    width
        Units per hidden layer, >= 1.
    activation
        One of :data:`ACTIVATIONS`.
    init
        One of :data:`INITS`; see :func:`init_weights`.
    init_std
        Weight standard deviation for ``init="normal"``.
    norm
        One of :data:`NORMS`.
    norm_position
        ``"before"`` or ``"after"`` the activation.
    residual
        Add identity skip connections around hidden blocks 2..depth.

    Examples
    --------
    >>> net = MLP(64, 10, depth=20, width=32, activation="sigmoid")
    >>> len(net.linears)
    21
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        depth: int,
        width: int,
        activation: str = "relu",
        init: str = "default",
        init_std: float | None = None,
        norm: str = "none",
        norm_position: str = "before",
        residual: bool = False,
    ) -> None:
        super().__init__()
        check_int("in_features", in_features)
        check_int("out_features", out_features)
        check_int("depth", depth)
        check_int("width", width)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("norm", norm, NORMS)
        check_choice("norm_position", norm_position, ("before", "after"))
        self.activation_name = activation
        self.residual = bool(residual)
        self.blocks = nn.ModuleList()
        for i in range(depth):
            layers: list[nn.Module] = [nn.Linear(in_features if i == 0 else width, width)]
            act = make_activation(activation)
            norm_layer = _make_norm(norm, width)
            if norm_layer is None:
                layers.append(act)
            elif norm_position == "before":
                layers += [norm_layer, act]
            else:
                layers += [act, norm_layer]
            self.blocks.append(nn.Sequential(*layers))
        self.head = nn.Linear(width, out_features)
        init_weights(self, init, init_std)

    @property
    def linears(self) -> list[nn.Linear]:
        """The linear layers from input to output (hidden layers, then the head)."""
        return [block[0] for block in self.blocks] + [self.head]

    @property
    def activations(self) -> list[nn.Module]:
        """The activation module of each hidden layer, from input to output."""
        return [m for block in self.blocks for m in block if _is_activation(m)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for i, block in enumerate(self.blocks):
            h = h + block(h) if (self.residual and i > 0) else block(h)
        return self.head(h)

    def extra_repr(self) -> str:
        return f"activation={self.activation_name!r}, residual={self.residual}"


def _make_norm(norm: str, width: int) -> nn.Module | None:
    if norm == "batch":
        return nn.BatchNorm1d(width)
    if norm == "layer":
        return nn.LayerNorm(width)
    return None


_ACTIVATION_TYPES = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.GELU, nn.Identity)


def _is_activation(module: nn.Module) -> bool:
    return isinstance(module, _ACTIVATION_TYPES)


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
