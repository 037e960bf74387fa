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
from matplotlib.font_manager import FontProperties

from ._checks import check_choice, check_int

__all__ = [
    "MAX_FIGURE_WIDTH",
    "PALETTE",
    "histogram_edges",
    "integer_ticks",
    "plot_binned_histograms",
    "plot_histograms",
    "plot_layer_heatmap",
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


#: The widest figure, in inches, shown at its own size in the site's text column (880 px at
#: 100 dpi); a wider one is scaled down, and its text with it.
MAX_FIGURE_WIDTH = 8.8


def use_style() -> None:
    """Apply the site's matplotlib style (call once at the top of an example).

    Text is sized for the page it lands on: at 100 dpi the smallest text (tick labels and
    legends, 10.5 pt) is 14.6 px tall, as large as the page's small print, provided the
    figure is at most :data:`MAX_FIGURE_WIDTH` inches wide.
    """
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
            "font.size": 11,
            "axes.titlesize": 11.5,
            "axes.labelsize": 11,
            "xtick.labelsize": 10.5,
            "ytick.labelsize": 10.5,
            "legend.fontsize": 10.5,
            "figure.titlesize": 12,
            "legend.frameon": False,
            "lines.linewidth": 1.8,
            "figure.constrained_layout.use": True,
        }
    )
    _retina_in_notebooks()


def _retina_in_notebooks() -> None:
    """In a Jupyter kernel drawing inline, show figures from a 2x image (sharp on HiDPI)."""
    try:
        from IPython import get_ipython
    except ImportError:  # not installed: not a notebook
        return
    shell = get_ipython()
    if shell is None or "inline" not in mpl.get_backend():
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


def _as_array(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def integer_ticks(axis) -> None:
    """Put ticks only on whole numbers (an axis that counts layers, steps or epochs)."""
    axis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))


def plot_layer_values(
    ax: plt.Axes,
    series: Mapping[str, Sequence[float]],
    *,
    ylabel: str,
    log: bool = True,
    xlabel: str = "layer (1 = nearest the input)",
    markers: bool = True,
    legend: bool = True,
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
        Use a logarithmic y axis (the natural scale of gradient norms). A value of exactly
        zero has no place on it: it is drawn as a downward triangle on the bottom edge, in
        its line's colour, and the legend says so.
    legend
        Draw the legend on these axes (turn off to draw one legend for several panels).
    """
    if not series:
        raise ValueError("series must hold at least one label -> values entry")
    any_zero = False
    for label, values in series.items():
        y = _as_array(values)
        x = np.arange(1, len(y) + 1)
        if log:
            zero = y == 0
            keep = y > 0
            (line,) = ax.plot(
                x[keep], y[keep], marker="o" if markers else None, markersize=3, label=label
            )
            if zero.any():
                any_zero = True
                ax.plot(
                    x[zero],
                    np.full(zero.sum(), 0.0),
                    linestyle="none",
                    marker="v",
                    markersize=7,
                    color=line.get_color(),
                    transform=mpl.transforms.blended_transform_factory(ax.transData, ax.transAxes),
                    clip_on=False,
                )
        else:
            ax.plot(x, y, marker="o" if markers else None, markersize=3, label=label)
    if any_zero:
        ax.plot([], [], linestyle="none", marker="v", color="grey", label="exactly 0")
    if log:
        ax.set_yscale("log")
    integer_ticks(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend()
    return ax


def histogram_edges(
    values, *, value_range: tuple[float, float] | None = None, max_bins: int = 60
) -> np.ndarray:
    """Bin edges suited to the sample: Freedman-Diaconis over its *distinct* values.

    Pooled layer outputs often repeat values (a unit that gives every image the same output
    contributes the same number once per image): binning all of them as if independent
    makes bins far narrower than the sample supports, and the histogram a comb of spikes.
    The bin width is chosen from the distinct values instead, with at least 5 and at most
    ``max_bins`` bins: the width is Freedman-Diaconis's, ``2 IQR / n^(1/3)``, with the sample's
    interquartile range but ``n`` the number of distinct values. Values closer than 1/1,000
    of the range count as one: a unit's outputs that differ in their last digits only are one
    value to the eye.
    """
    check_int("max_bins", max_bins, minimum=5)
    values = _as_array(values).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("values must hold at least one finite number")
    lo, hi = value_range if value_range is not None else (values.min(), values.max())
    if hi <= lo:
        return np.array([lo - 0.5, lo + 0.5])
    resolution = (hi - lo) / 1000
    distinct = np.unique(np.round((values - lo) / resolution)) * resolution + lo
    q75, q25 = np.percentile(values, [75, 25])
    if q75 <= q25:  # most of the sample is one value (a rectifier's zeros): spread of the rest
        q75, q25 = np.percentile(distinct, [75, 25])
    width = 2 * (q75 - q25) / distinct.size ** (1 / 3)
    n = int(np.ceil((hi - lo) / width)) if width > 0 else max_bins
    return np.linspace(lo, hi, min(max_bins, max(5, n)) + 1)


def legend_above(ax: plt.Axes, *, ncol: int = 1, handles=None) -> None:
    """Draw the legend at the top of the axes, with the y range raised to make room for it.

    The legend never covers a curve: the axes' upper part is left empty for it, sized from
    the number of legend rows, the legend's font size and the axes' height (on a log axis the
    room is made in decades).
    """
    check_int("ncol", ncol)
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    if not handles:
        return
    rows = -(-len(handles) // ncol)
    size = FontProperties(size=plt.rcParams["legend.fontsize"]).get_size_in_points()
    height = ax.get_position().height * ax.figure.get_figheight()  # inches
    share = min(0.6, (rows * 1.4 + 0.8) * size / 72 / height)
    bottom, top = ax.get_ylim()
    if ax.get_yscale() == "log":
        top = top * (top / bottom) ** (share / (1 - share))
    else:
        top = bottom + (top - bottom) / (1 - share)
    ax.set_ylim(bottom, top)
    ax.legend(handles=handles, ncol=ncol, loc="upper center")


def plot_histograms(
    ax: plt.Axes,
    tensors: Mapping[str, torch.Tensor],
    *,
    bins: int | str = "auto",
    xlabel: str = "value",
    value_range: tuple[float, float] | None = None,
    max_lines: int = 8,
) -> plt.Axes:
    """Overlay one histogram line per layer (Karpathy's activation/gradient histograms).

    At most ``max_lines`` layers, evenly spaced from first to last, are drawn so the figure
    stays readable for deep nets. ``bins="auto"`` bins each layer by
    :func:`histogram_edges`; an integer gives that many equal bins.
    """
    if bins != "auto":
        check_int("bins", bins, minimum=2)
    check_int("max_lines", max_lines)
    if not tensors:
        raise ValueError("tensors must hold at least one name -> tensor entry")
    names = list(tensors)
    if len(names) > max_lines:
        picks = np.unique(np.linspace(0, len(names) - 1, max_lines).round().astype(int))
        names = [names[i] for i in picks]
    binned = {}
    for name in names:
        values = _as_array(tensors[name]).ravel()
        edges = (
            histogram_edges(values, value_range=value_range)
            if bins == "auto"
            else np.histogram_bin_edges(values, bins=bins, range=value_range)
        )
        counts, edges = np.histogram(values, bins=edges)
        binned[name] = (edges, counts)
    return plot_binned_histograms(ax, binned, xlabel=xlabel, max_lines=max_lines)


def plot_binned_histograms(
    ax: plt.Axes,
    histograms: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str = "value",
    max_lines: int = 8,
) -> plt.Axes:
    """Overlay histograms already binned: ``name -> (edges, counts)``, one line per layer.

    Each is drawn as a density (counts divided by their total and the bin widths), coloured
    by depth; at most ``max_lines`` layers, evenly spaced from first to last. Empty
    histograms are skipped.
    """
    check_int("max_lines", max_lines)
    items = [(n, h) for n, h in histograms.items() if len(h[1]) and float(np.sum(h[1])) > 0]
    if not items:
        raise ValueError("histograms must hold at least one non-empty (edges, counts) entry")
    if len(items) > max_lines:
        picks = np.unique(np.linspace(0, len(items) - 1, max_lines).round().astype(int))
        items = [items[i] for i in picks]
    cmap = plt.get_cmap("viridis")
    for i, (name, (edges, counts)) in enumerate(items):
        edges, counts = _as_array(edges), _as_array(counts)
        if len(edges) != len(counts) + 1:
            raise ValueError(
                f"histograms[{name!r}]: edges must be one longer than counts; got "
                f"{len(edges)} edges and {len(counts)} counts"
            )
        density = counts / (counts.sum() * np.diff(edges))
        centres = 0.5 * (edges[1:] + edges[:-1])
        colour = cmap(i / max(1, len(items) - 1))
        ax.plot(centres, density, color=colour, label=name, linewidth=1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    legend_above(ax, ncol=2 if len(items) > 3 else 1)
    return ax


def plot_layer_heatmap(
    ax: plt.Axes | None,
    steps: Sequence[int],
    names: Sequence[str],
    values,
    *,
    label: str = "value",
    log: bool = True,
    limits: tuple[float, float] | None = None,
) -> plt.Axes:
    """A per-layer x step heat map: one row per layer (input side at the top), one column per
    sampled step, on a log colour scale by default.

    Columns are the sampled steps in order, evenly spaced whatever their spacing in steps (the
    tick labels give the step numbers). A value that is zero, ``nan`` or (on a log scale)
    negative is left blank. With ``ax=None`` a figure sized for the page is made.

    Parameters
    ----------
    values
        Array shaped ``(len(names), len(steps))``.
    label
        What the colour bar measures.
    limits
        ``(low, high)`` of the colour scale, to compare several maps; default: the values'
        range.
    """
    v = _as_array(values)
    if v.ndim != 2 or v.shape != (len(names), len(steps)):
        raise ValueError(
            f"values must be shaped (layers, steps) = ({len(names)}, {len(steps)}); got {v.shape}"
        )
    if v.size == 0:
        raise ValueError("values must hold at least one layer and one step")
    if ax is None:
        height = min(9.0, 1.6 + 0.24 * len(names))
        _, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH, height))
    shown = np.where(np.isfinite(v) & ((v > 0) if log else True), v, np.nan)
    finite = shown[np.isfinite(shown)]
    if finite.size == 0:
        raise ValueError("values hold nothing to draw (no finite, positive value)")
    lo, hi = float(finite.min()), float(finite.max())
    if limits is not None:
        lo, hi = (float(x) for x in limits)
        if not (lo < hi and (lo > 0 or not log)):
            raise ValueError(f"limits must be (low, high) with 0 < low < high; got {limits!r}")
    if log:
        if hi <= lo:
            lo, hi = lo / 10, hi * 10
        norm = mpl.colors.LogNorm(vmin=lo, vmax=hi)
    else:
        norm = mpl.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    image = ax.imshow(
        np.ma.masked_invalid(shown), aspect="auto", cmap=cmap, norm=norm, interpolation="nearest"
    )
    ax.grid(False)
    ax.set_yticks(range(len(names)), names)
    ticks = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), 10)).round().astype(int))
    ax.set_xticks(ticks, [str(steps[i]) for i in ticks])
    ax.set_xlabel("sampled step")
    ax.set_ylabel("layer (input side at the top)")
    ax.figure.colorbar(image, ax=ax, label=label)
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
    integer_ticks(ax.xaxis)
    ax.set_xlabel("step")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend()
    return ax
