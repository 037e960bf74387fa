"""The one-unit recurrent network of Pascanu, Mikolov & Bengio (2013) and its loss "cliff".

The network has one state and two parameters, iterated from :math:`x_0`:

.. math::

   x_t = w\\,\\sigma(x_{t-1}) + b, \\qquad L(w, b) = \\big(\\sigma(x_T) - \\text{target}\\big)^2 .

For some ``(w, b)`` the map has two stable fixed points; moving the parameters across the
border between their basins changes :math:`x_T` abruptly, and the loss surface has a steep
wall (a *cliff*) where the gradient is huge.

* :func:`cliff_loss` -- the loss for tensors of parameters (vectorised: pass a whole grid);
* :func:`loss_grid` -- the surface on a grid, as a NumPy array;
* :func:`descent_path` -- plain gradient descent on ``(w, b)``, optionally with
  ``torch.nn.utils.clip_grad_norm_``, recording the path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ._checks import check_int, check_positive

__all__ = ["DescentPath", "cliff_loss", "descent_path", "loss_grid"]


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value}")
    return float(value)


def cliff_loss(
    w: torch.Tensor | float,
    b: torch.Tensor | float,
    *,
    steps: int = 50,
    x0: float = 0.5,
    target: float = 0.7,
) -> torch.Tensor:
    """Loss of the one-unit recurrence after ``steps`` iterations.

    Parameters
    ----------
    w, b
        Recurrent weight and bias: numbers or tensors of any broadcastable shapes (a grid is
        evaluated in one call). Gradients flow to tensors that require them.
    steps
        Number of iterations ``T``, >= 1.
    x0
        Initial state.
    target
        Target for :math:`\\sigma(x_T)`, in (0, 1).

    Returns
    -------
    torch.Tensor
        :math:`(\\sigma(x_T) - \\text{target})^2`, shaped like ``w`` and ``b`` broadcast.
    """
    check_int("steps", steps)
    x0 = _check_number("x0", x0)
    target = _check_number("target", target)
    if not 0 < target < 1:
        raise ValueError(f"target must lie in (0, 1), the range of the sigmoid; got {target}")
    w = torch.as_tensor(w, dtype=torch.get_default_dtype())
    b = torch.as_tensor(b, dtype=w.dtype)
    x = torch.full(torch.broadcast_shapes(w.shape, b.shape), x0, dtype=w.dtype)
    for _ in range(steps):
        x = w * torch.sigmoid(x) + b
    return (torch.sigmoid(x) - target) ** 2


def loss_grid(
    w_values: Sequence[float] | np.ndarray,
    b_values: Sequence[float] | np.ndarray,
    **kwargs,
) -> np.ndarray:
    """The loss on the grid ``w_values x b_values``, shaped ``(len(b_values), len(w_values))``.

    Rows follow ``b`` and columns follow ``w``, ready for ``plt.contourf(w, b, grid)``.
    Keyword arguments go to :func:`cliff_loss`.
    """
    w = torch.as_tensor(np.asarray(w_values, dtype=float))
    b = torch.as_tensor(np.asarray(b_values, dtype=float))
    if w.dim() != 1 or b.dim() != 1 or len(w) < 1 or len(b) < 1:
        raise ValueError("w_values and b_values must be non-empty one-dimensional sequences")
    with torch.no_grad():
        grid = cliff_loss(w[None, :], b[:, None], **kwargs)
    return grid.numpy()


@dataclass
class DescentPath:
    """What :func:`descent_path` recorded.

    Attributes
    ----------
    params
        ``(k + 1, 2)`` array of ``(w, b)``: the start and the point after each step.
    loss, grad_norm
        Loss and gradient norm (before clipping) at each point where a step was taken.
    stop_reason
        ``None`` if all steps were taken, else why the descent stopped.
    """

    params: np.ndarray
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    stop_reason: str | None = None

    @property
    def max_step(self) -> float:
        """Largest distance moved in one step."""
        if len(self.params) < 2:
            return 0.0
        return float(np.linalg.norm(np.diff(self.params, axis=0), axis=1).max())


def descent_path(
    w0: float,
    b0: float,
    *,
    lr: float = 0.1,
    steps: int = 100,
    clip_norm: float | None = None,
    length: int = 50,
    x0: float = 0.5,
    target: float = 0.7,
) -> DescentPath:
    """Plain gradient descent on ``(w, b)`` from ``(w0, b0)``.

    Parameters
    ----------
    w0, b0
        Starting point.
    lr
        Learning rate, > 0.
    steps
        Number of steps, >= 1.
    clip_norm
        If given, rescale the gradient to norm at most ``clip_norm`` with
        ``torch.nn.utils.clip_grad_norm_`` before each step.
    length, x0, target
        The recurrence's number of iterations, initial state and target (see
        :func:`cliff_loss`, where ``length`` is called ``steps``).

    Returns
    -------
    DescentPath
        The path; the descent stops early (and says so) if the loss, gradient or parameters
        stop being finite.
    """
    w0 = _check_number("w0", w0)
    b0 = _check_number("b0", b0)
    check_positive("lr", lr)
    check_int("steps", steps)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm)
    check_int("length", length)
    loss_kwargs = {"steps": length, "x0": x0, "target": target}
    theta = nn.Parameter(torch.tensor([w0, b0], dtype=torch.float64))
    points = [theta.detach().numpy().copy()]
    path = DescentPath(params=np.empty((0, 2)))
    for step in range(1, steps + 1):
        theta.grad = None
        value = cliff_loss(theta[0], theta[1], **loss_kwargs)
        value.backward()
        norm = float(torch.linalg.vector_norm(theta.grad))
        if not (math.isfinite(float(value.detach())) and math.isfinite(norm)):
            path.stop_reason = f"stopped at step {step}: non-finite loss or gradient"
            break
        path.loss.append(float(value.detach()))
        path.grad_norm.append(norm)
        if clip_norm is not None:
            nn.utils.clip_grad_norm_([theta], clip_norm)
        with torch.no_grad():
            theta -= lr * theta.grad
        points.append(theta.detach().numpy().copy())
    path.params = np.array(points)
    return path
