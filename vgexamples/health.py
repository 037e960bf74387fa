"""A health report of a training run: a per-layer table that flags likely problems, the
standard diagnostic panels and a per-layer x step heat map.

A :class:`Report` reads what a :class:`vgexamples.watch.Watcher` recorded while a model
trained (``watcher.report()``). :func:`diagnose` is the shortcut for a model and a data
:class:`~vgexamples.data.Split`: it trains a copy of the model for a few steps with the
library's loop, watched, and returns the report. The flags use the thresholds in
:data:`THRESHOLDS`, explained on the site's "Diagnose your own model" page.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from ._checks import check_choice, check_int, check_positive
from .data import Split
from .plotting import legend_above, plot_binned_histograms, plot_layer_values
from .train import LOSSES, OPTIMIZERS, History, train
from .watch import _LOG_EDGES, WATCHED_TYPES, Watcher

__all__ = ["THRESHOLDS", "Report", "default_layers", "diagnose", "judge", "report_from"]

#: Thresholds behind the report's flags.
#:
#: * ``vanishing`` / ``exploding``: a layer whose back-propagated gradient (w.r.t. its output,
#:   per example) is below ``vanishing`` or above ``exploding`` times the last layer's, at
#:   the median sampled step; for a recurrent layer also the gradient reaching the first time
#:   step against the last (:math:`\lVert\partial L/\partial h_1\rVert /
#:   \lVert\partial L/\partial h_T\rVert`); and a global gradient norm that grew more than
#:   ``exploding``-fold from the first sampled step to the last;
#: * ``saturated``: more than this fraction of a sigmoid/tanh layer's outputs saturated (median
#:   over the sampled steps);
#: * ``dead``: more than this fraction of a layer's units output zero for the whole batch at
#:   the last sampled step (units that die stay dead);
#: * ``update_low`` / ``update_high``: median update-to-weight ratio outside this band
#:   (the rule of thumb is about 1e-3).
THRESHOLDS: dict[str, float] = {
    "vanishing": 1e-3,
    "exploding": 1e3,
    "saturated": 0.2,
    "dead": 0.3,
    "update_low": 1e-4,
    "update_high": 1e-2,
}

_COLUMNS = (
    "layer",
    "kind",
    "weight grad",
    "grad / last",
    "h1 / hT",
    "update ratio",
    "saturated",
    "dead",
    "flags",
)


def default_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Submodules a report watches by default: every module of a type in
    :data:`vgexamples.watch.WATCHED_TYPES` (linear, convolutional, normalization, embedding,
    attention and recurrent layers)."""
    return {name: m for name, m in model.named_modules() if name and isinstance(m, WATCHED_TYPES)}


def _median(values: Iterable[float]) -> float:
    v = [x for x in values if isinstance(x, float) and math.isfinite(x)]
    return float(np.median(v)) if v else math.nan


def _check_thresholds(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    if thresholds is None:
        return dict(THRESHOLDS)
    unknown = set(thresholds) - set(THRESHOLDS)
    if unknown:
        raise ValueError(
            f"thresholds: unknown keys {sorted(unknown)}; allowed keys are "
            + ", ".join(repr(k) for k in THRESHOLDS)
        )
    for key, value in thresholds.items():
        check_positive(f"thresholds[{key!r}]", value)
    return THRESHOLDS | dict(thresholds)


def judge(
    watcher: Watcher, thresholds: Mapping[str, float] | None = None
) -> tuple[list[dict[str, object]], list[str], list[str]]:
    """The report's table rows, flags and notes from what ``watcher`` recorded.

    Returns ``(rows, flags, notes)``: one row per watched layer and activation module (call
    order), each flag as ``"layer: problem"``, and notes on what the flags cannot read.
    """
    t = _check_thresholds(thresholds)
    s = watcher.series
    layers = watcher.layer_names
    out = s["output_grad_norm"]
    # the last layer (in call order) whose back-propagated gradient was measured
    reference = next(
        (n for n in reversed(layers) if any(math.isfinite(v) and v > 0 for v in out[n])), None
    )
    rows, flags, notes = [], [], []
    for name in layers:
        rel = math.nan
        if reference is not None:
            rel = _median(
                a / b if math.isfinite(a) and b > 0 else math.nan
                for a, b in zip(out[name], out[reference], strict=True)
            )
        through = math.nan
        if name in watcher.through_time:
            through = _median(
                p[0] / p[-1] if p and p[-1] > 0 else math.nan for p in watcher.through_time[name]
            )
        ratio = _median(s["update_ratio"][name])
        row_flags = []
        if rel < t["vanishing"]:
            row_flags.append("vanishing gradient")
        if rel > t["exploding"]:
            row_flags.append("exploding gradient")
        if through < t["vanishing"]:
            row_flags.append("gradient vanishes through time")
        if through > t["exploding"]:
            row_flags.append("gradient explodes through time")
        if ratio < t["update_low"]:
            row_flags.append("update too small")
        if ratio > t["update_high"]:
            row_flags.append("update too large")
        rows.append(
            {
                "layer": name,
                "kind": watcher.kinds[name],
                "weight grad": _median(s["weight_grad_norm"][name]),
                "grad / last": rel,
                "h1 / hT": through,
                "update ratio": ratio,
                "saturated": math.nan,
                "dead": math.nan,
                "flags": ", ".join(row_flags),
            }
        )
        flags += [f"{name}: {f}" for f in row_flags]
    for name in watcher.activation_names:
        sat = _median(s["saturated"][name])
        dead_series = [v for v in s["dead"][name] if math.isfinite(v)]
        dead = dead_series[-1] if dead_series else math.nan
        row_flags = []
        if sat > t["saturated"]:
            row_flags.append("saturated units")
        if dead > t["dead"]:
            row_flags.append("dead units")
        rows.append(
            {
                "layer": name,
                "kind": watcher.kinds[name],
                "weight grad": math.nan,
                "grad / last": math.nan,
                "h1 / hT": math.nan,
                "update ratio": math.nan,
                "saturated": sat,
                "dead": dead,
                "flags": ", ".join(row_flags),
            }
        )
        flags += [f"{name}: {f}" for f in row_flags]
    norms = [v for v in watcher.grad_norm if math.isfinite(v) and v > 0]
    if len(norms) >= 2 and norms[-1] / norms[0] > t["exploding"]:
        flags.append(
            f"model: gradient norm grew {norms[-1] / norms[0]:.1e}-fold "
            f"(step {watcher.steps[0]} to step {watcher.steps[-1]})"
        )
    if watcher.broken is not None:
        flags.append(f"model: non-finite values at {watcher.broken}")

    if not watcher.steps and watcher.broken is not None:
        notes.append(
            f"Nothing was sampled: the run broke at step {watcher.broken.step}, before the "
            "first sample was complete."
        )
    elif not watcher.steps:
        notes.append("Nothing was sampled: the optimizer never took a step with the watcher on.")
    else:
        first, last = watcher.steps[0], watcher.steps[-1]
        notes.append(
            f"Read from {len(watcher.steps)} sampled step{'s' if len(watcher.steps) > 1 else ''}"
            + (f" (steps {first} to {last})" if len(watcher.steps) > 1 else f" (step {first})")
            + f" under {type(watcher.optimizer).__name__}."
        )
    if watcher.adaptive:
        floor = _eps_floor(watcher.optimizer)
        notes.append(
            f"{type(watcher.optimizer).__name__} divides each step by a running estimate of "
            f"the gradient's size, so its update-to-weight ratio does not follow a vanishing "
            f"gradient{floor}: the update flags speak of the step size, and vanishing or "
            "exploding gradients are judged on the back-propagated signal (grad / last)."
        )
    for name, module in watcher.layers.items():
        if isinstance(module, nn.MultiheadAttention) and watcher._output_of[name] != name:
            notes.append(
                f"{name} computes its output projection without calling it: the attention's "
                f"output gradient is on the {name}.out_proj row, the input projections' "
                f"weights on the {name} row."
            )
    never = [n for n in watcher.layers if n not in watcher.order]
    if watcher.steps and never:
        shown = ", ".join(never[:4]) + (", ..." if len(never) > 4 else "")
        notes.append(f"Never called with gradients on, so nothing was measured: {shown}.")
    return rows, flags, notes


@dataclass
class Report:
    """What a watched run shows: ``rows`` is the per-layer table, ``flags`` its warnings,
    ``notes`` what the flags cannot read; ``watcher`` holds every recorded series."""

    watcher: Watcher = field(repr=False)
    rows: list[dict[str, object]]
    flags: list[str]
    notes: list[str]
    history: History | None = None

    def to_markdown(self) -> str:
        """The per-layer table as Markdown (numbers in scientific notation), with its notes.

        The ``h1 / hT`` column (gradient through time) appears only when a recurrent layer
        was watched.
        """
        cols = [
            c
            for c in _COLUMNS
            if c != "h1 / hT" or any(math.isfinite(r["h1 / hT"]) for r in self.rows)
        ]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        dashes = False
        for row in self.rows:
            cells = []
            for col in cols:
                value = row.get(col, "")
                if isinstance(value, float):
                    if math.isnan(value):
                        value, dashes = "-", True
                    elif col in ("saturated", "dead"):
                        value = f"{value:.0%}"
                    else:
                        value = f"{value:.1e}"
                cells.append(str(value))
            lines.append("| " + " | ".join(cells) + " |")
        notes = list(self.notes)
        if dashes:
            notes.append("A dash: the quantity does not apply to that layer, or was not measured.")
        return "\n".join(lines + [""] + [f"- {n}" for n in notes])

    def plot(self) -> plt.Figure:
        """Four panels: back-propagated gradient per layer, activation and gradient
        histograms at the last sampled step, update-to-weight ratio over the run."""
        w = self.watcher
        fig, axes = plt.subplots(2, 2, figsize=(8.8, 7))
        rows = [r for r in self.rows if isinstance(r["grad / last"], float)]
        rows = [r for r in rows if math.isfinite(r["grad / last"])]
        if rows:
            plot_layer_values(
                axes[0, 0],
                {"dL/d(output), relative to last": [r["grad / last"] for r in rows]},
                ylabel="ratio (median over samples)",
                xlabel="layer (input side first)",
            )
            names = [r["layer"] for r in rows]
            axes[0, 0].set_xticks(range(1, len(names) + 1), names, rotation=45, ha="right")
            axes[0, 0].set_title("back-propagated gradient per layer")
        else:
            axes[0, 0].set_axis_off()
        last = f"step {w.steps[-1]}" if w.steps else "-"
        acts = {n: h[-1] for n, h in w.activation_histograms.items() if h and h[-1][1]}
        if acts:
            plot_binned_histograms(axes[0, 1], acts, xlabel="activation value")
            axes[0, 1].set_title(f"activation histograms ({last})")
        else:
            axes[0, 1].set_axis_off()
        grads = {
            n: (_LOG_EDGES, w.gradient_histograms[n][-1])
            for n in w.layer_names
            if w.gradient_histograms.get(n) and sum(w.gradient_histograms[n][-1] or [0])
        }
        if grads:
            plot_binned_histograms(axes[1, 0], grads, xlabel="log10 |dL/d(output)|")
            axes[1, 0].set_title(f"gradient magnitude histograms ({last})")
        else:
            axes[1, 0].set_axis_off()
        ratios = [(n, w.series["update_ratio"][n]) for n in w.layer_names]
        ratios = [(n, np.asarray(v, dtype=float)) for n, v in ratios if v]
        if w.steps and ratios:
            cmap = plt.get_cmap("viridis")
            lines, still = [], []
            for i, (name, v) in enumerate(ratios):
                keep = np.isfinite(v) & (v > 0)  # a layer that did not move has no log point
                if not keep.any():
                    if np.isfinite(v).any():
                        still.append(name)
                    continue
                steps = np.asarray(w.steps[: len(v)])
                colour = cmap(i / max(1, len(ratios) - 1))
                lines += axes[1, 1].plot(
                    steps[keep],
                    v[keep],
                    color=colour,
                    label=name,
                    marker="." if keep.sum() < 3 else None,
                )
            axes[1, 1].axhline(1e-3, color="grey", linestyle=":", linewidth=1)
            axes[1, 1].set(
                xlabel="step",
                ylabel="update / weight",
                yscale="log",
                title="update-to-weight ratio",
            )
            if still:  # say so rather than leave the layer out silently
                shown = ", ".join(still[:3]) + (", …" if len(still) > 3 else "")
                axes[1, 1].set_xlabel(f"step\n(weights never changed: {shown})")
            if lines:
                named = lines if len(lines) <= 8 else [lines[0], lines[-1]]
                legend_above(axes[1, 1], ncol=2 if len(named) > 3 else 1, handles=named)
        else:
            axes[1, 1].set_axis_off()
        return fig

    def plot_heatmap(self, quantity: str = "output_grad_norm") -> plt.Figure:
        """The per-layer x step heat map of ``quantity`` (default: the back-propagated
        gradient), see :meth:`vgexamples.watch.Watcher.plot_heatmap`."""
        ax = self.watcher.plot_heatmap(quantity=quantity)
        ax.set_title(
            "back-propagated gradient per layer and step"
            if quantity == "output_grad_norm"
            else quantity.replace("_", " ")
        )
        return ax.figure


def report_from(watcher: Watcher, thresholds: Mapping[str, float] | None = None) -> Report:
    """:class:`Report` of what ``watcher`` recorded (same as ``watcher.report()``)."""
    if not isinstance(watcher, Watcher):
        raise TypeError(f"watcher must be a vgexamples.watch.Watcher; got {type(watcher).__name__}")
    rows, flags, notes = judge(watcher, thresholds)
    return Report(watcher, rows, flags, notes)


def diagnose(
    model: nn.Module,
    data: Split,
    *,
    loss: str = "cross_entropy",
    steps: int = 50,
    lr: float = 1e-3,
    optimizer: str = "adam",
    batch_size: int = 64,
    layers: Mapping[str, nn.Module] | Iterable[str] | str | None = None,
    thresholds: Mapping[str, float] | None = None,
    seed: int = 0,
) -> Report:
    """Train a copy of ``model`` for a few steps, watched, and report.

    A shortcut for a model and tensors: :func:`vgexamples.train.train` runs the short run
    with a :class:`~vgexamples.watch.Watcher` attached (every ``steps // 10`` steps, and step
    1, at the initial weights). For your own training loop, attach a
    :class:`~vgexamples.watch.Watcher` to it instead and call its ``report()``. The model
    itself is not changed: training runs on a deep copy.

    Parameters
    ----------
    model
        Any module mapping a batch of ``data.x_train`` to outputs for ``loss``.
    data
        Training (and test) tensors.
    loss
        One of :data:`vgexamples.train.LOSSES`.
    steps
        Training steps (>= 1).
    lr, optimizer, batch_size
        The short run's settings (see :func:`vgexamples.train.train`).
    layers
        Submodules to watch (see :class:`~vgexamples.watch.Watcher`); default
        :func:`default_layers`.
    thresholds
        Overrides for :data:`THRESHOLDS`.
    seed
        Seed of the mini-batch order.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    if next(model.parameters(), None) is None:
        raise ValueError("model has no parameters: there is nothing to diagnose")
    check_choice("loss", loss, LOSSES)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_int("steps", steps)
    check_positive("lr", lr)
    _check_thresholds(thresholds)
    work = copy.deepcopy(model)
    from .monitors import TrainingRecorder

    rec = TrainingRecorder(work, every=max(1, steps // 10), layers=layers, watched=WATCHED_TYPES)
    try:
        hist = train(
            work,
            data,
            steps=steps,
            lr=lr,
            optimizer=optimizer,
            batch_size=batch_size,
            loss=loss,
            seed=seed,
            callbacks=[rec],
            eval_every=steps,
            device=next(model.parameters()).device,
        )
    finally:
        rec.remove()
    report = rec.watcher.report(thresholds)
    report.history = hist
    if hist.diverged and rec.watcher.broken is None:
        report.flags.append(f"training: {hist.stop_reason}")
    return report


def _eps_floor(optimizer: torch.optim.Optimizer) -> str:
    """Where an adaptive optimizer's step starts to shrink with the gradient again: the
    element size at which its ``eps`` takes over (Adadelta adds it under the square root),
    as words for the report's note; empty when its groups hold no single float ``eps``."""
    values = {g.get("eps") for g in optimizer.param_groups}
    eps = values.pop() if len(values) == 1 else None
    eps = eps[0] if isinstance(eps, (tuple, list)) else eps
    if not isinstance(eps, float) or eps <= 0:
        return ""
    if type(optimizer).__name__ == "Adadelta":
        where = f"the square root of the optimizer's eps, {math.sqrt(eps):.0e}"
    else:
        where = f"the optimizer's eps, {eps:.0e}"
    return f" (until a weight's gradient falls to about {where}: then its step shrinks with it)"
