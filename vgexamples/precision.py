"""Reduced-precision arithmetic: what fp16 and bf16 can hold, and training with them.

* :func:`probe_format` / :func:`format_table` -- range and precision of a floating-point format,
  read from ``torch.finfo`` and checked by probing (the smallest subnormal is found by halving
  until the value rounds to zero).
* :func:`underflow_fraction`, :func:`overflow_fraction` -- what share of a set of fp32 values
  (gradients, say) becomes zero or infinite once multiplied by a loss scale and stored in a
  smaller format (Micikevicius et al. 2018).
* :func:`gradient_values` -- every weight gradient and every back-propagated activation
  gradient of one fp32 forward/backward pass, as one flat tensor.
* :func:`train_precision` -- :func:`vgexamples.train.train`'s loop in ``float32``, in mixed
  precision (``torch.autocast`` with fp32 master weights, optional loss scaling by a constant
  or by ``torch.amp.GradScaler``), or with the whole model stored in the small format.
* :func:`compare_outputs`, :func:`model_bytes`, :func:`activation_bytes`,
  :func:`time_matmul` -- what halving the precision changes in outputs, memory and speed.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_choice, check_finite_tensor, check_int, check_positive
from .data import Split
from .diagnostics import Recorder
from .runtime import get_device
from .train import History, make_optimizer, minibatches

__all__ = [
    "FORMATS",
    "MODES",
    "FormatInfo",
    "OutputChange",
    "activation_bytes",
    "as_dtype",
    "compare_outputs",
    "format_table",
    "gradient_values",
    "model_bytes",
    "overflow_fraction",
    "probe_format",
    "smallest_subnormal",
    "time_matmul",
    "train_precision",
    "underflow_fraction",
]

#: Floating-point format names accepted throughout this module.
FORMATS = ("float32", "float16", "bfloat16")
#: Training modes of :func:`train_precision`.
MODES = ("mixed", "pure")


def as_dtype(name: str | torch.dtype) -> torch.dtype:
    """Return the ``torch.dtype`` for a name in :data:`FORMATS` (a dtype passes through)."""
    if isinstance(name, torch.dtype):
        if name not in (torch.float32, torch.float16, torch.bfloat16):
            raise ValueError(f"dtype must be one of {FORMATS}; got {name}")
        return name
    check_choice("dtype", name, FORMATS)
    return getattr(torch, name)


def smallest_subnormal(dtype: str | torch.dtype) -> float:
    """Smallest positive value ``dtype`` can store, found by halving until it rounds to zero."""
    dt = as_dtype(dtype)
    value = torch.tensor(float(torch.finfo(dt).tiny), dtype=dt)
    while True:
        half = value / 2
        if half == 0:
            return float(value)
        value = half


@dataclass(frozen=True)
class FormatInfo:
    """Range and precision of one floating-point format (see :func:`probe_format`).

    Attributes
    ----------
    name, bits
        Format name and storage size in bits.
    mantissa_bits
        Stored fraction bits (the significand has one more, implicit, bit).
    eps
        Gap between 1 and the next representable number.
    max
        Largest finite value.
    smallest_normal
        Smallest positive normal number (``torch.finfo(dtype).tiny``).
    smallest_subnormal
        Smallest positive value at all, found by probing.
    decimal_digits
        ``torch.finfo(dtype).resolution`` as a number of significant decimal digits.
    """

    name: str
    bits: int
    mantissa_bits: int
    eps: float
    max: float
    smallest_normal: float
    smallest_subnormal: float
    decimal_digits: int


def probe_format(dtype: str | torch.dtype) -> FormatInfo:
    """Measure the range and precision of ``dtype`` (``"float32"``, ``"float16"``, ``"bfloat16"``).

    ``mantissa_bits`` is counted, not quoted: the largest ``k`` with ``1 + 2**-k != 1`` once
    stored in the format.
    """
    dt = as_dtype(dtype)
    fi = torch.finfo(dt)
    one = torch.tensor(1.0, dtype=dt)
    k = 0
    while one + torch.tensor(2.0 ** -(k + 1), dtype=dt) != one:
        k += 1
    return FormatInfo(
        name=str(dt).removeprefix("torch."),
        bits=fi.bits,
        mantissa_bits=k,
        eps=float(fi.eps),
        max=float(fi.max),
        smallest_normal=float(fi.tiny),
        smallest_subnormal=smallest_subnormal(dt),
        decimal_digits=round(-math.log10(fi.resolution)),
    )


def format_table(formats: tuple[str, ...] = FORMATS) -> list[FormatInfo]:
    """:func:`probe_format` for each of ``formats``."""
    return [probe_format(f) for f in formats]


def _cast_fraction(values: torch.Tensor, dtype, scale: float, what: str) -> float:
    check_finite_tensor("values", values)
    check_positive("scale", scale)
    dt = as_dtype(dtype)
    v = values.detach().double().flatten() * scale
    nonzero = v != 0
    if not bool(nonzero.any()):
        return 0.0
    cast = v[nonzero].to(dt)
    bad = (cast == 0) if what == "under" else torch.isinf(cast)
    return float(bad.double().mean())


def underflow_fraction(
    values: torch.Tensor, dtype: str | torch.dtype = "float16", scale: float = 1.0
) -> float:
    """Fraction of the non-zero ``values`` that become exactly zero when ``scale * values`` is
    stored in ``dtype``.

    Parameters
    ----------
    values
        Any finite tensor (typically fp32 gradients).
    dtype
        Target format, one of :data:`FORMATS`.
    scale
        Loss scale, > 0: every value is multiplied by it before the cast.
    """
    return _cast_fraction(values, dtype, scale, "under")


def overflow_fraction(
    values: torch.Tensor, dtype: str | torch.dtype = "float16", scale: float = 1.0
) -> float:
    """Fraction of the non-zero ``values`` that become infinite when ``scale * values`` is
    stored in ``dtype`` (same parameters as :func:`underflow_fraction`)."""
    return _cast_fraction(values, dtype, scale, "over")


def gradient_values(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, which: str = "both"
) -> torch.Tensor:
    """Gradient values of one fp32 forward/backward pass of ``model`` on ``(x, y)``.

    Parameters
    ----------
    which
        ``"weights"`` (every parameter's gradient), ``"activations"`` (the gradient of the
        loss with respect to each linear/conv layer's output, the signal back-propagation
        passes down) or ``"both"``.

    Returns
    -------
    torch.Tensor
        One flat float32 tensor on the CPU. The model's ``.grad`` fields are left as before.
    """
    check_choice("which", which, ("weights", "activations", "both"))
    params = list(model.parameters())
    saved = [p.grad for p in params]
    for p in params:
        p.grad = None
    try:
        with Recorder(model) as rec:
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            parts = []
            if which in ("weights", "both"):
                parts += [p.grad.flatten() for p in params if p.grad is not None]
            if which in ("activations", "both"):
                parts += [g.flatten() for g in rec.output_grad.values()]
            values = torch.cat([t.detach().float().cpu() for t in parts])
    finally:
        for p, g in zip(params, saved, strict=True):
            p.grad = g
    return values


def train_precision(
    model: nn.Module,
    data: Split,
    *,
    dtype: str = "float32",
    mode: str = "mixed",
    loss_scale: float | str | None = None,
    steps: int = 500,
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int = 64,
    seed: int = 0,
    eval_every: int = 50,
    device: torch.device | str | None = None,
) -> History:
    """Train a classifier in ``dtype`` and return its :class:`~vgexamples.train.History`.

    Mini-batches are drawn exactly as in :func:`vgexamples.train.train` (same seed, same
    order), so runs in different precisions see the same data.

    Parameters
    ----------
    model
        Any classifier; it is trained in place.
    data
        Train and test tensors (fp32).
    dtype
        One of :data:`FORMATS`.
    mode
        ``"mixed"``: weights stay fp32 (the master copy), the forward and backward passes run
        under ``torch.autocast`` in ``dtype``. ``"pure"``: the model and inputs are converted
        to ``dtype``, so weights, gradients and updates all live in the small format.
    loss_scale
        ``None`` (no scaling), a number ``> 0`` (the loss is multiplied by it before
        ``backward`` and the gradients divided by it before the step), or ``"dynamic"``
        (``torch.amp.GradScaler``: starts at 2**16, halves and skips the step when a gradient
        overflows, doubles after 2000 clean steps).
    steps, lr, optimizer, batch_size, seed, eval_every
        As in :func:`vgexamples.train.train`.
    device
        Where to train; default :func:`vgexamples.runtime.get_device`.

    Returns
    -------
    History
        Evaluations are run in the training precision. ``stop_reason`` is set when the loss
        becomes non-finite (with ``"dynamic"`` scaling, overflowing steps are skipped instead).
    """
    dt = as_dtype(dtype)
    check_choice("mode", mode, MODES)
    check_int("steps", steps)
    check_int("batch_size", batch_size)
    check_int("eval_every", eval_every)
    check_int("seed", seed, minimum=0)
    check_positive("lr", lr)
    if isinstance(loss_scale, str):
        check_choice("loss_scale", loss_scale, ("dynamic",))
    elif loss_scale is not None:
        check_positive("loss_scale", loss_scale)
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    if loss_scale == "dynamic" and mode == "pure" and dt != torch.float32:
        raise ValueError(
            "loss_scale='dynamic' needs fp32 master weights: use mode='mixed', or a constant "
            "loss_scale with mode='pure'"
        )

    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    data = data.to(device)
    pure = mode == "pure" and dt != torch.float32
    use_autocast = mode == "mixed" and dt != torch.float32
    if pure:
        model.to(dt)
        data = Split(data.x_train.to(dt), data.y_train, data.x_test.to(dt), data.y_test)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, lr)
    scaler = None
    if loss_scale == "dynamic":
        scaler = torch.amp.GradScaler(device.type)
    static = float(loss_scale) if isinstance(loss_scale, (int, float)) else None

    def forward(x: torch.Tensor) -> torch.Tensor:
        if use_autocast:
            with torch.autocast(device_type=device.type, dtype=dt):
                return model(x)
        return model(x)

    hist = History()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    model.train()

    def _evaluate(step: int) -> None:
        with torch.no_grad():
            model.eval()
            for x, y, store in (
                (data.x_train, data.y_train, "train"),
                (data.x_test, data.y_test, "test"),
            ):
                out = forward(x).float()
                value = float(nn.functional.cross_entropy(out, y))
                if store == "train":
                    hist.train_loss.append(value)
                else:
                    hist.test_loss.append(value)
                    hist.test_accuracy.append(float((out.argmax(1) == y).float().mean()))
            model.train()
        hist.eval_step.append(step)

    for step, idx in minibatches(len(data.x_train), batch_size, steps, seed, device):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        value = nn.functional.cross_entropy(forward(data.x_train[idx]).float(), data.y_train[idx])
        if not torch.isfinite(value):
            hist.stop_reason = (
                f"stopped at step {step}: the training loss became non-finite "
                f"({float(value.detach())})"
            )
            break
        if scaler is not None:
            scaler.scale(value).backward()
            scaler.unscale_(opt)
            hist.grad_norm.append(_grad_norm(params))
            scaler.step(opt)
            scaler.update()
        else:
            (value * static if static is not None else value).backward()
            if static is not None:
                for p in params:
                    if p.grad is not None:
                        p.grad.div_(static)
            hist.grad_norm.append(_grad_norm(params))
            opt.step()
        sync()
        hist.step_time.append(time.perf_counter() - t0)
        hist.loss.append(float(value.detach()))
        if step % eval_every == 0 or step == steps:
            _evaluate(step)
    return hist


def _grad_norm(params: list[torch.Tensor]) -> float:
    grads = [p.grad.float() for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )


@dataclass(frozen=True)
class OutputChange:
    """How much a model's outputs move when it runs in a smaller format.

    Attributes
    ----------
    argmax_agreement
        Fraction of inputs whose predicted class is the same as in fp32.
    max_abs_diff, mean_abs_diff
        Largest and mean absolute difference of the logits (``nan`` if any output is
        non-finite).
    finite
        Whether every output of the small-format model is finite.
    """

    argmax_agreement: float
    max_abs_diff: float
    mean_abs_diff: float
    finite: bool


@torch.no_grad()
def compare_outputs(model: nn.Module, x: torch.Tensor, dtype: str = "float16") -> OutputChange:
    """Run ``model`` on ``x`` in fp32 and a copy of it entirely in ``dtype``; compare outputs.

    ``model`` itself is not changed (a deep copy is converted).
    """
    dt = as_dtype(dtype)
    was_training = model.training
    model.eval()
    try:
        ref = model(x.float()).float()
        small = copy.deepcopy(model).to(dt)
        out = small(x.to(dt)).float()
    finally:
        model.train(was_training)
    finite = bool(torch.isfinite(out).all())
    agree = float((out.argmax(1) == ref.argmax(1)).float().mean())
    if finite:
        diff = (out - ref).abs()
        return OutputChange(agree, float(diff.max()), float(diff.mean()), True)
    return OutputChange(agree, math.nan, math.nan, False)


def model_bytes(model: nn.Module) -> int:
    """Bytes held by ``model``'s parameters and buffers."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


@torch.no_grad()
def activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of every leaf module's output during one forward pass on ``x``.

    This is what a training step keeps for the backward pass (roughly: some layers also keep
    their inputs, which are the previous layer's outputs).
    """
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: object) -> None:
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return total


def time_matmul(
    n: int,
    dtype: str = "float32",
    device: torch.device | str = "cpu",
    repeats: int = 20,
    seed: int = 0,
) -> float:
    """Median wall-clock seconds of one ``n x n`` by ``n x n`` matrix product in ``dtype``.

    One untimed product runs first (warm-up); CUDA work is synchronized before each reading.
    """
    check_int("n", n)
    check_int("repeats", repeats)
    dt = as_dtype(dtype)
    device = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dt)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dt)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    a @ b
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
