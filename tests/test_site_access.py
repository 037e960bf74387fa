"""The accessibility repairs of docs/_ext/vgaccess.py, on snippets of the built pages.

No browser and no Sphinx build: the browser suite (tests/browser/test_access.py) checks the
built site with axe-core; these tests pin each repair down on the markup it rewrites.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import vgaccess

# pydata-sphinx-theme's sidebar: a page with subpages, its toggle, the current page's entry
TOGGLE = (
    '<li class="toctree-l1 has-children"><a class="reference internal" '
    'href="../vanishing/index.html">Activation functions and vanishing gradients</a><details>'
    '<summary><span class="toctree-toggle" role="presentation">'
    '<i class="fa-solid fa-chevron-down"></i></span></summary><ul>'
)
CURRENT_TOGGLE = (
    '<li class="toctree-l1 current active has-children"><a aria-current="page" '
    'class="current reference internal" href="#">Smaller &amp; <em>cheaper</em> networks</a>'
    '<details open="open"><summary><span class="toctree-toggle" role="presentation">'
    '<i class="fa-solid fa-chevron-down"></i></span></summary><ul>'
)
CAPTION_TOGGLE = (
    '<li class="has-children"><details><summary><p class="caption" role="heading">'
    '<span class="caption-text">Chapters</span></p><span class="toctree-toggle" '
    'role="presentation"><i class="fa-solid fa-chevron-down"></i></span></summary><ul>'
)
# docutils' bibliography, as sphinxcontrib-bibtex has it written
BIBLIOGRAPHY = (
    '<div role="list" class="citation-list">\n'
    '<div class="citation" id="id3" role="doc-biblioentry">\n'
    '<span class="label"><span class="fn-bracket">[</span>1<span class="fn-bracket">]</span>'
    "</span>\n<p>Yoshua Bengio, Patrice Simard, and Paolo Frasconi. Learning long-term "
    "dependencies with gradient descent is difficult.</p>\n</div>\n"
    '<div class="citation" id="id10" role="doc-biblioentry">\n<p>Kyunghyun Cho.</p>\n</div>\n'
    "</div>"
)
SEARCH_FIELD = (
    '<button type="button" class="btn search-button-field search-button__button pst-js-only" '
    'title="Search" aria-label="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">\n'
    ' <i class="fa-solid fa-magnifying-glass"></i>\n'
    ' <span class="search-button__default-text">Search</span>\n'
    ' <span class="search-button__kbd-shortcut"><kbd class="kbd-shortcut__modifier">Ctrl</kbd>'
    '+<kbd class="kbd-shortcut__modifier">K</kbd></span>\n</button>'
)
# the theme's icon-only search button has no text: its aria-label is its only name
SEARCH_ICON = (
    '<button type="button" class="btn btn-sm pst-navbar-icon search-button '
    'search-button__button pst-js-only" title="Search" aria-label="Search" '
    'data-bs-placement="bottom" data-bs-toggle="tooltip">\n'
    ' <i class="fa-solid fa-magnifying-glass fa-lg"></i>\n</button>'
)
PAGE = "\n".join(
    [
        "<!DOCTYPE html>\n<html lang='en'><head><title>t</title></head><body>",
        SEARCH_FIELD,
        SEARCH_ICON,
        "<nav><ul>",
        TOGGLE,
        "</ul></details></li>",
        CURRENT_TOGGLE,
        "</ul></details></li>",
        "</ul></nav><article>",
        BIBLIOGRAPHY,
        "</article></body></html>",
    ]
)


def test_toggle_is_named_after_its_entry():
    fixed = vgaccess.name_toggles(TOGGLE)
    assert (
        '<summary aria-label="Toggle navigation of Activation functions and vanishing '
        'gradients"><span class="toctree-toggle"' in fixed
    )
    assert fixed.count("<summary") == 1


def test_toggle_name_is_plain_escaped_text():
    fixed = vgaccess.name_toggles(CURRENT_TOGGLE)
    assert 'aria-label="Toggle navigation of Smaller &amp; cheaper networks"' in fixed


def test_toggle_without_a_link_gets_a_generic_name():
    bare = '<details><summary><span class="toctree-toggle" role="presentation"></span></summary>'
    fixed = vgaccess.name_toggles(bare)
    assert '<summary aria-label="Toggle navigation"><span class="toctree-toggle"' in fixed


def test_toggle_with_a_caption_keeps_its_name():
    assert vgaccess.name_toggles(CAPTION_TOGGLE) == CAPTION_TOGGLE


def test_bibliography_entries_are_list_items():
    fixed = vgaccess.list_bibliography(BIBLIOGRAPHY)
    assert "doc-biblioentry" not in fixed
    assert fixed.count('role="listitem"') == 2
    assert '<div class="citation" id="id3" role="listitem">' in fixed
    assert fixed.startswith('<div role="list" class="citation-list">')


def test_search_field_is_named_by_its_text():
    fixed = vgaccess.name_search_field(SEARCH_FIELD)
    assert "aria-label" not in fixed
    assert fixed.startswith(
        '<button type="button" class="btn search-button-field search-button__button '
        'pst-js-only" title="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">'
    )
    assert '<span class="search-button__default-text">Search</span>' in fixed


def test_icon_only_search_button_keeps_its_label():
    assert vgaccess.name_search_field(SEARCH_ICON) == SEARCH_ICON


def test_fix_html_applies_every_repair_and_nothing_else():
    fixed = vgaccess.fix_html(PAGE)
    assert "doc-biblioentry" not in fixed
    assert fixed.count("<summary aria-label=") == 2
    assert fixed.count('aria-label="Search"') == 1  # the icon button's
    # undoing the three repairs gives back the page byte for byte
    undone = (
        fixed.replace('role="listitem"', 'role="doc-biblioentry"')
        .replace(
            'pst-js-only" title="Search" data-bs',
            'pst-js-only" title="Search" aria-label="Search" data-bs',
            1,
        )
        .replace(
            '<summary aria-label="Toggle navigation of Activation functions and vanishing '
            'gradients">',
            "<summary>",
        )
        .replace(
            '<summary aria-label="Toggle navigation of Smaller &amp; cheaper networks">',
            "<summary>",
        )
    )
    assert undone == PAGE


@pytest.mark.parametrize("html", [PAGE, TOGGLE, CURRENT_TOGGLE, BIBLIOGRAPHY, SEARCH_FIELD])
def test_fix_html_is_idempotent(html):
    once = vgaccess.fix_html(html)
    assert vgaccess.fix_html(once) == once


def test_fix_tree_rewrites_pages_once_and_skips_assets(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "api" / "data.html").write_text(TOGGLE, encoding="utf-8")
    (tmp_path / "plain.html").write_text("<p>nothing to repair</p>", encoding="utf-8")
    (tmp_path / "_static" / "macros.html").write_text(SEARCH_FIELD, encoding="utf-8")

    assert vgaccess.fix_tree(tmp_path) == 2
    assert (tmp_path / "index.html").read_text(encoding="utf-8") == vgaccess.fix_html(PAGE)
    assert "aria-label=" in (tmp_path / "api" / "data.html").read_text(encoding="utf-8")
    assert (tmp_path / "_static" / "macros.html").read_text(encoding="utf-8") == SEARCH_FIELD
    assert vgaccess.fix_tree(tmp_path) == 0
