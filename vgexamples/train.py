"""One small training loop for every experiment: seeded, device-aware, diverge-safe.

:func:`train` returns a :class:`History` instead of raising when the loss becomes NaN or
infinite: the run stops at that step and ``History.stop_reason`` says where and why, so a
diverging experiment is something a page can show rather than a crash.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from ._checks import check_choice, check_finite_tensor, check_int, check_positive
from .data import Split
from .runtime import get_device

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "Callback",
    "History",
    "evaluate",
    "make_optimizer",
    "minibatches",
    "train",
]

#: Optimizer names accepted by :func:`make_optimizer` and :func:`train`.
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
#: Loss names accepted by :func:`train`.
LOSSES = ("cross_entropy", "mse")


@runtime_checkable
class Callback(Protocol):
    """What :func:`train` calls, if the object defines it.

    ``after_backward(step, model)`` runs once gradients exist (before clipping and the update);
    ``after_step(step, model)`` runs after the optimizer has changed the weights. Either method
    may be omitted.
    """


@dataclass
class History:
    """What one training run measured.

    Attributes
    ----------
    loss
        Mini-batch training loss at every step.
    grad_norm
        Global gradient norm at every step, measured before any clipping.
    step_time
        Wall-clock seconds of every step (forward, backward, update).
    eval_step, train_loss, test_loss, test_accuracy
        Full-data evaluations every ``eval_every`` steps and after the last step
        (accuracy is ``nan`` for regression losses).
    stop_reason
        ``None`` if the run used its whole budget, else why it stopped early.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    step_time: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    stop_reason: str | None = None

    @property
    def diverged(self) -> bool:
        """True if the run stopped on a non-finite loss."""
        return self.stop_reason is not None and "non-finite" in self.stop_reason

    @property
    def steps_run(self) -> int:
        """Number of optimizer steps taken."""
        return len(self.step_time)

    @property
    def final_test_accuracy(self) -> float:
        """Test accuracy at the last evaluation (``nan`` if none)."""
        return self.test_accuracy[-1] if self.test_accuracy else math.nan

    @property
    def final_train_loss(self) -> float:
        """Full training-set loss at the last evaluation (``nan`` if none)."""
        return self.train_loss[-1] if self.train_loss else math.nan


def make_optimizer(
    name: str, params, lr: float, *, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """Build a PyTorch optimizer by name (one of :data:`OPTIMIZERS`).

    ``"momentum"`` is SGD with heavy-ball momentum ``momentum``; the others are PyTorch's
    ``SGD``, ``Adagrad`` (Duchi et al. 2011), ``RMSprop`` and ``Adam`` (Kingma & Ba 2015)
    with their default hyper-parameters besides ``lr``.
    """
    check_choice("optimizer", name, OPTIMIZERS)
    check_positive("lr", lr)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def minibatches(
    n: int, batch_size: int, steps: int, seed: int = 0, device: torch.device | str | None = None
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(step, indices)`` for steps ``1..steps``: seeded mini-batches of ``range(n)``.

    The examples are visited in a random order drawn from a private generator seeded with
    ``seed`` (the global random state is untouched); a new order is drawn whenever fewer than
    ``batch_size`` unvisited examples remain. Every training loop of the library uses this, so
    the same seed gives the same batches everywhere.
    """
    check_int("n", n)
    check_int("batch_size", batch_size)
    check_int("steps", steps)
    check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen)
    cursor = 0
    for step in range(1, steps + 1):
        if cursor + batch_size > n:
            order, cursor = torch.randperm(n, generator=gen), 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        yield step, (idx if device is None else idx.to(device))


def _loss_fn(name: str):
    return nn.functional.cross_entropy if name == "cross_entropy" else nn.functional.mse_loss


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy"
) -> tuple[float, float]:
    """Return ``(loss, accuracy)`` of ``model`` on ``(x, y)`` in eval mode.

    Accuracy is ``nan`` for ``loss="mse"``. The model's train/eval mode is restored.
    """
    check_choice("loss", loss, LOSSES)
    was_training = model.training
    model.eval()
    try:
        out = model(x)
        value = float(_loss_fn(loss)(out, y))
        acc = float((out.argmax(1) == y).float().mean()) if loss == "cross_entropy" else math.nan
    finally:
        model.train(was_training)
    return value, acc


def _global_grad_norm(params: Sequence[torch.Tensor]) -> float:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )


def train(
    model: nn.Module,
    data: Split,
    *,
    steps: int = 500,
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int = 64,
    loss: str = "cross_entropy",
    seed: int = 0,
    eval_every: int = 50,
    clip_value: float | None = None,
    clip_norm: float | None = None,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    callbacks: Sequence[object] = (),
    device: torch.device | str | None = None,
) -> History:
    """Train ``model`` on ``data`` with mini-batch gradient descent and return its history.

    Parameters
    ----------
    model
        Any module mapping a batch of ``data.x_train`` to outputs for ``loss``.
    data
        Train and test tensors.
    steps
        Number of optimizer steps (mini-batches), >= 1.
    lr
        Learning rate, > 0.
    optimizer
        One of :data:`OPTIMIZERS`.
    batch_size
        Mini-batch size, >= 1. Batches are drawn by a seeded shuffle of the training set.
    loss
        One of :data:`LOSSES`.
    seed
        Seed of the mini-batch order.
    eval_every
        Evaluate on the full training and test sets every this many steps (and at the end).
    clip_value, clip_norm
        Clip each gradient component into ``[-clip_value, clip_value]``
        (``torch.nn.utils.clip_grad_value_``) and/or rescale the global gradient to norm at
        most ``clip_norm`` (``torch.nn.utils.clip_grad_norm_``), after the ``after_backward``
        callbacks have seen the raw gradient.
    momentum, weight_decay
        Passed to :func:`make_optimizer`.
    callbacks
        Objects with ``after_backward(step, model)`` and/or ``after_step(step, model)``
        methods, e.g. :class:`vgexamples.diagnostics.TrainingRecorder`.
    device
        Where to train; default: :func:`vgexamples.runtime.get_device`.

    Returns
    -------
    History
        Per-step losses, gradient norms and timings, periodic evaluations, and
        ``stop_reason`` if the loss became NaN or infinite (training stops at that step).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    check_int("steps", steps)
    check_int("batch_size", batch_size)
    check_int("eval_every", eval_every)
    check_int("seed", seed, minimum=0)
    check_choice("loss", loss, LOSSES)
    check_positive("lr", lr)
    check_positive("momentum", momentum, allow_zero=True)
    if clip_value is not None:
        check_positive("clip_value", clip_value)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm)
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    for name in ("x_train", "y_train", "x_test", "y_test"):
        check_finite_tensor(f"data.{name}", getattr(data, name))

    if device is None:
        device = get_device()
    else:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device must be a torch.device or a name such as 'cpu' or 'cuda'; got {device!r}"
            ) from None
    model.to(device)
    data = data.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, lr, momentum=momentum, weight_decay=weight_decay)
    loss_fn = _loss_fn(loss)
    before = [cb.after_backward for cb in callbacks if hasattr(cb, "after_backward")]
    after = [cb.after_step for cb in callbacks if hasattr(cb, "after_step")]

    hist = History()
    model.train()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def _evaluate(step: int) -> None:
        tr_loss, _ = evaluate(model, data.x_train, data.y_train, loss)
        te_loss, te_acc = evaluate(model, data.x_test, data.y_test, loss)
        hist.eval_step.append(step)
        hist.train_loss.append(tr_loss)
        hist.test_loss.append(te_loss)
        hist.test_accuracy.append(te_acc)

    for step, idx in minibatches(len(data.x_train), batch_size, steps, seed, device):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        value = loss_fn(model(data.x_train[idx]), data.y_train[idx])
        if not torch.isfinite(value):
            bad = float(value.detach())
            hist.stop_reason = f"stopped at step {step}: the training loss became non-finite: {bad}"
            break
        value.backward()
        for fn in before:
            fn(step, model)
        hist.grad_norm.append(_global_grad_norm(params))
        if clip_value is not None:
            nn.utils.clip_grad_value_(params, clip_value)
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(params, clip_norm)
        opt.step()
        sync()
        hist.step_time.append(time.perf_counter() - t0)
        hist.loss.append(float(value.detach()))
        for fn in after:
            fn(step, model)
        if step % eval_every == 0 or step == steps:
            _evaluate(step)
    return hist
