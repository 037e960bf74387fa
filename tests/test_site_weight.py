"""What the docs build does to keep the site light (docs/_ext/vgsite.py): lossless PNGs, no
stale downloads, no source maps."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import vgsite

Image = pytest.importorskip("PIL.Image")


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()


def _figure(mode: str, colours: int) -> bytes:
    """A figure-like image: a white page with ``colours`` grey levels in bands."""
    image = Image.new(mode, (120, 90), "white")
    for x in range(120):
        level = (x * colours // 120) * (255 // max(colours, 1))
        for y in range(30, 60):
            image.putpixel((x, y), (level, level, 255 - level, 255)[: len(mode)])
    return _png(image)


@pytest.mark.parametrize(("mode", "colours"), [("RGBA", 8), ("RGB", 200), ("RGBA", 255)])
def test_shrunk_png_is_smaller_and_shows_the_same_pixels(mode, colours):
    data = _figure(mode, colours)
    smaller = vgsite.shrink_png(data)
    assert len(smaller) < len(data)
    assert _pixels(smaller) == _pixels(data)


def test_an_opaque_rgba_figure_loses_its_alpha_channel_only():
    smaller = vgsite.shrink_png(_figure("RGBA", 8))
    with Image.open(io.BytesIO(smaller)) as image:
        assert image.mode in ("P", "RGB")


def test_transparency_and_many_colours_survive():
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    for x in range(64):
        for y in range(64):
            image.putpixel((x, y), (x * 4, y * 4, (x * y) % 256, (x + y) % 256))
    data = _png(image)
    smaller = vgsite.shrink_png(data)
    assert _pixels(smaller) == _pixels(data)
    with Image.open(io.BytesIO(smaller)) as again:
        assert again.mode == "RGBA"  # 4096 colours and real transparency: no palette


def test_a_few_colours_with_transparency_become_an_exact_palette():
    image = Image.new("RGBA", (90, 60), (0, 0, 0, 0))
    colours = [(200, 60 * k, 30, 255 - 40 * k) for k in range(5)]
    seed = 1
    for x in range(90):
        for y in range(20, 40):
            seed = (seed * 1103515245 + 12345) % 2**31  # a fixed scatter of the colours
            image.putpixel((x, y), colours[seed % 5])
    data = _png(image)
    smaller = vgsite.shrink_png(data)
    assert len(smaller) < len(data)
    assert _pixels(smaller) == _pixels(data)
    with Image.open(io.BytesIO(smaller)) as again:
        assert again.mode == "P"


def test_a_png_that_cannot_shrink_is_returned_as_it_is():
    image = Image.new("RGB", (4, 4), "white")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    data = buffer.getvalue()
    assert vgsite.shrink_png(data) == data


def test_stale_downloads_are_the_files_no_page_publishes(tmp_path):
    downloads = tmp_path / "_downloads"
    for name in ("a1/plot_01.zip", "a2/plot_01.py", "a3/plot_01.ipynb", "b1/all.zip"):
        (downloads / name).parent.mkdir(parents=True)
        (downloads / name).write_text(name)
    stale = vgsite.stale_downloads(downloads, ["a1/plot_01.zip", "b1/all.zip"])
    assert [p.relative_to(downloads).as_posix() for p in stale] == [
        "a2/plot_01.py",
        "a3/plot_01.ipynb",
    ]
    assert vgsite.stale_downloads(tmp_path / "none", []) == []


def test_source_maps_and_the_comments_naming_them_go(tmp_path):
    static = tmp_path / "_static"
    (static / "scripts").mkdir(parents=True)
    (static / "scripts" / "theme.js").write_text("var a=1;\n//# sourceMappingURL=theme.js.map\n")
    (static / "scripts" / "theme.js.map").write_text("{}")
    (static / "theme.css").write_text("a{color:red}\n/*# sourceMappingURL=theme.css.map */\n")
    (static / "theme.css.map").write_text("{}")
    (static / "plain.js").write_text("var sourceMappingURL = 1;\n")
    removed = vgsite.drop_source_maps(static)
    assert sorted(p.name for p in removed) == ["theme.css.map", "theme.js.map"]
    assert (static / "scripts" / "theme.js").read_text() == "var a=1;\n"
    assert (static / "theme.css").read_text() == "a{color:red}\n"
    assert (static / "plain.js").read_text() == "var sourceMappingURL = 1;\n"
    assert not list(static.rglob("*.map"))
