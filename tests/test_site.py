"""Site invariants, checked on small throwaway Sphinx projects built with the site's own
extension (docs/_ext/vgsite.py), in the spirit of sphinx-gallery's own tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"
sys.path.insert(0, str(EXT))

import vgsite

# -- the offline check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>',
        '<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">',
        "<img src='http://example.org/a.png'>",
        '<img srcset="a.png 1x, https://example.org/b.png 2x">',
        '<iframe src="https://www.youtube.com/embed/x"></iframe>',
        '<link rel="icon" href="https://example.org/favicon.ico">',
        "<style>body { background: url('https://example.org/bg.png') }</style>",
        '<div style="background-image: url(https://example.org/bg.png)"></div>',
        '<SCRIPT SRC="HTTPS://EXAMPLE.ORG/X.JS"></SCRIPT>',
    ],
)
def test_external_resources_are_found(html):
    assert vgsite.find_external_resources(html)


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://doi.org/10.1109/72.279181">a citation link is not a load</a>',
        '<script src="_static/mathjax/tex-chtml.js"></script>',
        '<link rel="stylesheet" href="../_static/pygments.css">',
        '<link rel="canonical" href="https://example.org/page.html">',
        '<img src="data:image/png;base64,AAAA">',
        '<img src="_images/figure.png" alt="figure">',
    ],
)
def test_local_resources_and_links_pass(html):
    assert vgsite.find_external_resources(html) == []


def test_scan_site_reports_pages(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "ok.html").write_text('<script src="_static/a.js"></script>')
    (tmp_path / "sub" / "bad.html").write_text('<script src="https://cdn.example/a.js"></script>')
    assert vgsite.scan_site(tmp_path) == {"sub/bad.html": ["https://cdn.example/a.js"]}


# -- rebuild freshness bookkeeping --------------------------------------------------------------


def test_library_hash_follows_every_source_edit(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("X = 1\n")
    h1 = vgsite.library_hash(pkg)
    assert vgsite.library_hash(pkg) == h1
    (pkg / "a.py").write_text("X = 2\n")
    h2 = vgsite.library_hash(pkg)
    (pkg / "b.py").write_text("")
    h3 = vgsite.library_hash(pkg)
    assert len({h1, h2, h3}) == 3


def test_library_changed(tmp_path):
    assert vgsite.library_changed(tmp_path, "abc")  # no record yet: cold build
    (tmp_path / vgsite.HASH_FILE).write_text("abc\n")
    assert not vgsite.library_changed(tmp_path, "abc")
    assert vgsite.library_changed(tmp_path, "def")


def test_chapter_order_matches_the_gallery():
    order = vgsite.chapter_order(ROOT / "gallery")
    names = [Path(p).name for p in order]
    folders = {p.name for p in (ROOT / "gallery").iterdir() if (p / "GALLERY_HEADER.rst").is_file()}
    assert set(names) == folders  # every chapter folder is listed, and only those
    assert names[0] == "activations"


# -- tiny docs projects -------------------------------------------------------------------------

CONF = """
import sys
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, {ext!r})
sys.path.insert(0, str(HERE.parent / "lib"))
import vgsite
extensions = ["sphinx.ext.mathjax", "sphinx_gallery.gen_gallery", "vgsite"]
vgsite_library_hash = vgsite.library_hash(HERE.parent / "lib" / "tinylib")
sphinx_gallery_conf = {{
    "examples_dirs": ["../gallery"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": "/plot_",
    "write_computation_times": False,
    "reset_modules": ("matplotlib",),
    "run_stale_examples": vgsite.library_changed(HERE / "auto_examples", vgsite_library_hash),
}}
mathjax_path = "mathjax/tex-chtml.js"
exclude_patterns = ["_build", "auto_examples/**.ipynb", "auto_examples/**.py",
                    "auto_examples/**.zip"]
html_theme = "basic"
"""


def _project(tmp_path: Path, examples: dict[str, str], value: int = 1) -> Path:
    docs = tmp_path / "docs"
    gallery = tmp_path / "gallery"
    lib = tmp_path / "lib" / "tinylib"
    for d in (docs, gallery, lib):
        d.mkdir(parents=True, exist_ok=True)
    (lib / "__init__.py").write_text(f"VALUE = {value}\n")
    (docs / "conf.py").write_text(CONF.format(ext=str(EXT)))
    (docs / "index.rst").write_text(
        "Tiny\n====\n\nEuler: :math:`e^{i\\pi} + 1 = 0`.\n\n"
        ".. toctree::\n\n   auto_examples/index\n"
    )
    (gallery / "GALLERY_HEADER.rst").write_text("Gallery\n=======\n\nExamples.\n")
    for name, body in examples.items():
        (gallery / name).write_text(textwrap.dedent(body))
    return docs


def _build(docs: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            str(docs),
            str(docs / "_build" / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "MPLBACKEND": "Agg"},
    )


GOOD = '''
"""
A passing example
=================

Prints a value from the tiny library.
"""
from pathlib import Path

import tinylib

with open(Path(tinylib.__file__).parent / "runs.log", "a") as log:
    log.write("ran\\n")
print(f"library value = {tinylib.VALUE}")
'''

BAD = '''
"""
A failing example
=================

Raises on purpose.
"""
raise RuntimeError("this example is broken on purpose")
'''


@pytest.mark.slow
def test_failing_example_fails_the_build_and_names_the_script(tmp_path):
    docs = _project(tmp_path, {"plot_good.py": GOOD, "plot_broken.py": BAD})
    result = _build(docs)
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "plot_broken.py" in log
    assert "this example is broken on purpose" in log
    # the library stamp is not written, so the next build runs the examples again
    assert not (docs / "auto_examples" / vgsite.HASH_FILE).exists()


@pytest.mark.slow
def test_tiny_site_is_offline_reports_times_and_reruns_after_a_library_edit(tmp_path):
    docs = _project(tmp_path, {"plot_good.py": GOOD}, value=1)
    first = _build(docs)
    assert first.returncode == 0, first.stdout + first.stderr
    html = docs / "_build" / "html"
    page = html / "auto_examples" / "plot_good.html"
    assert "library value = 1" in page.read_text()
    # MathJax is served from the site itself, and no page loads anything from elsewhere
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert "_static/mathjax/tex-chtml.js" in (html / "index.html").read_text()
    assert vgsite.scan_site(html) == {}
    # the execution-times report lists the example
    times = (html / "_static" / "execution_times.json").read_text()
    assert "auto_examples/plot_good" in times
    assert (html / "auto_examples" / "execution_times.html").is_file()

    runs = tmp_path / "lib" / "tinylib" / "runs.log"
    assert runs.read_text().count("ran") == 1

    # unchanged tree: the example is not re-run (sphinx-gallery keeps its output)
    second = _build(docs)
    assert second.returncode == 0
    assert runs.read_text().count("ran") == 1

    # edit the library, not the example: the next build must re-run the example
    (tmp_path / "lib" / "tinylib" / "__init__.py").write_text("VALUE = 2\n")
    third = _build(docs)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "library value = 2" in page.read_text()
    assert runs.read_text().count("ran") == 2


@pytest.mark.slow
def test_offline_check_fails_a_build_that_loads_from_a_cdn(tmp_path):
    docs = _project(tmp_path, {"plot_good.py": GOOD})
    conf = docs / "conf.py"
    conf.write_text(conf.read_text() + '\nmathjax_path = "https://cdn.example.org/mathjax.js"\n')
    result = _build(docs)
    assert result.returncode != 0
    assert "load resources from other hosts" in result.stdout + result.stderr


def test_thumbnail_alt_text_is_filled_and_escaped():
    html = (
        '<div class="sphx-glr-thumbcontainer" tooltip="t"><img alt="" src="a.png" />'
        '<p>x</p><div class="sphx-glr-thumbnail-title">Which "deep" nets train?</div></div>'
    )
    fixed = vgsite.add_thumbnail_alt_text(html)
    assert 'alt="Key figure of the example: Which &quot;deep&quot; nets train?"' in fixed
    assert vgsite.add_thumbnail_alt_text("<img alt='' src='b.png'>") == "<img alt='' src='b.png'>"


def test_run_note_is_inserted_once_before_the_first_code_block():
    rst = (
        ".. rst-class:: sphx-glr-example-title\n\nTitle\n=====\n\nIntro.\n\n"
        ".. GENERATED FROM PYTHON SOURCE LINES 8-10\n\ncode\n"
        ".. GENERATED FROM PYTHON SOURCE LINES 11-12\n"
    )
    noted = vgsite.add_run_note(rst, "plot_01_x.py", 12.345)
    assert noted.index("Run this example yourself") < noted.index("LINES 8-10")
    assert "**12.3 s**" in noted and "python plot_01_x.py" in noted
    assert vgsite.add_run_note(noted, "plot_01_x.py", 1.0) == noted
    assert vgsite.add_run_note("no generated markers", "a.py", 1.0) == "no generated markers"


def test_local_paths_are_found():
    roots = ["/home/someone/project"]
    assert vgsite.find_local_paths("<pre>PosixPath('/x/y.json')</pre>", roots)
    assert vgsite.find_local_paths("<pre>/home/someone/project/vgexamples/a.py:3</pre>", roots)
    assert vgsite.find_local_paths("<p>see vgexamples/a.py</p>", roots) == []
