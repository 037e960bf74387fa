"""Watch any PyTorch training loop: per-layer signals over time, where it broke, exports.

:class:`Watcher` attaches to a model and the optimizer that trains it, and records while *your*
loop runs, whatever its data source, loss, scheduler, clipping, mixed precision or gradient
accumulation::

    with Watcher(model, optimizer) as watcher:
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    print(watcher.report().to_markdown())

Nothing in the loop changes. The watcher counts the optimizer's steps with the optimizer's own
step hooks, and on the steps it samples (:data:`AUTO_INTERVAL`, or every ``every`` steps) it
records per layer: the norm of the weight and bias gradients, the norm of the gradient with
respect to the layer's output (the back-propagated signal), the output's mean and standard
deviation, the update-to-weight ratio of the step the optimizer then takes
(:math:`\\lVert\\Delta W\\rVert / \\lVert W\\rVert` over the layer's weights), and per
activation module the mean, spread, saturated and dead fractions; for the whole model the
global gradient norm *before* any clipping. For a recurrent layer it also records the
gradient through time, :math:`\\lVert\\partial L/\\partial h_t\\rVert` against ``t``.

On every step it checks that the model's output and the gradients are finite. On the first
NaN or infinity it replays the step to name the first module that produced one, in the
forward or the backward pass (:class:`Break`), and raises :class:`NonFiniteError` (or only
records it, with ``on_nonfinite="record"``).

Removing the watcher (:meth:`Watcher.remove`, or leaving its ``with`` block) takes every hook
off the model and the optimizer (none ever goes on a parameter: autograd keeps calling a
parameter's hook table once one was set): the model is exactly as it was, and a run watched
and a run not watched take bit-for-bit the same steps.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._checks import check_choice
from .activations import ACTIVATION_TYPES
from .diagnostics import _std_mean, _unit_count, activation_tensors
from .state import kept_buffers, set_aside_grads

__all__ = [
    "ADAPTIVE_OPTIMIZERS",
    "AUTO_INTERVAL",
    "LAYER_SERIES",
    "RECURRENT_TYPES",
    "ROOT",
    "WATCHED_TYPES",
    "Break",
    "NonFiniteError",
    "Watcher",
    "auto_due",
    "load_json",
]

#: The name under which a model that is itself a layer (``nn.LSTM(...)``) is watched.
ROOT = "(model)"
#: Recurrent layer types, whose gradient through time is recorded.
RECURRENT_TYPES: tuple[type[nn.Module], ...] = (nn.RNN, nn.LSTM, nn.GRU)
#: Module types watched as layers by default.
WATCHED_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Bilinear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.Embedding,
    nn.MultiheadAttention,
    *RECURRENT_TYPES,
)
#: Optimizers whose step is normalized by running gradient statistics (or, for Rprop, by the
#: gradient's sign; for Muon, by orthogonalizing it): the step's size does not follow the
#: gradient's, so a small update-to-weight ratio cannot reveal a vanishing gradient under
#: them (the report says so).
ADAPTIVE_OPTIMIZERS: tuple[type[torch.optim.Optimizer], ...] = tuple(
    getattr(torch.optim, name)
    for name in (
        "Adam",
        "AdamW",
        "Adamax",
        "NAdam",
        "RAdam",
        "Adagrad",
        "Adadelta",
        "RMSprop",
        "SparseAdam",
        "Adafactor",
        "Rprop",
        "Muon",
    )
    if hasattr(torch.optim, name)
)
#: With ``every=None`` the watcher samples steps 1, 4, 16, 64, ..., up to this interval and
#: then every this many steps: a run of any length has samples, and the overhead stays small
#: (a sampled step costs several plain ones).
AUTO_INTERVAL = 256
#: What is recorded per layer at every sampled step (``Watcher.series[name][layer]``).
LAYER_SERIES = (
    "weight_grad_norm",
    "bias_grad_norm",
    "output_grad_norm",
    "update_ratio",
    "weight_norm",
    "output_mean",
    "output_std",
)
#: ... per activation module.
ACTIVATION_SERIES = ("activation_mean", "activation_std", "saturated", "dead")
# bins of the log10 |gradient| histograms: half decades from 1e-20 to 1e5 (zeros and
# magnitudes outside are left out)
_LOG_EDGES = np.linspace(-20.0, 5.0, 51)
_ACT_BINS = 40
#: A histogram is made of at most this many of a tensor's values, evenly spaced through it.
HISTOGRAM_VALUES = 1024


def auto_due(step: int) -> bool:
    """Whether the automatic schedule samples ``step``: the powers of 4 (1, 4, 16, 64) below
    :data:`AUTO_INTERVAL`, then its multiples."""
    if step < AUTO_INTERVAL:
        return step >= 1 and step & (step - 1) == 0 and (step.bit_length() - 1) % 2 == 0
    return step % AUTO_INTERVAL == 0


class NonFiniteError(FloatingPointError):
    """Raised by a :class:`Watcher` on the first NaN or infinity; ``.where`` is the
    :class:`Break`."""

    def __init__(self, where: Break) -> None:
        super().__init__(str(where))
        self.where = where


@dataclass(frozen=True)
class Break:
    """Where a run first produced a NaN or an infinity.

    Attributes
    ----------
    step
        The optimizer step (1 = the first) whose forward or backward pass produced it; its
        update was not taken by the watcher's account (with ``on_nonfinite="raise"`` the
        optimizer's ``step()`` raises before changing a weight).
    phase
        ``"forward"`` (a module's output), ``"backward"`` (a gradient) or ``"input"`` (the
        batch itself).
    module
        Qualified name of the first module that produced a non-finite value from finite ones
        (``None`` if none could be named); ``kind`` its class name.
    detail
        What was found, in words.
    """

    step: int
    phase: str
    module: str | None
    kind: str | None
    detail: str

    def __str__(self) -> str:
        where = f"module {self.module!r} ({self.kind})" if self.module is not None else "-"
        if self.module is None:
            return f"step {self.step}, {self.phase}: {self.detail}"
        return f"step {self.step}, {self.phase}: {where} {self.detail}"

    def to_dict(self) -> dict[str, object]:
        return {
            "step": self.step,
            "phase": self.phase,
            "module": self.module,
            "kind": self.kind,
            "detail": self.detail,
        }


def _tensors(obj: object) -> list[torch.Tensor]:
    """The tensors in a module's output (a tensor, or tuples/lists/dicts of them)."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, Mapping):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _tensors(item)]
    return []


def _count_bad(t: torch.Tensor) -> str:
    nan = int(torch.isnan(t).sum())
    inf = int(torch.isinf(t).sum())
    parts = ([f"{nan} NaN"] if nan else []) + ([f"{inf} infinite"] if inf else [])
    return " and ".join(parts) + " value" + ("s" if nan + inf > 1 else "")


def _histograms(
    flat: torch.Tensor, owner: torch.Tensor, chunks: int, ranges: torch.Tensor, bins: int
) -> torch.Tensor:
    """Counts of several chunks of values in ``bins`` equal bins each, shaped ``(chunks,
    bins)``, in a few operations for all of them at once.

    ``flat`` holds the chunks one after another and ``owner`` the chunk (``0..chunks-1``) of
    each of its values; chunk ``i`` is binned over ``(low, high)`` from row ``i`` of
    ``ranges``, or from its only row for every chunk. Values outside the range, NaN and
    infinities are left out; ``high`` itself goes to the last bin.
    """
    flat = flat.float()
    lo, hi = ranges.to(device=flat.device, dtype=torch.float32).unbind(1)
    scale = bins / (hi - lo)
    if ranges.shape[0] > 1:
        lo, hi, scale = lo[owner], hi[owner], scale[owner]
    # the values themselves against the range: (high - low) * scale can round above bins
    keep = (flat >= lo) & (flat <= hi)  # False for NaN
    index = (flat - lo).mul_(scale).clamp_(0, bins - 1).long().add_(owner * bins)
    # what is left out goes to one more bin, dropped (cheaper than selecting what is kept)
    index = torch.where(keep, index, chunks * bins)
    counts = torch.bincount(index, minlength=chunks * bins + 1)[:-1]
    return counts.reshape(chunks, bins)


def _activation_ranges(extremes: torch.Tensor) -> torch.Tensor:
    """Histogram ranges from rows of (min, max): a constant output gets a unit-wide range
    around its value; a non-finite extreme leaves the range non-finite (no histogram)."""
    lo, hi = extremes.float().unbind(1)
    flat = hi <= lo
    return torch.stack([torch.where(flat, lo - 0.5, lo), torch.where(flat, hi + 0.5, hi)], 1)


def _edges(lo: float, hi: float, bins: int) -> list[float]:
    """``bins + 1`` evenly spaced bin edges from ``lo`` to exactly ``hi``."""
    width = (hi - lo) / bins
    return [lo + i * width for i in range(bins)] + [hi]


def _activation_calls(calls: list[tuple[int, int, torch.Tensor]]) -> torch.Tensor:
    """:data:`ACTIVATION_SERIES` of an activation module over all its calls in one forward
    pass (a module reused after several layers): the values of every call together, and the
    dead fraction over the units of every call. Each call is ``(values, units, stats)``."""
    if len(calls) == 1:
        return calls[0][2]
    rows = torch.stack([t for _, _, t in calls]).double()
    mean, std, saturated, dead = rows.unbind(1)
    n = rows.new_tensor([c[0] for c in calls])
    units = rows.new_tensor([c[1] for c in calls])
    std_mean = _pooled([c[0] for c in calls], list(torch.stack([std, mean], 1)))
    return torch.stack(
        [
            std_mean[1],
            std_mean[0],
            (n * saturated).sum() / n.sum(),
            torch.where(units > 0, units * dead, 0).sum() / units.sum().clamp(min=1),
        ]
    )


def _spaced(t: torch.Tensor) -> torch.Tensor:
    """At most :data:`HISTOGRAM_VALUES` of ``t``'s values, evenly spaced (for histograms)."""
    flat = t.reshape(-1)
    step = -(-flat.numel() // HISTOGRAM_VALUES)
    return flat[::step] if step > 1 else flat


def _values(grad: torch.Tensor) -> torch.Tensor:
    """A gradient's stored values (those of a sparse one, e.g. ``nn.Embedding(sparse=True)``)."""
    grad = grad.detach()
    return grad.coalesce().values() if grad.is_sparse else grad


def _finite(ts: Iterable[torch.Tensor]) -> bool:
    """No NaN or infinity in any of the floating-point tensors ``ts``."""
    for t in ts:
        # the sum is NaN or infinite when a value is; only then (or when finite values
        # overflow it) is every value looked at
        if t.is_floating_point() and not math.isfinite(t.detach().sum().item()):
            if not bool(torch.isfinite(t).all()):
                return False
    return True


def _select(
    model: nn.Module, which: object, types: tuple[type[nn.Module], ...], param: str
) -> dict[str, nn.Module]:
    named = {n: m for n, m in model.named_modules() if n}
    if which is None:
        chosen = {n: m for n, m in named.items() if isinstance(m, types)}
        if not chosen and isinstance(model, types):
            chosen = {ROOT: model}  # the model is itself one layer
        return chosen
    if isinstance(which, str):
        try:
            pattern = re.compile(which)
        except re.error as exc:
            raise ValueError(f"{param}: {which!r} is not a regular expression ({exc})") from exc
        chosen = {n: m for n, m in named.items() if pattern.search(n)}
        if not chosen:
            raise ValueError(
                f"{param}: the pattern {which!r} matches no submodule; names are " + _listing(named)
            )
        return chosen
    if isinstance(which, Mapping):
        return dict(which)
    if not isinstance(which, Iterable):
        raise TypeError(
            f"{param} must be None, a regular expression or a list of submodule names; "
            f"got {type(which).__name__}"
        )
    chosen = {}
    named = {ROOT: model, **named}
    for name in which:
        if name not in named:
            raise ValueError(
                f"{param}: {name!r} is not a submodule of the model; names are " + _listing(named)
            )
        chosen[name] = named[name]
    if not chosen and param == "layers":
        raise ValueError("layers: the list is empty; pass None to watch the default layers")
    return chosen


def _listing(named: Mapping[str, object], limit: int = 12) -> str:
    names = [repr(n) for n in named]
    if not names:
        return "(none)"
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _batch_dim(module: nn.Module, t: torch.Tensor) -> int:
    """The examples' axis of a layer's output: 1 for sequence-first 3-d outputs, else 0 (used
    when the model's input holds no tensor to count the examples of)."""
    if t.dim() == 3 and getattr(module, "batch_first", True) is False:
        return 1
    return 0


def _first_tensor(args: tuple, kwargs: Mapping[str, object]) -> torch.Tensor | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value
    return None


def _pooled(counts: list[int], std_mean: list[torch.Tensor]) -> torch.Tensor:
    """``[std, mean]`` of the values of several calls together, from each call's count and
    ``[std, mean]`` (``correction=1``), in float64."""
    if len(std_mean) == 1:
        return std_mean[0]
    n = torch.tensor(counts, dtype=torch.float64, device=std_mean[0].device)
    std, mean = torch.stack(std_mean).double().unbind(1)
    total = n.sum()
    mu = (n * mean).sum() / total
    squares = (std.square() * (n - 1).clamp(min=0) + n * mean.square()).sum()
    var = (squares - total * mu.square()) / (total - 1).clamp(min=1)
    return torch.stack([var.clamp(min=0).sqrt(), mu])


@dataclass
class _Pending:
    """What one sampled step has gathered so far (forward and backward passes)."""

    scale: float = 1.0
    backwards: int = 0  # backward passes ended
    queued: bool = False  # a backward pass is running, its end awaited
    order: list[str] = field(default_factory=list)
    out_norms: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    out_n: dict[str, int] = field(default_factory=dict)
    batch: int | None = None  # examples in the forward pass now running (the model's input)
    forwards: int = 0  # forward passes begun
    counted: set[tuple[str, int]] = field(default_factory=set)  # (output, pass) counted
    out_stats: dict[str, list[tuple[int, torch.Tensor]]] = field(default_factory=dict)
    out_hist: dict[str, torch.Tensor] = field(default_factory=dict)
    acts: dict[str, list[tuple[int, int, torch.Tensor]]] = field(default_factory=dict)
    act_hist: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    param_norm: dict[int, torch.Tensor] = field(default_factory=dict)
    recurrent: dict[str, dict[str, Any]] = field(default_factory=dict)
    before: list[torch.Tensor] = field(default_factory=list)
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    hists: dict[str, list[int]] = field(default_factory=dict)
    act_values: dict[str, dict[str, float]] = field(default_factory=dict)
    act_hists: dict[str, tuple[list[float], list[int]]] = field(default_factory=dict)
    grad_norm: float = math.nan
    through_time: dict[str, list[float]] = field(default_factory=dict)


class Watcher:
    """Record per-layer training signals of ``model`` while ``optimizer`` trains it.

    Parameters
    ----------
    model
        Any ``torch.nn.Module``.
    optimizer
        The ``torch.optim.Optimizer`` that updates the model's parameters (it must hold at
        least one of them). Its step hooks count the steps; ``optimizer.step()`` is the step.
    every
        Sample every this many optimizer steps (>= 1), and step 1; ``None`` (default): steps
        1, 4, 16, 64, then every :data:`AUTO_INTERVAL` (:func:`auto_due`), so that a short run
        is never empty and a long one costs little.
    layers
        Which submodules to watch as layers: ``None`` for every module of a type in
        :data:`WATCHED_TYPES` (the model itself, named :data:`ROOT`, if it is one and has
        no such submodule), a regular expression matched against qualified names
        (``re.search``), or a list of names (:data:`ROOT` for the model itself).
    activations
        The same for activation modules (default: every module of a type in
        :data:`~vgexamples.activations.ACTIVATION_TYPES`); ``()`` for none.
    scaler
        With mixed precision: the ``torch.amp.GradScaler`` (or a constant loss scale) that
        multiplies the loss before ``backward()``. Gradients are then recorded divided by the
        scale, as the optimizer sees them after unscaling.
    on_nonfinite
        ``"raise"`` (default): raise :class:`NonFiniteError` from the forward pass or from
        ``optimizer.step()`` on the first NaN or infinity, before any weight changes;
        ``"record"``: keep it in :attr:`broken` and let the loop go on (checking and
        sampling stop there: what a run computes after a NaN is not a measurement).
    check_finite
        What is checked for NaN and infinity. ``True`` (default): at every step the model's
        output and the gradient that reaches it (a non-finite forward pass or loss is caught
        at its step; the output is kept, and keeps its gradient, until the next forward
        pass), and every parameter's gradient on sampled steps; a gradient that turns
        non-finite inside the backward pass between samples shows as non-finite weights at
        the next step. ``"all"``: every parameter's gradient at every step too (one fused
        norm over the gradients per step), so that such a gradient is caught, and its
        module named, at its own step. ``False``: no check.
    tensorboard
        A log directory or a ``torch.utils.tensorboard.SummaryWriter``: every sample is also
        written there as it is taken (needs the ``tensorboard`` package).
    histograms
        Keep per-sample histograms of activations and of log10 gradient magnitudes (for
        :meth:`report` panels and TensorBoard).
    batch_dim
        The axis of the model's input (its first tensor argument) that indexes the examples;
        ``None`` (default): 1 if every submodule that has a ``batch_first`` attribute
        (attention, recurrent and transformer layers) has it ``False``, else 0.
    adaptive
        Whether the optimizer normalizes its steps by running gradient statistics, so that
        its update-to-weight ratio cannot reveal a vanishing gradient (the report then says
        so); ``None`` (default): an optimizer of a type in :data:`ADAPTIVE_OPTIMIZERS`, or one
        whose defaults hold ``betas`` (Adam-like optimizers of other packages).

    Attributes
    ----------
    steps : list of int
        The sampled steps.
    series : dict
        ``series[quantity][layer]``: one value per sampled step (``nan`` where it does not
        apply), for each quantity in :data:`LAYER_SERIES` (layers) and ``ACTIVATION_SERIES``
        (activation modules).
    grad_norm : list of float
        Global gradient norm of every sampled step, before clipping.
    through_time : dict
        ``through_time[layer]``: per sampled step, the batch mean of
        :math:`\\lVert\\partial L/\\partial h_t\\rVert` for ``t = 1..T`` (recurrent layers).
    broken : Break or None
        The first NaN or infinity, if any.

    Notes
    -----
    * "Per example": a layer's output gradient norm is that of the whole batch divided by
      the square root of the number of examples in the forward pass (the length of the
      model input's ``batch_dim`` axis), the same for every layer whatever its layout; if
      the model's input holds no tensor, the length of the layer output's first axis (the
      second for a module with ``batch_first=False``).
    * A module called several times in one forward pass (one activation module reused after
      every layer, a shared layer) is read over all its calls together: its gradient over
      every call's output, its output and activation statistics over every call's values
      (dead fractions over every call's units); its histograms and a recurrent layer's
      gradient through time are those of its first call.
    * With gradient accumulation, gradients cover every backward pass of the step, and the
      output and activation statistics every forward pass's values (as for one full batch;
      a dead fraction is then the mean of the passes', each judged on its own examples).
    * The watcher never sees the loss: a non-finite loss is caught through its gradient at
      the model's output (a NaN loss whose gradient is finite goes unnoticed).
    * The gradient through time re-runs a recurrent layer step by step; with dropout between
      stacked layers that re-run draws its own masks, so the profile is then approximate.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    >>> with Watcher(net, opt, every=5) as watcher:
    ...     for _ in range(10):
    ...         opt.zero_grad()
    ...         nn.functional.cross_entropy(net(x), y).backward()
    ...         opt.step()
    >>> watcher.steps
    [1, 5, 10]
    >>> sorted(watcher.series["output_grad_norm"])
    ['0', '2']
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        every: int | None = None,
        layers: str | Iterable[str] | Mapping[str, nn.Module] | None = None,
        activations: str | Iterable[str] | Mapping[str, nn.Module] | None = None,
        scaler: torch.amp.GradScaler | float | None = None,
        on_nonfinite: str = "raise",
        check_finite: bool | str = True,
        tensorboard: object = None,
        histograms: bool = True,
        batch_dim: int | None = None,
        adaptive: bool | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}"
            )
        trainable = [p for p in model.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("model has no trainable parameters: there is nothing to watch")
        owned = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if not any(id(p) in owned for p in trainable):
            raise ValueError(
                "optimizer holds none of the model's trainable parameters: pass the optimizer "
                "that trains this model (e.g. one built from model.parameters())"
            )
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)):
            raise TypeError(
                f"every must be an integer >= 1 or None (automatic schedule); got {every!r}"
            )
        if every is not None and every < 1:
            raise ValueError(
                f"every must be an integer >= 1 or None (automatic schedule); got {every}"
            )
        if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
            if isinstance(scaler, bool) or not isinstance(scaler, (int, float)):
                raise TypeError(
                    "scaler must be a torch.amp.GradScaler, a loss scale > 0, or None; "
                    f"got {type(scaler).__name__}"
                )
            if not (math.isfinite(scaler) and scaler > 0):
                raise ValueError(
                    f"scaler: a constant loss scale must be finite and > 0; got {scaler}"
                )
        self.on_nonfinite = check_choice("on_nonfinite", on_nonfinite, ("raise", "record"))
        self.model, self.optimizer, self.every, self.scaler = model, optimizer, every, scaler
        if check_finite not in (True, False, "all"):
            raise ValueError(f"check_finite must be True, False or 'all'; got {check_finite!r}")
        self.check_finite, self.histograms = check_finite, bool(histograms)
        if batch_dim is not None and (
            isinstance(batch_dim, bool) or not isinstance(batch_dim, int) or batch_dim < 0
        ):
            raise ValueError(f"batch_dim must be None or an integer >= 0; got {batch_dim!r}")
        if adaptive is not None and not isinstance(adaptive, bool):
            raise TypeError(f"adaptive must be None, True or False; got {adaptive!r}")
        if batch_dim is None:
            layouts = [
                m.batch_first
                for m in model.modules()
                if isinstance(getattr(m, "batch_first", None), bool)
            ]
            batch_dim = 1 if layouts and not any(layouts) else 0
        #: The axis of the model's input that counts the examples.
        self.batch_dim: int = batch_dim
        self.layers = _select(model, layers, WATCHED_TYPES, "layers")
        self.activations = _select(model, activations, ACTIVATION_TYPES, "activations")
        if not self.layers and not self.activations:
            raise ValueError(
                "the watcher found nothing to watch: pass layers= (a pattern or names of "
                "submodules) for a model without linear, convolutional, normalization, "
                "embedding, attention or recurrent layers"
            )
        self.kinds = {n: type(m).__name__ for n, m in {**self.layers, **self.activations}.items()}
        # An attention module computes its output projection functionally (its out_proj's
        # forward never runs): the attention's output is out_proj's output.
        self._output_of = {n: n for n in self.layers}
        for name, module in self.layers.items():
            if isinstance(module, nn.MultiheadAttention):
                proj = f"{name}.out_proj"
                if proj in self.layers:
                    self._output_of[name] = proj
        self._weights = {n: self._own(m, bias=False) for n, m in self.layers.items()}
        self._biases = {n: self._own(m, bias=True) for n, m in self.layers.items()}
        self._params = trainable
        self._owned = owned
        # weights whose update is measured: each once, and only if the optimizer steps them
        self._tracked: list[nn.Parameter] = []
        self._tracked_of: dict[str, list[int]] = {}
        index: dict[int, int] = {}
        for name, ws in self._weights.items():
            if ws and all(id(p) in owned for p in ws):
                for p in ws:
                    if id(p) not in index:
                        index[id(p)] = len(self._tracked)
                        self._tracked.append(p)
                self._tracked_of[name] = [index[id(p)] for p in ws]
        if adaptive is None:
            adaptive = isinstance(optimizer, ADAPTIVE_OPTIMIZERS) or "betas" in optimizer.defaults
        self.adaptive = adaptive

        self.steps: list[int] = []
        self.series: dict[str, dict[str, list[float]]] = {
            **{q: {n: [] for n in self.layers} for q in LAYER_SERIES},
            **{q: {n: [] for n in self.activations} for q in ACTIVATION_SERIES},
        }
        self.grad_norm: list[float] = []
        self.through_time: dict[str, list[list[float]]] = {
            n: [] for n, m in self.layers.items() if isinstance(m, RECURRENT_TYPES)
        }
        self.gradient_histograms: dict[str, list[list[int]]] = {n: [] for n in self.layers}
        self.activation_histograms: dict[str, list[tuple[list[float], list[int]]]] = {
            n: [] for n in self.activations
        }
        self.order: list[str] = []  # layers and activations in the order the model calls them
        self.broken: Break | None = None

        self._step = 0  # optimizer steps completed
        self._pending: _Pending | None = None
        self._replaying = False
        self._last_inputs: tuple[tuple, dict] | None = None
        self._last_output: torch.Tensor | None = None
        self._permanent: list[torch.utils.hooks.RemovableHandle] = []
        self._sampling: list[torch.utils.hooks.RemovableHandle] = []
        self._writer = None
        self._own_writer = False
        self._owners: dict[tuple, torch.Tensor] = {}  # see _owner
        if tensorboard is not None:
            self._writer, self._own_writer = _summary_writer(tensorboard)
        self._attached = False
        self.attach()

    # -- set-up ------------------------------------------------------------------------------
    @staticmethod
    def _own(module: nn.Module, *, bias: bool) -> list[nn.Parameter]:
        return [
            p
            for n, p in module.named_parameters(recurse=False)
            if p.requires_grad and (("bias" in n) == bias)
        ]

    def due(self, step: int) -> bool:
        """Whether ``step`` (1 = the first optimizer step) is sampled."""
        if self.every is None:
            return auto_due(step)
        return step == 1 or step % self.every == 0

    def attach(self) -> Watcher:
        """Install the hooks (the constructor does); a removed watcher can be attached again."""
        if self._attached:
            return self
        self._attached = True
        opt = self.optimizer
        self._permanent += [
            opt.register_step_pre_hook(self._before_step),
            opt.register_step_post_hook(self._after_step),
        ]
        if isinstance(self.scaler, torch.amp.GradScaler):
            self._permanent.append(self.model.register_forward_pre_hook(self._root_scale))
        if self.check_finite:
            self._permanent.append(
                self.model.register_forward_hook(self._root_output, with_kwargs=True)
            )
        if self.due(self._step + 1) and self.broken is None:
            self._start_sample()
        return self

    def remove(self) -> None:
        """Take every hook off the model and the optimizer.

        What was recorded stays readable; a TensorBoard writer the watcher opened is closed.
        """
        for handle in self._permanent + self._sampling:
            handle.remove()
        self._permanent.clear()
        self._sampling.clear()
        self._pending = None
        self._last_inputs = self._last_output = None
        self._attached = False
        if self._writer is not None and self._own_writer:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Watcher:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # -- sampling ----------------------------------------------------------------------------
    def _current_scale(self) -> float:
        s = self.scaler
        if s is None:
            return 1.0
        if isinstance(s, torch.amp.GradScaler):
            return float(s.get_scale()) if s.is_enabled() else 1.0
        return float(s)

    def _start_sample(self) -> None:
        self._pending = _Pending(scale=self._current_scale())
        if self._sampling:
            return
        self._sampling.append(
            self.model.register_forward_pre_hook(self._count_examples, with_kwargs=True)
        )
        for name, module in self.layers.items():
            self._sampling.append(module.register_forward_hook(self._layer_hook(name)))
        for name, module in self.activations.items():
            self._sampling.append(module.register_forward_hook(self._activation_hook(name)))
        self._sampling.append(self.model.register_forward_hook(self._sample_output))

    def _stop_sampling(self) -> None:
        for handle in self._sampling:
            handle.remove()
        self._sampling.clear()
        self._pending = None

    def _refresh_scale(self, pending: _Pending) -> None:
        """Read a GradScaler's scale before a sampled step's forward pass.

        ``scaler.update()`` runs after the optimizer's step, so the scale is read again when
        the next forward pass starts. A scale that changed after this sample's backward pass
        means the scaler found an overflow and skipped ``optimizer.step()``: what the sample
        had gathered belongs to a step that never happened, and is dropped.
        """
        if not isinstance(self.scaler, torch.amp.GradScaler):
            return
        scale = self._current_scale()
        if pending.backwards and scale != pending.scale:
            self._pending = _Pending(scale=scale)
        elif not pending.backwards:
            pending.scale = scale

    def _count_examples(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        """Note how many examples the forward pass that starts holds: the length of the
        model input's batch axis (:attr:`batch_dim`)."""
        pending = self._pending
        if pending is None or self._replaying:
            return
        pending.forwards += 1
        pending.queued = False  # (a backward pass that raised never reached its end)
        x = _first_tensor(args, kwargs)
        if x is None or x.dim() == 0:
            pending.batch = None
        else:
            pending.batch = x.shape[self.batch_dim if x.dim() > self.batch_dim else 0]

    def _layer_hook(self, name: str) -> Callable:
        target = self._output_of[name]

        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            pending = self._recording(name)
            if pending is None:
                return
            if target != name and target not in pending.order:
                pending.order.append(target)
            if isinstance(module, RECURRENT_TYPES):
                out = output[0] if isinstance(output[0], torch.Tensor) else None
                if out is not None and name not in pending.recurrent:
                    self._keep_recurrent(name, module, inputs, output, pending)
            else:
                ts = _tensors(output)
                out = ts[0] if ts else None
            if out is None or not out.is_floating_point():
                return
            y = out.detach().float()
            pending.out_stats.setdefault(target, []).append((y.numel(), torch.stack(_std_mean(y))))
            if out.requires_grad:
                n = pending.batch
                if n is None:
                    n = out.shape[_batch_dim(module, out)] if out.dim() else 1
                this_pass = (target, pending.forwards)

                def keep(grad: torch.Tensor) -> None:
                    self._backward_began()
                    g = grad.detach()
                    norm = torch.linalg.vector_norm(g, dtype=torch.float64)
                    pending.out_norms.setdefault(target, []).append(norm)
                    if this_pass not in pending.counted:  # a pass's examples count once
                        pending.counted.add(this_pass)
                        pending.out_n[target] = pending.out_n.get(target, 0) + n
                    if self.histograms and target not in pending.out_hist:
                        pending.out_hist[target] = _spaced(g).clone()  # binned in _gather

                out.register_hook(keep)

        return hook

    def _recording(self, name: str) -> _Pending | None:
        """The sample a forward hook adds to (noting ``name``'s place in the call order), or
        ``None`` outside a sample, in a replay, or without gradients."""
        pending = self._pending
        if pending is None or self._replaying or not torch.is_grad_enabled():
            return None
        if name not in pending.order:
            pending.order.append(name)
        return pending

    def _activation_hook(self, name: str) -> Callable:
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            pending = self._recording(name)
            if pending is None:
                return
            ts = _tensors(output)
            if not ts:
                return
            y = ts[0].detach().float()
            first = name not in pending.acts
            units = _unit_count(y)
            pending.acts.setdefault(name, []).append(
                (y.numel(), units, activation_tensors(module, y))
            )
            if first and self.histograms and y.numel():
                # the range and the binning wait for _gather (one copy to the host for all)
                pending.act_hist[name] = (torch.stack(torch.aminmax(y)), _spaced(y).clone())

        return hook

    def _sample_output(self, module: nn.Module, inputs: tuple, output: object) -> None:
        if self._pending is None or self._replaying or not torch.is_grad_enabled():
            return
        for t in _tensors(output):
            if t.requires_grad:
                t.register_hook(self._backward_began)

    def _backward_began(self, grad: torch.Tensor | None = None) -> None:
        """Called from the tensor hooks of a sampled pass: have the parameters' gradients
        read once that backward pass ends.

        No hook goes on a parameter: a gradient hook, once put on a tensor, stays with it in
        autograd (removing it leaves an empty one that every later backward pass calls), and
        a watcher must leave the model as it was. The gradient hooks here are on the pass's
        own tensors, which go with its graph.
        """
        pending = self._pending
        if pending is None or self._replaying or pending.queued:
            return
        pending.queued = True
        torch.autograd.Variable._execution_engine.queue_callback(self._backward_done)

    def _backward_done(self) -> None:
        """The end of a sampled backward pass: the norm of every parameter's accumulated
        gradient (before any clipping; the last pass before the step gives the step's)."""
        pending = self._pending
        if pending is None:
            return
        pending.queued = False
        pending.backwards += 1
        dense, sparse = [], []
        for p in self._params:
            if p.grad is not None:
                (sparse if p.grad.is_sparse else dense).append(p)
        norms: dict[int, torch.Tensor] = {}
        if dense:
            fused = torch._foreach_norm([p.grad.detach() for p in dense], 2.0, dtype=torch.float64)
            norms = {id(p): n for p, n in zip(dense, fused, strict=True)}
        for p in sparse:
            norms[id(p)] = torch.linalg.vector_norm(_values(p.grad), dtype=torch.float64)
        pending.param_norm = norms

    def _keep_recurrent(self, name, module, inputs, output, pending) -> None:
        x = inputs[0] if inputs else None
        if not isinstance(x, torch.Tensor) or module.bidirectional or x.dim() != 3:
            return  # packed or unbatched sequences, bidirectional layers: not unrolled
        hx = inputs[1] if len(inputs) > 1 else None
        entry: dict[str, Any] = {"x": x.detach(), "hx": hx, "module": module}
        out, state = output
        h_n, c_n = state if isinstance(state, tuple) else (state, None)
        for key, t in (("out", out), ("h", h_n), ("c", c_n)):
            if isinstance(t, torch.Tensor) and t.requires_grad:

                def keep(grad: torch.Tensor, key: str = key) -> None:
                    entry[f"g_{key}"] = grad.detach()

                t.register_hook(keep)
        pending.recurrent[name] = entry

    # -- optimizer hooks ---------------------------------------------------------------------
    def _before_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        step = self._step + 1
        if self.check_finite and self.broken is None and not self._backward_finite():
            self._broke(self._locate_backward(step))
            if self.on_nonfinite == "raise":
                raise NonFiniteError(self.broken)
        pending = self._pending
        if pending is None or not (pending.param_norm or pending.out_norms):
            return
        self._gather(pending)
        if self._tracked:  # copies of the weights, in one fused operation
            pending.before = torch._foreach_mul([p.detach() for p in self._tracked], 1.0)

    def _after_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        self._step += 1
        pending = self._pending
        if pending is not None and pending.values:
            if pending.before:
                now = [p.detach() for p in self._tracked]
                moved = torch._foreach_norm(torch._foreach_sub(now, pending.before))
                sizes = torch._foreach_norm(pending.before)
                numbers = torch.stack([*moved, *sizes]).tolist()  # promoted to one dtype
                k = len(self._tracked)
                for name, idx in self._tracked_of.items():
                    size = math.sqrt(sum(numbers[k + i] ** 2 for i in idx))
                    step_size = math.sqrt(sum(numbers[i] ** 2 for i in idx))
                    ratio = step_size / size if size > 0 else math.nan
                    pending.values[name]["update_ratio"] = ratio
                    pending.values[name]["weight_norm"] = size
            self._append(self._step, pending)
        if self.due(self._step + 1) and self.broken is None:
            self._start_sample()
        elif self._sampling or self._pending is not None:
            self._stop_sampling()

    def _last_out_grad(self) -> torch.Tensor | None:
        """The gradient of the loss with respect to the last forward pass's output."""
        out = self._last_output
        return None if out is None else out.grad

    def _backward_finite(self) -> bool:
        """The gradient reaching the model's output, and on sampled steps (every step with
        ``check_finite="all"``) every parameter's gradient, are finite."""
        g = self._last_out_grad()
        if g is not None and not _finite([g]):
            return False
        if self.check_finite == "all" or self._pending is not None:
            return self._grads_finite()
        return True

    def _grads_finite(self) -> bool:
        grads = [_values(p.grad) for p in self._params if p.grad is not None]
        if not grads:
            return True
        # one fused pass: a tensor's 2-norm is finite when all its values are, unless finite
        # but huge values overflow it: those few tensors are then looked at value by value
        norms = torch.stack(torch._foreach_norm(grads, 2.0))
        if bool(torch.isfinite(norms).all()):
            return True
        bad = torch.nonzero(~torch.isfinite(norms)).flatten().tolist()
        return all(bool(torch.isfinite(grads[i]).all()) for i in bad)

    # -- statistics of one sample ------------------------------------------------------------
    def _gather(self, pending: _Pending) -> None:
        """Turn what the hooks kept into numbers (one device-to-host copy)."""
        inv = 1.0 / pending.scale
        parts: list[torch.Tensor] = []
        where: dict[tuple[str, object], slice] = {}

        def put(key: tuple[str, object], t: torch.Tensor) -> None:
            start = where[next(reversed(where))].stop if where else 0
            parts.append(t.detach().flatten())  # cat promotes them to the widest dtype
            where[key] = slice(start, start + parts[-1].numel())

        for pid, t in pending.param_norm.items():
            put(("p", pid), t)
        for name, norms in pending.out_norms.items():  # over every call's output together
            put(
                ("o", name),
                norms[0] if len(norms) == 1 else torch.linalg.vector_norm(torch.stack(norms)),
            )
        for name, calls in pending.out_stats.items():
            put(("s", name), _pooled([n for n, _ in calls], [t for _, t in calls]))
        for name, calls in pending.acts.items():
            put(("a", name), _activation_calls(calls))
        grad_names, act_names = list(pending.out_hist), list(pending.act_hist)
        if grad_names:  # log10 of a zero is -inf, outside the range: left out
            grads = [pending.out_hist[n] for n in grad_names]
            logs = torch.log10(torch.cat(grads).float().abs_())
            edges = torch.tensor([[_LOG_EDGES[0], _LOG_EDGES[-1]]])
            owner = self._owner([g.numel() for g in grads], logs.device)
            put(("gh",), _histograms(logs, owner, len(grads), edges, len(_LOG_EDGES) - 1))
        if act_names:
            ranges = _activation_ranges(torch.stack([pending.act_hist[n][0] for n in act_names]))
            values = [pending.act_hist[n][1] for n in act_names]
            owner = self._owner([v.numel() for v in values], ranges.device)
            put(("ar",), ranges)
            put(("ah",), _histograms(torch.cat(values), owner, len(values), ranges, _ACT_BINS))
        flat = torch.cat(parts).tolist() if parts else []

        def got(key: tuple[str, object]) -> list[float] | None:
            return flat[where[key]] if key in where else None

        norms = {pid: got(("p", pid))[0] * inv for pid in pending.param_norm}

        def combined(params: list[nn.Parameter]) -> float:
            vals = [norms[id(p)] for p in params if id(p) in norms]
            return math.sqrt(sum(v * v for v in vals)) if vals else math.nan

        pending.grad_norm = math.sqrt(sum(v * v for v in norms.values())) if norms else math.nan
        for name in self.layers:
            n = pending.out_n.get(name, 0)
            norm = got(("o", name))
            std, mean = got(("s", name)) or (math.nan, math.nan)
            pending.values[name] = {
                "weight_grad_norm": combined(self._weights[name]),
                "bias_grad_norm": combined(self._biases[name]),
                "output_grad_norm": norm[0] / math.sqrt(n) * inv
                if norm is not None and n
                else math.nan,
                "update_ratio": math.nan,
                "weight_norm": math.nan,
                "output_mean": mean,
                "output_std": std,
            }
            pending.hists[name] = []
            if name in pending.out_hist:
                row, bins = grad_names.index(name), len(_LOG_EDGES) - 1
                hist = got(("gh",))[row * bins : (row + 1) * bins]
                pending.hists[name] = [int(c) for c in hist]
        for name in self.activations:
            stats = got(("a", name)) or [math.nan] * 4
            pending.act_values[name] = dict(zip(ACTIVATION_SERIES, stats, strict=True))
            pending.act_hists[name] = ([], [])
            if name in pending.act_hist:
                row = act_names.index(name)
                lo, hi = got(("ar",))[2 * row : 2 * row + 2]
                if math.isfinite(lo) and math.isfinite(hi):
                    hist = got(("ah",))[row * _ACT_BINS : (row + 1) * _ACT_BINS]
                    edges = _edges(lo, hi, _ACT_BINS)
                    pending.act_hists[name] = (edges, [int(c) for c in hist])
        for name, entry in pending.recurrent.items():
            pending.through_time[name] = self._time_profile(entry, inv)

    def _owner(self, sizes: list[int], device: torch.device) -> torch.Tensor:
        """For chunks of these sizes one after another, the chunk of each value: the same at
        every sample of the same model and batch size, so kept (a few layouts at most)."""
        key = (tuple(sizes), device)
        owner = self._owners.get(key)
        if owner is None:
            if len(self._owners) >= 8:
                self._owners.clear()
            counts = torch.tensor(sizes, device=device)
            owner = torch.repeat_interleave(torch.arange(len(sizes), device=device), counts)
            self._owners[key] = owner
        return owner

    def _time_profile(self, entry: dict[str, Any], inv: float) -> list[float]:
        """Batch mean of ||dL/dh_t|| for t = 1..T: the layer unrolled one step at a time.

        The layer's own forward runs on the recorded input, step by step, so that every hidden
        state is a node of the graph; the gradients that reached the layer's outputs in the
        real backward pass are then propagated through it (``torch.autograd.grad``: no
        parameter's ``.grad`` changes). For a stacked layer, the top layer's states.
        """
        module: nn.RNNBase = entry["module"]
        g_out = entry.get("g_out")
        g_h, g_c = entry.get("g_h"), entry.get("g_c")
        if g_out is None and g_h is None:
            return []
        x, hx = entry["x"], entry["hx"]
        bf = module.batch_first
        steps = x.shape[1] if bf else x.shape[0]
        lstm = isinstance(module, nn.LSTM)
        with ExitStack() as stack:
            stack.enter_context(torch.enable_grad())
            stack.enter_context(_forked_rng())
            self._replaying = True
            try:
                dtype = next(module.parameters()).dtype
                x = x.to(dtype)
                if isinstance(hx, tuple):
                    state = tuple(h.detach().to(dtype) for h in hx)
                else:
                    state = None if hx is None else hx.detach().to(dtype)
                outs, hs = [], []
                for t in range(steps):
                    xt = x[:, t : t + 1] if bf else x[t : t + 1]
                    o, state = type(module).forward(module, xt, state)
                    outs.append(o)
                    hs.append(state[0] if lstm else state)
                terms = []
                if g_out is not None:
                    for t, o in enumerate(outs):
                        gt = g_out[:, t : t + 1] if bf else g_out[t : t + 1]
                        terms.append((o * gt).sum())
                if g_h is not None:
                    terms.append((hs[-1] * g_h).sum())
                if g_c is not None and lstm:
                    terms.append((state[1] * g_c).sum())
                grads = torch.autograd.grad(torch.stack(terms).sum(), hs, allow_unused=True)
            finally:
                self._replaying = False
        norms = []
        for t, g in enumerate(grads):
            total = torch.zeros_like(hs[t][-1]) if g is None else g[-1].detach()
            if g_out is not None:
                direct = g_out[:, t] if bf else g_out[t]
                total = total + direct.float()
            norms.append(torch.linalg.vector_norm(total.float(), dim=-1).mean())
        return [v * inv for v in torch.stack(norms).tolist()]

    def _append(self, step: int, pending: _Pending) -> None:
        self.steps.append(step)
        self.grad_norm.append(pending.grad_norm)
        for name in pending.order:
            if name not in self.order:
                self.order.append(name)
        for name in self.layers:
            values = pending.values[name]
            for q in LAYER_SERIES:
                self.series[q][name].append(values[q])
            if self.histograms:
                self.gradient_histograms[name].append(pending.hists.get(name, []))
        for name in self.activations:
            values = pending.act_values.get(name, {})
            for q in ACTIVATION_SERIES:
                self.series[q][name].append(values.get(q, math.nan))
            if self.histograms:
                self.activation_histograms[name].append(pending.act_hists.get(name, ([], [])))
        for name in self.through_time:
            self.through_time[name].append(pending.through_time.get(name, []))
        if self._writer is not None:
            self._log(self._writer, len(self.steps) - 1)

    # -- finiteness --------------------------------------------------------------------------
    def _root_scale(self, module: nn.Module, args: tuple) -> None:
        # before the forward pass: a fresh sample must see that pass's layers
        if self._pending is not None and not self._replaying and torch.is_grad_enabled():
            self._refresh_scale(self._pending)

    def _root_output(self, module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        if self._replaying or not torch.is_grad_enabled():
            return
        self._last_inputs = (args, kwargs)
        ts = [t for t in _tensors(output) if t.is_floating_point()]
        if self.broken is None and not _finite(ts):
            self._broke(self._locate_forward(self._step + 1))
            if self.on_nonfinite == "raise":
                raise NonFiniteError(self.broken)
            return
        self._last_output = None
        if ts and ts[0].requires_grad:
            # autograd keeps the gradient that reaches the output (in C++: cheaper than a
            # Python hook called from the backward pass)
            ts[0].retain_grad()
            self._last_output = ts[0]

    def _broke(self, where: Break) -> None:
        """Keep the first break; sampling stops (what follows a NaN is not a measurement)."""
        self.broken = where
        self._stop_sampling()

    def _replay(self, backward: torch.Tensor | None):
        """Run the last forward pass again (and a backward pass from ``backward``), recording
        every module's inputs, outputs and gradients in the order they were produced."""
        args, kwargs = self._last_inputs or ((), {})
        events: list[tuple[str, str, nn.Module, bool, str]] = []
        names = {m: n for n, m in self.model.named_modules()}
        handles = []

        def forward_hook(module, inputs, output):
            outs = [t for t in _tensors(output) if t.is_floating_point()]
            ins = [t for t in _tensors(inputs) if t.is_floating_point()]
            own = list(module.parameters(recurse=False))
            flags = ("in" if _finite(ins) else "") + ("p" if _finite(own) else "")
            events.append(("forward", names[module], module, _finite(outs), flags))
            if backward is None:
                return
            for t in outs[:1]:
                if t.requires_grad:
                    t.register_hook(
                        lambda g, m=module: events.append(
                            ("grad_out", names[m], m, _finite([g]), "")
                        )
                    )
            for t in ins:
                if t.requires_grad:
                    t.register_hook(
                        lambda g, m=module: events.append(
                            ("grad_in", names[m], m, _finite([g]), _count_bad(g))
                        )
                    )

        for module in self.model.modules():
            handles.append(module.register_forward_hook(forward_hook))
        self._replaying = True
        try:
            with ExitStack() as stack:
                stack.enter_context(_forked_rng())
                stack.enter_context(kept_buffers(self.model))
                params = stack.enter_context(set_aside_grads(self.model))
                stack.enter_context(
                    torch.enable_grad() if backward is not None else torch.no_grad()
                )
                out = self.model(*args, **kwargs)
                grads = []
                if backward is not None:
                    first = next(t for t in _tensors(out) if t.is_floating_point())
                    first.backward(backward)
                    grads = [(p, p.grad) for p in params if p.grad is not None]
        finally:
            self._replaying = False
            for h in handles:
                h.remove()
        return events, grads

    def _locate_forward(self, step: int) -> Break:
        args, kwargs = self._last_inputs or ((), {})
        ins = [t for t in _tensors([args, kwargs]) if t.is_floating_point()]
        if not _finite(ins):
            bad = next(t for t in ins if not _finite([t]))
            return Break(step, "input", None, None, f"the batch holds {_count_bad(bad)}")
        events, _ = self._replay(None)
        for kind, name, module, ok, flags in events:
            if kind == "forward" and not ok:
                if "in" not in flags:
                    continue  # fed a non-finite value: not where it started
                if "p" not in flags and self.check_finite == "all":
                    detail = (
                        "has non-finite parameters: an earlier update with finite gradients "
                        "overflowed them"
                    )
                elif "p" not in flags:
                    detail = (
                        "has non-finite parameters: an earlier update made them so, from a "
                        "gradient that was not checked at its step, or a finite one that "
                        "overflowed them (check_finite='all' checks every step's gradients)"
                    )
                else:
                    detail = "turned finite inputs into non-finite outputs"
                return Break(step, "forward", name or "(the model)", type(module).__name__, detail)
        return Break(
            step,
            "forward",
            None,
            None,
            "the model's output was non-finite, but a replay of the pass was finite "
            "(randomness in the forward pass?)",
        )

    def _locate_backward(self, step: int) -> Break:
        g = self._last_out_grad()
        if g is not None and not _finite([g]):
            return Break(
                step,
                "backward",
                None,
                None,
                f"the gradient of the loss with respect to the model's output holds "
                f"{_count_bad(g)}: the loss produced it (the output itself was finite)",
            )
        if g is None or self._last_inputs is None:
            return Break(step, "backward", None, None, "a gradient holds NaN or infinite values")
        events, grads = self._replay(g)
        out_ok: dict[str, bool] = {}
        for kind, name, module, ok, detail in events:
            if kind == "grad_out":
                out_ok[name] = out_ok.get(name, True) and ok
            if kind == "grad_in" and not ok and out_ok.get(name, True):
                return Break(
                    step,
                    "backward",
                    name or "(the model)",
                    type(module).__name__,
                    f"turned a finite gradient into {detail} (its input's gradient)",
                )
        owner = {id(p): (n, m) for n, m in self.model.named_modules() for p in m.parameters(False)}
        for p, grad in reversed(grads):
            if not _finite([grad]):
                name, module = owner[id(p)]
                return Break(
                    step,
                    "backward",
                    name or "(the model)",
                    type(module).__name__,
                    f"has a parameter gradient with {_count_bad(grad)}",
                )
        return Break(
            step,
            "backward",
            None,
            None,
            "a gradient was non-finite, but a replay of the pass was finite (gradient "
            "accumulation over several batches, or randomness?)",
        )

    # -- reading -----------------------------------------------------------------------------
    @property
    def layer_names(self) -> list[str]:
        """Watched layers in the order the model called them (layers never called last)."""
        called = [n for n in self.order if n in self.layers]
        return called + [n for n in self.layers if n not in called]

    @property
    def activation_names(self) -> list[str]:
        """Watched activation modules in call order (never called last)."""
        called = [n for n in self.order if n in self.activations]
        return called + [n for n in self.activations if n not in called]

    def matrix(self, quantity: str = "output_grad_norm") -> tuple[list[str], np.ndarray]:
        """``(names, values)``: one row per layer (call order) with a value, one column per
        sampled step; rows that are all ``nan`` are left out."""
        check_choice("quantity", quantity, LAYER_SERIES + ACTIVATION_SERIES)
        names = self.activation_names if quantity in ACTIVATION_SERIES else self.layer_names
        rows = [(n, self.series[quantity][n]) for n in names]
        rows = [(n, v) for n, v in rows if v and not all(math.isnan(x) for x in v)]
        if not rows:
            return [], np.empty((0, len(self.steps)))
        return [n for n, _ in rows], np.array([v for _, v in rows], dtype=float)

    def report(self, thresholds: Mapping[str, float] | None = None):
        """The per-layer table, flags and panels of what was recorded
        (:class:`vgexamples.health.Report`)."""
        from .health import report_from

        return report_from(self, thresholds)

    def plot_heatmap(self, ax=None, quantity: str = "output_grad_norm", limits=None):
        """One view of the run: ``quantity`` per layer (rows) and sampled step (columns),
        on a log colour scale (:func:`vgexamples.plotting.plot_layer_heatmap`; ``limits``: its
        colour range)."""
        from .plotting import plot_layer_heatmap

        names, values = self.matrix(quantity)
        if not names:
            raise ValueError(f"nothing recorded for {quantity!r}: train with the watcher first")
        label = {
            "output_grad_norm": "||dL/d(layer output)|| per example",
            "weight_grad_norm": "||dL/dW||",
            "update_ratio": "update / weight",
        }.get(quantity, quantity.replace("_", " "))
        return plot_layer_heatmap(ax, self.steps, names, values, label=label, limits=limits)

    # -- exports -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        """Everything recorded, as plain Python (``nan`` as ``None``), for JSON."""

        def clean(v):
            if isinstance(v, float):
                return None if not math.isfinite(v) else v
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        return clean(
            {
                "format": "vgexamples.watch/1",
                "optimizer": type(self.optimizer).__name__,
                "adaptive_optimizer": self.adaptive,
                "every": self.every if self.every is not None else "auto",
                "layers": [{"name": n, "kind": self.kinds[n]} for n in self.layer_names],
                "activations": [{"name": n, "kind": self.kinds[n]} for n in self.activation_names],
                "steps": list(self.steps),
                "grad_norm": list(self.grad_norm),
                "series": {q: dict(v) for q, v in self.series.items()},
                "through_time": dict(self.through_time),
                "broken": None if self.broken is None else self.broken.to_dict(),
            }
        )

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` to ``path`` (read it back with :func:`load_json`)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    def to_csv(self, path: str | Path) -> Path:
        """Write one row per recorded number: ``step, layer, quantity, t, value``.

        ``layer`` is empty for the global gradient norm, ``t`` is the time step of a gradient
        through time (empty otherwise), and ``value`` is empty where a quantity does not apply.
        """
        path = Path(path)
        with path.open("w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["step", "layer", "quantity", "t", "value"])

            def cell(v: float) -> str:
                return "" if not math.isfinite(v) else repr(float(v))

            for i, step in enumerate(self.steps):
                out.writerow([step, "", "grad_norm", "", cell(self.grad_norm[i])])
                for q, per in self.series.items():
                    for name, values in per.items():
                        out.writerow([step, name, q, "", cell(values[i])])
                for name, per in self.through_time.items():
                    for t, v in enumerate(per[i], start=1):
                        out.writerow([step, name, "through_time", t, cell(v)])
        return path

    def to_tensorboard(self, log_dir: object) -> None:
        """Write everything recorded to TensorBoard (scalars and histograms).

        ``log_dir`` is a directory or a ``SummaryWriter``. Needs the ``tensorboard``
        package (``pip install "vgexamples[tensorboard]"``).
        """
        writer, own = _summary_writer(log_dir)
        try:
            for i in range(len(self.steps)):
                self._log(writer, i)
        finally:
            if own:
                writer.close()
            else:
                writer.flush()

    def _log(self, writer, i: int) -> None:
        step = self.steps[i]
        if math.isfinite(self.grad_norm[i]):
            writer.add_scalar("grad_norm/global", self.grad_norm[i], step)
        for q, per in self.series.items():
            for name, values in per.items():
                if math.isfinite(values[i]):
                    writer.add_scalar(f"{q}/{name}", values[i], step)
        for name, per in self.through_time.items():
            if per[i] and per[i][-1] > 0:
                writer.add_scalar(
                    f"through_time_first_to_last/{name}", per[i][0] / per[i][-1], step
                )
        if not self.histograms:
            return
        for name, per in self.gradient_histograms.items():
            if per[i] and sum(per[i]):
                _raw_histogram(writer, f"log10_output_grad/{name}", _LOG_EDGES, per[i], step)
        for name, per in self.activation_histograms.items():
            edges, counts = per[i]
            if counts and sum(counts):
                _raw_histogram(writer, f"activation/{name}", np.asarray(edges), counts, step)


def _forked_rng():
    """A block after which the random number generators are as before (CPU and CUDA)."""
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    return torch.random.fork_rng(devices=cuda)


def _raw_histogram(writer, tag: str, edges: np.ndarray, counts: list[int], step: int) -> None:
    centres = 0.5 * (edges[1:] + edges[:-1])
    c = np.asarray(counts, dtype=float)
    n = float(c.sum())
    writer.add_histogram_raw(
        tag,
        min=float(edges[0]),
        max=float(edges[-1]),
        num=n,
        sum=float((c * centres).sum()),
        sum_squares=float((c * centres**2).sum()),
        bucket_limits=[float(e) for e in edges[1:]],
        bucket_counts=[float(x) for x in c],
        global_step=step,
    )


def _summary_writer(target: object):
    """``(writer, opened_here)`` for a directory or an existing ``SummaryWriter``."""
    if hasattr(target, "add_scalar") and hasattr(target, "add_histogram_raw"):
        return target, False
    if not isinstance(target, (str, Path)):
        raise TypeError(
            "tensorboard must be a log directory (str or Path) or a "
            f"torch.utils.tensorboard.SummaryWriter; got {type(target).__name__}"
        )
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "TensorBoard export needs the tensorboard package, which is not installed: "
            'pip install "vgexamples[tensorboard]" (or pip install tensorboard); '
            "to_json() and to_csv() need nothing more"
        ) from exc
    return SummaryWriter(log_dir=str(target)), True


def load_json(path: str | Path) -> dict[str, object]:
    """Read a file written by :meth:`Watcher.to_json` (``None`` back to ``nan`` in series)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"path: {path} is not JSON ({exc}), so not a Watcher.to_json file"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != "vgexamples.watch/1":
        raise ValueError(f"path: {path} is not a file written by Watcher.to_json")

    def nan(v):
        return [math.nan if x is None else x for x in v]

    data["grad_norm"] = nan(data["grad_norm"])
    data["series"] = {q: {n: nan(v) for n, v in per.items()} for q, per in data["series"].items()}
    data["through_time"] = {n: [nan(v) for v in per] for n, per in data["through_time"].items()}
    return data
