"""Model builders with the knobs the site turns: depth, width, activation, init, weight
gain, norm, skips -- and counting what a model holds.

* :class:`MLP` -- the fully connected network every chapter uses;
* :func:`seeded_mlp` -- an :class:`MLP` sized for a data set and built from a seed, so that a
  page, a gallery script and a test that compare the same configuration build the same net;
* :func:`init_weights` -- the initialization schemes of :data:`INITS`;
* :func:`count_parameters` -- parameters of any module (all, or only the non-zero ones).

Every builder validates its arguments and raises a ``ValueError`` that names the parameter and
lists the allowed values. Activation names come from :mod:`vgexamples.activations`.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_choice, check_int, check_positive
from .activations import ACTIVATION_TYPES, ACTIVATIONS, make_activation
from .data import Split
from .runtime import resolve_device

__all__ = [
    "INITS",
    "MLP",
    "NORMS",
    "count_parameters",
    "init_weights",
    "seeded_mlp",
]

#: Initialization schemes accepted by :func:`init_weights` and :class:`MLP`.
INITS = ("default", "normal", "xavier", "he")
#: Normalization layers accepted by :class:`MLP`.
NORMS = ("none", "batch", "layer")


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
        One of :data:`~vgexamples.activations.ACTIVATIONS`.
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
    branch_scale
        ``None`` (default) for plain skips ``h + block(h)``; a finite number >= 0 for skips
        ``h + a_l * block(h)`` with one learned scalar ``a_l`` per residual branch, initialized
        at ``branch_scale`` (0 as in SkipInit, or a small value such as ``1 / sqrt(depth)``).
        Only with ``residual=True``.
    gain
        Multiply every linear layer's weights (hidden layers and head) by this factor after
        initialization, > 0. With ``init="he"`` and ReLU units, ``gain = 1`` is the critical
        scale; above it the signal and the gradient grow by about ``gain`` per layer.

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
        gain: float = 1.0,
        branch_scale: float | None = None,
    ) -> None:
        super().__init__()
        check_int("in_features", in_features)
        check_int("out_features", out_features)
        check_int("depth", depth)
        check_int("width", width)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("norm", norm, NORMS)
        check_choice("norm_position", norm_position, ("before", "after"))
        gain = check_positive("gain", gain)
        if branch_scale is not None:
            if not residual:
                raise ValueError(
                    "branch_scale needs residual=True (it scales the residual branches); "
                    f"got residual=False, branch_scale={branch_scale!r}"
                )
            branch_scale = check_positive("branch_scale", branch_scale, allow_zero=True)
        self.activation_name = activation
        self.residual = bool(residual)
        self.branch_scale = branch_scale
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
        #: One learned multiplier per residual branch (blocks 2..depth), or ``None``.
        self.branch_scales: nn.Parameter | None = (
            None if branch_scale is None else nn.Parameter(torch.full((depth - 1,), branch_scale))
        )
        init_weights(self, init, init_std)
        if gain != 1.0:
            with torch.no_grad():
                for layer in self.linears:
                    layer.weight.mul_(gain)

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
            if not (self.residual and i > 0):
                h = block(h)
            elif self.branch_scales is None:
                h = h + block(h)
            else:
                h = h + self.branch_scales[i - 1] * block(h)
        return self.head(h)

    def extra_repr(self) -> str:
        text = f"activation={self.activation_name!r}, residual={self.residual}"
        if self.branch_scale is not None:
            text += f", branch_scale={self.branch_scale:g}"
        return text


def _make_norm(norm: str, width: int) -> nn.Module | None:
    if norm == "batch":
        return nn.BatchNorm1d(width)
    if norm == "layer":
        return nn.LayerNorm(width)
    return None


def _is_activation(module: nn.Module) -> bool:
    return isinstance(module, (*ACTIVATION_TYPES, nn.Identity))


def seeded_mlp(
    data: Split, seed: int = 0, *, device: torch.device | str | None = None, **mlp_kwargs
) -> MLP:
    """Build ``MLP(data.n_features, data.n_classes, **mlp_kwargs)`` from seed ``seed``.

    Parameters
    ----------
    data
        Decides the input and output sizes.
    seed
        Seed of the initial weights, >= 0: the same seed gives the same network.
    device
        Where to put the network (see :func:`~vgexamples.runtime.resolve_device`).
    **mlp_kwargs
        ``depth``, ``width`` and any other argument of :class:`MLP`.

    Examples
    --------
    >>> from vgexamples.data import load_digits
    >>> net = seeded_mlp(
    ...     load_digits(), 0, depth=3, width=16, activation="tanh", device="cpu"
    ... )
    >>> len(net.linears)
    4
    """
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    check_int("seed", seed, minimum=0)
    device = resolve_device(device)
    torch.manual_seed(seed)
    return MLP(data.n_features, data.n_classes, **mlp_kwargs).to(device)


def count_parameters(model: nn.Module, *, nonzero: bool = False) -> int:
    """Number of parameter values of ``model`` (every parameter, trainable or not).

    With ``nonzero=True``, count only the values that are not exactly zero *as the model
    computes with them*: for a layer pruned with ``torch.nn.utils.prune`` that is the masked
    ``weight`` (stored as ``weight_orig`` times ``weight_mask``), not the parameter itself.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    total = 0
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if name.endswith("_orig"):
                effective = getattr(module, name.removesuffix("_orig"))
                total += int((effective != 0).sum()) if nonzero else p.numel()
            else:
                total += int((p != 0).sum()) if nonzero else p.numel()
    return total
