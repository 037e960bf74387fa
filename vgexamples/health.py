"""A health report for any ``torch.nn.Module``: the standard diagnostic plots and a per-layer
table that flags likely problems.

:func:`diagnose` profiles one batch at initialization (gradients and activations per layer),
trains a copy of the model for a few steps to measure update-to-weight ratios, and returns a
:class:`Report`. The flags use the thresholds in :data:`THRESHOLDS`, explained on the site's
"Diagnose your own model" page.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from torch import nn

from ._checks import check_choice, check_int, check_positive
from .data import Split
from .diagnostics import LAYER_TYPES, Profile, gradient_profile
from .monitors import TrainingRecorder
from .plotting import legend_above, plot_histograms, plot_layer_values
from .train import LOSSES, OPTIMIZERS, History, train

__all__ = ["THRESHOLDS", "Report", "default_layers", "diagnose", "layer_rows"]

#: Thresholds behind the report's flags.
#:
#: * ``vanishing`` / ``exploding``: a layer whose gradient (w.r.t. its output) is below
#:   ``vanishing`` or above ``exploding`` times the last layer's;
#: * ``saturated``: more than this fraction of a sigmoid/tanh layer's outputs saturated;
#: * ``dead``: more than this fraction of a layer's units output zero for the whole batch;
#: * ``update_low`` / ``update_high``: update-to-weight ratio outside this band
#:   (the rule of thumb is about 1e-3).
THRESHOLDS: dict[str, float] = {
    "vanishing": 1e-3,
    "exploding": 1e3,
    "saturated": 0.2,
    "dead": 0.3,
    "update_low": 1e-4,
    "update_high": 1e-2,
}

_RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)


def default_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Submodules the report watches: linear, convolutional and recurrent layers."""
    return {
        name: m
        for name, m in model.named_modules()
        if name and isinstance(m, LAYER_TYPES + _RECURRENT)
    }


@dataclass
class Report:
    """What :func:`diagnose` found. ``rows`` is the per-layer table, ``flags`` its warnings."""

    profile: Profile
    rows: list[dict[str, object]]
    flags: list[str]
    update_ratio: dict[str, float]
    history: History | None = None
    recorder: TrainingRecorder | None = field(default=None, repr=False)

    def to_markdown(self) -> str:
        """The per-layer table as Markdown (numbers in scientific notation)."""
        cols = [
            "layer",
            "kind",
            "weight grad",
            "grad / last",
            "update ratio",
            "saturated",
            "dead",
            "flags",
        ]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for row in self.rows:
            cells = []
            for col in cols:
                value = row.get(col, "")
                if isinstance(value, float):
                    value = (
                        "-"
                        if math.isnan(value)
                        else (f"{value:.0%}" if col in ("saturated", "dead") else f"{value:.1e}")
                    )
                cells.append(str(value))
            lines.append("| " + " | ".join(cells) + " |")
        if any(" - |" in line for line in lines[2:]):
            lines += ["", "A dash: the quantity does not apply to that layer, or was not measured."]
        return "\n".join(lines)

    def plot(self) -> plt.Figure:
        """Karpathy's three diagnostic panels plus per-layer gradient norms."""
        fig, axes = plt.subplots(2, 2, figsize=(8.8, 7))
        names = [r["layer"] for r in self.rows if not math.isnan(r["grad / last"])]
        grads = [r["grad / last"] for r in self.rows if not math.isnan(r["grad / last"])]
        plot_layer_values(
            axes[0, 0],
            {"dL/d(output), relative to last": grads},
            ylabel="ratio",
            xlabel="layer (input side first)",
        )
        axes[0, 0].set_title("back-propagated gradient per layer")
        axes[0, 0].set_xticks(range(1, len(names) + 1), names, rotation=45, ha="right")
        if self.profile.activations:
            plot_histograms(axes[0, 1], self.profile.activations, xlabel="activation value")
            axes[0, 1].set_title("activation histograms")
        else:
            axes[0, 1].set_axis_off()
        if self.profile.output_grads:
            # gradients of different layers differ by orders of magnitude: compare their sizes
            # on a log scale (a value that is exactly 0 has no logarithm and is left out)
            magnitudes = {}
            for name, g in self.profile.output_grads.items():
                g = g.detach().abs().flatten().double()
                g = g[g > 0]
                if g.numel():
                    magnitudes[name] = g.log10()
            if magnitudes:
                plot_histograms(axes[1, 0], magnitudes, xlabel="log10 |dL/d(output)|")
                axes[1, 0].set_title("gradient magnitude histograms")
            else:
                axes[1, 0].set_axis_off()
        else:
            axes[1, 0].set_axis_off()
        rec = self.recorder
        if rec is not None and rec.steps:
            # coloured by depth like the histograms; past 8 layers the legend names the first
            # and last drawn
            ratios = list(rec.update_ratio.items())
            cmap = plt.get_cmap("viridis")
            lines, still = [], []
            for i, (name, values) in enumerate(ratios):
                v = np.asarray(values, dtype=float)
                keep = v > 0  # a layer that did not move at all has no point on a log axis
                if not keep.any():
                    still.append(name)
                    continue
                steps = np.asarray(rec.steps[: len(v)])
                colour = cmap(i / max(1, len(ratios) - 1))
                lines += axes[1, 1].plot(steps[keep], v[keep], color=colour, label=name)
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


def layer_rows(
    profile: Profile,
    update_ratio: Mapping[str, float] | None = None,
    kinds: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> tuple[list[dict[str, object]], list[str]]:
    """Build the report's table rows and flags from a profile (and optional update ratios)."""
    t = THRESHOLDS | dict(thresholds or {})
    update_ratio = dict(update_ratio or {})
    kinds = dict(kinds or {})
    rows, flags = [], []
    grads = profile.output_grad_norm
    last = next((g for g in reversed(grads) if g > 0 and math.isfinite(g)), math.nan)
    for name, g, wg in zip(profile.layer_names, grads, profile.weight_grad_norm, strict=True):
        rel = g / last if last and math.isfinite(g) else math.nan
        ratio = update_ratio.get(name, math.nan)
        row_flags = []
        if rel < t["vanishing"]:
            row_flags.append("vanishing gradient")
        if rel > t["exploding"]:
            row_flags.append("exploding gradient")
        if ratio < t["update_low"]:
            row_flags.append("update too small")
        if ratio > t["update_high"]:
            row_flags.append("update too large")
        rows.append(
            {
                "layer": name,
                "kind": kinds.get(name, ""),
                "weight grad": wg,
                "grad / last": rel,
                "update ratio": ratio,
                "saturated": math.nan,
                "dead": math.nan,
                "flags": ", ".join(row_flags),
            }
        )
        flags += [f"{name}: {f}" for f in row_flags]
    for name, sat, dead in zip(
        profile.activation_names, profile.saturated, profile.dead, strict=False
    ):
        row_flags = []
        if sat > t["saturated"]:
            row_flags.append("saturated units")
        if dead > t["dead"]:
            row_flags.append("dead units")
        rows.append(
            {
                "layer": name,
                "kind": kinds.get(name, ""),
                "weight grad": math.nan,
                "grad / last": math.nan,
                "update ratio": math.nan,
                "saturated": sat,
                "dead": dead,
                "flags": ", ".join(row_flags),
            }
        )
        flags += [f"{name}: {f}" for f in row_flags]
    return rows, flags


def diagnose(
    model: nn.Module,
    data: Split,
    *,
    loss: str = "cross_entropy",
    steps: int = 50,
    lr: float = 1e-3,
    optimizer: str = "adam",
    batch_size: int = 64,
    layers: Mapping[str, nn.Module] | Iterable[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    seed: int = 0,
) -> Report:
    """Profile ``model`` at initialization and over a short training run; flag problems.

    The model itself is not changed: training runs on a deep copy.

    Parameters
    ----------
    model
        Any module mapping a batch of ``data.x_train`` to outputs for ``loss``.
    data
        Training (and test) tensors; the profile uses the first 256 training examples.
    loss
        One of :data:`vgexamples.train.LOSSES`.
    steps
        Training steps used to measure update-to-weight ratios (>= 1).
    lr, optimizer, batch_size
        The short run's settings (see :func:`vgexamples.train.train`).
    layers
        Submodules to watch; default :func:`default_layers`.
    thresholds
        Overrides for :data:`THRESHOLDS`.
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
    if thresholds is not None:
        unknown = set(thresholds) - set(THRESHOLDS)
        if unknown:
            raise ValueError(
                f"thresholds: unknown keys {sorted(unknown)}; allowed keys are "
                + ", ".join(repr(k) for k in THRESHOLDS)
            )
        for key, value in thresholds.items():
            check_positive(f"thresholds[{key!r}]", value)
    watched = default_layers(model) if layers is None else layers
    x, y = data.x_train[:256], data.y_train[:256]
    device = next(model.parameters()).device
    profile = gradient_profile(model, x.to(device), y.to(device), loss=loss, layers=watched)
    kinds = {name: type(m).__name__ for name, m in model.named_modules() if name}
    work = copy.deepcopy(model)
    work_layers = {n: m for n, m in work.named_modules() if n in profile.layer_names}
    rec = TrainingRecorder(work, every=max(1, steps // 10), layers=work_layers)
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
            device=device,
        )
    finally:
        rec.remove()
    update = {name: float(np.median(v)) if v else math.nan for name, v in rec.update_ratio.items()}
    rows, flags = layer_rows(profile, update, kinds, thresholds)
    if hist.diverged:
        flags.append(f"training: {hist.stop_reason}")
    return Report(profile, rows, flags, update, hist, rec)
