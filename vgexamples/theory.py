"""Small numerical companions to the site's derivations, computed rather than typed.

Everything here is evaluated with PyTorch's autograd on real tensors, so a page that glues
one of these numbers shows what the code computed, not what a formula promised.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch

from ._checks import check_int, check_positive
from .models import ACTIVATIONS, make_activation

__all__ = ["activation_and_derivative", "backprop_factors", "max_derivative", "running_product"]


def activation_and_derivative(
    name: str, x: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Evaluate an activation and its derivative (by autograd) on a grid.

    Parameters
    ----------
    name
        One of :data:`vgexamples.models.ACTIVATIONS`.
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
    if name not in ACTIVATIONS:
        make_activation(name)  # raises the standard error
    x, _, dy = activation_and_derivative(name)
    i = int(dy.argmax())
    return float(x[i]), float(dy[i])


def running_product(factors: Sequence[float | Fraction]) -> list[float | Fraction]:
    """Cumulative products ``[f1, f1*f2, f1*f2*f3, ...]``.

    With :class:`fractions.Fraction` inputs the products are exact, e.g.
    ``running_product([Fraction(1, 4), Fraction(1, 3), Fraction(1, 4)])`` gives
    ``[1/4, 1/12, 1/48]``.
    """
    if len(factors) == 0:
        raise ValueError("factors must hold at least one number")
    out, acc = [], 1
    for f in factors:
        acc = acc * f
        out.append(acc)
    return out


def backprop_factors(
    depth: int,
    width: int,
    activation: str = "sigmoid",
    *,
    init: str = "default",
    seed: int = 0,
    batch: int = 256,
    weight_scale: float = 1.0,
) -> torch.Tensor:
    """Measured per-layer shrink factors of the back-propagated gradient in a random MLP.

    Builds a ``depth``-layer MLP, feeds it standard-normal inputs, and returns, for each
    hidden layer ``l`` (output side to input side), the ratio
    ``||dL/dz_l|| / ||dL/dz_{l+1}||`` of the gradients with respect to consecutive
    pre-activations. Each ratio is one factor of the chain-rule product: for a sigmoid it is
    bounded by ``||W|| / 4``.

    Parameters
    ----------
    weight_scale
        Multiply every weight after initialization (values > 1 push towards explosion).
    """
    from .diagnostics import gradient_profile
    from .models import MLP

    check_int("depth", depth, minimum=2)
    check_int("width", width)
    check_int("batch", batch, minimum=2)
    check_int("seed", seed, minimum=0)
    check_positive("weight_scale", weight_scale)
    torch.manual_seed(seed)
    net = MLP(width, 1, depth=depth, width=width, activation=activation, init=init)
    with torch.no_grad():
        for lin in net.linears:
            lin.weight.mul_(weight_scale)
    x = torch.randn(batch, width)
    y = torch.zeros(batch, 1)
    prof = gradient_profile(net, x, y, loss="mse", keep_tensors=False)
    g = torch.tensor(prof.output_grad_norm[:-1], dtype=torch.float64)  # hidden layers only
    return (g[:-1] / g[1:]).flip(0)
