"""Figures that read well where they are shown: the gallery's image scraper.

sphinx-gallery saves each example's figures through :func:`scraper`, which wraps its
matplotlib scraper (that one writes the 1x and the 2x image the ``image_srcset`` option asks
for) and adds two things:

* **a legibility check.** An example page's text column is :data:`COLUMN_PX` wide at a
  1280 px desktop; a wider figure is scaled down to fit it, and its text with it. Every piece
  of text in a figure must still be at least :data:`MIN_TEXT_PX` tall where it is shown, the
  size of the page's small print; otherwise the example fails with a message naming the
  figure and the text, so the build (``-W``) fails too.
* **a card thumbnail drawn for the card.** The gallery and the landing page show each example
  as a card about 200 px wide: axis labels, ticks and legends shrunk to that size are a grey
  smudge. The figure chosen as the thumbnail (``sphinx_gallery_thumbnail_number``, default 1)
  is saved a second time without text and with thicker lines, and sphinx-gallery makes the
  card from that drawing.
* **whole-number ticks on counting axes.** An axis whose label counts something (layers,
  steps, epochs, blocks, ranks, time steps) must not put ticks at 2.5 or 7.5.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np

#: The text column of an example page at 1280 px, in CSS pixels (the browser suite checks
#: that no figure is shown narrower than ``min(natural width, COLUMN_PX)``).
COLUMN_PX = 880
#: The smallest text the site prints (its small print, 0.75 rem), in CSS pixels.
MIN_TEXT_PX = 12.0
#: Card thumbnails: line widths are multiplied by this much.
CARD_LINE_SCALE = 2.5


class IllegibleFigure(RuntimeError):
    """A figure has text smaller than :data:`MIN_TEXT_PX` at the size it is shown."""


def _save_dpi(fig) -> float:
    dpi = matplotlib.rcParams["savefig.dpi"]
    return float(fig.dpi if dpi == "figure" else dpi)


def shown_scale(fig, column_px: float = COLUMN_PX) -> float:
    """The factor a figure's 1x image is scaled by to fit the column (1 when it fits)."""
    natural = round(fig.get_figwidth() * _save_dpi(fig), 6)
    return min(1.0, column_px / natural)


def _texts(artist) -> Iterator[matplotlib.text.Text]:
    """The visible, non-empty text under ``artist`` (titles, labels, ticks, legends, notes).

    Text inside a hidden container (a hidden legend or axes) is not shown, so not yielded.
    """
    if not artist.get_visible():
        return
    if isinstance(artist, matplotlib.text.Text):
        if artist.get_text().strip():
            yield artist
        return
    for child in artist.get_children():
        yield from _texts(child)


def small_text(
    fig, column_px: float = COLUMN_PX, min_px: float = MIN_TEXT_PX
) -> list[tuple[str, float]]:
    """Each text of ``fig`` shown smaller than ``min_px``: ``(text, shown size in px)``.

    The size shown is the font size at the saving resolution, times :func:`shown_scale`.
    """
    scale = shown_scale(fig, column_px)
    px_per_pt = _save_dpi(fig) / 72.0
    small = {}
    for text in _texts(fig):
        shown = text.get_fontsize() * px_per_pt * scale
        if shown < min_px - 1e-9:
            label = " ".join(text.get_text().split())[:40]
            small.setdefault(label, round(shown, 1))
    return sorted(small.items(), key=lambda item: item[1])


#: An axis label naming one of these counts a whole number of things.
COUNTING = re.compile(r"\b(layers?|steps?|epochs?|blocks?|rank|index|iterations?|depth)\b", re.I)


def fractional_ticks(fig) -> list[tuple[str, list[float]]]:
    """Counting axes (see :data:`COUNTING`) with ticks between whole numbers, and the ticks."""
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            label = axis.get_label().get_text()
            if not COUNTING.search(label) or axis.get_scale() != "linear":
                continue
            lo, hi = sorted(axis.get_view_interval())
            ticks = [t for t in axis.get_majorticklocs() if lo - 1e-9 <= t <= hi + 1e-9]
            fractional = [float(t) for t in ticks if abs(t - np.round(t)) > 1e-9]
            if fractional:
                bad.append((label, fractional))
    return bad


def check_legible(fig, where: str, column_px: float = COLUMN_PX, min_px: float = MIN_TEXT_PX):
    """Raise :class:`IllegibleFigure` if any text of ``fig`` would be shown too small, or a
    counting axis has ticks between whole numbers."""
    for label, ticks in fractional_ticks(fig):
        raise IllegibleFigure(
            f"{where}: the axis {label!r} counts whole things but has ticks at "
            f"{', '.join(f'{t:g}' for t in ticks[:4])}; use "
            "vgexamples.plotting.integer_ticks(ax.xaxis) (or yaxis)."
        )
    small = small_text(fig, column_px, min_px)
    if small:
        width = fig.get_figwidth()
        listed = "; ".join(f"{text!r} at {px:g} px" for text, px in small[:6])
        raise IllegibleFigure(
            f"{where}: text smaller than {min_px:g} px where the figure is shown "
            f"({width:g} in wide at {_save_dpi(fig):g} dpi, scaled by "
            f"{shown_scale(fig, column_px):.2f} to fit the {column_px:g} px column): {listed}. "
            "Make the figure narrower or its text larger."
        )


@contextmanager
def textless(fig) -> Iterator[None]:
    """Hide every text and legend of ``fig`` and thicken its lines, then restore them."""
    changed: list[tuple[object, str, object]] = []

    def change(artist, name, value):
        changed.append((artist, name, getattr(artist, f"get_{name}")()))
        getattr(artist, f"set_{name}")(value)

    for text in list(_texts(fig)):
        change(text, "visible", False)
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if legend is not None and legend.get_visible():
            change(legend, "visible", False)
    for ax in fig.axes:
        for line in ax.get_lines():
            change(line, "linewidth", line.get_linewidth() * CARD_LINE_SCALE)
            if line.get_marker() not in (None, "None", "", " "):
                change(line, "markersize", line.get_markersize() * 1.5)
    try:
        yield
    finally:
        for artist, name, value in reversed(changed):
            getattr(artist, f"set_{name}")(value)


def draw_card(fig, target: Path) -> bool:
    """Save ``fig`` as a card thumbnail: no text at all (tick labels, titles, legends, the
    figure's own legends), thicker lines. A copy is drawn, so ``fig`` is left as it was;
    a figure that cannot be copied gets no card (False), and the default thumbnail."""
    import matplotlib.pyplot as plt

    try:
        card = pickle.loads(pickle.dumps(fig))
    except Exception:  # an artist that does not pickle
        return False
    try:
        with textless(card):
            # tick labels are made afresh at each draw: hiding today's Text objects is not
            # enough
            for ax in card.axes:
                ax.tick_params(labelbottom=False, labeltop=False, labelleft=False, labelright=False)
            card.savefig(target, dpi=_save_dpi(fig))
    finally:
        plt.close(card)
    return True


def card_path(image_path_template: str) -> Path:
    """Where an example's card drawing goes, beside its figures (not published)."""
    template = Path(image_path_template)
    stem = template.name.split("{", 1)[0].rstrip("_")
    return template.parent / f"{stem}_card.png"


def scraper(block, block_vars, gallery_conf):
    """sphinx-gallery image scraper: check legibility, draw the card, then save as usual."""
    import matplotlib.pyplot as plt
    from sphinx_gallery.scrapers import matplotlib_scraper

    iterator = block_vars["image_path_iterator"]
    file_conf = block_vars.get("file_conf", {})
    first = len(iterator.paths) + 1
    if "vgfigures_card" not in file_conf:
        # the figure sphinx-gallery would make the thumbnail from (none if a file is named)
        default = None if "thumbnail_path" in file_conf else 1
        file_conf["vgfigures_card"] = file_conf.get("thumbnail_number", default)
    wanted = file_conf["vgfigures_card"]
    src = Path(block_vars.get("src_file", "example")).name
    for offset, number in enumerate(plt.get_fignums()):
        fig = plt.figure(number)
        index = first + offset
        check_legible(fig, f"{src}, figure {index}")
        if wanted is not None and (index == wanted or wanted == -1):
            target = card_path(iterator.image_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if draw_card(fig, target):
                src_dir = Path(gallery_conf["src_dir"])
                file_conf.pop("thumbnail_number", None)
                file_conf["thumbnail_path"] = str(target.relative_to(src_dir))
    return matplotlib_scraper(block, block_vars, gallery_conf)
