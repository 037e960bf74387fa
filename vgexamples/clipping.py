"""Gradient clipping, by value and by global norm, and threshold sweeps.

Both kinds call PyTorch's own ``torch.nn.utils.clip_grad_value_`` and
``torch.nn.utils.clip_grad_norm_``:

* by value, every gradient component is clamped into ``[-c, c]`` -- the direction of the
  gradient changes whenever some components are clamped and others are not;
* by norm, the whole gradient (all parameters together) is multiplied by
  ``c / ||g||`` when ``||g|| > c`` -- the direction is kept, only the length shrinks.

:func:`clipping_sweep` trains the same model under no clipping and under each kind of clipping
over a range of thresholds and seeds, and records which runs diverged, the final loss, the
share of steps at which the clipping changed the gradient, and the share of dead units at the
end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from ._checks import check_choice, check_finite_tensor, check_positive, check_seeds
from .activations import ACTIVATION_TYPES
from .data import Split
from .diagnostics import Recorder, activation_stats
from .plotting import PALETTE
from .train import train

__all__ = [
    "CLIP_MODES",
    "DEAD_PROBE",
    "SweepRun",
    "clip_gradient",
    "clipping_sweep",
    "cosine_similarity",
    "dead_unit_fraction",
    "plot_clipping_sweep",
    "summarize_sweep",
    "sweep_table",
]

#: Clipping kinds accepted by :func:`clip_gradient` and :func:`clipping_sweep`.
CLIP_MODES = ("value", "norm")
#: Training examples a finished run of :func:`clipping_sweep` is run on to count dead units.
DEAD_PROBE = 2048


def clip_gradient(grad: torch.Tensor, mode: str, threshold: float) -> torch.Tensor:
    """Return a clipped copy of ``grad``, clipped by PyTorch's own function.

    Parameters
    ----------
    grad
        A gradient (any shape); it is not modified.
    mode
        ``"value"`` (``clip_grad_value_``) or ``"norm"`` (``clip_grad_norm_``).
    threshold
        The clipping threshold ``c``, > 0.
    """
    check_finite_tensor("grad", grad)
    check_choice("mode", mode, CLIP_MODES)
    threshold = check_positive("threshold", threshold)
    holder = nn.Parameter(torch.zeros_like(grad))
    holder.grad = grad.detach().clone()
    if mode == "value":
        nn.utils.clip_grad_value_([holder], threshold)
    else:
        nn.utils.clip_grad_norm_([holder], threshold)
    return holder.grad


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine of the angle between two tensors, flattened (1 = same direction)."""
    check_finite_tensor("a", a)
    check_finite_tensor("b", b)
    if a.numel() != b.numel():
        raise ValueError(f"a and b must have the same size; got {a.numel()} and {b.numel()}")
    a, b = a.flatten().double(), b.flatten().double()
    denom = float(torch.linalg.vector_norm(a) * torch.linalg.vector_norm(b))
    if denom == 0:
        raise ValueError("cosine similarity is undefined for a zero tensor")
    return float(a @ b) / denom


@dataclass(frozen=True)
class SweepRun:
    """One training run of :func:`clipping_sweep`.

    Attributes
    ----------
    mode
        ``"none"``, ``"value"`` or ``"norm"``.
    threshold
        The clipping threshold (``nan`` for ``mode="none"``).
    seed
        Seed of the model's initialization and of the mini-batch order.
    diverged
        True if the loss became NaN or infinite.
    stop_step
        Step at which a diverged run stopped (``None`` otherwise).
    final_loss
        Full training-set loss at the end (``nan`` for diverged runs).
    failed
        True if the run diverged or ended with a loss no better than ``fail_above`` (see
        :func:`clipping_sweep`).
    clipped_share
        Share of the training steps at which the clipping changed the gradient (its global
        norm above ``threshold`` for norm clipping, some component above it in absolute value
        for value clipping); ``nan`` without clipping.
    dead_fraction
        At the end of a run that did not diverge, the share of the model's activation units
        (outputs of its activation modules) that are exactly zero for every one of the first
        :data:`DEAD_PROBE` training examples -- dead ReLU units, which receive no gradient;
        ``nan`` for a diverged run or a model without activation modules.
    """

    mode: str
    threshold: float
    seed: int
    diverged: bool
    stop_step: int | None
    final_loss: float
    failed: bool
    clipped_share: float = math.nan
    dead_fraction: float = math.nan


class _ClipCounter:
    """Callback counting the steps at which clipping at ``threshold`` changes the gradient."""

    def __init__(self, mode: str, threshold: float) -> None:
        self.mode, self.threshold = mode, threshold
        self.steps = 0
        self.clipped = 0

    def after_backward(self, step: int, model: nn.Module) -> None:
        grads = [p.grad.detach() for p in model.parameters() if p.grad is not None]
        if self.mode == "norm":
            size = float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))
        else:
            size = max(float(g.abs().max()) for g in grads)
        self.steps += 1
        self.clipped += size > self.threshold

    @property
    def share(self) -> float:
        return self.clipped / self.steps if self.steps else math.nan


def dead_unit_fraction(model: nn.Module, x: torch.Tensor) -> float:
    """Share of the units of ``model``'s activation modules whose output is exactly zero for
    every example of ``x`` (``nan`` if the model has no activation module).

    The model is run once under ``torch.no_grad()`` in eval mode and left as it was.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or len(x) < 1:
        raise ValueError("x must be a tensor holding at least one example")
    if not any(isinstance(m, ACTIVATION_TYPES) for m in model.modules()):
        return math.nan
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), Recorder(model, layers={}) as rec:
            model(x)
            dead = total = 0.0
            for name, out in rec.activation_outputs.items():
                units = out.shape[1] if out.dim() >= 4 else out.shape[-1]  # channels or features
                dead += activation_stats(rec.activations[name], out)["dead"] * units
                total += units
    finally:
        model.train(was_training)
    return dead / total if total else math.nan


def clipping_sweep(
    build_model: Callable[[], nn.Module],
    data: Split,
    *,
    thresholds: Sequence[float],
    seeds: Sequence[int] = (0, 1, 2),
    modes: Sequence[str] = CLIP_MODES,
    include_unclipped: bool = True,
    fail_above: float = math.inf,
    **train_kwargs,
) -> list[SweepRun]:
    """Train fresh models with no clipping and with each clipping kind at each threshold.

    Every run with the same seed starts from the same weights (``torch.manual_seed(seed)`` is
    called before ``build_model()``) and sees the same mini-batches, so runs differ only in
    the clipping.

    Parameters
    ----------
    build_model
        Called with no arguments; returns a fresh model.
    data
        The training data, passed to :func:`vgexamples.train.train`.
    thresholds
        Clipping thresholds, each > 0.
    seeds
        Seeds (non-negative integers); every configuration is run once per seed.
    modes
        Clipping kinds to sweep, from :data:`CLIP_MODES`.
    include_unclipped
        Also run each seed without clipping (``mode="none"``).
    fail_above
        A run that does not diverge still counts as *failed* if its final training loss is
        at least this value -- typically the loss of the best constant prediction (``log 10``
        for ten balanced classes), which a network that collapsed or never learned attains.
    **train_kwargs
        Passed to :func:`vgexamples.train.train` (steps, lr, optimizer, loss, ...);
        ``eval_every`` defaults to ``steps`` (evaluate only at the end).

    Returns
    -------
    list of SweepRun
    """
    if not callable(build_model):
        raise TypeError("build_model must be callable with no arguments")
    thresholds = [check_positive("thresholds[i]", float(t)) for t in thresholds]
    if not thresholds and not include_unclipped:
        raise ValueError("thresholds must hold at least one value (or include_unclipped=True)")
    seeds = check_seeds("seeds", seeds)
    modes = [check_choice("modes[i]", m, CLIP_MODES) for m in modes]
    if not (isinstance(fail_above, (int, float)) and fail_above > 0):
        raise ValueError(f"fail_above must be a number > 0 (math.inf allowed); got {fail_above!r}")
    for key in ("seed", "clip_value", "clip_norm"):
        if key in train_kwargs:
            raise ValueError(f"{key} is set by clipping_sweep; do not pass it")
    train_kwargs.setdefault("eval_every", train_kwargs.get("steps", 500))
    callbacks = list(train_kwargs.pop("callbacks", None) or [])

    configs: list[tuple[str, float]] = [("none", math.nan)] if include_unclipped else []
    configs += [(m, t) for m in modes for t in thresholds]
    runs = []
    for mode, threshold in configs:
        for seed in seeds:
            torch.manual_seed(seed)
            model = build_model()
            clip = {}
            if mode == "value":
                clip["clip_value"] = threshold
            elif mode == "norm":
                clip["clip_norm"] = threshold
            counter = _ClipCounter(mode, threshold) if mode != "none" else None
            hist = train(
                model,
                data,
                seed=seed,
                callbacks=[*callbacks, *([counter] if counter else [])],
                **clip,
                **train_kwargs,
            )
            stop = hist.steps_run + 1 if hist.diverged else None
            loss = hist.final_train_loss if not hist.diverged else math.nan
            failed = hist.diverged or not loss < fail_above
            dead = math.nan
            if not hist.diverged:
                probe = data.x_train[:DEAD_PROBE]
                dead = dead_unit_fraction(model, probe.to(next(model.parameters()).device))
            share = counter.share if counter else math.nan
            runs.append(
                SweepRun(mode, threshold, seed, hist.diverged, stop, loss, failed, share, dead)
            )
    return runs


def summarize_sweep(runs: Sequence[SweepRun]) -> dict[str, dict[str, np.ndarray]]:
    """Per clipping kind: thresholds, fractions of diverged and failed runs, median final loss.

    The median is taken over the runs that did not diverge (``nan`` if all diverged).

    Returns
    -------
    dict
        ``mode -> {"threshold", "diverged", "failed", "median_loss", "n"}``, arrays sorted by
        threshold (``mode="none"`` has the single threshold ``nan``).
    """
    if not runs:
        raise ValueError("runs must hold at least one SweepRun")
    out: dict[str, dict[str, np.ndarray]] = {}
    for mode in dict.fromkeys(r.mode for r in runs):
        mine = [r for r in runs if r.mode == mode]
        ts = sorted({r.threshold for r in mine}, key=lambda t: (math.isnan(t), t))
        rows = []
        for t in ts:
            group = [
                r for r in mine if r.threshold == t or (math.isnan(t) and math.isnan(r.threshold))
            ]
            finite = [r.final_loss for r in group if not r.diverged]
            rows.append(
                (
                    t,
                    float(np.mean([r.diverged for r in group])),
                    float(np.mean([r.failed for r in group])),
                    float(np.median(finite)) if finite else math.nan,
                    len(group),
                )
            )
        arr = np.array(rows, dtype=float)
        out[mode] = {
            "threshold": arr[:, 0],
            "diverged": arr[:, 1],
            "failed": arr[:, 2],
            "median_loss": arr[:, 3],
            "n": arr[:, 4].astype(int),
        }
    return out


def sweep_table(runs: Sequence[SweepRun], *, loss_name: str = "loss") -> list[str]:
    """One line per clipping kind and threshold: the share of runs that became non-finite,
    the share that failed, and the median final ``loss_name`` of those that stayed finite
    (a dash when every run diverged)."""
    lines = []
    for mode, d in summarize_sweep(runs).items():
        for t, div, fail, med in zip(
            d["threshold"], d["diverged"], d["failed"], d["median_loss"], strict=True
        ):
            median = "- (every run diverged)" if math.isnan(med) else f"{med:.4g}"
            setting = "no clipping   " if mode == "none" else f"{mode:>5} c={t:8.0e}"
            lines.append(
                f"{setting}: non-finite {div:4.0%}, failed {fail:4.0%}, "
                f"median final {loss_name} {median}"
            )
    return lines


def plot_clipping_sweep(
    ax_stability: plt.Axes,
    ax_loss: plt.Axes,
    runs: Sequence[SweepRun],
    *,
    value_scale: float = 1.0,
    log_loss: bool = True,
) -> None:
    """Plot the fraction of failed runs and the median final loss against the threshold.

    Solid lines: fraction of runs that failed (diverged or ended no better than
    ``fail_above``); dotted lines with the same colour: fraction whose loss became non-finite.
    The unclipped runs appear as grey horizontal reference lines.

    Parameters
    ----------
    ax_stability, ax_loss
        Axes for the failure fractions and for the median final loss.
    runs
        The output of :func:`clipping_sweep`.
    value_scale
        Multiply the thresholds of value clipping by this factor on the x axis -- e.g.
        ``sqrt(n_parameters)``, the largest norm a value-clipped gradient can have, to put
        both kinds on the scale of the gradient norm after clipping.
    log_loss
        Logarithmic loss axis.
    """
    check_positive("value_scale", value_scale)
    summary = summarize_sweep(runs)
    styles = {
        "value": ("o", "clip by value", PALETTE[0]),
        "norm": ("s", "clip by norm", PALETTE[3]),
    }
    for mode, (marker, label, colour) in styles.items():
        if mode not in summary:
            continue
        d = summary[mode]
        x = d["threshold"] * (value_scale if mode == "value" else 1.0)
        ax_stability.plot(x, d["failed"], marker=marker, color=colour, label=f"{label}: failed")
        ax_stability.plot(
            x,
            d["diverged"],
            marker=marker,
            linestyle=":",
            color=colour,
            fillstyle="none",
            label=f"{label}: non-finite",
        )
        ax_loss.plot(x, d["median_loss"], marker=marker, color=colour, label=label)
    if "none" in summary:
        d = summary["none"]
        ax_stability.axhline(d["failed"][0], color="grey", linestyle="--", label="no clipping")
        if math.isfinite(d["median_loss"][0]):
            ax_loss.axhline(d["median_loss"][0], color="grey", linestyle="--", label="no clipping")
    xlabel = (
        "clipping threshold c" if value_scale == 1.0 else "largest gradient norm after clipping"
    )
    for ax in (ax_stability, ax_loss):
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.legend()
    ax_stability.set_ylabel("fraction of runs")
    ax_stability.set_ylim(-0.05, 1.05)
    ax_loss.set_ylabel("median final training loss\n(runs that stayed finite)")
    if log_loss:
        ax_loss.set_yscale("log")
