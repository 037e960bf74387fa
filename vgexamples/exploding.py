"""Constructions whose gradients grow layer by layer.

* :func:`chain_bias_gradients` -- Nielsen's (2015) chain of one sigmoid neuron per layer, with
  large weights and biases chosen so that every pre-activation sits at the sigmoid's steepest
  point; each layer multiplies the back-propagated gradient by exactly ``weight / 4``.
* :func:`exploding_mlp` -- a ReLU :class:`~vgexamples.models.MLP` whose He-initialized weights
  are multiplied by ``gain``; ``gain = 1`` is the critical scale, above it the forward signal
  and the gradient both grow by about ``gain`` per layer.
"""

from __future__ import annotations

import math

import torch

from ._checks import check_int, check_positive
from .models import MLP

__all__ = ["chain_bias_gradients", "exploding_mlp"]


def chain_bias_gradients(depth: int, weight: float = 100.0, x: float = 1.0) -> list[float]:
    """Gradient of the output with respect to each bias of a one-neuron-per-layer chain.

    The chain computes :math:`a_l = \\sigma(w\\, a_{l-1} + b_l)` for ``l = 1..depth`` with
    :math:`a_0 = x` and every weight equal to ``weight``. Each bias is chosen as
    :math:`b_l = -w\\, a_{l-1}`, so every pre-activation is 0 and every local derivative is
    :math:`\\sigma'(0) = 1/4`. The cost is the output :math:`C = a_L` and the gradients are
    computed with autograd (in float64).

    Parameters
    ----------
    depth
        Number of neurons (layers), >= 1.
    weight
        The common weight, > 0.
    x
        The input.

    Returns
    -------
    list of float
        :math:`|\\partial C / \\partial b_l|` for ``l = 1..depth`` (input side first). By the
        chain rule consecutive entries differ by the factor :math:`w\\,\\sigma'(0) = w/4`.
    """
    check_int("depth", depth)
    weight = check_positive("weight", weight)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"x must be a finite number; got {x!r}")
    a = torch.tensor(float(x), dtype=torch.float64)
    biases = []
    for _ in range(depth):
        b = (-weight * a.detach()).clone().requires_grad_(True)
        biases.append(b)
        a = torch.sigmoid(weight * a + b)
    a.backward()
    return [abs(float(b.grad)) for b in biases]


def exploding_mlp(
    in_features: int,
    out_features: int,
    *,
    depth: int = 10,
    width: int = 64,
    gain: float = 1.5,
) -> MLP:
    """A ReLU MLP with He-initialized weights multiplied by ``gain`` (biases zero).

    He initialization (variance :math:`2/n_\\text{in}`) keeps the size of the signal constant
    from layer to layer in a ReLU network; multiplying every weight by ``gain`` multiplies the
    signal (forward) and the back-propagated gradient by about ``gain`` per layer.

    Parameters
    ----------
    in_features, out_features, depth, width
        As for :class:`~vgexamples.models.MLP`.
    gain
        Scale factor on the He weights, > 0.
    """
    gain = check_positive("gain", gain)
    net = MLP(in_features, out_features, depth=depth, width=width, activation="relu", init="he")
    with torch.no_grad():
        for layer in net.linears:
            layer.weight.mul_(gain)
    return net
