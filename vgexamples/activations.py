"""Activation functions: the modules the models use, their derivatives and where they go flat.

* :data:`ACTIVATIONS` and :func:`make_activation` -- the names every model builder accepts;
* :func:`activation_and_derivative` -- an activation and its derivative on a grid, the
  derivative taken by autograd, not typed in;
* :func:`max_derivative` -- the largest derivative and where it occurs (1/4 for the sigmoid);
* :data:`SATURATION_FRACTION` and :func:`saturation_edge` -- what the site calls *saturated*
  (a derivative below a tenth of its maximum) and where a function starts to be.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_choice, check_fraction

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_TYPES",
    "SATURATION_FRACTION",
    "activation_and_derivative",
    "make_activation",
    "max_derivative",
    "saturation_edge",
]

#: Activation names accepted by :func:`make_activation` and every model builder.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "gelu", "identity")

_MODULES: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "prelu": nn.PReLU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}

#: Module types that count as activations wherever the library looks for them.
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (
    nn.Sigmoid,
    nn.Tanh,
    nn.ReLU,
    nn.LeakyReLU,
    nn.PReLU,
    nn.GELU,
    nn.ELU,
    nn.SiLU,
)

#: A unit is *saturated* when its local derivative is below this fraction of the
#: activation's largest derivative (sigmoid: 1/4, tanh: 1).
SATURATION_FRACTION = 0.1


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for ``name`` (one of :data:`ACTIVATIONS`).

    ``leaky_relu`` uses PyTorch's default slope of 0.01; ``prelu`` learns one slope per layer,
    starting at 0.25 as in He et al. (2015).
    """
    check_choice("activation", name, ACTIVATIONS)
    return _MODULES[name]()


def activation_and_derivative(
    name: str, x: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Evaluate an activation and its derivative (by autograd) on a grid.

    Parameters
    ----------
    name
        One of :data:`ACTIVATIONS`.
    x
        Points to evaluate at; default 2,001 points on [-6, 6].

    Returns
    -------
    (x, f(x), f'(x))
    """
    if x is None:
        x = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    f = make_activation(name).to(torch.float64)
    x = x.detach().to(torch.float64).requires_grad_(True)
    y = f(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    return x.detach(), y.detach(), dy.detach()


def max_derivative(name: str) -> tuple[float, float]:
    """Largest derivative of an activation on [-6, 6] and where it occurs: ``(x*, f'(x*))``.

    For the sigmoid this is ``(0.0, 0.25)``, for tanh ``(0.0, 1.0)``.
    """
    x, _, dy = activation_and_derivative(name)
    i = int(dy.argmax())
    return float(x[i]), float(dy[i])


def saturation_edge(name: str, fraction: float = SATURATION_FRACTION) -> float:
    """The smallest ``x > 0`` where the derivative falls below ``fraction`` of its maximum.

    Evaluated on a grid of step 1e-4 over (0, 10]; for a symmetric activation such as the
    sigmoid or tanh the unit is saturated for ``|x|`` beyond this edge.

    Raises
    ------
    ValueError
        If the derivative never falls that low on [0, 10] (a rectifier, say).
    """
    check_fraction("fraction", fraction)
    grid = torch.linspace(0, 10, 100_001, dtype=torch.float64)[1:]
    x, _, dy = activation_and_derivative(name, grid)
    below = (dy < fraction * dy.max()).nonzero()
    if len(below) == 0:
        raise ValueError(f"activation {name!r} does not saturate: its derivative stays high")
    return float(x[below[0]])
