"""The rewrites that make the built site lighter (docs/_ext/vgweight.py), on small inputs."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
import vgweight


def _figure_png() -> bytes:
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    x = np.linspace(0, 6, 200)
    for k in range(6):
        ax.plot(x, np.sin(x + k), label=f"line {k}")
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=float)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_figure_is_quantized_within_the_quality_bound():
    data = _figure_png()
    smaller = vgweight.quantize_png(data)
    assert len(smaller) < len(data)
    with Image.open(io.BytesIO(smaller)) as image:
        assert image.mode == "P"
    mse = np.mean((_rgb(data) - _rgb(smaller)) ** 2)
    assert 10 * np.log10(255**2 / mse) >= vgweight.MIN_PSNR_DB


def test_an_image_a_palette_would_spoil_is_left_alone():
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = _png(Image.fromarray(noise, "RGB"))
    assert vgweight.quantize_png(data) == data  # far below the quality bound
    # and an impossible bound leaves even a figure alone
    figure = _figure_png()
    assert vgweight.quantize_png(figure, min_psnr=200) == figure


def test_transparent_and_few_colour_images_are_left_to_the_lossless_step():
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)
    rgba[..., 0] = np.arange(32)[:, None] * 8
    rgba[..., 1] = np.arange(32)[None, :] * 8
    rgba[..., 2] = 100
    rgba[..., 3] = 255
    rgba[:4, :4, 3] = 0
    transparent = _png(Image.fromarray(rgba, "RGBA"))
    assert vgweight.quantize_png(transparent) == transparent
    flat = _png(Image.new("RGB", (40, 40), (10, 120, 200)))
    assert vgweight.quantize_png(flat) == flat


def test_a_figure_offered_in_1x_and_2x_loads_its_2x_file_at_half_size():
    html = (
        '<p><img alt="spread" src="../_images/a.png" '
        'srcset="../_images/a.png, ../_images/a_2_00x.png 2.00x" class="sphx-glr-single-img"/>'
        '<img alt="other" src="../_images/b.png" class="x"/></p>'
    )
    sizes = {"../_images/a_2_00x.png": (1760, 1201)}
    new, dropped = vgweight.single_source(html, sizes.get)
    assert dropped == {"../_images/a.png"}
    first = re.search(r'<img alt="spread"[^>]*>', new).group(0)
    assert "srcset" not in first
    assert 'src="../_images/a_2_00x.png"' in first
    assert 'width="880" height="600"' in first  # half of 1760 x 1201, rounded
    assert first.endswith("/>")
    assert '<img alt="other" src="../_images/b.png" class="x"/>' in new  # no srcset: unchanged


@pytest.mark.parametrize(
    "tag, sizes",
    [
        # a 2x file that cannot be read stays offered as it was
        ('<img src="a.png" srcset="a.png, a2.png 2x">', {}),
        # a 3x candidate: not a plain 1x/2x pair
        ('<img src="a.png" srcset="a.png, a2.png 2x, a3.png 3x">', {"a2.png": (10, 10)}),
        # width descriptors, not densities
        ('<img src="a.png" srcset="a.png 400w, a2.png 800w">', {"a2.png": (10, 10)}),
    ],
)
def test_images_that_are_not_a_plain_pair_are_unchanged(tag, sizes):
    new, dropped = vgweight.single_source(tag, sizes.get)
    assert (new, dropped) == (tag, set())


CSS = """
html[data-theme="light"] .highlight pre { line-height: 125%; }
html[data-theme="light"] .highlight { background: #fefefe; color: #080808 }
html[data-theme="light"] .highlight .n { color: #080808 } /* Name */
html[data-theme="light"] .highlight .p { color: #080808 } /* Punctuation */
html[data-theme="light"] .highlight .o { color: #00622F } /* Operator */
html[data-theme="light"] .highlight .k { color: #080808; font-weight: bold } /* Keyword */
html[data-theme="light"] .highlight .w { color: #080808 } /* Whitespace */
html[data-theme="light"] .highlight .x { color: #080808 }
html[data-theme="dark"] .highlight { background: #2b2b2b; color: #F8F8F2 }
html[data-theme="dark"] .highlight .n { color: #F8F8F2 } /* Name */
html[data-theme="dark"] .highlight .p { color: #F8F8F2 } /* Punctuation */
html[data-theme="dark"] .highlight .o { color: #F8F8F2 } /* Operator */
html[data-theme="dark"] .highlight .k { color: #F8F8F2 } /* Keyword */
html[data-theme="dark"] .highlight .w { color: #F8F8F2 } /* Whitespace */
.highlight .w { text-decoration: underline }
"""


def test_plain_classes_look_like_the_code_blocks_text_in_every_theme():
    # o: coloured in light; k: bold; w: another rule styles it; x: no dark rule
    assert vgweight.plain_token_classes(CSS) == {"n", "p"}
    assert vgweight.plain_token_classes("") == set()


def test_stripping_plain_spans_keeps_the_code_and_touches_nothing_else():
    code = (
        '<div class="highlight"><pre><span></span><span class="n">x</span>'
        '<span class="w"> </span><span class="o">=</span><span class="w"> </span>'
        '<a href="t.html"><span class="n">torch</span><span class="p">.</span>'
        '<span class="n">nn</span></a><span class="p">.</span>'
        '<span class="n">ones</span><span class="p">(</span><span class="mi">3</span>'
        '<span class="p">)</span>\n</pre></div>'
    )
    outside = '<em class="sig-param"><span class="n"><span class="pre">x</span></span></em>'
    html = outside + code
    new = vgweight.strip_plain_spans(html, {"n", "p", "w"})
    assert new.startswith(outside)  # signatures outside highlighted code keep their spans
    assert '<span class="o">=</span>' in new and '<span class="mi">3</span>' in new
    # inside a link the spans give the text its colour instead of the link's: kept
    link = '<a href="t.html"><span class="n">torch</span><span class="p">.</span><span class="n">nn'
    assert link in new
    assert new[len(outside) :].count('<span class="n">') == 2
    text = re.sub(r"<[^>]+>", "", html)
    assert re.sub(r"<[^>]+>", "", new) == text  # what a reader reads and copies


def test_lighten_tree_serves_2x_figures_and_removes_what_no_page_shows(tmp_path):
    site = tmp_path / "html"
    (site / "_images").mkdir(parents=True)
    (site / "_static").mkdir()
    (site / "_static" / "pygments.css").write_text(CSS)
    Image.new("RGB", (200, 100), "white").save(site / "_images" / "f.png")
    Image.new("RGB", (400, 200), "white").save(site / "_images" / "f_2_00x.png")
    Image.new("RGB", (10, 10), "white").save(site / "_images" / "stale.png")
    Image.new("RGB", (10, 10), "white").save(site / "_images" / "logo.png")
    (site / "_static" / "site.css").write_text("a { background: url(../_images/logo.png) }")
    page = site / "ex" / "page.html"
    page.parent.mkdir()
    page.write_text(
        '<img src="../_images/f.png" srcset="../_images/f.png, ../_images/f_2_00x.png 2.00x">'
        '<div class="highlight"><pre><span class="n">a</span></pre></div>'
    )
    counts = vgweight.lighten_tree(site)
    assert page.read_text() == (
        '<img src="../_images/f_2_00x.png" width="200" height="100">'
        '<div class="highlight"><pre>a</pre></div>'
    )
    assert sorted(p.name for p in (site / "_images").iterdir()) == ["f_2_00x.png", "logo.png"]
    assert counts["figures"] == 1 and counts["images removed"] == 2
