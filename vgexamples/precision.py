"""Reduced-precision arithmetic: what fp16 and bf16 can hold, and what they change.

* :func:`probe_format` / :func:`format_table` -- range and precision of a floating-point format,
  read from ``torch.finfo`` and checked by probing (the smallest subnormal is found by halving
  until the value rounds to zero).
* :func:`underflow_fraction`, :func:`overflow_fraction` -- what share of a set of fp32 values
  (gradients, say) becomes zero or infinite once multiplied by a loss scale and stored in a
  smaller format (Micikevicius et al. 2018).
* :func:`compare_outputs`, :func:`model_bytes`, :func:`activation_bytes`,
  :func:`time_matmul` -- what halving the precision changes in outputs, memory and speed.

Training in a reduced format is :func:`vgexamples.train.train` with a
:class:`~vgexamples.train.Precision`; the gradient values of one pass come from
:func:`vgexamples.diagnostics.gradient_values`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_finite_tensor, check_int, check_positive
from .runtime import median_seconds, resolve_device
from .state import training_mode
from .train import FORMATS, as_dtype

__all__ = [
    "FormatInfo",
    "OutputChange",
    "WeightedCrossEntropy",
    "activation_bytes",
    "compare_outputs",
    "cpu_features",
    "format_table",
    "fp16_rounding_bound",
    "half_adam_step",
    "model_bytes",
    "overflow_fraction",
    "probe_format",
    "smallest_subnormal",
    "time_matmul",
    "underflow_fraction",
]


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
    with training_mode(model, False):
        ref = model(x.float()).float()
        small = copy.deepcopy(model).to(dt)
        out = small(x.to(dt)).float()
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
    *,
    via_fp32: bool = False,
) -> float:
    """Median wall-clock seconds of one ``n x n`` by ``n x n`` matrix product in ``dtype``.

    With ``via_fp32=True`` the product is computed the slow way on purpose: both factors are
    converted to fp32, multiplied, and the result converted back to ``dtype``. Comparing the
    two timings tells whether the format has a kernel of its own or costs what a conversion
    does. Timed by :func:`vgexamples.runtime.median_seconds` (one untimed product first; CUDA
    work synchronized before each reading).
    """
    check_int("n", n)
    check_int("repeats", repeats)
    dt = as_dtype(dtype)
    device = resolve_device(device)
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dt)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dt)
    if via_fp32:
        return median_seconds(
            lambda: (a.float() @ b.float()).to(dt), repeats=repeats, warmup=1, device=device
        )
    return median_seconds(lambda: a @ b, repeats=repeats, warmup=1, device=device)


#: CPU instruction-set extensions that give a processor native half-precision arithmetic.
HALF_ISA_FLAGS = ("f16c", "avx512_fp16", "avx512_bf16", "amx_bf16", "amx_fp16")


def cpu_features() -> dict[str, object]:
    """What this CPU offers for half precision: PyTorch's dispatch level
    (``torch.backends.cpu.get_cpu_capability()``) and which of :data:`HALF_ISA_FLAGS` the
    processor reports in ``/proc/cpuinfo`` (an empty list where that file does not exist).

    ``f16c`` only converts between fp16 and fp32; ``avx512_fp16``/``amx_fp16`` compute in
    fp16 and ``avx512_bf16``/``amx_bf16`` compute bf16 dot products.
    """
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "flags": [f for f in HALF_ISA_FLAGS if f in flags],
    }


def fp16_rounding_bound(logits: torch.Tensor, dtype: str = "float16", layers: int = 1) -> float:
    """A scale for the logit change that rounding alone causes: ``eps/2`` of ``dtype`` (the
    largest relative error of one rounding) times the largest absolute logit, times
    ``layers`` roundings in a row.

    It is an order of magnitude, not a proof: errors of many products can add up beyond one
    rounding per layer, so callers compare with a margin.
    """
    check_int("layers", layers)
    check_finite_tensor("logits", logits)
    eps = float(torch.finfo(as_dtype(dtype)).eps)
    return layers * eps / 2 * float(logits.detach().abs().max())


class WeightedCrossEntropy:
    """Cross-entropy multiplied by a constant ``weight``: an objective for
    :func:`vgexamples.train.train` (evaluations report the unweighted loss).

    A small weight stands for every reason a loss ends up small by construction: one term of a
    weighted sum, a mean over many positions or micro-batches. Every gradient is multiplied by
    ``weight``; Adam's steps do not change (it divides by the gradient's own size), but in fp16
    the small gradients may underflow.
    """

    eval_loss = "cross_entropy"

    def __init__(self, weight: float) -> None:
        self.weight = check_positive("weight", weight)

    def __call__(
        self, output: torch.Tensor, target: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        return self.weight * nn.functional.cross_entropy(output, target)

    def __repr__(self) -> str:
        return f"WeightedCrossEntropy({self.weight:g})"


def half_adam_step(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float = 1e-3,
    eps: float = 1e-8,
) -> dict[str, int]:
    """One Adam step on a copy of ``model`` converted entirely to fp16; count what breaks.

    Returns the number of parameter values that are NaN and infinite after the step, and
    among the gradient values: how many are exactly zero (Adam's first step then computes
    ``0 / (0 + eps)``, and ``eps`` may itself round to zero in fp16: ``0/0``, NaN) and how many
    are non-zero but leave a second moment ``(1 - beta2) g**2`` that underflows to zero in fp16
    (read from the optimizer's state: a non-zero step divided by ``0 + eps``, infinite when
    ``eps`` is zero). ``eps_in_fp16`` is ``eps`` stored in fp16.
    """
    check_positive("lr", lr)
    check_positive("eps", eps)
    half = copy.deepcopy(model).half()
    half.train()
    params = list(half.parameters())
    opt = torch.optim.Adam(params, lr=lr, eps=eps)
    nn.functional.cross_entropy(half(x.half()).float(), y).backward()
    grads = torch.cat([p.grad.flatten() for p in params])
    opt.step()
    second = torch.cat([opt.state[p]["exp_avg_sq"].flatten() for p in params])
    values = torch.cat([p.detach().flatten() for p in params])
    return {
        "params": int(values.numel()),
        "nan": int(torch.isnan(values).sum()),
        "inf": int(torch.isinf(values).sum()),
        "zero_grad": int((grads == 0).sum()),
        "second_moment_underflow": int(((grads != 0) & (second == 0)).sum()),
        "eps_in_fp16": float(torch.tensor(eps, dtype=torch.float16)),
    }
