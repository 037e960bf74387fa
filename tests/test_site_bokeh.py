"""BokehJS served from the site (docs/_ext/vgbokeh.py), on a tiny Sphinx project: the bundles
copied from the installed package under a versioned folder, loaded by the pages that embed a
Bokeh document and by those only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"
sys.path.insert(0, str(EXT))

bokeh = pytest.importorskip("bokeh")  # the docs extra

import vgbokeh

EMBED = """
.. raw:: html

   <div id="a1" data-root-id="p1001"></div>
   <script type="text/javascript">Bokeh.safely(function () {});</script>
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("bokeh") / "docs"
    _write(
        src,
        {
            "conf.py": f"import sys\nsys.path.insert(0, {str(EXT)!r})\n"
            'extensions = ["vgbokeh"]\nhtml_theme = "basic"\n',
            "index.rst": "Home\n====\n\n.. toctree::\n\n   plot\n   other\n   sub/deep\n",
            "plot.rst": "Plot\n====\n" + EMBED,
            "other.rst": "Other\n=====\n\nNo plot here; the word Bokeh alone is not a plot.\n",
            "sub/deep.rst": "Deep\n====\n" + EMBED,
        },
    )
    out = src.parent / "html"
    stale = out / "_static" / "bokeh" / "0.0.1"
    stale.mkdir(parents=True)
    (stale / "bokeh.min.js").write_text("old")
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-W", "-b", "html", str(src), str(out)],
        check=True,
        capture_output=True,
    )
    return out


def _scripts(html: str) -> list[str]:
    return re.findall(r'<script src="([^"]*bokeh[^"]*)"', html)


def test_bundles_are_copied_from_the_package_under_its_version(site):
    version, source = vgbokeh.bokeh_js_dir()
    assert version == bokeh.__version__
    copied = site / "_static" / "bokeh" / version
    assert sorted(p.name for p in copied.iterdir()) == sorted(vgbokeh.BUNDLES)
    for name in vgbokeh.BUNDLES:
        assert (copied / name).read_bytes() == (source / name).read_bytes()


def test_an_older_versions_copy_is_removed(site):
    assert [p.name for p in (site / "_static" / "bokeh").iterdir()] == [bokeh.__version__]


def test_pages_with_a_bokeh_document_load_the_bundles_in_order(site):
    v = bokeh.__version__
    top = _scripts((site / "plot.html").read_text())
    assert [s.split("?")[0] for s in top] == [f"_static/bokeh/{v}/{n}" for n in vgbokeh.BUNDLES]
    deep = _scripts((site / "sub" / "deep.html").read_text())
    assert [s.split("?")[0] for s in deep] == [f"../_static/bokeh/{v}/{n}" for n in vgbokeh.BUNDLES]


def test_other_pages_load_nothing_of_bokeh(site):
    assert _scripts((site / "other.html").read_text()) == []
    assert _scripts((site / "index.html").read_text()) == []


def test_the_marker_is_what_components_writes():
    from bokeh.embed import components
    from bokeh.plotting import figure

    script, div = components(figure())
    assert vgbokeh.embeds_bokeh(div + script)
    assert not vgbokeh.embeds_bokeh("<p>Bokeh is a plotting library</p>")
