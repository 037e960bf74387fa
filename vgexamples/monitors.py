"""Training callbacks: what :func:`vgexamples.train.train` measures while a model trains.

* :class:`TrainingRecorder` -- per-layer gradient norms, activation statistics and the
  update-to-weight ratio of the optimizer's step, on the mini-batches training draws, every
  few steps: a :class:`vgexamples.watch.Watcher` attached to the loop's optimizer.

The other two re-measure the model on one batch chosen in advance (the whole training set, or
a held-out batch), so that curves over training compare like with like:

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
from .diagnostics import LAYER_TYPES, Profile, gradient_profile
from .state import kept_buffers, training_mode
from .watch import Watcher

__all__ = ["InputQuantiles", "PeriodicProfile", "TrainingRecorder"]


def _check_every(every: int) -> int:
    return check_int("every", every)


class TrainingRecorder:
    """A :func:`vgexamples.train.train` callback: a :class:`~vgexamples.watch.Watcher` on the
    library's own loop.

    :func:`~vgexamples.train.train` builds the optimizer (and, in mixed precision, the loss
    scaler), then calls :meth:`start`, which attaches a watcher sampling step 1 and every
    ``every`` steps. The recorded series are the watcher's, per layer (``name`` as in
    ``model.named_modules()``), one value per sampled step (:attr:`steps`):
    ``weight_grad_norm``, ``bias_grad_norm`` and ``output_grad_norm`` (as in
    :func:`~vgexamples.diagnostics.gradient_profile`); ``update_ratio``, the relative size of
    the optimizer's step, ``||W_after - W_before|| / ||W_before||`` (Karpathy's rule of
    thumb: about ``1e-3`` is healthy); and per activation layer ``saturated``, ``dead`` and
    ``activation_std``. Call :meth:`remove` after training to take the hooks off the model.

    Parameters
    ----------
    model
        The model that will be trained.
    every
        Record every this many steps (>= 1).
    layers, activations
        Which submodules to record (see :class:`~vgexamples.watch.Watcher`); by default every
        module of a type in ``watched`` and every activation module.
    watched
        The layer types recorded when ``layers`` is ``None``: by default
        :data:`~vgexamples.diagnostics.LAYER_TYPES` (linear and convolutional layers).
    """

    def __init__(
        self,
        model: nn.Module,
        every: int = 10,
        layers=None,
        activations=None,
        *,
        watched: tuple[type[nn.Module], ...] = LAYER_TYPES,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.every = _check_every(every)
        if layers is None:
            layers = {n: m for n, m in model.named_modules() if n and isinstance(m, watched)}
        self.model, self._layers, self._activations = model, layers, activations
        self.watcher: Watcher | None = None

    def start(self, model: nn.Module, optimizer: torch.optim.Optimizer, scaler=None) -> None:
        """Attach the watcher (:func:`~vgexamples.train.train` calls this once, before its
        first step, with its optimizer and loss scaler)."""
        if model is not self.model:
            raise ValueError("the recorder was built for another model than the one trained")
        if self.watcher is not None:
            self.watcher.remove()
        self.watcher = Watcher(
            model,
            optimizer,
            every=self.every,
            layers=self._layers,
            activations=self._activations,
            scaler=scaler,
            on_nonfinite="record",  # train() stops a diverging run itself and says where
        )

    def _series(self, quantity: str) -> dict[str, list[float]]:
        if self.watcher is None:
            raise ValueError("nothing recorded yet: pass the recorder to train(callbacks=[...])")
        return self.watcher.series[quantity]

    @property
    def steps(self) -> list[int]:
        """The sampled steps."""
        return [] if self.watcher is None else self.watcher.steps

    @property
    def layers(self) -> dict[str, nn.Module]:
        """The recorded layers, ``name -> module``."""
        self._series("weight_grad_norm")  # raises before training
        return dict(self.watcher.layers)

    weight_grad_norm = property(lambda self: self._series("weight_grad_norm"))
    bias_grad_norm = property(lambda self: self._series("bias_grad_norm"))
    output_grad_norm = property(lambda self: self._series("output_grad_norm"))
    update_ratio = property(lambda self: self._series("update_ratio"))
    saturated = property(lambda self: self._series("saturated"))
    dead = property(lambda self: self._series("dead"))
    activation_std = property(lambda self: self._series("activation_std"))

    def remove(self) -> None:
        """Take the hooks off the model."""
        if self.watcher is not None:
            self.watcher.remove()


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
    >>> x, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    >>> mon = PeriodicProfile(x, y, every=5)
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
        with kept_buffers(model):
            prof = gradient_profile(
                model, self.x.to(device), self.y.to(device), loss=self.loss, keep_tensors=False
            )
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
        device = next(model.parameters()).device
        try:
            with kept_buffers(model), training_mode(model, self.mode == "train"):
                with torch.no_grad():
                    model(self.x.to(device))
        finally:
            handle.remove()
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
