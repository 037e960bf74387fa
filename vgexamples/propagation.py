"""Signal propagation at initialization: how weight variance decides whether a deep net's
forward activations and backward gradients keep their size from layer to layer.

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
* :func:`variance_profile` -- the measured per-layer variances of one forward/backward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._checks import check_choice, check_int, check_positive
from .diagnostics import gradient_profile
from .models import ACTIVATIONS, INITS

__all__ = [
    "VarianceProfile",
    "layer_gains",
    "moment_factors",
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
        One of :data:`~vgexamples.models.ACTIVATIONS` (``prelu`` at its initial slope 0.25).
    var
        Variance of the Gaussian input, > 0.
    n_points
        Grid points, >= 101.
    """
    from .theory import activation_and_derivative

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
