"""The MathJax files the site ships (vgsite.mathjax_files), checked against the installed package.

The pages load the combined ``tex-chtml.js`` component; the site copies only what that
component can request. The list below was recorded in Chromium over every page with math of
a full build (each request under ``_static/mathjax/``, the right-click menu left alone); a
test page that ``\\require``-d every TeX extension in turn requested only selected files too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import vgsite

pytest.importorskip("mathjax")  # the django-static-mathjax package (docs extra)

# every file under _static/mathjax/ the built pages requested (query strings dropped)
REQUESTED_BY_THE_PAGES = [
    "tex-chtml.js",
    "output/chtml/fonts/woff-v2/MathJax_AMS-Regular.woff",
    "output/chtml/fonts/woff-v2/MathJax_Calligraphic-Regular.woff",
    "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "output/chtml/fonts/woff-v2/MathJax_Math-Italic.woff",
    "output/chtml/fonts/woff-v2/MathJax_Size1-Regular.woff",
    "output/chtml/fonts/woff-v2/MathJax_Size2-Regular.woff",
    "output/chtml/fonts/woff-v2/MathJax_Zero.woff",
]
# the whole package is about 24 MB; the component, its fonts and the extensions about 1.8 MB
MAX_BYTES = 2_200_000


@pytest.fixture(scope="module")
def source() -> Path:
    return vgsite._mathjax_source()


@pytest.fixture(scope="module")
def selected(source) -> list[str]:
    return [p.as_posix() for p in vgsite.mathjax_files(source)]


def test_every_file_the_pages_requested_is_selected(selected):
    missing = sorted(set(REQUESTED_BY_THE_PAGES) - set(selected))
    assert missing == [], f"requested by the pages but not copied: {missing}"


def test_every_chtml_font_is_selected(source, selected):
    # the browser fetches a font when a glyph needs it: any of them can be requested
    fonts = source / "output" / "chtml" / "fonts" / "woff-v2"
    expected = {p.relative_to(source).as_posix() for p in fonts.glob("*.woff")}
    assert len(expected) > 10
    assert expected <= set(selected)


def test_every_extension_that_require_or_autoload_can_load_is_selected(source, selected):
    extensions = source / "input" / "tex" / "extensions"
    on_disk = {p.stem for p in extensions.glob("*.js")}
    chosen = {Path(p).stem for p in selected if p.startswith("input/tex/extensions/")}
    # autoload pulls these in for their macros (\color, \cancel, \ce, ...)
    assert {"color", "cancel", "mhchem", "braket", "boldsymbol", "physics"} <= chosen
    # bundled in the component already, or refused by \require: never requested
    left_out = {"ams", "newcommand", "noundefined", "require", "autoload", "configmacros"}
    left_out |= {"all-packages", "tagformat", "setoptions"}
    assert chosen == on_disk - left_out


def test_no_other_component_speech_engine_or_svg_output(selected):
    for path in selected:
        assert not path.startswith(("sre/", "a11y/", "output/svg", "ui/", "input/mml")), path
    top_level = [p for p in selected if "/" not in p]
    assert top_level == ["tex-chtml.js"]


def test_selection_is_small_and_exists(source, selected):
    total = sum((source / p).stat().st_size for p in selected)
    assert total < MAX_BYTES, f"{total / 1e6:.2f} MB of MathJax selected"
    package = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    assert total < package / 5


def test_extra_components_from_the_configuration_are_added(source):
    chosen = vgsite.mathjax_files(source, extra=["ui/lazy", "[tex]/tagformat"])
    assert Path("ui/lazy.js") in chosen
    assert Path("input/tex/extensions/tagformat.js") in chosen


def test_a_component_with_a_missing_file_is_an_error(tmp_path, source):
    (tmp_path / "tex-chtml.js").write_bytes((source / "tex-chtml.js").read_bytes())
    with pytest.raises(vgsite.ExtensionError, match="MathJax"):
        vgsite.mathjax_files(tmp_path)


def test_sync_leaves_only_the_selection(tmp_path):
    source = tmp_path / "src"
    for name in ("keep.js", "sub/keep.woff", "sub/drop.js", "other/drop.json"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name)
    target = tmp_path / "out"
    # a stale full copy from an earlier build, one kept file out of date
    for path in source.rglob("*"):
        if path.is_file():
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text("old " + path.name)
    vgsite.sync_files(source, target, [Path("keep.js"), Path("sub/keep.woff")])
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    assert files == ["keep.js", "sub", "sub/keep.woff"]
    assert (target / "keep.js").read_text() == "keep.js"
