"""The one training loop of the library: seeded, device-aware, diverge-safe, any precision.

* :class:`Budget` -- steps, learning rate, optimizer, batch size, evaluation interval and
  seeds of an experiment, defined once and printed by the example that runs it;
* :func:`train` -- mini-batch training with a named loss or any *objective* (distillation is
  a loss, not a loop), in fp32 or reduced precision (:class:`Precision`), with callbacks and
  gradient clipping in every mode; returns a :class:`History`;
* :func:`train_mlp` -- a seeded :class:`~vgexamples.models.MLP` trained under a budget;
* :func:`evaluate`, :func:`make_optimizer`, :func:`minibatches`, :func:`global_grad_norm`.

:func:`train` does not raise when the loss becomes NaN or infinite: the run stops at that
step and ``History.stop`` says where and why (a :class:`Stop`), so a diverging experiment is
something a page can show rather than a crash.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, fields, replace
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from ._checks import check_choice, check_finite_tensor, check_int, check_positive, check_seeds
from .data import Split
from .runtime import resolve_device
from .state import training_mode

__all__ = [
    "FORMATS",
    "LOSSES",
    "OPTIMIZERS",
    "Budget",
    "Callback",
    "History",
    "Objective",
    "Precision",
    "Stop",
    "as_dtype",
    "check_budget",
    "check_momentum",
    "evaluate",
    "global_grad_norm",
    "make_optimizer",
    "minibatches",
    "train",
    "train_mlp",
]

#: Optimizer names accepted by :func:`make_optimizer` and :func:`train`.
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
#: Loss names accepted by :func:`train` and :func:`evaluate`.
LOSSES = ("cross_entropy", "mse")
#: Floating-point formats a model can be trained in (see :class:`Precision`).
FORMATS = ("float32", "float16", "bfloat16")

_OPTIMIZER_WORDS = {
    "sgd": "plain SGD",
    "momentum": "SGD with momentum {momentum:g}",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
}


# -- budgets -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """What one experiment may spend: the settings of every training run it makes.

    Define an experiment's budget once, as a module constant next to the experiment function
    whose default it is; the gallery script prints it, the chapter page quotes the printed
    budget, and the claim test runs the same one (or a smaller one it names).

    Attributes
    ----------
    steps
        Optimizer steps per run, >= 1.
    lr
        Learning rate, > 0.
    optimizer
        One of :data:`OPTIMIZERS`.
    batch_size
        Examples per mini-batch, >= 1.
    eval_every
        Evaluate on the full training and test sets every this many steps (and after the
        last); ``None`` means only after the last step.
    seeds
        Seeds of the runs: each fixes a run's initial weights and mini-batch order.
    momentum, weight_decay
        Passed to :func:`make_optimizer`.

    Examples
    --------
    >>> print(Budget(steps=300, lr=0.05, seeds=(0, 1, 2)))
    plain SGD, learning rate 0.05, 300 steps of 64 examples, seeds 0, 1, 2
    """

    steps: int
    lr: float
    optimizer: str = "sgd"
    batch_size: int = 64
    eval_every: int | None = None
    seeds: tuple[int, ...] = (0,)
    momentum: float = 0.9
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        check_int("steps", self.steps)
        check_positive("lr", self.lr)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_int("batch_size", self.batch_size)
        if self.eval_every is not None:
            check_int("eval_every", self.eval_every)
        object.__setattr__(self, "seeds", check_seeds("seeds", self.seeds))
        check_momentum(self.momentum)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)

    def replace(self, **changes: object) -> Budget:
        """A copy with some fields changed (e.g. ``budget.replace(seeds=(0,))``)."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(
                f"Budget has no field {sorted(unknown)[0]!r}; fields are "
                + ", ".join(repr(n) for n in sorted(names))
            )
        return replace(self, **changes)

    def train_kwargs(self) -> dict[str, object]:
        """The keyword arguments of :func:`train` for one run (every field but ``seeds``)."""
        return {
            "steps": self.steps,
            "lr": self.lr,
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "eval_every": self.eval_every or self.steps,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
        }

    def __str__(self) -> str:
        words = [
            _OPTIMIZER_WORDS[self.optimizer].format(momentum=self.momentum),
            f"learning rate {self.lr:g}",
            f"{self.steps:,} steps of {self.batch_size:,} examples",
        ]
        if self.weight_decay:
            words.append(f"weight decay {self.weight_decay:g}")
        if self.eval_every is not None and self.eval_every < self.steps:
            words.append(f"evaluated every {self.eval_every:,} steps")
        plural = "seed" if len(self.seeds) == 1 else "seeds"
        words.append(f"{plural} " + ", ".join(str(s) for s in self.seeds))
        return ", ".join(words)


def check_momentum(momentum: object) -> float:
    """Return ``momentum`` if it lies in [0, 1): a heavy-ball momentum of 1 or more never
    forgets a gradient."""
    value = check_positive("momentum", momentum, allow_zero=True)
    if value >= 1:
        raise ValueError(f"momentum must lie in [0, 1); got {value}")
    return value


def check_budget(budget: object) -> Budget:
    """Return ``budget`` if it is a :class:`Budget`; otherwise raise a ``TypeError``."""
    if not isinstance(budget, Budget):
        raise TypeError(
            f"budget must be a vgexamples.train.Budget (steps, lr, ...); got "
            f"{type(budget).__name__}"
        )
    return budget


# -- precision -------------------------------------------------------------------------------
def as_dtype(name: str | torch.dtype) -> torch.dtype:
    """Return the ``torch.dtype`` for a name in :data:`FORMATS` (a dtype passes through)."""
    if isinstance(name, torch.dtype):
        if name not in (torch.float32, torch.float16, torch.bfloat16):
            raise ValueError(f"dtype must be one of {FORMATS}; got {name}")
        return name
    check_choice("dtype", name, FORMATS)
    return getattr(torch, name)


@dataclass(frozen=True)
class Precision:
    """The floating-point format a model trains in.

    Attributes
    ----------
    dtype
        One of :data:`FORMATS`.
    mode
        ``"mixed"``: weights stay fp32 (the master copy) and the forward and backward passes
        run under ``torch.autocast`` in ``dtype`` (Micikevicius et al. 2018). ``"pure"``: the
        model and inputs are converted to ``dtype``, so weights, gradients and updates all
        live in the small format.
    loss_scale
        ``None`` (no scaling), a number > 0 (the loss is multiplied by it before the backward
        pass and the gradients divided by it afterwards), or ``"dynamic"``
        (``torch.amp.GradScaler``: starts at 2**16, halves and skips the step when a gradient
        overflows, doubles after 2000 clean steps; needs fp32 master weights).
    """

    dtype: str = "float32"
    mode: str = "mixed"
    loss_scale: float | str | None = None

    def __post_init__(self) -> None:
        # a torch.dtype is accepted and stored by its name, so that comparisons see one form
        object.__setattr__(self, "dtype", str(as_dtype(self.dtype)).removeprefix("torch."))
        check_choice("mode", self.mode, ("mixed", "pure"))
        if isinstance(self.loss_scale, str):
            check_choice("loss_scale", self.loss_scale, ("dynamic",))
        elif self.loss_scale is not None:
            check_positive("loss_scale", self.loss_scale)
        if self.loss_scale == "dynamic" and self.pure:
            raise ValueError(
                "loss_scale='dynamic' needs fp32 master weights: use mode='mixed', or a "
                "constant loss_scale with mode='pure'"
            )

    @property
    def pure(self) -> bool:
        """True when weights and inputs are stored in a format other than fp32."""
        return self.mode == "pure" and self.dtype != "float32"

    @property
    def autocast(self) -> bool:
        """True when forward and backward passes run under ``torch.autocast``."""
        return self.mode == "mixed" and self.dtype != "float32"

    def context(self, device: torch.device):
        """The autocast context of the forward pass (a no-op context in fp32 or pure mode)."""
        if self.autocast:
            return torch.autocast(device_type=device.type, dtype=as_dtype(self.dtype))
        return nullcontext()


# -- objectives --------------------------------------------------------------------------------
@runtime_checkable
class Objective(Protocol):
    """A training loss beyond the named ones of :data:`LOSSES`.

    Called as ``objective(output, target, index)`` with the model's output for a mini-batch,
    the batch's targets and the batch's indices into ``data.x_train``; returns a scalar
    tensor. Optional members: ``bind(data)``, called once with the training data (already on
    the training device) before the first step, e.g. to compute a teacher's outputs; and
    ``eval_loss``, the name in :data:`LOSSES` used for evaluations (default
    ``"cross_entropy"``). :class:`vgexamples.compression.DistillationLoss` is one.
    """

    def __call__(
        self, output: torch.Tensor, target: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor: ...


def _loss_fn(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    return nn.functional.cross_entropy if name == "cross_entropy" else nn.functional.mse_loss


# -- history -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stop:
    """Why a run of :func:`train` ended before its budget was spent.

    Attributes
    ----------
    step
        The step at which it stopped (its update was not taken).
    reason
        What happened, in words.
    diverged
        True when the loss (or gradient) stopped being a finite number.
    """

    step: int
    reason: str
    diverged: bool = True

    def __str__(self) -> str:
        return f"stopped at step {self.step}: {self.reason}"


@runtime_checkable
class Callback(Protocol):
    """What :func:`train` calls, if the object defines it.

    ``start(model, optimizer, scaler)`` runs once, before the first step, with the optimizer
    the loop built and its loss scaler (a ``torch.amp.GradScaler``, a constant scale, or
    ``None``): a :class:`vgexamples.watch.Watcher` attaches there.
    ``after_backward(step, model)`` runs once gradients exist (after loss scaling is undone,
    before clipping and the update); ``after_step(step, model)`` runs after the optimizer has
    changed the weights. Any of the methods may be omitted.
    """


@dataclass
class History:
    """What one training run of :func:`train` measured.

    Attributes
    ----------
    loss
        Mini-batch training loss at every step.
    grad_norm
        Global gradient norm at every step, measured before any clipping (and after loss
        scaling is undone).
    step_time
        Wall-clock seconds of every step (forward, backward, update; on a GPU the work is
        synchronized before the clock is read).
    eval_step, train_loss, test_loss, test_accuracy
        Full-data evaluations every ``eval_every`` steps and after the last step
        (accuracy is ``nan`` for regression losses).
    stop
        ``None`` if the run used its whole budget, else a :class:`Stop`.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    step_time: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    stop: Stop | None = None

    @property
    def diverged(self) -> bool:
        """True if the run stopped because a value became NaN or infinite."""
        return self.stop is not None and self.stop.diverged

    @property
    def stop_reason(self) -> str | None:
        """``str(stop)``, e.g. ``"stopped at step 4: the training loss became non-finite"``."""
        return None if self.stop is None else str(self.stop)

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

    @property
    def final_test_loss(self) -> float:
        """Full test-set loss at the last evaluation (``nan`` if none)."""
        return self.test_loss[-1] if self.test_loss else math.nan


# -- pieces ------------------------------------------------------------------------------------
def make_optimizer(
    name: str,
    params: Iterable[torch.Tensor],
    lr: float,
    *,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """Build a PyTorch optimizer by name (one of :data:`OPTIMIZERS`).

    ``"momentum"`` is SGD with heavy-ball momentum ``momentum``; the others are PyTorch's
    ``SGD``, ``Adagrad`` (Duchi et al. 2011), ``RMSprop`` and ``Adam`` (Kingma & Ba 2015)
    with their default hyper-parameters besides ``lr``.
    """
    check_choice("optimizer", name, OPTIMIZERS)
    check_positive("lr", lr)
    check_momentum(momentum)
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
    ``batch_size`` unvisited examples remain. The same seed gives the same batches on every
    device.
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


def global_grad_norm(params: Iterable[torch.Tensor]) -> float:
    """Euclidean norm of all the parameters' ``.grad`` together (0 if none has one).

    This is the norm ``torch.nn.utils.clip_grad_norm_`` compares with its threshold. Half
    precision gradients are accumulated in fp32.
    """
    grads = [p.grad.float() for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss: str = "cross_entropy",
    *,
    precision: Precision | None = None,
) -> tuple[float, float]:
    """Return ``(loss, accuracy)`` of ``model`` on ``(x, y)`` in eval mode.

    Accuracy is ``nan`` for ``loss="mse"``. The model's train/eval mode is restored. With a
    ``precision``, the forward pass runs in it (autocast for mixed precision; a model and
    inputs in a small format are used as they are); the loss is computed in fp32.
    """
    check_choice("loss", loss, LOSSES)
    device = x.device
    with training_mode(model, False), (precision or Precision()).context(device):
        out = model(x).float()
    value = float(_loss_fn(loss)(out, y))
    acc = float((out.argmax(1) == y).float().mean()) if loss == "cross_entropy" else math.nan
    return value, acc


# -- the loop ----------------------------------------------------------------------------------
def _check_data(data: object) -> Split:
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    for name in ("x_train", "y_train", "x_test", "y_test"):
        check_finite_tensor(f"data.{name}", getattr(data, name))
    return data


def train(
    model: nn.Module,
    data: Split,
    *,
    steps: int = 500,
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int = 64,
    loss: str | Objective = "cross_entropy",
    seed: int = 0,
    eval_every: int = 50,
    clip_value: float | None = None,
    clip_norm: float | None = None,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    precision: Precision | None = None,
    callbacks: Sequence[object] = (),
    device: torch.device | str | None = None,
) -> History:
    """Train ``model`` on ``data`` with mini-batch gradient descent and return its history.

    Parameters
    ----------
    model
        Any module mapping a batch of ``data.x_train`` to outputs for ``loss``. It is trained
        in place (and, in pure reduced precision, converted to that format).
    data
        Train and test tensors.
    steps
        Number of optimizer steps (mini-batches), >= 1.
    lr
        Learning rate, > 0.
    optimizer
        One of :data:`OPTIMIZERS`.
    batch_size
        Mini-batch size, >= 1. Batches come from :func:`minibatches` with ``seed``.
    loss
        One of :data:`LOSSES`, or an :class:`Objective` (evaluations then use its
        ``eval_loss``, cross-entropy by default).
    seed
        Seed of the mini-batch order.
    eval_every
        Evaluate on the full training and test sets every this many steps (and at the end).
    clip_value, clip_norm
        Clip each gradient component into ``[-clip_value, clip_value]``
        (``torch.nn.utils.clip_grad_value_``) and/or rescale the global gradient to norm at
        most ``clip_norm`` (``torch.nn.utils.clip_grad_norm_``), after the ``after_backward``
        callbacks have seen the raw gradient. Works in every precision: a scaled gradient is
        unscaled first.
    momentum, weight_decay
        Passed to :func:`make_optimizer`.
    precision
        The format to train in (:class:`Precision`); default fp32.
    callbacks
        Objects with ``after_backward(step, model)`` and/or ``after_step(step, model)``
        methods, e.g. :class:`vgexamples.monitors.TrainingRecorder`.
    device
        Where to train (see :func:`vgexamples.runtime.resolve_device`).

    Returns
    -------
    History
        Per-step losses, gradient norms and timings, periodic evaluations, and ``stop`` if the
        loss became NaN or infinite (training stops at that step, before its update).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    check_int("steps", steps)
    check_int("batch_size", batch_size)
    check_int("eval_every", eval_every)
    check_int("seed", seed, minimum=0)
    check_positive("lr", lr)
    check_momentum(momentum)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if isinstance(loss, str):
        check_choice("loss", loss, LOSSES)
        eval_loss, objective = loss, None
    elif callable(loss):
        eval_loss, objective = getattr(loss, "eval_loss", "cross_entropy"), loss
        check_choice("loss.eval_loss", eval_loss, LOSSES)
    else:
        raise TypeError(
            f"loss must be one of {', '.join(map(repr, LOSSES))} or a callable objective; "
            f"got {type(loss).__name__}"
        )
    if clip_value is not None:
        check_positive("clip_value", clip_value)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm)
    precision = Precision() if precision is None else precision
    if not isinstance(precision, Precision):
        raise TypeError(f"precision must be a Precision; got {type(precision).__name__}")
    data = _check_data(data)

    device = resolve_device(device)
    model.to(device)
    data = data.to(device)
    if precision.pure:
        dt = as_dtype(precision.dtype)
        model.to(dt)
        data = Split(data.x_train.to(dt), data.y_train, data.x_test.to(dt), data.y_test)
    if objective is not None and hasattr(objective, "bind"):
        objective.bind(data)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, lr, momentum=momentum, weight_decay=weight_decay)
    scaler = torch.amp.GradScaler(device.type) if precision.loss_scale == "dynamic" else None
    static_scale = (
        float(precision.loss_scale) if isinstance(precision.loss_scale, (int, float)) else None
    )
    loss_fn = _loss_fn(eval_loss)
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError(f"callbacks must be a list of callback objects; got {callbacks!r}")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not any(hasattr(cb, m) for m in ("start", "after_backward", "after_step")):
            raise TypeError(
                "callbacks must define start(model, optimizer, scaler), "
                "after_backward(step, model) and/or after_step(step, model); "
                f"got {type(cb).__name__}"
            )
        if hasattr(cb, "start"):
            cb.start(model, opt, scaler if scaler is not None else static_scale)
    before = [cb.after_backward for cb in callbacks if hasattr(cb, "after_backward")]
    after = [cb.after_step for cb in callbacks if hasattr(cb, "after_step")]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    hist = History()

    def _evaluate(step: int) -> None:
        tr_loss, _ = evaluate(model, data.x_train, data.y_train, eval_loss, precision=precision)
        te_loss, te_acc = evaluate(model, data.x_test, data.y_test, eval_loss, precision=precision)
        hist.eval_step.append(step)
        hist.train_loss.append(tr_loss)
        hist.test_loss.append(te_loss)
        hist.test_accuracy.append(te_acc)

    model.train()
    for step, idx in minibatches(len(data.x_train), batch_size, steps, seed, device):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with precision.context(device):
            out = model(data.x_train[idx])
        out = out.float()
        target = data.y_train[idx]
        value = objective(out, target, idx) if objective is not None else loss_fn(out, target)
        if not torch.isfinite(value):
            bad = "NaN" if torch.isnan(value) else f"{float(value.detach()):+}"
            hist.stop = Stop(step, f"the training loss became non-finite ({bad})")
            break
        if scaler is not None:
            scaler.scale(value).backward()
            scaler.unscale_(opt)
        elif static_scale is not None:
            (value * static_scale).backward()
            for p in params:
                if p.grad is not None:
                    p.grad.div_(static_scale)
        else:
            value.backward()
        for fn in before:
            fn(step, model)
        hist.grad_norm.append(global_grad_norm(params))
        if clip_value is not None:
            nn.utils.clip_grad_value_(params, clip_value)
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(params, clip_norm)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        sync()
        hist.step_time.append(time.perf_counter() - t0)
        hist.loss.append(float(value.detach()))
        for fn in after:
            fn(step, model)
        if step % eval_every == 0 or step == steps:
            _evaluate(step)
    return hist


def train_mlp(
    data: Split,
    seed: int,
    budget: Budget,
    *,
    callbacks: Sequence[object] = (),
    device: torch.device | str | None = None,
    **mlp_kwargs: object,
) -> tuple[nn.Module, History]:
    """Build a seeded MLP and train it under ``budget``; return ``(model, history)``.

    The network comes from :func:`vgexamples.models.seeded_mlp` with ``seed``; training is
    :func:`train` with the same ``seed`` for the mini-batch order and the budget's settings
    (its ``seeds`` are ignored: this is one run). Keyword arguments not listed here go to
    :class:`~vgexamples.models.MLP`.
    """
    from .models import seeded_mlp

    check_budget(budget)
    net = seeded_mlp(data, seed, device=device, **mlp_kwargs)
    hist = train(net, data, seed=seed, callbacks=callbacks, device=device, **budget.train_kwargs())
    return net, hist
