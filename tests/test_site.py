"""Site invariants, checked on small throwaway Sphinx projects built with the site's own
extension (docs/_ext/vgsite.py), in the spirit of sphinx-gallery's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
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


# -- rebuild freshness: import closures, notebook code, results read ----------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def pkg(tmp_path):
    """A small package: pkg.a imports pkg.b (relative), pkg.b imports pkg.a back (a cycle)
    and, inside a function, pkg.sub.c, which imports pkg.e from two levels up; pkg.sub.d is
    imported by nothing, and pkgx is another package."""
    _write(
        tmp_path,
        {
            "pkg/__init__.py": '"""The package."""\n',
            "pkg/a.py": "from . import b\nimport os\n",
            "pkg/b.py": """
                import numpy as np

                from pkg import a


                def f():
                    from .sub import c

                    return c
            """,
            "pkg/e.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from ..e import *\n",
            "pkg/sub/d.py": "",
            "pkgx/__init__.py": "",
        },
    )
    return tmp_path / "pkg"


def _names(paths, pkg):
    return [p.relative_to(pkg.resolve()).as_posix() for p in paths]


def test_module_closure_follows_imports_transitively(pkg):
    closure = vgsite.module_closure("import pkg.a", pkg, "pkg")
    # a -> b (relative) -> a (cycle) and, inside a function, sub.c -> e (two levels up)
    assert _names(closure, pkg) == [
        "__init__.py",
        "a.py",
        "b.py",
        "e.py",
        "sub/__init__.py",
        "sub/c.py",
    ]
    assert closure == sorted(closure)
    assert all(p.is_absolute() for p in closure)


def test_module_closure_counts_submodules_imported_by_name(pkg):
    assert _names(vgsite.module_closure("from pkg import e", pkg, "pkg"), pkg) == [
        "__init__.py",
        "e.py",
    ]
    # names that are not submodules count only their module
    assert _names(vgsite.module_closure("from pkg.sub import d, VALUE", pkg, "pkg"), pkg) == [
        "__init__.py",
        "sub/__init__.py",
        "sub/d.py",
    ]


def test_module_closure_finds_imports_anywhere(pkg):
    code = """
        %matplotlib inline
        import importlib


        def later():
            import pkg.sub.d


        importlib.import_module("pkg.e")
    """
    assert _names(vgsite.module_closure(textwrap.dedent(code), pkg, "pkg"), pkg) == [
        "__init__.py",
        "e.py",
        "sub/__init__.py",
        "sub/d.py",
    ]
    # several pieces of code (the cells of a page) at once
    cells = ["import pkg.e", "x = 1", "from pkg.sub import d"]
    assert _names(vgsite.module_closure(cells, pkg, "pkg"), pkg) == [
        "__init__.py",
        "e.py",
        "sub/__init__.py",
        "sub/d.py",
    ]


def test_module_closure_ignores_other_packages(pkg):
    code = "import os\nimport numpy as np\nimport pkgx\nfrom other import pkg\nfrom . import a\n"
    assert vgsite.module_closure(code, pkg, "pkg") == []


def test_library_file_hashes_follow_edits(pkg):
    files = vgsite.module_closure("import pkg.e", pkg, "pkg")
    before = vgsite.file_hashes(files, pkg.parent)
    assert set(before) == {"pkg/__init__.py", "pkg/e.py"}
    (pkg / "e.py").write_text("X = 1\n")
    after = vgsite.file_hashes(files, pkg.parent)
    assert vgsite.changed_keys(before, after) == ["pkg/e.py"]
    assert vgsite.changed_keys(None, after) == ["pkg/__init__.py", "pkg/e.py"]


PAGE = """\
---
file_format: mystnb
kernelspec:
  name: python3
---

# A page

```{code-cell} ipython3
:tags: [remove-input]
:other-option: 1
import a
```

Prose with an inline `import not_code`.

```python
import not_a_cell
```

````{code-cell} ipython3
---
tags: [hide-output]
---
text = \"\"\"
```
\"\"\"
import b
````

```{code-cell}
import c
```
"""


def test_notebook_code_is_the_code_cells_without_their_options():
    code = vgsite.notebook_code(PAGE)
    assert code == 'import a\n\ntext = """\n```\n"""\nimport b\n\nimport c'
    assert "tags" not in code and "not_a_cell" not in code and "not_code" not in code
    assert vgsite.is_notebook_page(PAGE)
    assert not vgsite.is_notebook_page("# Plain Markdown\n\n```{code-cell}\nimport a\n```\n")


def test_results_read_finds_literal_names_passed_to_load():
    code = """
from vgexamples.results import load
from vgexamples import results
import vgexamples.results as r
import vgexamples.results
import json

a = load("one.a")
b = results.load("two.b")
c = r.load(name="three.c")
d = vgexamples.results.load("four.d")
e = load(some_variable)
f = json.load(open("x.json"))
g = other.load("not.a.result")
"""
    assert vgsite.results_read(code) == {"one.a", "two.b", "three.c", "four.d"}
    assert vgsite.results_read("from vgexamples.results import load as get\nget('x.y')\n") == {
        "x.y"
    }
    assert vgsite.results_read("load('nothing.imported')") == set()


def test_chapter_order_matches_the_gallery():
    order = vgsite.chapter_order(ROOT / "gallery")
    names = [Path(p).name for p in order]
    folders = {p.name for p in (ROOT / "gallery").iterdir() if (p / "GALLERY_HEADER.rst").is_file()}
    assert set(names) == folders  # every chapter folder is listed, and only those
    assert names == (ROOT / "gallery" / "CHAPTERS.txt").read_text().split()  # in that order


# -- tiny docs projects -------------------------------------------------------------------------

CONF = """
import os
import sys
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, {ext!r})
sys.path.insert(0, str(HERE.parent / "lib"))
import vgsite
extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx_gallery.gen_gallery", "myst_nb",
              "vgsite"]
vgsite_package = "tinylib"
vgsite_package_dir = str(HERE.parent / "lib" / "tinylib")
sphinx_gallery_conf = {{
    "examples_dirs": ["../gallery"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": "/plot_",
    "write_computation_times": False,
    "reset_modules": ("matplotlib",),
    "run_stale_examples": False,
    "doc_module": ("tinylib",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {{"tinylib": None}},
}}
os.environ["VGEXAMPLES_RESULTS_DIR"] = str(HERE / "auto_examples" / "_results")
nb_execution_mode = "cache"
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_raise_on_error = True
mathjax_path = "mathjax/tex-chtml.js"
exclude_patterns = ["_build", "jupyter_execute", "gen_modules", "auto_examples/**.ipynb",
                    "auto_examples/**.py", "auto_examples/**.zip"]
html_theme = "basic"
"""


def _project(
    tmp_path: Path,
    examples: dict[str, str],
    value: int = 1,
    lib: dict[str, str] | None = None,
    pages: dict[str, str] | None = None,
) -> Path:
    docs = tmp_path / "docs"
    gallery = tmp_path / "gallery"
    for d in (docs, gallery):
        d.mkdir(parents=True, exist_ok=True)
    _write(tmp_path / "lib" / "tinylib", lib or {"__init__.py": f"VALUE = {value}\n"})
    (docs / "conf.py").write_text(CONF.format(ext=str(EXT)))
    _write(docs, pages or {})
    toctree = "".join(f"   {Path(name).with_suffix('')}\n" for name in pages or {})
    (docs / "index.rst").write_text(
        "Tiny\n====\n\nEuler: :math:`e^{i\\pi} + 1 = 0`.\n\n"
        ".. toctree::\n\n   auto_examples/index\n" + toctree
    )
    (gallery / "GALLERY_HEADER.rst").write_text("Gallery\n=======\n\nExamples.\n")
    _write(gallery, examples)
    return docs


def _build(docs: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    # the notebook pages' kernel imports the tiny library too
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(docs.parent / "lib"), os.environ.get("PYTHONPATH", "")) if p
    )
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
        env=env,
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
    # the library the good example ran with is recorded; the broken one has no record, so
    # the next build runs it again
    out = docs / "auto_examples"
    assert json.loads((out / "plot_good.py.deps").read_text()) == {
        "tinylib/__init__.py": vgsite._digest(tmp_path / "lib" / "tinylib" / "__init__.py")
    }
    assert not (out / "plot_broken.py.deps").exists()


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
    assert "plot_good.py runs again, library changed: tinylib/__init__.py" in third.stdout


TWO_MODULES = {
    "__init__.py": '"""A tiny library of two modules."""\n',
    "a.py": '"""Module a."""\n\nVALUE = 1\n',
    "b.py": '''
        """Module b."""

        VALUE = 2


        def value() -> int:
            """The value of module b."""
            return VALUE
    ''',
}


def _example(letter: str, body: str) -> str:
    return f'''
        """
        Example {letter}
        =========

        Uses module {letter} of the tiny library.
        """
        from pathlib import Path

        import tinylib.{letter}
        from vgexamples.results import record

        with open(Path(tinylib.__file__).parents[1] / "runs.log", "a") as log:
            log.write("{letter}\\n")
        {body}
    '''


EXAMPLE_A = _example("a", 'print(f"a value = {tinylib.a.VALUE}")')
EXAMPLE_B = _example("b", 'record("tiny.b", value=tinylib.b.value())')

NOTEBOOK_PAGE = """\
---
file_format: mystnb
kernelspec:
  name: python3
  display_name: Python 3
---

# A page that imports module b

```{code-cell} ipython3
:tags: [remove-input]
from pathlib import Path

from myst_nb import glue

import tinylib.b
from vgexamples.results import load

with open(Path(tinylib.__file__).parents[1] / "runs.log", "a") as log:
    log.write("page\\n")
glue("recorded", load("tiny.b")["value"], display=False)
```

Example b recorded {glue:text}`recorded`.
"""

API_PAGE = """\
API
===

.. automodule:: tinylib.b
   :members:
"""


@pytest.mark.slow
def test_an_edit_reruns_exactly_the_examples_and_pages_that_import_it(tmp_path):
    docs = _project(
        tmp_path,
        {"plot_a.py": EXAMPLE_A, "plot_b.py": EXAMPLE_B},
        lib=TWO_MODULES,
        pages={"page.md": NOTEBOOK_PAGE, "api.rst": API_PAGE},
    )
    lib = tmp_path / "lib" / "tinylib"
    runs = tmp_path / "lib" / "runs.log"
    html = docs / "_build" / "html"

    def build() -> tuple[list[str], str]:
        before = runs.read_text().split() if runs.exists() else []
        result = _build(docs)
        assert result.returncode == 0, result.stdout + result.stderr
        return sorted(runs.read_text().split()[len(before) :]), result.stdout

    ran, _ = build()
    assert ran == ["a", "b", "page"]
    assert (
        'Example b recorded <span class="pasted-text">2</span>.' in (html / "page.html").read_text()
    )
    # the API entry lists the example that uses it, and the example links to the entry
    api = (html / "api.html").read_text()
    assert "Examples using" in api and "plot_b.html" in api and "plot_a.html" not in api
    assert "api.html#tinylib.b.value" in (html / "auto_examples" / "plot_b.html").read_text()

    # an unchanged tree runs nothing again
    assert build()[0] == []

    # module a changed: only the example that imports it runs again
    (lib / "a.py").write_text('"""Module a."""\n\nVALUE = 10\n')
    ran, log = build()
    assert ran == ["a"]
    assert "plot_a.py runs again, library changed: tinylib/a.py" in log
    assert "a value = 10" in (html / "auto_examples" / "plot_a.html").read_text()

    # module b changed: its example runs again and so does the page that imports it
    (lib / "b.py").write_text((lib / "b.py").read_text().replace("VALUE = 2", "VALUE = 3"))
    ran, log = build()
    assert ran == ["b", "page"]
    assert "page executes again, changed: results:tiny.b.json, tinylib/b.py" in log
    assert (
        'Example b recorded <span class="pasted-text">3</span>.' in (html / "page.html").read_text()
    )
    assert build()[0] == []

    # example a starts using module b: its API entry now lists both examples
    (docs.parent / "gallery" / "plot_a.py").write_text(
        textwrap.dedent(_example("a", 'print(f"b value = {tinylib.b.value()}")')).replace(
            "import tinylib.a", "import tinylib.a\nimport tinylib.b"
        )
    )
    ran, _ = build()
    assert ran == ["a"]
    api = (html / "api.html").read_text()
    assert "plot_a.html" in api and "plot_b.html" in api

    # example b records another number, and no example calls tinylib.b.value any more: the
    # page that reads the number executes again, and the API entry lists no examples
    (docs.parent / "gallery" / "plot_a.py").write_text(textwrap.dedent(EXAMPLE_A))
    (docs.parent / "gallery" / "plot_b.py").write_text(
        textwrap.dedent(EXAMPLE_B).replace("tinylib.b.value()", "tinylib.b.VALUE + 1")
    )
    ran, log = build()
    assert ran == ["a", "b", "page"]
    assert "page executes again, changed: results:tiny.b.json" in log
    assert (
        'Example b recorded <span class="pasted-text">4</span>.' in (html / "page.html").read_text()
    )
    assert "Examples using" not in (html / "api.html").read_text()
    assert build()[0] == []


@pytest.mark.slow
def test_renamed_pages_leave_redirects_behind(tmp_path):
    docs = _project(tmp_path, {"plot_good.py": GOOD})
    conf = docs / "conf.py"
    conf.write_text(conf.read_text() + '\nvgsite_redirects = {"old_gallery": "auto_examples"}\n')
    result = _build(docs)  # fails if a stub loads anything or shows a local path
    assert result.returncode == 0, result.stdout + result.stderr
    html = docs / "_build" / "html"
    stub = (html / "old_gallery" / "plot_good.html").read_text()
    assert '<meta http-equiv="refresh" content="0; url=../auto_examples/plot_good.html">' in stub
    assert '<link rel="canonical" href="../auto_examples/plot_good.html">' in stub
    assert '<meta name="robots" content="noindex">' in stub
    assert '<meta name="vgsite-redirect" content="../auto_examples/plot_good.html">' in stub
    assert "<title>Moved: A passing example</title>" in stub
    assert '<a href="../auto_examples/plot_good.html">A passing example</a>' in stub
    assert (html / "old_gallery" / "index.html").is_file()
    assert vgsite.find_local_paths(stub, [str(tmp_path)]) == []


def test_redirect_pairs_skip_pages_that_still_exist():
    docs = ["index", "new/a", "new/b/c", "newer/x", "old/b/c"]
    assert vgsite.redirect_pairs({"old": "new"}, docs) == [("old/a", "new/a")]
    assert vgsite.redirect_pairs({"old/b": "new/b"}, docs) == []  # old/b/c is still a page
    assert vgsite.redirect_pairs({"old/": "/new/b"}, docs) == [("old/c", "new/b/c")]
    stub = vgsite.redirect_stub("../new/a.html", 'A "quoted" <title>')
    assert vgsite.find_external_resources(stub) == []
    assert "Moved: A &quot;quoted&quot; &lt;title&gt;" in stub


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


def test_local_paths_are_found():
    roots = ["/home/someone/project"]
    assert vgsite.find_local_paths("<pre>PosixPath('/x/y.json')</pre>", roots)
    assert vgsite.find_local_paths("<pre>/home/someone/project/vgexamples/a.py:3</pre>", roots)
    assert vgsite.find_local_paths("<p>see vgexamples/a.py</p>", roots) == []


def test_old_names_of_renamed_documents_are_never_read():
    config = types.SimpleNamespace(
        vgsite_redirects={"auto_examples/old": "auto_examples/new", "api/gone/": "api/kept"},
        exclude_patterns=["_build"],
    )
    vgsite._exclude_redirected(None, config)
    assert config.exclude_patterns == [
        "_build",
        "auto_examples/old",
        "auto_examples/old.*",
        "auto_examples/old/**",
        "api/gone",
        "api/gone.*",
        "api/gone/**",
    ]
