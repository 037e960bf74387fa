"""Bokeh's JavaScript served from this site, on the pages that embed a Bokeh document.

The explorer page (``docs/explorer.md``) carries a standalone Bokeh document: its plots,
controls and data, rendered by BokehJS in the reader's browser. BokehJS ships inside the
``bokeh`` Python package, so nothing comes from a CDN or from npm:

* ``build-finished`` copies the bundles the pages need (:data:`BUNDLES`, from the installed
  package) into ``_static/bokeh/<version>/``: a version in the path, so that a reader's
  cache never pairs a page with another release's library;
* ``html-page-context`` adds them, in that order, to the pages whose body holds a Bokeh
  document (:func:`embeds_bokeh`), and to those pages only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from vgsite import sync_files

#: The BokehJS files a page with plots and widgets needs, in load order.
BUNDLES = ("bokeh.min.js", "bokeh-widgets.min.js")


def bokeh_js_dir() -> tuple[str, Path]:
    """The installed Bokeh's version and the folder of its JavaScript bundles."""
    import bokeh
    from bokeh.util.paths import bokehjs_path

    return bokeh.__version__, Path(bokehjs_path()) / "js"


def embeds_bokeh(body: str) -> bool:
    """Whether a page's HTML body holds a Bokeh document (the marker ``components()``
    writes on its root element)."""
    return 'data-root-id="' in body and "Bokeh" in body


def _add_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not embeds_bokeh(context.get("body", "")):
        return
    version, _ = bokeh_js_dir()
    for name in BUNDLES:
        # in <head>, before the page's inline script that renders the document
        app.add_js_file(f"bokeh/{version}/{name}", priority=200)


def _copy_bundles(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    version, source = bokeh_js_dir()
    target = Path(app.outdir) / "_static" / "bokeh"
    sync_files(source, target / version, BUNDLES)
    for folder in target.iterdir():  # one version only: an older build's copy goes
        if folder.name != version:
            shutil.rmtree(folder) if folder.is_dir() else folder.unlink()


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _add_scripts)
    # before vgsite's offline check and the weight report (priorities 900 and up)
    app.connect("build-finished", _copy_bundles, priority=700)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
