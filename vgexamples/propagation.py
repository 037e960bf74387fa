"""Signal propagation: how the factors of the chain rule decide whether a deep net's forward
activations and backward gradients keep their size from layer to layer.

For a layer ``z_l = W_l a_{l-1}`` with ``n_in`` inputs, ``n_out`` outputs, i.i.d. zero-mean
weights of variance ``v`` and ``a = phi(z)``, the standard mean-field argument (Glorot &
Bengio 2010; He et al. 2015) gives

* forward: ``Var(z_l) = n_in * v * E[phi(z_{l-1})^2]``,
* backward: ``Var(dL/da_{l-1}) = n_out * v * E[phi'(z_l)^2] * Var(dL/da_l)``.

* :func:`weight_variance` -- the weight variance each initialization scheme of
  :func:`vgexamples.models.init_weights` uses;
* :func:`moment_factors` -- ``E[phi(z)^2] / Var(z)`` and ``E[phi'(z)^2]`` for a Gaussian ``z``,
  by numerical integration;
* :func:`layer_gains` -- the predicted per-layer multipliers of the forward and backward
  variance for a scheme and an activation;
* :func:`variance_profile` -- the measured per-layer variances of one forward/backward pass;
* :func:`backward_gains` -- the per-layer backward gain ``n_out Var(W) E[phi'(z)^2]`` of an MLP,
  measured on a batch, with the fraction of saturated units per layer;
* :func:`backprop_factors` and :func:`factor_stats` -- the measured per-layer factors
  ``||dL/dz_l|| / ||dL/dz_{l+1}||`` of a random MLP, one at a time and summarized over seeds;
* :func:`running_product` -- the "product of fractions", exactly, with ``Fraction`` inputs;
* :func:`chain_bias_gradients` -- Nielsen's (2015) chain of one sigmoid neuron per layer,
  tuned so that every layer multiplies the gradient by exactly ``weight / 4``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from torch import nn

from ._checks import check_choice, check_finite_tensor, check_int, check_positive, check_seeds
from .activations import (
    ACTIVATIONS,
    SATURATION_FRACTION,
    activation_and_derivative,
    max_derivative,
)
from .diagnostics import gradient_profile
from .models import INITS, MLP

__all__ = [
    "BackwardGains",
    "VarianceProfile",
    "backprop_factors",
    "backward_gains",
    "chain_bias_gradients",
    "factor_stats",
    "layer_gains",
    "moment_factors",
    "running_product",
    "variance_profile",
    "weight_variance",
]


def weight_variance(init: str, fan_in: int, fan_out: int, std: float | None = None) -> float:
    """Variance of one weight under an initialization scheme of :data:`~vgexamples.models.INITS`.

    * ``"default"`` (PyTorch's ``nn.Linear``): uniform on :math:`\\pm 1/\\sqrt{n_\\text{in}}`,
      variance :math:`1/(3 n_\\text{in})`;
    * ``"normal"``: ``std ** 2``;
    * ``"xavier"`` (Glorot & Bengio 2010, gain 1): :math:`2/(n_\\text{in}+n_\\text{out})`;
    * ``"he"`` (He et al. 2015, fan-in mode): :math:`2/n_\\text{in}`.

    Parameters
    ----------
    init
        One of :data:`~vgexamples.models.INITS`.
    fan_in, fan_out
        Inputs and outputs of the layer, >= 1.
    std
        Required for ``init="normal"`` only.
    """
    check_choice("init", init, INITS)
    check_int("fan_in", fan_in)
    check_int("fan_out", fan_out)
    if init == "normal":
        if std is None:
            raise ValueError("init='normal' needs std, a finite number > 0; got None")
        return check_positive("std", std) ** 2
    if std is not None:
        raise ValueError(f"std is only used with init='normal'; got init={init!r}, std={std}")
    if init == "default":
        return 1.0 / (3.0 * fan_in)
    if init == "xavier":
        return 2.0 / (fan_in + fan_out)
    return 2.0 / fan_in


def moment_factors(activation: str, var: float = 1.0, n_points: int = 20000) -> tuple[float, float]:
    """``(E[phi(z)^2] / var, E[phi'(z)^2])`` for ``z ~ N(0, var)``.

    The first number is how much of its input's second moment an activation passes forward, the
    second how much of the gradient's second moment it passes backward. For ReLU both are
    exactly 1/2 at any ``var``; for tanh both tend to 1 as ``var -> 0`` (the linear regime) and
    fall below 1 as the units saturate. Computed by the trapezoidal rule against the Gaussian
    density on ``[-10, 10]`` standard deviations (accurate for kinked activations such as ReLU),
    with the derivative taken by autograd.

    Parameters
    ----------
    activation
        One of :data:`~vgexamples.activations.ACTIVATIONS` (``prelu`` at its initial slope 0.25).
    var
        Variance of the Gaussian input, > 0.
    n_points
        Grid points, >= 101.
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_positive("var", var)
    check_int("n_points", n_points, minimum=101)
    u = np.linspace(-10.0, 10.0, n_points)
    density = np.exp(-0.5 * u**2) / math.sqrt(2.0 * math.pi)
    z = torch.as_tensor(u * math.sqrt(var), dtype=torch.float64)
    _, f, df = activation_and_derivative(activation, z)
    forward = float(np.trapezoid(density * f.numpy() ** 2, u)) / var
    backward = float(np.trapezoid(density * df.numpy() ** 2, u))
    return forward, backward


def layer_gains(
    init: str, activation: str, width: int, *, std: float | None = None, var: float = 1.0
) -> tuple[float, float]:
    """Predicted per-layer multipliers ``(forward, backward)`` of a square layer's variance.

    ``forward = width * Var(W) * E[phi(z)^2] / Var(z)`` and
    ``backward = width * Var(W) * E[phi'(z)^2]``, with ``Var(W)`` from :func:`weight_variance`
    and the moments from :func:`moment_factors` at input variance ``var``. A value of 1 keeps
    the variance constant through depth; ``g`` per layer gives ``g ** L`` after ``L`` layers.
    """
    v = weight_variance(init, width, width, std)
    fwd, bwd = moment_factors(activation, var)
    return width * v * fwd, width * v * bwd


@dataclass
class VarianceProfile:
    """Measured per-layer variances of one forward/backward pass (input side first).

    Attributes
    ----------
    preactivation_var
        Variance of each linear layer's output ``z_l`` (hidden layers, then the head).
    activation_var
        Variance of each activation layer's output ``a_l``.
    grad_var
        Variance of the back-propagated gradient ``dL/dz_l`` of each linear layer, scaled by
        the batch size so that it does not depend on the loss's averaging.
    """

    preactivation_var: list[float]
    activation_var: list[float]
    grad_var: list[float]


def variance_profile(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy"
) -> VarianceProfile:
    """Measure per-layer variances of activations and back-propagated gradients on ``(x, y)``.

    One call of :func:`~vgexamples.diagnostics.gradient_profile`; the model is left unchanged
    (its gradients are restored). Variances are taken over the batch and the units together.
    """
    check_choice("loss", loss, ("cross_entropy", "mse"))
    outputs: dict[str, torch.Tensor] = {}
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    handles = []
    for name, module in layers:

        def hook(mod, inputs, output, name=name):
            outputs[name] = output.detach()

        handles.append(module.register_forward_hook(hook))
    try:
        prof = gradient_profile(model, x, y, loss=loss, keep_tensors=True)
    finally:
        for h in handles:
            h.remove()
    n = len(x)
    return VarianceProfile(
        preactivation_var=[float(outputs[name].float().var()) for name in prof.layer_names],
        activation_var=[float(prof.activations[a].float().var()) for a in prof.activation_names],
        grad_var=[float((prof.output_grads[name].float() * n).var()) for name in prof.layer_names],
    )


@dataclass
class BackwardGains:
    """Measured per-layer backward gains of an MLP (hidden layers ``1..L-1``, input side first).

    Attributes
    ----------
    weight_term
        ``n_out * Var(W_{l+1})``: the next hidden layer's output width times the variance of
        its weights (the empirical variance of the weight matrix).
    derivative_moment
        ``E[phi'(z_l)^2]`` over the batch and the units of hidden layer ``l``.
    gain
        Their product, the factor by which layer ``l`` multiplies the variance of the
        back-propagated gradient: ``Var(dL/dz_l) = gain_l Var(dL/dz_{l+1})`` in the mean-field
        approximation. Above one the gradient grows towards the input (the chaotic side of
        the order-to-chaos transition, Poole et al. 2016; Schoenholz et al. 2017), below one
        it shrinks.
    saturated
        Fraction of each hidden layer's units (over the batch) whose local derivative is below
        :data:`~vgexamples.activations.SATURATION_FRACTION` of the activation's largest one,
        for every hidden layer ``1..L`` (``nan`` for activations that do not saturate).
    """

    weight_term: list[float]
    derivative_moment: list[float]
    gain: list[float]
    saturated: list[float]

    def predicted_ratio(self) -> float:
        """Product of the gains: the predicted ``Var(dL/dz_1) / Var(dL/dz_L)``."""
        return float(np.prod(self.gain))

    def mean_gain(self) -> float:
        """Geometric mean of the gains (the average per-layer factor)."""
        return float(np.exp(np.mean(np.log(self.gain))))


def backward_gains(model: MLP, x: torch.Tensor) -> BackwardGains:
    """Measure each hidden layer's backward gain ``n_out Var(W_{l+1}) E[phi'(z_l)^2]`` on ``x``.

    One forward pass without gradients; ``phi'`` by autograd
    (:func:`~vgexamples.activations.activation_and_derivative`). Works for plain MLPs (no
    normalization, no residual connections), where the chain rule gives
    ``dL/dz_l = phi'(z_l) * W_{l+1}^T dL/dz_{l+1}`` exactly and the gain is the mean-field
    expectation of the squared factor.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a vgexamples.models.MLP; got {type(model).__name__}")
    if model.residual or any(len(block) != 2 for block in model.blocks):
        raise ValueError("model must be a plain MLP: residual=False and norm='none'")
    if len(model.blocks) < 2:
        raise ValueError(f"model must have depth >= 2; got {len(model.blocks)}")
    check_finite_tensor("x", x)
    name = model.activation_name
    saturates = name in ("sigmoid", "tanh")
    edge = SATURATION_FRACTION * max_derivative(name)[1]
    moments, saturated = [], []
    h = x.flatten(1)
    for block in model.blocks:
        with torch.no_grad():
            z = block[0](h)
            h = block[1](z)
        _, _, d = activation_and_derivative(name, z.flatten())
        moments.append(float(d.pow(2).mean()))
        saturated.append(float((d < edge).double().mean()) if saturates else math.nan)
    weight_term = []
    for layer in model.linears[1:-1]:
        w = layer.weight.detach().double()
        weight_term.append(float(w.shape[0] * w.var()))
    gain = [w * m for w, m in zip(weight_term, moments[:-1], strict=True)]
    return BackwardGains(weight_term, moments[:-1], gain, saturated)


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

    Builds a ``depth``-layer MLP from seed ``seed``, feeds it standard-normal inputs, and
    returns, for each hidden layer ``l`` (output side to input side), the ratio
    ``||dL/dz_l|| / ||dL/dz_{l+1}||`` of the gradients with respect to consecutive
    pre-activations. Each ratio is one factor of the chain-rule product: for a sigmoid it is
    bounded by ``||W|| / 4``.

    Parameters
    ----------
    weight_scale
        The MLP's ``gain``: every weight is multiplied by it after initialization (values > 1
        push towards explosion).
    """
    check_int("depth", depth, minimum=2)
    check_int("width", width)
    check_int("batch", batch, minimum=2)
    check_int("seed", seed, minimum=0)
    check_positive("weight_scale", weight_scale)
    torch.manual_seed(seed)
    net = MLP(
        width, 1, depth=depth, width=width, activation=activation, init=init, gain=weight_scale
    )
    x = torch.randn(batch, width)
    y = torch.zeros(batch, 1)
    prof = gradient_profile(net, x, y, loss="mse", keep_tensors=False)
    g = torch.tensor(prof.output_grad_norm[:-1], dtype=torch.float64)  # hidden layers only
    return (g[:-1] / g[1:]).flip(0)


def factor_stats(
    activation: str,
    *,
    init: str = "default",
    weight_scale: float = 1.0,
    depth: int = 20,
    width: int = 64,
    seeds: Sequence[int] = (0, 1, 2),
) -> tuple[float, float]:
    """``(median, max)`` of :func:`backprop_factors` pooled over ``seeds``.

    The defaults are the vanishing-gradients chapter's: 20 layers of 64 units, three seeds.
    """
    seeds = check_seeds("seeds", seeds)
    f = torch.cat(
        [
            backprop_factors(depth, width, activation, init=init, seed=s, weight_scale=weight_scale)
            for s in seeds
        ]
    )
    return float(f.median()), float(f.max())


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
