"""Training callbacks that watch a model on a *fixed* batch while it trains.

:class:`vgexamples.diagnostics.TrainingRecorder` measures whatever mini-batch the training loop
happens to draw. The monitors here instead re-measure the model on one batch chosen in advance
(the whole training set, or a held-out batch), so that curves over training compare like with
like:

* :class:`PeriodicProfile` -- a full :func:`~vgexamples.diagnostics.gradient_profile` every
  few steps (per-layer weight- and bias-gradient norms, activation statistics). Nielsen (2015)
  tracks the norm of each layer's bias gradient this way as the layer's *speed of learning*.
* :class:`InputQuantiles` -- quantiles of the input one unit of one module receives, the
  measurement behind Ioffe & Szegedy's (2015) picture of a sigmoid's input drifting during
  training.

Both are passed to :func:`vgexamples.train.train` in ``callbacks=[...]``; call their
``record(0, model)`` once before training to include the initial state. Neither changes the
model: parameters' ``.grad``, the train/eval mode and normalization buffers (running means and
variances) are restored after each measurement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._checks import check_choice, check_finite_tensor, check_int
from .diagnostics import Profile, gradient_profile

__all__ = ["InputQuantiles", "PeriodicProfile"]


def _check_every(every: int) -> int:
    return check_int("every", every)


def _save_buffers(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(b, b.detach().clone()) for b in model.buffers()]


def _restore_buffers(saved: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    with torch.no_grad():
        for buf, copy in saved:
            buf.copy_(copy)


class PeriodicProfile:
    """Run :func:`~vgexamples.diagnostics.gradient_profile` on a fixed batch every few steps.

    Parameters
    ----------
    x, y
        The batch to measure on (for Nielsen's measurement: many training examples at once, so
        that the gradient is the full-batch gradient rather than a noisy mini-batch estimate).
    every
        Measure after every this many optimizer steps (>= 1).
    loss
        ``"cross_entropy"`` or ``"mse"``, as in :func:`~vgexamples.diagnostics.gradient_profile`.

    Attributes
    ----------
    steps : list of int
        Steps at which a profile was taken (0 = before training, if :meth:`record` was called).
    profiles : list of Profile
        The profiles, without kept tensors.

    Examples
    --------
    >>> import torch
    >>> from vgexamples.models import MLP
    >>> net = MLP(4, 3, depth=2, width=5, activation="sigmoid")
    >>> mon = PeriodicProfile(torch.randn(20, 4), torch.randint(0, 3, (20,)), every=5)
    >>> mon.record(0, net)
    >>> mon.series("bias_grad_norm").shape
    (1, 3)
    """

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, every: int = 50, *, loss: str = "cross_entropy"
    ) -> None:
        check_finite_tensor("x", x)
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
        self.x, self.y = x, y
        self.every = _check_every(every)
        self.loss = check_choice("loss", loss, ("cross_entropy", "mse"))
        self.steps: list[int] = []
        self.profiles: list[Profile] = []

    def record(self, step: int, model: nn.Module) -> None:
        """Profile ``model`` now and store the result under ``step``."""
        device = next(model.parameters()).device
        saved = _save_buffers(model)
        try:
            prof = gradient_profile(
                model, self.x.to(device), self.y.to(device), loss=self.loss, keep_tensors=False
            )
        finally:
            _restore_buffers(saved)
        self.steps.append(int(step))
        self.profiles.append(prof)

    def after_step(self, step: int, model: nn.Module) -> None:
        """:func:`~vgexamples.train.train` hook: profile every ``every`` steps."""
        if step % self.every == 0:
            self.record(step, model)

    def series(self, attribute: str = "bias_grad_norm") -> np.ndarray:
        """One per-layer list of every profile, stacked: shape ``(records, layers)``.

        Parameters
        ----------
        attribute
            A per-layer list attribute of :class:`~vgexamples.diagnostics.Profile`:
            ``"bias_grad_norm"``, ``"weight_grad_norm"``, ``"output_grad_norm"``,
            ``"weight_norm"``, ``"activation_std"`` or ``"saturated"``.
        """
        check_choice(
            "attribute",
            attribute,
            (
                "bias_grad_norm",
                "weight_grad_norm",
                "output_grad_norm",
                "weight_norm",
                "activation_std",
                "saturated",
            ),
        )
        if not self.profiles:
            raise ValueError("nothing recorded yet: call record() or train with this callback")
        return np.array([getattr(p, attribute) for p in self.profiles], dtype=float)


class InputQuantiles:
    """Quantiles of the input that one unit of ``module`` receives, on a fixed batch.

    The model is evaluated on ``x`` without gradients, and the quantiles of ``module``'s input
    at position ``unit`` over the batch are stored. Use it on an activation module to follow
    the distribution of a nonlinearity's input over training, as Ioffe & Szegedy (2015,
    figure 1) do for a sigmoid.

    Parameters
    ----------
    module
        A submodule of the model that will be trained (e.g. ``net.activations[-1]``).
    x
        The fixed batch fed to the whole model.
    unit
        Which unit (index along the last axis of the module's input), >= 0.
    quantiles
        Quantiles to record, each in (0, 1); default the 15th, 50th and 85th percentiles.
    every
        Record after every this many optimizer steps (>= 1).
    mode
        ``"train"`` (default): evaluate in training mode, so batch normalization uses the
        statistics of ``x`` itself, as it does during training (its running averages are
        restored afterwards); ``"eval"``: evaluate in eval mode, with the running averages.

    Attributes
    ----------
    steps : list of int
    values : list of list of float
        ``values[i][k]``: quantile ``quantiles[k]`` at ``steps[i]``.
    """

    def __init__(
        self,
        module: nn.Module,
        x: torch.Tensor,
        unit: int = 0,
        quantiles: Sequence[float] = (0.15, 0.5, 0.85),
        every: int = 20,
        mode: str = "train",
    ) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
        check_finite_tensor("x", x)
        self.unit = check_int("unit", unit, minimum=0)
        qs = [float(q) for q in quantiles]
        if not qs or any(not (0.0 < q < 1.0) or math.isnan(q) for q in qs):
            raise ValueError(f"quantiles must be numbers in (0, 1); got {list(quantiles)!r}")
        self.quantiles = tuple(qs)
        self.module, self.x = module, x
        self.every = _check_every(every)
        self.mode = check_choice("mode", mode, ("train", "eval"))
        self.steps: list[int] = []
        self.values: list[list[float]] = []

    def record(self, step: int, model: nn.Module) -> None:
        """Evaluate ``model`` on the fixed batch and store the unit's input quantiles."""
        captured: list[torch.Tensor] = []

        def hook(mod: nn.Module, inputs: tuple) -> None:
            captured.append(inputs[0].detach())

        handle = self.module.register_forward_pre_hook(hook)
        was_training = model.training
        device = next(model.parameters()).device
        saved = _save_buffers(model)
        try:
            model.train(self.mode == "train")
            with torch.no_grad():
                model(self.x.to(device))
        finally:
            handle.remove()
            _restore_buffers(saved)
            model.train(was_training)
        if not captured:
            raise ValueError("module was not called by the model's forward pass")
        inp = captured[0]
        if self.unit >= inp.shape[-1]:
            raise ValueError(f"unit must be < {inp.shape[-1]} (the module's input size)")
        column = inp.reshape(-1, inp.shape[-1])[:, self.unit].float()
        q = torch.tensor(self.quantiles, device=column.device)
        self.steps.append(int(step))
        self.values.append([float(v) for v in torch.quantile(column, q)])

    def after_step(self, step: int, model: nn.Module) -> None:
        """:func:`~vgexamples.train.train` hook: record every ``every`` steps."""
        if step % self.every == 0:
            self.record(step, model)

    def as_array(self) -> np.ndarray:
        """The recorded quantiles, shape ``(records, len(quantiles))``."""
        return np.array(self.values, dtype=float).reshape(-1, len(self.quantiles))
