"""Site-wide behaviour of the vgexamples docs, as a small Sphinx extension.

* copies MathJax 3 (from the ``django-static-mathjax`` package) into ``_static/mathjax`` so
  math renders with no request to another host: only the files the configured component
  can load (:func:`mathjax_files`), and an older, fuller copy there shrinks to those;
* after every HTML build, scans the output for scripts, styles, images or frames loaded from
  another host and fails the build if it finds any (:func:`find_external_resources`);
* writes an execution-times page for the gallery (sphinx-gallery's own page pulls
  jQuery/DataTables from CDNs, so it is switched off);
* re-runs exactly the examples and re-executes exactly the notebook pages that an edit
  touches: each one's library files are found by import closure (:func:`module_closure`,
  :func:`notebook_code`), and a page also depends on the recorded results it reads
  (:func:`results_read`);
* adds an "Examples using ..." mini-gallery to each API entry that examples use;
* writes redirect pages for renamed documents (``vgsite_redirects``, :func:`redirect_stub`).
"""

from __future__ import annotations

import ast
import filecmp
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
from collections.abc import Iterable
from html import escape, unescape
from pathlib import Path

import vgweight
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Where ``vgexamples.results`` keeps the numbers examples record (set by ``docs/conf.py``).
RESULTS_ENV_VAR = "VGEXAMPLES_RESULTS_DIR"

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


# -- rebuild freshness: what each example and page imports, and what it reads --------------
# sphinx-gallery re-runs an example only when its own file changed, and myst-nb replays a
# page's cached outputs as long as its code is unchanged. Both miss edits to the library they
# import. These helpers find, statically, which library files an example or page imports
# (transitively), so that exactly the examples and pages an edit touches run again.


def _strip_magics(code: str) -> str:
    """Blank out IPython magics and shell escapes, which are not Python syntax."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()
    )


def _parse(code: str) -> ast.Module | None:
    for text in (code, _strip_magics(code)):
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError):
            continue
    return None


_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t]+)|import[ \t]+([\w., \t]+))",
    re.MULTILINE,
)


@functools.lru_cache(maxsize=1024)
def _imports(code: str) -> tuple[tuple[int, str, tuple[str, ...]], ...]:
    """Every import in ``code``, anywhere (functions included), as ``(level, module, names)``.

    ``import a.b`` gives ``(0, "a.b", ())``; ``from ..a import b, c`` gives
    ``(2, "a", ("b", "c"))``; ``importlib.import_module("a.b")`` counts as ``import a.b``.
    Code that does not parse (a cell with a syntax error) is scanned line by line.
    """
    found: list[tuple[int, str, tuple[str, ...]]] = []
    tree = _parse(code)
    if tree is None:
        for m in _IMPORT_LINE.finditer(code):
            if m.group(4) is not None:
                for part in m.group(4).split(","):
                    if part.split():
                        found.append((0, part.split()[0], ()))
            else:
                names = tuple(n.split()[0] for n in m.group(3).split(",") if n.split())
                found.append((len(m.group(1)), m.group(2), names))
        return tuple(found)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            found.append((node.level, node.module or "", names))
        elif (
            isinstance(node, ast.Call)
            and (
                (
                    isinstance(node.func, ast.Name)
                    and node.func.id in {"import_module", "__import__"}
                )
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            found.append((0, node.args[0].value, ()))
    return tuple(found)


def _module_file(package_dir: Path, package: str, module: str) -> Path | None:
    """The source file of ``module`` if it belongs to ``package`` (found in ``package_dir``)."""
    if module == package:
        parts: list[str] = []
    elif module.startswith(package + "."):
        parts = module[len(package) + 1 :].split(".")
    else:
        return None
    base = package_dir.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if parts and base.parent.joinpath(parts[-1] + ".py").is_file():
        return base.parent / (parts[-1] + ".py")
    return None


def module_closure(
    code: str | Iterable[str], package_dir: Path, package: str = "vgexamples"
) -> list[Path]:
    """The source files of ``package`` that ``code`` imports, directly or transitively.

    Found statically with :mod:`ast`: every ``import``/``from ... import`` anywhere in the code
    and in each library file reached (inside functions too); ``from pkg import name`` counts
    the submodule ``pkg/name.py`` when there is one; relative imports inside the package are
    resolved; every package ``__init__.py`` on the way counts, since importing a submodule runs
    it. Imports of other packages are ignored, and import cycles are fine.

    Parameters
    ----------
    code
        Python source, or several pieces of it (the cells of a notebook, say).
    package_dir
        The package's folder (the one holding its top ``__init__.py``).
    package
        The package's import name.

    Returns
    -------
    list of Path
        Sorted, resolved paths of the package's ``*.py`` files.
    """
    package_dir = Path(package_dir).resolve()
    found: set[Path] = set()
    queue: list[Path] = []

    def add(module: str) -> None:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            path = _module_file(package_dir, package, ".".join(parts[:i]))
            if path is not None and path not in found:
                found.add(path)
                queue.append(path)

    def visit(text: str, current: list[str] | None) -> None:
        """``current``: the package (as name parts) that a file's relative imports start at."""
        for level, module, names in _imports(text):
            if level:
                if current is None or level - 1 >= len(current):
                    continue  # top-level code, or beyond the top of the package
                base = ".".join(
                    current[: len(current) - (level - 1)] + ([module] if module else [])
                )
            else:
                base = module
            if base != package and not base.startswith(package + "."):
                continue
            add(base)
            for name in names:
                if name != "*":
                    add(f"{base}.{name}")

    for text in [code] if isinstance(code, str) else code:
        visit(text, None)
    while queue:
        path = queue.pop()
        parts = [package, *path.relative_to(package_dir).with_suffix("").parts]
        visit(path.read_text(encoding="utf-8", errors="replace"), parts[:-1])
    return sorted(found)


_CODE_CELL = re.compile(r"^(`{3,}|~{3,})[ \t]*\{code-cell\}.*$")


def notebook_code(text: str) -> str:
    """The code of a MyST-NB page: its ``{code-cell}`` blocks, without their options.

    A cell's options are either ``:key: value`` lines at its top or a YAML block fenced by
    ``---`` lines; both are dropped. Cells are separated by blank lines.
    """
    lines = text.splitlines()
    cells: list[str] = []
    i = 0
    while i < len(lines):
        start = _CODE_CELL.match(lines[i])
        i += 1
        if not start:
            continue
        fence = start.group(1)
        close = re.compile(rf"^{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        while i < len(lines) and not close.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if body and body[0].strip() == "---":
            end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
            body = body[end + 1 :] if end is not None else body
        else:
            while body and re.match(r"^[ \t]*:[\w-]+:", body[0]):
                body = body[1:]
        cells.append("\n".join(body))
    return "\n\n".join(cells)


def results_read(code: str, module: str = "vgexamples.results") -> set[str]:
    """The names that ``code`` passes, as string literals, to ``load`` from ``module``.

    Recognises ``from vgexamples.results import load`` (with or without ``as``),
    ``from vgexamples import results`` and ``import vgexamples.results [as r]``; then
    ``load("a.b")``, ``results.load("a.b")`` or ``load(name="a.b")``.
    """
    tree = _parse(code)
    if tree is None:
        return set(re.findall(r"""\bload\(\s*(?:name\s*=\s*)?["']([^"']+)["']""", code))
    parent, _, leaf = module.rpartition(".")
    functions: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                if node.module == module and alias.name == "load":
                    functions.add(alias.asname or "load")
                elif node.module == parent and alias.name == leaf:
                    modules.add(alias.asname or leaf)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == module:
                    modules.add(alias.asname or module)
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in functions:
                continue
        elif isinstance(func, ast.Attribute):
            if func.attr != "load" or _dotted(func.value) not in modules:
                continue
        else:
            continue
        args = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "name")]
        for arg in args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value)
    return names


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes, or None when there is no such file."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def file_hashes(paths: Iterable[Path], root: Path) -> dict[str, str | None]:
    """Map each path (relative to ``root``, POSIX-style) to the hash of its content."""
    root = Path(root).resolve()
    return {Path(p).resolve().relative_to(root).as_posix(): _digest(p) for p in paths}


def changed_keys(old: dict | None, new: dict) -> list[str]:
    """Keys whose value differs between two dependency maps (added and removed ones too)."""
    old = old or {}
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _read_record(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _env_dict(env, attr: str) -> dict:
    """A dict kept on the build environment (pickled with it between builds)."""
    value = getattr(env, attr, None)
    if value is None:
        value = {}
        setattr(env, attr, value)
    return value


def _library(app: Sphinx) -> tuple[str, Path]:
    package = app.config.vgsite_package
    folder = app.config.vgsite_package_dir
    if not folder:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ExtensionError(f"vgsite_package {package!r} is not an importable package")
        folder = next(iter(spec.submodule_search_locations))
    return package, Path(folder).resolve()


def _library_hashes(app: Sphinx, code: Iterable[str]) -> dict[str, str | None]:
    package, folder = _library(app)
    return file_hashes(module_closure(code, folder, package), folder.parent)


def _shown(path: Path, app: Sphinx) -> str:
    """A path as the log shows it: relative to the project (the folder above the docs)."""
    try:
        return Path(path).resolve().relative_to(Path(app.srcdir).resolve().parent).as_posix()
    except ValueError:
        return Path(path).name


# -- gallery examples


def _gallery_examples(app: Sphinx) -> list[tuple[Path, Path]]:
    """``(source, target)`` of every example sphinx-gallery will execute in this build."""
    conf = app.config.sphinx_gallery_conf
    if not conf.get("plot_gallery"):
        return []
    examples_dirs, gallery_dirs = conf["examples_dirs"], conf["gallery_dirs"]
    if isinstance(examples_dirs, str):
        examples_dirs = [examples_dirs]
    if isinstance(gallery_dirs, str):
        gallery_dirs = [gallery_dirs]
    found = []
    for examples_dir, gallery_dir in zip(examples_dirs, gallery_dirs, strict=False):
        src_root = Path(os.path.normpath(Path(app.srcdir, examples_dir)))
        target_root = Path(app.srcdir, gallery_dir)
        for src in sorted(src_root.rglob("*.py")):
            name = os.path.normpath(src)
            if re.search(conf["ignore_pattern"], name) or not re.search(
                conf["filename_pattern"], name
            ):
                continue
            found.append((src, target_root / src.relative_to(src_root)))
    return found


def _deps_record(target: Path) -> Path:
    return target.with_name(target.name + ".deps")


def _md5_record(target: Path) -> Path:
    return target.with_name(target.name + ".md5")


def _invalidate_examples(app: Sphinx) -> None:
    """Before the gallery runs: make sphinx-gallery re-run each example whose library changed.

    Each example's library files (:func:`module_closure` of the script, plus the modules in
    ``vgsite_example_imports`` that every example runs implicitly) are hashed; when the map
    differs from the one recorded next to the example's ``.md5`` after its last successful run,
    the ``.md5`` is deleted, which is how sphinx-gallery learns the example is out of date.
    """
    pending = []
    preamble = [f"import {m}" for m in app.config.vgsite_example_imports]
    for src, target in _gallery_examples(app):
        deps = _library_hashes(app, [src.read_text(encoding="utf-8"), *preamble])
        pending.append((src, target, deps))
        old = _read_record(_deps_record(target))
        md5 = _md5_record(target)
        if old != deps and md5.is_file():
            md5.unlink()
            why = (
                "changed: " + ", ".join(changed_keys(old, deps))
                if old is not None
                else "no record of the library files it ran with"
            )
            logger.info(f"vgsite: {_shown(src, app)} runs again, library {why}")
    app._vgsite_examples = pending  # type: ignore[attr-defined]


def _record_examples(app: Sphinx) -> None:
    """After the gallery ran: record the library each example that did not fail ran with."""
    failing = {
        Path(os.path.normpath(f)).resolve()
        for f in app.config.sphinx_gallery_conf.get("failing_examples", {})
    }
    for src, target, deps in getattr(app, "_vgsite_examples", []):
        record = _deps_record(target)
        if src.resolve() in failing or not _md5_record(target).is_file():
            record.unlink(missing_ok=True)  # runs again next time
        elif _read_record(record) != deps:
            record.write_text(json.dumps(deps, indent=1, sort_keys=True) + "\n")


# -- executed Markdown pages


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def is_notebook_page(text: str) -> bool:
    """True for a MyST-NB page: its front matter says ``file_format: mystnb``."""
    m = _FRONT_MATTER.match(text)
    return bool(m) and re.search(r"^file_format:\s*['\"]?mystnb\b", m.group(1), re.M) is not None


def _results_dir(app: Sphinx) -> Path | None:
    folder = app.config.vgsite_results_dir or os.environ.get(RESULTS_ENV_VAR, "")
    return Path(folder) if folder else None


def page_dependencies(app: Sphinx, docname: str, text: str) -> dict[str, str | None]:
    """The library files a notebook page imports and the results files it reads, hashed."""
    code = notebook_code(text)
    deps = _library_hashes(app, [code])
    folder = _results_dir(app)
    if folder is not None:
        files = [folder / f"{name}.json" for name in sorted(results_read(code))]
        if docname in app.config.vgsite_all_results_docs:
            files += sorted(folder.rglob("*.json"))
        for path in files:
            key = "results:" + path.relative_to(folder).as_posix()
            deps[key] = _digest(path)
    return deps


def forget_cached_execution(cache_path: str | Path, source: str | Path) -> int:
    """Remove jupyter-cache's executed copies of the notebook at ``source``; return how many.

    myst-nb (execution mode ``cache``) stores each executed notebook under the absolute path of
    its source (the record's ``uri``) and replays it while the code is unchanged.
    """
    if not (Path(cache_path) / "global.db").is_file():
        return 0
    from jupyter_cache import get_cache
    from jupyter_cache.cache.db import NbCacheRecord

    uris = {str(source), str(Path(source).absolute()), str(Path(source).resolve())}
    cache = get_cache(str(cache_path))
    removed = 0
    for record in cache.list_cache_records():
        if record.uri in uris:
            try:
                cache.remove_cache(record.pk)
            except KeyError:  # the notebook file is gone already: drop the record only
                NbCacheRecord.remove_records([record.pk], cache.db)
            removed += 1
    return removed


def _outdated_pages(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages to execute again: those whose library files or results files changed."""
    store = _env_dict(env, "vgsite_page_deps")
    for docname in removed:
        store.pop(docname, None)
    cache_path = getattr(app.config, "nb_execution_cache_path", "") or ".jupyter_cache"
    outdated = []
    for docname in sorted(env.found_docs):
        source = Path(env.doc2path(docname))
        text = source.read_text(encoding="utf-8") if source.suffix == ".md" else ""
        if not is_notebook_page(text):
            store.pop(docname, None)
            continue
        deps = page_dependencies(app, docname, text)
        old = store.get(docname)
        if old == deps:
            continue
        store[docname] = deps
        forget_cached_execution(cache_path, source)
        if old is not None:
            logger.info(
                f"vgsite: {docname} executes again, changed: {', '.join(changed_keys(old, deps))}"
            )
        if docname not in added and docname not in changed:
            outdated.append(docname)
    return outdated


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
# -- MathJax: only what the configured component loads --------------------------------------
_MATHJAX_PRELOAD = re.compile(r"\.preLoad\(([^)]*)\)")
_MATHJAX_FONT_DIR = re.compile(r'fontURL:[^;]{0,80}?resolvePath\("([^"]+)"')
_MATHJAX_REQUIRE_ALLOW = re.compile(r"require:\{allow:[^{]*\{([^}]*)\}")
_MATHJAX_MENU_SETTINGS = re.compile(r"settings:\{(texHints:[^}]*)\}")


def _mathjax_module_file(name: str) -> str:
    """The file of a MathJax component name: ``[tex]/color`` or ``ui/lazy`` (no ``.js``)."""
    if name.startswith("[tex]/"):
        name = "input/tex/extensions/" + name[len("[tex]/") :]
    return name if name.endswith(".js") else name + ".js"


def mathjax_files(
    source: Path, component: str = "tex-chtml.js", extra: Iterable[str] = ()
) -> list[Path]:
    """The MathJax 3 files (relative to ``source``, the ``es5`` folder) a page can request.

    Read from the combined ``component`` itself: the component file; the web fonts of its
    CHTML output (the browser fetches each font when a glyph needs it); every TeX extension
    under ``input/tex/extensions`` that ``\\require`` accepts (the ``autoload`` macros load a
    subset of those), except the ones the component already bundles; and, only if the menu's
    default settings switch them on, the accessibility explorer with the speech-rule engine
    (``a11y/``, ``sre/``) and the SVG output. ``extra`` names further components a
    configuration loads (``ui/lazy``, ``[tex]/physics``). Everything else in the package (the
    other combined components, SVG output, the speech-rule engine's 4 MB of rule files) is
    left out: the component never requests it.
    """
    source = Path(source)
    text = (source / component).read_text(encoding="utf-8")
    bundled = {
        name.strip().strip("\"'")
        for group in _MATHJAX_PRELOAD.findall(text)
        for name in group.split(",")
    }
    selected = {Path(component)}
    selected.update(Path(_mathjax_module_file(name)) for name in extra)
    if "output/chtml" in bundled:
        fonts = _MATHJAX_FONT_DIR.search(text)
        if fonts is None:
            raise ExtensionError(f"MathJax {component}: no CHTML font folder found")
        woff = [p.relative_to(source) for p in (source / fonts.group(1)).glob("*.woff*")]
        if not woff:
            raise ExtensionError(f"MathJax {component}: no fonts in {source / fonts.group(1)}")
        selected.update(woff)
    if "[tex]/require" in bundled or "[tex]/autoload" in bundled:
        allow = _MATHJAX_REQUIRE_ALLOW.search(text)
        if allow is None:
            raise ExtensionError(f"MathJax {component}: no \\require allow-list found")
        refused = {
            key.strip().strip("\"'")
            for key, _, value in (item.partition(":") for item in allow.group(1).split(","))
            if value.strip() in ("!1", "false")
        }
        for path in (source / "input" / "tex" / "extensions").glob("*.js"):
            if path.stem not in refused and f"[tex]/{path.stem}" not in bundled:
                selected.add(path.relative_to(source))
    menu = _MATHJAX_MENU_SETTINGS.search(text) if "ui/menu" in bundled else None
    if menu is not None:
        settings = menu.group(1)
        if "explorer:!0" in settings or "collapsible:!0" in settings:
            for folder in ("a11y", "sre"):
                selected.update(
                    p.relative_to(source) for p in (source / folder).rglob("*") if p.is_file()
                )
        if 'renderer:"SVG"' in settings:
            selected.add(Path("output/svg.js"))
            selected.update(
                p.relative_to(source) for p in (source / "output/svg").rglob("*") if p.is_file()
            )
    missing = sorted(p.as_posix() for p in selected if not (source / p).is_file())
    if missing:
        raise ExtensionError(f"MathJax files missing from {source}: {', '.join(missing)}")
    return sorted(selected)


def _mathjax_source() -> Path:
    import mathjax  # the django-static-mathjax package

    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


def _mathjax_component(app: Sphinx) -> str:
    """The combined component the pages load (``mathjax_path`` relative to ``_static``)."""
    path = str(app.config.mathjax_path or "")
    if "://" not in path and path.startswith("mathjax/"):
        return path[len("mathjax/") :]
    return "tex-chtml.js"


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Put exactly :func:`mathjax_files` into ``_static/mathjax``; anything else there goes."""
    if exception is not None or app.builder.format != "html":
        return
    source = _mathjax_source()
    config = app.config.mathjax3_config or {}
    extra = config.get("loader", {}).get("load", []) if isinstance(config, dict) else []
    wanted = mathjax_files(source, _mathjax_component(app), extra)
    sync_files(source, Path(app.outdir) / "_static" / "mathjax", wanted)


def sync_files(source: Path, target: Path, files: Iterable[Path]) -> None:
    """Make ``target`` hold exactly ``files`` (paths relative to ``source``), copied from there.

    Files not listed are deleted and emptied folders removed, so an output folder that holds
    more from an earlier build shrinks to the selection; listed files are copied only when
    missing or different.
    """
    wanted = {Path(f) for f in files}
    if target.is_dir():
        for path in sorted(target.rglob("*"), reverse=True):  # files before their folders
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path.relative_to(target) not in wanted:
                path.unlink()
    for rel in sorted(wanted):
        src, dest = source / rel, target / rel
        if not dest.is_file() or not filecmp.cmp(src, dest, shallow=False):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


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


# -- a lighter output: smaller PNGs, no stale downloads, no source maps --------------------------
def shrink_png(data: bytes) -> bytes:
    """The smallest lossless re-encoding of a PNG found, or ``data`` itself.

    Tried: Pillow's ``optimize=True`` compression; an opaque RGBA image stored as RGB; an
    image of at most 256 colours stored with a palette. A candidate is kept only if it is
    smaller and decodes to exactly the same RGBA pixels.
    """
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as original:
        original.load()
    if original.format != "PNG" or getattr(original, "is_animated", False):
        return data
    pixels = original.convert("RGBA")
    reference = pixels.tobytes()
    image = original
    if image.mode == "RGBA" and image.getextrema()[3] == (255, 255):
        image = image.convert("RGB")
    candidates = [image]
    if image.mode in ("RGB", "RGBA", "LA", "L") and image.getcolors(256) is not None:
        candidates.insert(0, _palette_image(pixels))
    info = {"dpi": original.info["dpi"]} if "dpi" in original.info else {}
    best = data
    for candidate in candidates:
        buffer = io.BytesIO()
        candidate.save(buffer, "PNG", optimize=True, **info)
        encoded = buffer.getvalue()
        if len(encoded) >= len(best):
            continue
        with Image.open(io.BytesIO(encoded)) as check:
            if check.convert("RGBA").tobytes() == reference:
                best = encoded
    return best


def _palette_image(rgba):
    """``rgba`` (at most 256 distinct colours) as an exact palette image, alpha in tRNS."""
    from PIL import Image

    colours = [bytes(colour) for _, colour in rgba.getcolors(256)]
    index = {colour: i for i, colour in enumerate(colours)}
    raw = rgba.tobytes()
    image = Image.frombytes(
        "P", rgba.size, bytes(index[raw[i : i + 4]] for i in range(0, len(raw), 4))
    )
    image.putpalette(b"".join(colour[:3] for colour in colours))
    alpha = bytes(colour[3] for colour in colours)
    if alpha.strip(b"\xff"):
        image.info["transparency"] = alpha
    return image


def _shrink_images(app: Sphinx, exception: Exception | None) -> None:
    """Re-encode the PNGs of ``_images`` (:func:`shrink_png`, or :func:`vgweight.quantize_png`
    where that is smaller), each once.

    A file Sphinx or sphinx-gallery copied again (a rewritten page) is shrunk again; the
    record of what was shrunk (size and time of each output file) lives beside the doctrees.
    """
    if exception is not None or app.builder.format != "html":
        return
    images = Path(app.outdir) / "_images"
    record_file = Path(app.doctreedir) / "vgsite-shrunk-images.json"
    try:
        record = json.loads(record_file.read_text())
    except (OSError, ValueError):
        record = {}
    before = after = 0
    current = {}
    for path in sorted(images.glob("*.png")):
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        if record.get(path.name) != stamp:
            data = path.read_bytes()
            # lossless, or a 256-colour palette that stays within vgweight's quality bound
            smaller = min(shrink_png(data), vgweight.quantize_png(data), key=len)
            before, after = before + len(data), after + len(smaller)
            if len(smaller) < len(data):
                path.write_bytes(smaller)
                stat = path.stat()
                stamp = [stat.st_size, stat.st_mtime_ns]
        current[path.name] = stamp
    record_file.parent.mkdir(parents=True, exist_ok=True)
    record_file.write_text(json.dumps(current, indent=0, sort_keys=True) + "\n")
    if before:
        logger.info(f"vgsite: PNG figures {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB")


def stale_downloads(downloads: Path, published: Iterable[str]) -> list[Path]:
    """Files under ``downloads`` (``_downloads``) that no page publishes any more.

    Sphinx copies each file a page links with ``:download:`` into ``_downloads/<hash>/`` but
    never deletes one that no page links any more: the gallery's single-script and
    single-notebook downloads of earlier builds (vgdownloads now offers the zip only) stay
    behind. ``published`` are the paths (relative to ``downloads``) the environment knows.
    """
    keep = {Path(p) for p in published}
    if not downloads.is_dir():
        return []
    return sorted(
        p for p in downloads.rglob("*") if p.is_file() and p.relative_to(downloads) not in keep
    )


def _prune_downloads(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    downloads = Path(app.outdir) / "_downloads"
    published = [str(dest) for _docs, dest in app.env.dlfiles.values()]
    for path in stale_downloads(downloads, published):
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()


_SOURCE_MAP_COMMENT = re.compile(
    r"\n?(?://# sourceMappingURL=[^\n]*|/\*# sourceMappingURL=.*?\*/)\s*$"
)


def drop_source_maps(static: Path) -> list[Path]:
    """Delete the ``.map`` files under ``static`` and the comments that point to them.

    Source maps (the theme ships 2 MB of them) serve a browser's developer tools only; no page
    loads them. Returns the files deleted.
    """
    removed = sorted(static.rglob("*.map"))
    for path in removed:
        path.unlink()
    for path in [*static.rglob("*.js"), *static.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        stripped = _SOURCE_MAP_COMMENT.sub("", text)
        if stripped != text:
            path.write_text(stripped + "\n", encoding="utf-8", errors="surrogateescape")
    return removed


def _drop_source_maps(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        drop_source_maps(Path(app.outdir) / "_static")


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


def _write_times_page(app: Sphinx) -> None:
    rows = _gallery_times(app)
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


# -- API entries: the examples that use them ------------------------------------------------


def _examples_using(app: Sphinx, name: str) -> list | None:
    """The examples that use API entry ``name``, as sphinx-gallery listed them in this build.

    None when back-references are off. sphinx-gallery writes ``backreferences_all.json`` (and
    one ``<name>.examples`` file per entry) into ``backreferences_dir`` before the pages are
    read; the ``minigallery`` directive renders from the JSON, whose entries are complete on
    every build, while an ``.examples`` file can outlive the last example that used its entry.
    """
    conf = getattr(app.config, "sphinx_gallery_conf", None) or {}
    folder = conf.get("backreferences_dir")
    if not folder:
        return None
    path = Path(app.srcdir, folder, "backreferences_all.json")
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return []
    cached = getattr(app, "_vgsite_backrefs_all", None)
    if cached is None or cached[0] != (path, stamp):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = {}
        cached = ((path, stamp), data if isinstance(data, dict) else {})
        app._vgsite_backrefs_all = cached  # type: ignore[attr-defined]
    return cached[1].get(name) or []


def _examples_digest(examples: list) -> str:
    return hashlib.sha256(json.dumps(examples, sort_keys=True).encode()).hexdigest()


def _add_minigallery(app: Sphinx, what: str, name: str, obj, options, lines: list[str]) -> None:
    """Append "Examples using ..." thumbnails to a function, class or method that has any.

    The page records which examples it listed, so that it is read again when an example starts
    or stops using the entry (see :func:`_outdated_api_pages`).
    """
    if what not in {"function", "class", "method"}:
        return
    examples = _examples_using(app, name)
    if examples is None:
        return
    seen = _env_dict(app.env, "vgsite_backrefs")
    seen.setdefault(app.env.docname, {})[name] = _examples_digest(examples)
    if not examples:
        return
    parts = name.split(".")
    short = ".".join(parts[-2:]) if what == "method" else parts[-1]
    lines += ["", f".. rubric:: Examples using ``{short}``", "", f".. minigallery:: {name}", ""]


def _purge_backrefs(app: Sphinx, env, docname: str) -> None:
    _env_dict(env, "vgsite_backrefs").pop(docname, None)


def _merge_backrefs(app: Sphinx, env, docnames, other) -> None:
    theirs = _env_dict(other, "vgsite_backrefs")
    ours = _env_dict(env, "vgsite_backrefs")
    for docname in docnames:
        if docname in theirs:
            ours[docname] = theirs[docname]


def _outdated_api_pages(app: Sphinx, env, added, changed, removed) -> list[str]:
    """API pages to read again because the examples using one of their entries changed."""
    outdated = []
    for docname, entries in sorted(_env_dict(env, "vgsite_backrefs").items()):
        if docname in removed or docname in added or docname in changed:
            continue
        for name, digest in entries.items():
            if _examples_digest(_examples_using(app, name) or []) != digest:
                outdated.append(docname)
                break
    return outdated


# -- redirects from renamed pages ----------------------------------------------------------

REDIRECT_MARK = "vgsite-redirect"


def redirect_stub(url: str, title: str, canonical: str = "") -> str:
    """A small HTML page that sends the reader (and search engines) to ``url``.

    It loads nothing: a meta refresh, a canonical link, ``noindex``, a marker that tests look
    for (``<meta name="vgsite-redirect" content="URL">``) and a visible link for browsers that
    do not follow refreshes.
    """
    url_attr = escape(url, quote=True)
    canonical_attr = escape(canonical or url, quote=True)
    title_text = escape(title)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Moved: {title_text}</title>\n"
        '<meta name="robots" content="noindex">\n'
        f'<meta name="{REDIRECT_MARK}" content="{url_attr}">\n'
        f'<link rel="canonical" href="{canonical_attr}">\n'
        '<link rel="icon" href="data:,">\n'
        f'<meta http-equiv="refresh" content="0; url={url_attr}">\n'
        "</head>\n<body>\n"
        f'<p>This page has moved to <a href="{url_attr}">{title_text}</a>.</p>\n'
        "</body>\n</html>\n"
    )


def redirect_pairs(redirects: dict[str, str], docnames: Iterable[str]) -> list[tuple[str, str]]:
    """``(old, new)`` docnames: every doc under a new prefix, at its place under the old one.

    Old names that are still real documents are left alone.
    """
    docs = set(docnames)
    pairs = []
    for old, new in redirects.items():
        old, new = old.strip("/"), new.strip("/")
        for doc in sorted(docs):
            if doc == new or doc.startswith(new + "/"):
                stale = old + doc[len(new) :]
                if stale not in docs:
                    pairs.append((stale, doc))
    return pairs


def _exclude_redirected(app: Sphinx, config) -> None:
    """Never read a renamed document's old source: in an existing checkout a generated page
    can outlive its rename (the gallery's old output folder, say) and would be built with
    stale content instead of redirecting."""
    for old in config.vgsite_redirects:
        old = old.strip("/")
        config.exclude_patterns.extend([old, f"{old}.*", f"{old}/**"])


def _write_redirects(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.name not in {"html", "dirhtml"}:
        return
    builder = app.builder
    base = app.config.html_baseurl
    written = 0
    for old, new in redirect_pairs(app.config.vgsite_redirects, app.env.found_docs):
        if not Path(builder.get_outfilename(new)).is_file():
            continue
        url = builder.get_relative_uri(old, new)
        canonical = base.rstrip("/") + "/" + builder.get_target_uri(new) if base else url
        title = app.env.titles[new].astext() if new in app.env.titles else new
        stub = Path(builder.get_outfilename(old))
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(redirect_stub(url, title, canonical), encoding="utf-8")
        written += 1
    if written:
        logger.info(f"vgsite: wrote {written} redirect pages for renamed documents")


def setup(app: Sphinx) -> dict:
    app.add_config_value("vgsite_running_doc", "", "env")
    # the library whose files examples and pages import (default: found by import name)
    app.add_config_value("vgsite_package", "vgexamples", "env")
    app.add_config_value("vgsite_package_dir", "", "env")
    # modules every example runs without importing them (sphinx-gallery's reset_modules)
    app.add_config_value("vgsite_example_imports", [], "env")
    # where examples record results (default: $VGEXAMPLES_RESULTS_DIR), and the pages that
    # depend on every recorded result rather than on the names they load literally
    app.add_config_value("vgsite_results_dir", "", "env")
    app.add_config_value("vgsite_all_results_docs", [], "env")
    # old doc prefix -> new doc prefix, e.g. {"auto_examples/old": "auto_examples/new"}
    app.add_config_value("vgsite_redirects", {}, "html")
    # priority < 500: before sphinx-gallery generates (and executes) the examples
    app.connect("config-inited", _exclude_redirected)
    app.connect("builder-inited", _invalidate_examples, priority=400)
    # priority > 500: after it
    app.connect("builder-inited", _record_examples, priority=890)
    app.connect("builder-inited", _write_times_page, priority=900)
    app.connect("env-get-outdated", _outdated_pages)
    app.connect("env-get-outdated", _outdated_api_pages)
    # after napoleon has turned the docstring into reST
    app.connect("autodoc-process-docstring", _add_minigallery, priority=600)
    app.connect("env-purge-doc", _purge_backrefs)
    app.connect("env-merge-info", _merge_backrefs)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _fix_thumbnails)
    app.connect("build-finished", _shrink_images)
    app.connect("build-finished", _prune_downloads)
    app.connect("build-finished", _drop_source_maps)
    app.connect("build-finished", _write_redirects, priority=800)
    app.connect("build-finished", _check_offline, priority=900)
    app.connect("build-finished", _check_no_local_paths, priority=910)
    app.connect("build-finished", _finish, priority=950)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
