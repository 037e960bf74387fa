"""Accessibility repairs to the built HTML that no option or stylesheet can make.

After a successful HTML build, every page is rewritten in place (:func:`fix_tree`), with
targeted substitutions that leave the rest of the page byte for byte as Sphinx wrote it:

* the sidebar's expand/collapse toggles (pydata-sphinx-theme puts an icon alone in a
  ``<summary>``) get an accessible name: "Toggle navigation of <the entry's title>";
* bibliography entries (docutils writes ``role="doc-biblioentry"``, a role deprecated in
  DPUB-ARIA 1.1, inside a ``role="list"``) become list items (``role="listitem"``);
* the search field button loses its ``aria-label="Search"``: its accessible name becomes the
  text it shows ("Search Ctrl+K", or "⌘+K" where the theme's script says so) instead of a
  name that leaves part of that text out (WCAG 2.5.3). On narrow screens, where the theme
  shows the icon alone, ``vgaccess.css`` hides that text visually only, so the name stays.

Every repair is idempotent: a fixed page passes through :func:`fix_html` unchanged. The other
accessibility fixes are CSS (``_static/vgaccess.css``).
"""

from __future__ import annotations

import re
from html import escape, unescape
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Folders of the output that hold assets, not pages.
ASSET_DIRS = ("_static", "_images", "_downloads", "_sources")

# <a ...>Title</a><details [open]><summary><span class="toctree-toggle" ...
_TOGGLE_AFTER_LINK = re.compile(
    r"(?P<link><a\b[^>]*>(?P<title>(?:(?!</a>).)*)</a>\s*<details\b[^>]*>\s*)"
    r"<summary>(?=\s*<span class=\"toctree-toggle\")",
    re.DOTALL,
)
# a toggle with no link before it (a caption in the summary would already name it)
_BARE_TOGGLE = re.compile(r"<summary>(?=\s*<span class=\"toctree-toggle\")")
_BIBLIOENTRY = re.compile(r'(<div class="citation"[^>]*?\srole=")doc-biblioentry(")')
_SEARCH_FIELD = re.compile(
    r'(<button\b[^>]*\bclass="[^"]*\bsearch-button-field\b[^"]*"[^>]*?)\s+aria-label="[^"]*"'
)
_TAG = re.compile(r"<[^>]+>")


def _text(html: str) -> str:
    """The plain text of an HTML fragment, whitespace collapsed."""
    return " ".join(unescape(_TAG.sub("", html)).split())


def name_toggles(html: str) -> str:
    """Give each sidebar toggle with no text an ``aria-label`` naming what it expands."""

    def label(m: re.Match) -> str:
        title = _text(m.group("title"))
        name = f"Toggle navigation of {title}" if title else "Toggle navigation"
        return f'{m.group("link")}<summary aria-label="{escape(name, quote=True)}">'

    html = _TOGGLE_AFTER_LINK.sub(label, html)
    return _BARE_TOGGLE.sub('<summary aria-label="Toggle navigation">', html)


def list_bibliography(html: str) -> str:
    """Make bibliography entries list items of their ``role="list"`` container."""
    return _BIBLIOENTRY.sub(r"\1listitem\2", html)


def name_search_field(html: str) -> str:
    """Let the search field button be named by the text it shows (drop its ``aria-label``)."""
    return _SEARCH_FIELD.sub(r"\1", html)


def fix_html(text: str) -> str:
    """Apply every repair to one page."""
    for fix in (name_toggles, list_bibliography, name_search_field):
        text = fix(text)
    return text


def fix_tree(outdir: Path) -> int:
    """Repair every HTML page under ``outdir`` in place; return how many files changed."""
    outdir = Path(outdir)
    changed = 0
    for page in sorted(outdir.rglob("*.html")):
        if page.relative_to(outdir).parts[0] in ASSET_DIRS:
            continue
        text = page.read_text(encoding="utf-8")
        fixed = fix_html(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
            changed += 1
    return changed


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    changed = fix_tree(Path(app.outdir))
    logger.info(f"vgaccess: accessibility repairs in {changed} pages")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", _build_finished, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
