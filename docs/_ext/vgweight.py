"""A lighter site: what the built pages carry that a reader never sees.

After an HTML build (``build-finished``), three things are rewritten in place:

* **One file per gallery figure.** sphinx-gallery publishes every figure twice (``X.png``
  and ``X_2_00x.png``, offered through ``srcset``). The page now loads the 2x file alone, at
  half its pixel size (``width`` and ``height``), as the executed pages' retina figures do:
  sharp on a HiDPI screen and on a plain one, and the 1x file is no longer published.
* **No spans that change nothing.** Highlighted code wraps every name, bracket and blank in
  a ``<span>``; the classes whose every rule in ``pygments.css`` gives them the code block's
  own text colour (in each theme) and nothing else are dropped (:func:`plain_token_classes`),
  their text kept, except inside links. What a reader sees and copies is unchanged.
* **No images nobody shows.** Files in ``_images`` that no page, script or style refers to
  any more (the 1x figures above, figures of pages since rewritten) are removed.

:func:`quantize_png` is the lossy step the figure re-encoding in ``vgsite`` may take: a
palette of 256 colours, kept only where the figure stays within :data:`MIN_PSNR_DB` of the
original.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging
from vgaccess import ASSET_DIRS  # folders of the build that hold no pages

logger = logging.getLogger(__name__)

#: A figure re-encoded with a 256-colour palette must keep at least this peak signal-to-noise
#: ratio against the original (matplotlib figures: flat colours and anti-aliased edges).
MIN_PSNR_DB = 40.0


# -- figures -------------------------------------------------------------------------------------
def quantize_png(data: bytes, *, min_psnr: float = MIN_PSNR_DB) -> bytes:
    """``data`` re-encoded with a 256-colour palette, or ``data`` itself.

    Only an opaque image with more than 256 colours is quantized (median cut, no dithering),
    and the result is kept only if it is smaller and its peak signal-to-noise ratio against
    the original is at least ``min_psnr`` dB. Images with transparency are left alone.
    """
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as original:
        original.load()
    if original.format != "PNG" or getattr(original, "is_animated", False):
        return data
    if "A" in original.getbands() and original.getextrema()[-1][0] < 255:
        return data  # a transparent pixel: a palette would need care the figures do not need
    if "transparency" in original.info:
        return data
    rgb = original.convert("RGB")
    if rgb.getcolors(256) is not None:
        return data  # few enough colours for an exact palette: the lossless step's job
    quantized = rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    error = np.asarray(rgb, dtype=float) - np.asarray(quantized.convert("RGB"), dtype=float)
    mse = float(np.mean(error**2))
    if mse > 0 and 10 * np.log10(255**2 / mse) < min_psnr:
        return data
    info = {"dpi": original.info["dpi"]} if "dpi" in original.info else {}
    buffer = io.BytesIO()
    quantized.save(buffer, "PNG", optimize=True, **info)
    encoded = buffer.getvalue()
    return encoded if len(encoded) < len(data) else data


_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'\s([\w-]+)="([^"]*)"')


def _density(descriptor: str) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)x", descriptor.strip())
    return float(match.group(1)) if match else None


def single_source(html: str, size_of) -> tuple[str, set[str]]:
    """Point each image offered in 1x and 2x at its 2x file alone, shown at half its size.

    ``size_of(url)`` gives the pixel size ``(width, height)`` of the file at ``url`` (relative
    to the page), or None if it cannot be read (the image is then left as it is). Returns the
    new page and the URLs of the 1x files it no longer loads.
    """
    dropped: set[str] = set()

    def rewrite(match: re.Match) -> str:
        tag = match.group(0)
        attrs = dict(_ATTR.findall(tag))
        if "srcset" not in attrs or "src" not in attrs:
            return tag
        candidates = {}
        for candidate in attrs["srcset"].split(","):
            parts = candidate.split()
            if parts:
                density = _density(parts[1]) if len(parts) > 1 else 1.0
                candidates[density] = parts[0]
        double = candidates.get(2.0)
        if double is None or set(candidates) - {1.0, 2.0}:
            return tag
        size = size_of(double)
        if size is None:
            return tag
        single = candidates.get(1.0, attrs["src"])
        new = re.sub(r'\ssrcset="[^"]*"', "", tag)
        new = new.replace(f'src="{attrs["src"]}"', f'src="{double}"', 1)
        if "width" not in attrs and "height" not in attrs:
            width, height = (round(v / 2) for v in size)
            end = -2 if new.endswith("/>") else -1
            new = f'{new[:end].rstrip()} width="{width}" height="{height}"{new[end:]}'
        if single != double:
            dropped.add(single)
        return new

    return _IMG.sub(rewrite, html), dropped


# -- highlighted code ----------------------------------------------------------------------------
_RULE = re.compile(r"([^{}]+)\{([^}]*)\}")
_THEMED = re.compile(r'html\[data-theme="(\w+)"\]\s+\.highlight(?:\s+\.([\w-]+))?')


def _declarations(body: str) -> dict[str, str]:
    pairs = (d.split(":", 1) for d in body.split(";") if ":" in d)
    return {k.strip().lower(): v.strip().lower() for k, v in pairs}


def plain_token_classes(css: str) -> set[str]:
    """Pygments token classes that look exactly like the code block's own text.

    A class qualifies when every rule of ``css`` that names it is a themed
    ``html[data-theme=T] .highlight .cls`` rule setting only ``color``, to the colour the
    theme's ``.highlight`` rule gives the block, and when it has such a rule in every theme.
    """
    base: dict[str, str | None] = {}
    plain: dict[str, set[str]] = defaultdict(set)
    spoiled: set[str] = set()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    for selectors, body in _RULE.findall(css):
        declarations = _declarations(body)
        for selector in selectors.split(","):
            selector = selector.strip()
            themed = _THEMED.fullmatch(selector)
            if themed and themed.group(2) is None:
                base[themed.group(1)] = declarations.get("color")
                continue
            if themed and set(declarations) == {"color"}:
                plain[themed.group(2)].add(f"{themed.group(1)}={declarations['color']}")
                continue
            # any other rule naming a class makes it unsafe to drop
            spoiled.update(re.findall(r"\.([\w-]+)", selector))
    wanted = {f"{theme}={colour}" for theme, colour in base.items() if colour}
    if not wanted or len(wanted) != len(base):
        return set()
    return {cls for cls, rules in plain.items() if rules == wanted and cls not in spoiled}


_HIGHLIGHT = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre></div>)', re.DOTALL)


_LINK = re.compile(r"(<a\b[^>]*>.*?</a>)", re.DOTALL)


def strip_plain_spans(html: str, classes: set[str]) -> str:
    """Drop ``<span class="c">text</span>`` inside highlighted code for each plain class.

    Spans inside a link (sphinx-gallery links names in the code to their API entries) are
    kept: there they are what gives the text its colour instead of the link's, so dropping
    them would change what the reader sees.
    """
    if not classes:
        return html
    span = re.compile(
        r'<span class="(?:' + "|".join(map(re.escape, sorted(classes))) + r')">([^<]*)</span>'
    )

    def block(m: re.Match) -> str:
        parts = _LINK.split(m.group(2))  # odd parts are links
        code = "".join(p if i % 2 else span.sub(r"\1", p) for i, p in enumerate(parts))
        return m.group(1) + code + m.group(3)

    return _HIGHLIGHT.sub(block, html)


# -- the build -----------------------------------------------------------------------------------
def unreferenced_images(outdir: Path) -> list[Path]:
    """Files of ``outdir/_images`` that no page, script or style of ``outdir`` names."""
    images = Path(outdir) / "_images"
    if not images.is_dir():
        return []
    named: set[str] = set()
    for path in Path(outdir).rglob("*"):
        if path.suffix in (".html", ".js", ".css") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            named.update(re.findall(r"_images/([^\"'\s,)?#]+)", text))
    return sorted(p for p in images.iterdir() if p.is_file() and p.name not in named)


def lighten_tree(outdir: Path, *, figures: bool = True, spans: bool = True) -> dict[str, int]:
    """Rewrite the pages of ``outdir`` (2x figures, plain spans); remove images no page shows."""
    from PIL import Image

    outdir = Path(outdir)
    pygments = outdir / "_static" / "pygments.css"
    classes = plain_token_classes(pygments.read_text()) if spans and pygments.is_file() else set()
    counts = {"pages": 0, "figures": 0, "images removed": 0, "bytes removed": 0}
    for page in sorted(outdir.rglob("*.html")):
        if page.relative_to(outdir).parts[0] in ASSET_DIRS:
            continue

        def size_of(url: str, page: Path = page) -> tuple[int, int] | None:
            try:
                with Image.open(page.parent / url) as image:
                    return image.size
            except (OSError, ValueError):
                return None

        text = page.read_text(encoding="utf-8")
        new, dropped = single_source(text, size_of) if figures else (text, set())
        new = strip_plain_spans(new, classes)
        if new != text:
            page.write_text(new, encoding="utf-8")
            counts["pages"] += 1
            counts["figures"] += len(dropped)
    for path in unreferenced_images(outdir):
        counts["bytes removed"] += path.stat().st_size
        path.unlink()
        counts["images removed"] += 1
    return counts


def _serve_2x_figures(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    counts = lighten_tree(Path(app.outdir), spans=False)
    logger.info(
        f"vgweight: {counts['figures']} figures served from their 2x file, "
        f"{counts['images removed']} unused images removed ({counts['bytes removed'] / 1e6:.2f} MB)"
    )


def _strip_plain_spans(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    counts = lighten_tree(Path(app.outdir), figures=False)
    logger.info(f"vgweight: plain spans dropped from the code of {counts['pages']} pages")


def setup(app: Sphinx) -> dict:
    # before vgsite re-encodes the images (priority 500): no work on files about to go
    app.connect("build-finished", _serve_2x_figures, priority=450)
    # after the theme rewrites pygments.css with its light and dark rules (priority 500)
    app.connect("build-finished", _strip_plain_spans, priority=550)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
