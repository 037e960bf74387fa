"""The explorer page's interactive figure: Bokeh plots and controls over a precomputed
:class:`~vgexamples.experiments.explorer.Grid`, as a standalone HTML fragment.

Everything is computed in Python during the build; the browser only looks the chosen setting
up in the data the page carries and hands it to Bokeh, so the page works offline and with no
server. Bokeh's own JavaScript (``bokeh.min.js`` and ``bokeh-widgets.min.js``, shipped in the
``bokeh`` package) is served from the site (see :func:`bokeh_js_files`).

Needs the ``bokeh`` package (the ``docs`` extra).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .experiments.explorer import Grid, Point, key

__all__ = ["LABELS", "LINKS", "bokeh_js_files", "explorer_data", "explorer_html"]

#: How each setting is named on the page.
LABELS: dict[str, dict[str, str]] = {
    "activation": {
        "sigmoid": "sigmoid",
        "tanh": "tanh",
        "relu": "ReLU",
        "leaky_relu": "leaky ReLU",
        "gelu": "GELU",
    },
    "init": {
        "default": "PyTorch default",
        "xavier": "Xavier (Glorot)",
        "he": "He (Kaiming)",
    },
    "architecture": {
        "plain": "plain",
        "batch_norm": "batch norm",
        "residual": "residual",
        "residual_batch_norm": "residual + batch norm",
    },
}

#: Where the site explains each setting (paths relative to the site's root).
LINKS: dict[str, dict[str, str]] = {
    "activation": {
        "sigmoid": "chapters/vanishing.html#the-sigmoid-s-derivative-is-at-most-1-4",
        "tanh": "chapters/vanishing.html#is-the-activation-function-to-blame",
        "relu": "auto_examples/vanishing/plot_01_activation_functions.html",
        "leaky_relu": "auto_examples/vanishing/plot_01_activation_functions.html",
        "gelu": "auto_examples/vanishing/plot_01_activation_functions.html",
    },
    "init": {
        name: "chapters/trainable.html#initialization-a-variance-of-one-per-layer"
        for name in ("default", "xavier", "he")
    },
    "depth": {"any": "chapters/vanishing.html#a-product-of-fractions"},
    "architecture": {
        "plain": "chapters/vanishing.html#layers-near-the-input-learn-slowest",
        "batch_norm": "chapters/trainable.html#batch-normalization",
        "residual": "chapters/trainable.html#residual-connections-and-the-degradation-problem",
        "residual_batch_norm": (
            "chapters/trainable.html#residual-connections-and-the-degradation-problem"
        ),
    },
}

_ID = "vg-explorer"


def _round(values, digits: int = 3) -> list[float]:
    """Three significant digits (the page's data stays small); zeros and non-finite values
    become NaN, which a logarithmic axis leaves out."""
    out = []
    for v in np.asarray(values, dtype=float).ravel():
        out.append(float(f"{v:.{digits - 1}e}") if math.isfinite(v) and v > 0 else math.nan)
    return out


def _bands(a: np.ndarray) -> dict[str, list[float]]:
    """Median over seeds, and the lowest and highest seed, per layer."""
    return {"mid": _round(np.median(a, 0)), "lo": _round(a.min(0)), "hi": _round(a.max(0))}


def _entry(p: Point) -> dict[str, object]:
    grad, weight, spread = _bands(p.grad), _bands(p.weight_grad), _bands(p.spread)
    return {
        "grad": grad,
        "weight": weight["mid"],
        "spread": spread,
        "loss": _round(p.loss),
        "reading": p.reading(),
    }


def explorer_data(grid: Grid) -> dict[str, object]:
    """Everything the page carries: per setting (keyed as :func:`~vgexamples.experiments.
    explorer.key`), the per-layer gradient and spread (median and range over seeds), the
    weight gradient (median), the loss curve and the reading."""
    return {k: _entry(p) for k, p in grid.points.items()}


def bokeh_js_files() -> list[Path]:
    """The two BokehJS bundles the page loads, from the installed ``bokeh`` package."""
    from bokeh.util.paths import bokehjs_path

    js = Path(bokehjs_path()) / "js"
    return [js / "bokeh.min.js", js / "bokeh-widgets.min.js"]


_CALLBACK = """
const get = (o, k) => (o instanceof Map ? o.get(k) : o[k]);
const setting = [act.value, init.value, depth.value, arch.value].join(".");
const entry = get(store, setting);
if (entry === undefined) { return; }
const g = get(entry, "grad"), s = get(entry, "spread"), loss = get(entry, "loss");
const layers = Array.from(get(g, "mid"), (_, i) => i + 1);
grad.data = {layer: layers, mid: get(g, "mid"), lo: get(g, "lo"), hi: get(g, "hi"),
             weight: get(entry, "weight")};
spread.data = {layer: Array.from(get(s, "mid"), (_, i) => i + 1), mid: get(s, "mid"),
               lo: get(s, "lo"), hi: get(s, "hi")};
curve.data = {step: Array.from(loss, (_, i) => i + 1), loss: loss};
const box = document.getElementById(ids.reading);
if (box) { box.textContent = get(entry, "reading"); }
const where = document.getElementById(ids.links);
if (where) {
  const names = {activation: act.value, init: init.value, depth: "any", architecture: arch.value};
  for (const a of where.querySelectorAll("a[data-knob]")) {
    const knob = a.dataset.knob;
    a.href = root + get(get(links, knob), names[knob]);
    const label = get(labels, knob);
    a.textContent = label === undefined ? depth.value + " layers" : get(label, names[knob]);
  }
}
const url = new URL(window.location.href);
url.searchParams.set("setting", setting);
window.history.replaceState(null, "", url);
"""

_FROM_URL = """
const wanted = new URL(window.location.href).searchParams.get("setting");
if (wanted) {
  const parts = wanted.split(".");
  const ok = (w, v) => w.options.some((o) => (Array.isArray(o) ? o[0] : o) === v);
  if (parts.length === 4 && ok(act, parts[0]) && ok(init, parts[1]) && ok(depth, parts[2])
      && ok(arch, parts[3])) {
    act.value = parts[0]; init.value = parts[1]; depth.value = parts[2]; arch.value = parts[3];
  }
}
"""


def explorer_html(
    grid: Grid, *, root: str = "", initial: Mapping[str, object] | None = None
) -> str:
    """The explorer as an HTML fragment: Bokeh's ``<script>`` and ``<div>`` for the controls
    and three linked plots, and the page's own reading and links, updated on every change.

    Parameters
    ----------
    grid
        What :func:`vgexamples.experiments.explorer.run` computed.
    root
        The URL prefix from the page to the site's root (``""`` for a page at the root).
    initial
        The setting shown first (keys ``activation``, ``init``, ``depth``, ``architecture``).
    """
    from bokeh.document import Document
    from bokeh.embed import components
    from bokeh.events import DocumentReady
    from bokeh.layouts import column, row
    from bokeh.models import (
        ColumnDataSource,
        CustomJS,
        DataRange1d,
        HoverTool,
        Select,
    )
    from bokeh.plotting import figure

    start = {
        "activation": grid.activations[0],
        "init": grid.inits[0],
        "depth": grid.depths[len(grid.depths) // 2],
        "architecture": grid.architectures[0],
    }
    unknown = sorted(set(initial or {}) - set(start))
    if unknown:
        raise ValueError(f"initial takes the keys {sorted(start)}; got {unknown}")
    start.update(initial or {})
    k = key(start["activation"], start["init"], start["depth"], start["architecture"])
    if k not in grid.points:
        raise ValueError(f"initial must be a setting of the grid; {k!r} is not one")
    first = grid.point(start["activation"], start["init"], start["depth"], start["architecture"])
    store = explorer_data(grid)
    entry = store[first.key]

    def select(title: str, values, labels: Mapping[str, str], value: str) -> Select:
        return Select(
            title=title,
            value=str(value),
            options=[(str(v), labels.get(str(v), str(v))) for v in values],
            width=190,
            name=f"select-{title.lower()}",
        )

    act = select("Activation", grid.activations, LABELS["activation"], start["activation"])
    init = select("Initialization", grid.inits, LABELS["init"], start["init"])
    depth = select(
        "Depth", grid.depths, {str(d): f"{d} layers" for d in grid.depths}, start["depth"]
    )
    arch = select("Architecture", grid.architectures, LABELS["architecture"], start["architecture"])

    layers = list(range(1, len(entry["grad"]["mid"]) + 1))
    grad = ColumnDataSource(
        {"layer": layers, **entry["grad"], "weight": entry["weight"]}, name="grad"
    )
    spread = ColumnDataSource(
        {"layer": list(range(1, len(entry["spread"]["mid"]) + 1)), **entry["spread"]},
        name="spread",
    )
    curve = ColumnDataSource(
        {"step": list(range(1, len(entry["loss"]) + 1)), "loss": entry["loss"]}, name="curve"
    )

    common = {
        "height": 260,
        "sizing_mode": "stretch_width",
        "y_axis_type": "log",
        "tools": "pan,box_zoom,reset,save",
        "toolbar_location": "right",
        "background_fill_color": "#ffffff",
    }
    layer_range = DataRange1d(range_padding=0.04)
    p_grad = figure(
        title="Gradient per layer, at initialization",
        x_axis_label="layer (1: next to the input)",
        y_axis_label="gradient norm",
        x_range=layer_range,
        name="plot-gradient",
        **common,
    )
    _median_and_band(p_grad, grad, "#0072B2", legend_label="back-propagated")
    p_grad.line(
        "layer",
        "weight",
        source=grad,
        line_width=2,
        color="#D55E00",
        line_dash="dashed",
        legend_label="weight gradient",
    )
    p_grad.add_tools(
        HoverTool(
            tooltips=[
                ("layer", "@layer"),
                ("dL/d(output)", "@mid{0.00e}"),
                ("weight gradient", "@weight{0.00e}"),
            ]
        )
    )

    p_spread = figure(
        title="Forward signal: spread across images",
        x_axis_label="hidden layer",
        y_axis_label="spread across examples",
        x_range=layer_range,
        name="plot-spread",
        **common,
    )
    _median_and_band(p_spread, spread, "#009E73")
    p_spread.add_tools(HoverTool(tooltips=[("layer", "@layer"), ("spread", "@mid{0.00e}")]))

    p_loss = figure(
        title=f"Training loss, first seed ({_budget_words(grid)})",
        x_axis_label="step",
        y_axis_label="mini-batch loss",
        name="plot-loss",
        **common,
    )
    p_loss.line("step", "loss", source=curve, line_width=2.5, color="#CC79A7")
    p_loss.add_tools(HoverTool(tooltips=[("step", "@step"), ("loss", "@loss{0.000}")]))
    for p in (p_grad, p_spread, p_loss):
        p.title.text_font_size = "13px"
        p.axis.axis_label_text_font_size = "13px"
        p.axis.major_label_text_font_size = "12px"
        p.toolbar.logo = None
    legend = p_grad.legend[0]  # under the plot: inside, it would hide curves
    p_grad.center = [r for r in p_grad.center if r is not legend]
    legend.orientation = "horizontal"
    legend.label_text_font_size = "12px"
    p_grad.add_layout(legend, "below")

    ids = {"reading": f"{_ID}-reading", "links": f"{_ID}-links"}
    args = {
        "act": act,
        "init": init,
        "depth": depth,
        "arch": arch,
        "grad": grad,
        "spread": spread,
        "curve": curve,
        "store": store,
        "ids": ids,
        "links": LINKS,
        "labels": LABELS,
        "root": root,
    }
    update = CustomJS(args=args, code=_CALLBACK)
    for w in (act, init, depth, arch):
        w.js_on_change("value", update)
    controls = row(
        act,
        init,
        depth,
        arch,
        sizing_mode="stretch_width",
        styles={"flex-wrap": "wrap", "gap": "4px 12px"},
    )
    layout = column(
        controls, p_grad, p_spread, p_loss, sizing_mode="stretch_width", name="explorer"
    )
    # a shared link: the setting in the URL is chosen once the page is ready (each change
    # then runs the update above)
    doc = Document()
    doc.add_root(layout)
    controls_only = {k: args[k] for k in ("act", "init", "depth", "arch")}
    doc.js_on_event(DocumentReady, CustomJS(args=controls_only, code=_FROM_URL))
    script, div = components(layout)
    links = " · ".join(
        f'<a data-knob="{knob}" href="{root}{_link(knob, start)}">{_label(knob, start)}</a>'
        for knob in ("activation", "init", "depth", "architecture")
    )
    return (
        f'<div class="vg-explorer" id="{_ID}">'
        f'<p class="vg-explorer-reading" id="{ids["reading"]}" aria-live="polite">'
        f"{_html(first.reading())}</p>"
        f"{div}"
        f'<p class="vg-explorer-links" id="{ids["links"]}">Read about this setting: {links}</p>'
        f"</div>{script}"
    )


def _median_and_band(fig, source, color: str, **line_kwargs) -> None:
    """The seeds' median per layer as a line with markers, over the band from the lowest to
    the highest seed."""
    from bokeh.models import Band

    band = Band(
        base="layer",
        lower="lo",
        upper="hi",
        source=source,
        fill_alpha=0.25,
        fill_color=color,
        line_color=None,
    )
    fig.add_layout(band)
    fig.line("layer", "mid", source=source, line_width=2.5, color=color, **line_kwargs)
    fig.scatter("layer", "mid", source=source, size=5, color=color)


def _link(knob: str, start: Mapping[str, object]) -> str:
    return LINKS[knob]["any" if knob == "depth" else str(start[knob])]


def _label(knob: str, start: Mapping[str, object]) -> str:
    if knob == "depth":
        return f"{start['depth']} layers"
    return LABELS[knob][str(start[knob])]


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _budget_words(grid: Grid) -> str:
    b = grid.budget
    return f"{b.optimizer.upper() if b.optimizer == 'sgd' else b.optimizer}, lr {b.lr:g}"
