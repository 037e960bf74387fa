"""Site-wide behaviour of the vgexamples docs, as a small Sphinx extension.

* copies MathJax 3 (from the ``django-static-mathjax`` package) into ``_static/mathjax`` so
  math renders with no request to another host;
* after every HTML build, scans the output for scripts, styles, images or frames loaded from
  another host and fails the build if it finds any (:func:`find_external_resources`);
* writes an execution-times page for the gallery (sphinx-gallery's own page pulls
  jQuery/DataTables from CDNs, so it is switched off);
* decides whether examples must be re-run because the library changed
  (:func:`library_hash`, :func:`library_changed`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from html import escape, unescape
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

HASH_FILE = ".vgexamples-library-hash"

# A tag that makes the browser fetch something: <script src>, <link href> (stylesheets,
# icons, preloads), <img src/srcset>, <iframe src>, <source src>, <video>/<audio src>, <embed>,
# <object data>, and url(...) in inline styles.
_LOADING_TAG = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed|object|track)\b[^>]*>", re.IGNORECASE
)
_URL_ATTR = re.compile(r"""\b(src|href|srcset|data|poster)\s*=\s*(["'])(.*?)\2""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.IGNORECASE)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def _is_remote(url: str) -> bool:
    url = url.strip()
    return bool(_REMOTE.match(url)) and not url.lower().startswith("file:")


def find_external_resources(html: str) -> list[str]:
    """Return every URL in ``html`` that a browser would load from another host.

    Hyperlinks (``<a href>``) are not loads and are ignored; ``<link rel="canonical">`` and
    similar metadata links are ignored too.
    """
    found: list[str] = []
    for tag in _LOADING_TAG.finditer(html):
        text = tag.group(0)
        if tag.group(1).lower() == "link":
            rel = re.search(r"""\brel\s*=\s*(["'])(.*?)\1""", text, re.IGNORECASE)
            rels = set(rel.group(2).lower().split()) if rel else set()
            if not rels & {
                "stylesheet",
                "icon",
                "preload",
                "modulepreload",
                "prefetch",
                "manifest",
                "apple-touch-icon",
                "shortcut",
            }:
                continue
        for attr in _URL_ATTR.finditer(text):
            for url in attr.group(3).split(","):
                url = url.strip().split(" ")[0]
                if url and _is_remote(url):
                    found.append(url)
    for style in re.finditer(r"<style\b[^>]*>(.*?)</style>", html, re.IGNORECASE | re.DOTALL):
        found += [m.group(2) for m in _CSS_URL.finditer(style.group(1)) if _is_remote(m.group(2))]
    for attr in re.finditer(r"""\bstyle\s*=\s*(["'])(.*?)\1""", html, re.IGNORECASE | re.DOTALL):
        found += [m.group(2) for m in _CSS_URL.finditer(attr.group(2)) if _is_remote(m.group(2))]
    return found


def scan_site(outdir: Path) -> dict[str, list[str]]:
    """Map each HTML page (relative path) under ``outdir`` to its external resource URLs."""
    offenders: dict[str, list[str]] = {}
    for page in sorted(Path(outdir).rglob("*.html")):
        urls = find_external_resources(page.read_text(encoding="utf-8", errors="replace"))
        if urls:
            offenders[str(page.relative_to(outdir))] = urls
    return offenders


def library_hash(package_dir: Path) -> str:
    """SHA-256 over the library's Python sources (path and content of every ``*.py``)."""
    digest = hashlib.sha256()
    for path in sorted(Path(package_dir).rglob("*.py")):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def library_changed(gallery_out: Path, current: str) -> bool:
    """True unless ``gallery_out`` records that its examples ran against library ``current``.

    A cold build has no record and runs everything anyway; after an edit to the library the
    record differs and every example is re-run (sphinx-gallery alone only re-runs examples
    whose own file changed).
    """
    stamp = Path(gallery_out) / HASH_FILE
    return not stamp.is_file() or stamp.read_text().strip() != current


def chapter_order(gallery_root: Path) -> list[str]:
    """The gallery's subsections in chapter order, read from ``gallery/CHAPTERS.txt``."""
    names = (Path(gallery_root) / "CHAPTERS.txt").read_text().split()
    missing = [n for n in names if not (Path(gallery_root) / n).is_dir()]
    if missing:
        raise ExtensionError(f"gallery/CHAPTERS.txt names missing folders: {missing}")
    return [f"../gallery/{n}" for n in names]


def reset_example_state(gallery_conf, fname) -> None:
    """Run before each gallery example: fixed seeds and thread count, fresh figure style."""
    import vgexamples.runtime

    vgexamples.runtime.configure(seed=0)


# -- hooks ---------------------------------------------------------------------------------
def _mathjax_source() -> Path:
    import mathjax  # the django-static-mathjax package

    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if (target / "tex-chtml.js").is_file():
        return
    shutil.copytree(_mathjax_source(), target, dirs_exist_ok=True)


def find_local_paths(html: str, roots: list[str]) -> list[str]:
    """Return the local file paths (any of ``roots``, or a ``PosixPath(...)`` repr) in ``html``."""
    found = [m.group(0) for m in re.finditer(r"PosixPath\([^)]*\)", html)]
    for root in roots:
        if root and root in html:
            found.append(root)
    return found


def _check_no_local_paths(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    roots = [str(Path(app.srcdir).resolve().parent), str(Path.home())]
    offenders = {}
    for page in Path(app.outdir).rglob("*.html"):
        hits = find_local_paths(page.read_text(encoding="utf-8", errors="replace"), roots)
        if hits:
            offenders[str(page.relative_to(app.outdir))] = hits
    if offenders:
        lines = [f"  {page}: {hits[0]}" for page, hits in sorted(offenders.items())]
        raise ExtensionError(
            "pages show local file paths of the build machine:\n" + "\n".join(lines)
        )


def _check_offline(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    offenders = scan_site(Path(app.outdir))
    if offenders:
        lines = [f"  {page}: {', '.join(urls[:3])}" for page, urls in offenders.items()]
        raise ExtensionError(
            "pages load resources from other hosts (the site must work offline):\n"
            + "\n".join(lines)
        )


_THUMB = re.compile(
    r'(<div class="sphx-glr-thumbcontainer"[^>]*>.*?<img )alt=""(.*?'
    r'<div class="sphx-glr-thumbnail-title">(.*?)</div>)',
    re.DOTALL,
)


def add_thumbnail_alt_text(html: str) -> str:
    """Give each gallery thumbnail (sphinx-gallery leaves ``alt=""``) a descriptive alt text."""

    def fill(m: re.Match) -> str:
        title = escape(unescape(re.sub(r"<[^>]+>", "", m.group(3))).strip(), quote=True)
        return f'{m.group(1)}alt="Key figure of the example: {title}"{m.group(2)}'

    return _THUMB.sub(fill, html)


def _fix_thumbnails(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "sphx-glr-thumbcontainer" in text:
            fixed = add_thumbnail_alt_text(text)
            if fixed != text:
                page.write_text(fixed, encoding="utf-8")


def _gallery_times(app: Sphinx) -> list[dict]:
    """Read each example's run time from sphinx-gallery's generated pages."""
    conf = app.config.sphinx_gallery_conf
    rows = []
    pattern = re.compile(r"\(\s*(\d+)\s+minutes\s+([\d.]+)\s+seconds\)")
    for gallery_dir in conf["gallery_dirs"]:
        out = Path(app.srcdir) / gallery_dir
        for rst in sorted(out.rglob("plot_*.rst")):
            match = pattern.search(rst.read_text(encoding="utf-8"))
            if match:
                seconds = 60 * int(match.group(1)) + float(match.group(2))
                rel = rst.relative_to(app.srcdir).with_suffix("")
                rows.append({"example": rel.as_posix(), "seconds": round(seconds, 3)})
    return rows


RUN_NOTE_MARK = ".. vgsite-run-note"


def add_run_note(rst: str, script_name: str, seconds: float, running_doc: str = "") -> str:
    """Insert a "run it yourself" box (run time, requirements, command) into an example page.

    The box goes after the example's introduction, before its first code block; pages that
    already have one are returned unchanged.
    """
    if RUN_NOTE_MARK in rst:
        return rst
    anchor = rst.find(".. GENERATED FROM PYTHON SOURCE LINES", rst.find("sphx-glr-example-title"))
    if anchor < 0:
        return rst
    note = (
        f"{RUN_NOTE_MARK}\n\n"
        ".. admonition:: Run this example yourself\n"
        "   :class: tip\n\n"
        f"   Measured run time when this site was built: **{seconds:.1f} s** on the build "
        "machine.\n"
        "   Requirements: Python 3.10+, PyTorch, NumPy, matplotlib, scikit-learn and this "
        "project's\n"
        "   ``vgexamples`` library (``pip install -e .`` in a checkout"
        + (f", see :doc:`/{running_doc}`" if running_doc else "")
        + ").\n"
        "   Download the script or the notebook at the bottom of this page and run\n"
        f"   ``python {script_name}``: it uses a GPU when PyTorch finds one.\n\n"
    )
    return rst[:anchor] + note + rst[anchor:]


def _stamp_library(app: Sphinx) -> None:
    """Record which library the examples ran against, once every example has succeeded."""
    conf = app.config.sphinx_gallery_conf
    gallery_out = Path(app.srcdir) / conf["gallery_dirs"][0]
    if gallery_out.is_dir() and not conf.get("failing_examples"):
        (gallery_out / HASH_FILE).write_text(app.config.vgsite_library_hash + "\n")


def _write_times_page(app: Sphinx) -> None:
    _stamp_library(app)
    rows = _gallery_times(app)
    for row in rows:
        rst = Path(app.srcdir) / (row["example"] + ".rst")
        text = rst.read_text(encoding="utf-8")
        noted = add_run_note(
            text, Path(row["example"]).name + ".py", row["seconds"], app.config.vgsite_running_doc
        )
        if noted != text:
            rst.write_text(noted, encoding="utf-8")
    if not rows:
        return
    total = sum(r["seconds"] for r in rows)
    lines = [
        ":orphan:",
        "",
        ".. _execution-times:",
        "",
        "Execution times of the examples",
        "===============================",
        "",
        f"Measured when each example last ran during a docs build: {len(rows)} examples, "
        f"{total:.1f} s in total. The same numbers are in ``_static/execution_times.json``.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - Example",
        "     - Seconds",
    ]
    for r in sorted(rows, key=lambda r: -r["seconds"]):
        lines += [f"   * - :doc:`/{r['example']}`", f"     - {r['seconds']:.2f}"]
    page = (
        Path(app.srcdir) / app.config.sphinx_gallery_conf["gallery_dirs"][0] / "execution_times.rst"
    )
    text = "\n".join(lines) + "\n"
    if not page.is_file() or page.read_text() != text:
        page.write_text(text)
    app.env.vgsite_times = rows  # type: ignore[attr-defined]


def _finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    rows = getattr(app.env, "vgsite_times", None) or _gallery_times(app)
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / "execution_times.json").write_text(json.dumps(rows, indent=1) + "\n")


def _always_reread(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages whose output depends on the examples' results are re-read on every build."""
    return [doc for doc in app.config.vgsite_always_reread if doc in env.found_docs]


def setup(app: Sphinx) -> dict:
    app.add_config_value("vgsite_library_hash", "", "env")
    app.add_config_value("vgsite_always_reread", [], "env")
    app.add_config_value("vgsite_running_doc", "", "env")
    app.connect("env-get-outdated", _always_reread)
    # priority > 500: after sphinx-gallery has generated (and executed) the examples
    app.connect("builder-inited", _write_times_page, priority=900)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _fix_thumbnails)
    app.connect("build-finished", _check_offline, priority=900)
    app.connect("build-finished", _check_no_local_paths, priority=910)
    app.connect("build-finished", _finish, priority=950)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
