"""Every page of the built site, opened in headless Chromium over a localhost server.

Run with ``nox -s browser`` (it builds the site first if needed). For each page: no console
errors, no failed requests, no request to any host but the local server, every image loaded,
math typeset wherever the page has math, and no horizontal scrolling on a 390 px phone screen.
At a 1280 px desktop: printed output, code and tables fit their column, no ``nan`` stands in
for a value, the navigation bar is one line, and every figure has a 2x source and is shown
at its own size (the text size vgfigures checks at build time is the size the reader sees).
A redirect page left behind by a renamed page must instead land on the page it points to.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

from .conftest import ARTIFACTS, first_chapter, is_redirect, redirect_target, site_pages


def pytest_generate_tests(metafunc):
    if "page_path" in metafunc.fixturenames:
        site = Path(metafunc.config.getoption("--site")).resolve()
        metafunc.parametrize("page_path", site_pages(site))


def _open(browser, base_url, path, summary, width=1280, height=900):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    seen = {"console": [], "failed": [], "foreign": []}
    host = urlparse(base_url).netloc

    def on_request(req):
        summary["requests"] += 1
        netloc = urlparse(req.url).netloc
        if req.url.startswith(("data:", "blob:", "about:")) or netloc == host:
            summary["local_requests"] += 1
        else:
            summary["foreign_requests"] += 1
            seen["foreign"].append(req.url)

    page.on("request", on_request)
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["console"].append(str(e)))
    page.on("requestfailed", lambda r: seen["failed"].append(f"{r.url} ({r.failure})"))
    page.on(
        "response",
        lambda r: seen["failed"].append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(base_url + path, wait_until="load")
    return context, page, seen


def _check_redirect(page, seen, base_url, page_path, target):
    """A redirect page sends the browser on to its target, which exists and is a real page."""
    expected = urldefrag(urljoin(base_url + page_path, target)).url
    page.wait_for_url(lambda url: urldefrag(url).url == expected, timeout=15_000)
    page.wait_for_load_state("load")
    page.wait_for_load_state("networkidle")
    assert not page.title().startswith("Moved:"), f"{page_path} landed on another redirect"
    assert page.locator('meta[name="vgsite-redirect"]').count() == 0
    assert seen["foreign"] == [], f"requests to other hosts: {seen['foreign']}"
    assert seen["failed"] == [], f"failed requests: {seen['failed']}"
    assert seen["console"] == [], f"console errors: {seen['console']}"


#: The navigation bar's height when all its items sit on one line (two lines measure 136 px).
NAVBAR_ONE_LINE_PX = 80

# At 1280 px: what does not fit its column, where a value is shown as nan, the navigation bar,
# and the figures (2x source; shown width against natural width).
DESKTOP_CHECKS = r"""() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const outputs = [...article.querySelectorAll(
    '.sphx-glr-script-out pre, .cell_output pre, .output pre')];
  const wide = e => e.scrollWidth > e.clientWidth + 1;
  const longest = e => e.innerText.split('\n').sort((a, b) => b.length - a.length)[0];
  const code = [...article.querySelectorAll('div.highlight pre')]
    .filter(e => !outputs.includes(e));
  const prose = article.cloneNode(true);
  prose.querySelectorAll('div.highlight, code, .math, mjx-container, script')
    .forEach(e => e.remove());
  const shown = outputs.map(e => e.innerText).join('\n') + '\n' + prose.textContent;
  const header = document.querySelector('.bd-header');
  const items = header ? [...header.querySelectorAll(
    '.navbar-header-items .nav-link, .navbar-brand, .search-button-field, .theme-switch-button'
  )].filter(e => e.offsetParent !== null) : [];
  // on one line, every item's box overlaps every other's vertically
  const boxes = items.map(e => e.getBoundingClientRect());
  const oneLine = !boxes.length ||
    Math.max(...boxes.map(r => r.top)) < Math.min(...boxes.map(r => r.bottom));
  const figures = [...article.querySelectorAll(
    'img.sphx-glr-single-img, img.sphx-glr-multi-img, .cell_output img, figure img')];
  return {
    outputs: outputs.filter(wide).map(e => [e.scrollWidth - e.clientWidth, longest(e)]),
    code: code.filter(wide).map(e => [e.scrollWidth - e.clientWidth, longest(e)]),
    tables: [...article.querySelectorAll('table')].filter(wide)
      .map(e => [e.scrollWidth - e.clientWidth, e.innerText.slice(0, 80)]),
    nan: shown.match(/(?<![\w'"])nan%?(?![\w'"(])/g) || [],
    navbar: header ? Math.round(header.getBoundingClientRect().height) : 0,
    oneLine,
    figures: figures.map(i => ({
      src: i.src.split('/').pop(),
      x2: /\s2(\.0+)?x/.test(i.srcset || '') || i.naturalWidth >= 1.9 * i.width,
      shown: i.getBoundingClientRect().width,
      own: i.getAttribute('width') ? Number(i.getAttribute('width')) : i.naturalWidth,
      column: i.parentElement.clientWidth,
    })),
  };
}"""


#: Generated reference pages (API entries): their code is the library's, at its 100-column
#: line length, and their prose may name nan as a value.
REFERENCE_PAGES = ("api/",)


def _check_desktop(page, page_path):
    found = page.evaluate(DESKTOP_CHECKS)
    assert found["outputs"] == [], f"printed output wider than its column: {found['outputs']}"
    assert found["tables"] == [], f"tables wider than the column: {found['tables']}"
    if not page_path.startswith(REFERENCE_PAGES):
        assert found["code"] == [], f"code wider than its column: {found['code']}"
        assert found["nan"] == [], f"{page_path} shows nan as a value (use a dash and a note)"
    assert found["navbar"] <= NAVBAR_ONE_LINE_PX and found["oneLine"], (
        f"navigation bar on more than one line ({found['navbar']} px tall)"
    )
    for fig in found["figures"]:
        assert fig["x2"], f"figure without a 2x source: {fig['src']}"
        # shown at its own size, or as wide as the column allows: never shrunk further
        assert fig["shown"] >= min(fig["own"], fig["column"]) - 2, f"figure shrunk: {fig}"


def test_page(browser, base_url, site_dir, summary, page_path):
    summary["pages"] += 1
    context, page, seen = _open(browser, base_url, page_path, summary)
    try:
        source = (site_dir / page_path).read_text(encoding="utf-8")
        target = redirect_target(source)
        if target is not None:
            _check_redirect(page, seen, base_url, page_path, target)
            return
        has_math = 'class="math' in source or "\\(" in source or "\\[" in source
        if has_math and "mathjax" in source:
            page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
        page.wait_for_load_state("networkidle")
        _check_desktop(page, page_path)
        broken = page.evaluate(
            "Array.from(document.images)"
            ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.currentSrc || i.src)"
        )
        # alt text must describe the image: not empty, not just its file name
        missing_alt = page.evaluate(
            "Array.from(document.querySelectorAll('article img')).filter(i => {"
            " const a = (i.getAttribute('alt') || '').trim();"
            " return !a || /\\.(png|svg|jpe?g)$/i.test(a); }).map(i => i.src)"
        )
        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert seen["foreign"] == [], f"requests to other hosts: {seen['foreign']}"
        assert seen["failed"] == [], f"failed requests: {seen['failed']}"
        assert seen["console"] == [], f"console errors: {seen['console']}"
        assert broken == [], f"images that did not load: {broken}"
        assert missing_alt == [], f"images without alt text: {missing_alt}"
        assert overflow <= 1, f"page scrolls sideways by {overflow}px at 390px wide"
        if has_math and "mathjax" in source:
            assert page.locator("mjx-container").count() > 0
    finally:
        context.close()


def _example_pages(site_dir):
    """The built example pages, without the redirects left behind by renamed ones."""
    pages = sorted(site_dir.glob("auto_examples/*/plot_*.html"))
    return [p for p in pages if not is_redirect(p)]


def test_search_finds_the_first_chapters_examples(browser, base_url, summary):
    context, page, _seen = _open(browser, base_url, "search.html?q=sigmoid", summary)
    try:
        page.wait_for_selector("#search-results li a", timeout=20_000)
        hrefs = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
        assert any(f"auto_examples/{first_chapter()}/" in h for h in hrefs), hrefs
    finally:
        context.close()


def test_every_download_link_answers(browser, base_url, site_dir, summary):
    examples = _example_pages(site_dir)
    assert examples, "no example pages were built"
    checked = 0
    context = browser.new_context()
    try:
        for html in [site_dir / "auto_examples" / "index.html", *examples]:
            page = context.new_page()
            page.goto(base_url + html.relative_to(site_dir).as_posix())
            links = page.eval_on_selector_all(".sphx-glr-download a", "els => els.map(e => e.href)")
            kinds = {Path(urlparse(h).path).suffix for h in links}
            if html.name == "index.html":
                assert ".zip" in kinds, f"no download-all zip on {html}"
            else:
                # only the zip: the script or the notebook alone would lack the library
                assert kinds == {".zip"}, f"{html}: {sorted(kinds)}"
            for href in links:
                response = context.request.get(href)
                summary["requests"] += 1
                assert response.status == 200, f"{href}: {response.status}"
                assert len(response.body()) > 0, f"{href} is empty"
                checked += 1
            page.close()
    finally:
        context.close()
    assert checked >= len(examples) + 2


def test_dark_mode_switch_changes_the_theme(browser, base_url, summary):
    context, page, _seen = _open(browser, base_url, "index.html", summary)
    try:
        themes = []
        for mode in ("dark", "light"):
            page.locator(".theme-switch-button:visible").first.click()
            page.locator(f".theme-change-button[data-mode={mode}]:visible").first.click()
            themes.append(page.evaluate("document.documentElement.dataset.theme"))
        assert themes == ["dark", "light"]
        page.locator(".theme-switch-button:visible").first.click()
        page.locator(".theme-change-button[data-mode=dark]:visible").first.click()
        page.screenshot(path=str(ARTIFACTS / "landing-dark.png"))
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "width", "height"), [("desktop", 1280, 900), ("mobile", 390, 844)]
)
def test_screenshots(browser, base_url, site_dir, summary, name, width, height):
    ARTIFACTS.mkdir(exist_ok=True)
    example = _example_pages(site_dir)[0]
    for label, path in [
        ("landing", "index.html"),
        ("chapter", f"chapters/{first_chapter()}.html"),
        ("example", example.relative_to(site_dir).as_posix()),
        ("diagnose", "diagnose.html"),
        ("explorer", "explorer.html"),
    ]:
        context, page, _seen = _open(browser, base_url, path, summary, width, height)
        try:
            target = ARTIFACTS / f"{label}-{name}.png"
            page.screenshot(path=str(target), full_page=False)
            assert target.stat().st_size > 10_000
        finally:
            context.close()
