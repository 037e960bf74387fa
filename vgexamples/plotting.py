"""The site's figure style and the few plot types every page uses.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); figures have an opaque white background so they stay legible on the site's
dark theme.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from ._checks import check_choice, check_int

__all__ = [
    "PALETTE",
    "plot_histograms",
    "plot_layer_values",
    "plot_training_curves",
    "use_style",
]

#: Okabe & Ito's colour-blind-safe palette (black last).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#D55E00",  # vermillion
    "#CC79A7",  # purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",
)


def use_style() -> None:
    """Apply the site's matplotlib style (call once at the top of an example)."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.facecolor": "white",
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "axes.titlesize": 11,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "lines.linewidth": 1.8,
            "figure.constrained_layout.use": True,
        }
    )


def _as_array(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def plot_layer_values(
    ax: plt.Axes,
    series: Mapping[str, Sequence[float]],
    *,
    ylabel: str,
    log: bool = True,
    xlabel: str = "layer (1 = nearest the input)",
    markers: bool = True,
) -> plt.Axes:
    """Plot one line per label of a per-layer quantity against the layer index.

    Parameters
    ----------
    ax
        The axes to draw on.
    series
        ``label -> values``, one value per layer, input side first.
    ylabel
        Axis label for the quantity.
    log
        Use a logarithmic y axis (the natural scale of gradient norms). Non-positive values
        are left out of a log plot.
    """
    if not series:
        raise ValueError("series must hold at least one label -> values entry")
    for label, values in series.items():
        y = _as_array(values)
        x = np.arange(1, len(y) + 1)
        if log:
            keep = y > 0
            x, y = x[keep], y[keep]
        ax.plot(x, y, marker="o" if markers else None, markersize=3, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_histograms(
    ax: plt.Axes,
    tensors: Mapping[str, torch.Tensor],
    *,
    bins: int = 60,
    xlabel: str = "value",
    value_range: tuple[float, float] | None = None,
    max_lines: int = 8,
) -> plt.Axes:
    """Overlay one histogram line per layer (Karpathy's activation/gradient histograms).

    At most ``max_lines`` layers, evenly spaced from first to last, are drawn so the figure
    stays readable for deep nets.
    """
    check_int("bins", bins, minimum=2)
    check_int("max_lines", max_lines)
    if not tensors:
        raise ValueError("tensors must hold at least one name -> tensor entry")
    names = list(tensors)
    if len(names) > max_lines:
        picks = np.unique(np.linspace(0, len(names) - 1, max_lines).round().astype(int))
        names = [names[i] for i in picks]
    cmap = plt.get_cmap("viridis")
    for i, name in enumerate(names):
        values = _as_array(tensors[name]).ravel()
        counts, edges = np.histogram(values, bins=bins, range=value_range, density=True)
        centres = 0.5 * (edges[1:] + edges[:-1])
        colour = cmap(i / max(1, len(names) - 1))
        ax.plot(centres, counts, color=colour, label=name, linewidth=1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(ncol=2)
    return ax


def plot_training_curves(
    ax: plt.Axes,
    histories: Mapping[str, object],
    *,
    metric: str = "loss",
    smooth: int = 1,
    log: bool = False,
) -> plt.Axes:
    """Plot one training curve per run.

    Parameters
    ----------
    histories
        ``label -> vgexamples.train.History``.
    metric
        ``"loss"`` (mini-batch loss per step), ``"train_loss"``, ``"test_loss"`` or
        ``"test_accuracy"`` (evaluations).
    smooth
        Width of a running mean applied to per-step curves (1 = none).
    log
        Logarithmic y axis.
    """
    check_choice("metric", metric, ("loss", "train_loss", "test_loss", "test_accuracy"))
    check_int("smooth", smooth)
    for label, hist in histories.items():
        if metric == "loss":
            y = _as_array(hist.loss)
            if smooth > 1 and len(y) >= smooth:
                y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            x = np.arange(1, len(y) + 1) + (smooth - 1 if smooth > 1 else 0)
        else:
            y = _as_array(getattr(hist, metric))
            x = _as_array(hist.eval_step)
        (line,) = ax.plot(x, y, label=label)
        if getattr(hist, "diverged", False):
            ax.plot(x[-1:], y[-1:], marker="x", color=line.get_color(), markersize=8)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend()
    return ax
