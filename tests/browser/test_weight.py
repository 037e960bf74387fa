"""Weight budget of the built site: what a reader or a mirror downloads.

Needs no browser, only ``--site`` (it runs with the browser suite, ``nox -s browser``):

* the whole site, every file under the site folder (downloads included), is at most
  :data:`SITE_BUDGET` bytes: :data:`OWN_BUDGET` for the site's own files and
  :data:`PLOTTING_LIBRARY_BUDGET` for the plotting library's JavaScript (BokehJS, which the
  explorer page loads), each checked on its own;
* every page's own weight is at most :data:`PAGE_BUDGET` bytes: its HTML plus the files it
  loads that are its own (figures, ``srcset`` variants, scripts, styles), not the site-wide
  files under ``_static/`` that every page shares (theme, search, MathJax: fetched once, then
  cached). Files a page only links to (the example zips) are downloads, not page weight; they
  count in the site's total.

A failure lists the biggest contributors.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# bytes: the site's own files (pages, figures, downloads, theme, MathJax), and the plotting
# library the explorer page draws with (BokehJS under _static/bokeh/), counted once for the
# site; the whole site is at most their sum
OWN_BUDGET = 16_000_000
PLOTTING_LIBRARY = "_static/bokeh/"
PLOTTING_LIBRARY_BUDGET = 2_000_000
SITE_BUDGET = OWN_BUDGET + PLOTTING_LIBRARY_BUDGET
PAGE_BUDGET = 1_500_000  # bytes, one page with the files of its own
SHARED = ("_static/",)  # site-wide files every page loads
NOT_PAGES = ("_static/", "_images/", "_downloads/", "_sources/")

# attributes through which a page loads a file (links to other pages or downloads excluded)
_LOADS = {
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "script": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
_LINK_RELS = {"stylesheet", "icon", "preload", "modulepreload", "apple-touch-icon", "manifest"}


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "link":
            if _LINK_RELS & set((values.get("rel") or "").lower().split()):
                self.urls.append(values.get("href") or "")
            return
        for name in _LOADS.get(tag, ()):
            value = values.get(name)
            if not value:
                continue
            if name == "srcset":  # "a.png, b.png 2x": each candidate is a URL and a descriptor
                self.urls.extend(c.split()[0] for c in value.split(",") if c.strip())
            else:
                self.urls.append(value)


def loaded_urls(html: str) -> list[str]:
    """The URLs a page loads as it renders (images with every srcset candidate, scripts, ...)."""
    parser = _Loads()
    parser.feed(html)
    parser.close()
    return [u.strip() for u in parser.urls if u.strip()]


def own_files(site: Path, page: Path) -> set[Path]:
    """The files of ``site`` that ``page`` loads and does not share with the whole site."""
    found = set()
    for url in loaded_urls(page.read_text(encoding="utf-8", errors="replace")):
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path:
            continue  # another host, data: URL, or a fragment of the page itself
        target = (page.parent / unquote(parts.path)).resolve()
        try:
            rel = target.relative_to(site).as_posix()
        except ValueError:
            continue
        if target.is_file() and not rel.startswith(SHARED):
            found.add(target)
    return found


def page_weights(site: Path) -> dict[str, tuple[int, list[tuple[int, str]]]]:
    """Each page: its own weight and the parts (bytes, path), the HTML first."""
    site = site.resolve()
    weights = {}
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if rel.startswith(NOT_PAGES):
            continue
        parts = [(page.stat().st_size, rel)]
        parts += sorted(
            ((f.stat().st_size, f.relative_to(site).as_posix()) for f in own_files(site, page)),
            reverse=True,
        )
        weights[rel] = (sum(size for size, _ in parts), parts)
    return weights


def site_files(site: Path) -> dict[str, int]:
    site = site.resolve()
    return {
        p.relative_to(site).as_posix(): p.stat().st_size for p in site.rglob("*") if p.is_file()
    }


def breakdown(files: dict[str, int]) -> list[tuple[int, str]]:
    """Bytes per top-level folder (per subfolder of ``_static/``), biggest first."""
    totals: Counter[str] = Counter()
    for path, size in files.items():
        parts = path.split("/")
        depth = 2 if parts[0] == "_static" else 1
        totals["/".join(parts[:depth]) + ("/" if len(parts) > depth else "")] += size
    return sorted(((size, name) for name, size in totals.items()), reverse=True)


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f} MB"


def test_site_total_within_budget(site_dir):
    files = site_files(site_dir)
    total = sum(files.values())
    own = {n: s for n, s in files.items() if not n.startswith(PLOTTING_LIBRARY)}
    own_total = sum(own.values())
    if total > SITE_BUDGET or own_total > OWN_BUDGET:
        folders = "\n".join(f"  {_mb(s):>9}  {n}" for s, n in breakdown(files)[:12])
        biggest = sorted(((s, n) for n, s in files.items()), reverse=True)[:8]
        top = "\n".join(f"  {_mb(s):>9}  {n}" for s, n in biggest)
        raise AssertionError(
            f"the site weighs {_mb(total)} in {len(files)} files ({_mb(own_total)} of its own, "
            f"budget {_mb(OWN_BUDGET)}; {_mb(SITE_BUDGET)} in all).\n"
            f"biggest folders:\n{folders}\nbiggest files:\n{top}"
        )


def test_plotting_library_is_one_version_within_its_budget(site_dir):
    folder = site_dir / PLOTTING_LIBRARY
    versions = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    assert len(versions) <= 1, f"{PLOTTING_LIBRARY} holds several versions: {versions}"
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if versions else 0
    assert size <= PLOTTING_LIBRARY_BUDGET, (
        f"{PLOTTING_LIBRARY} weighs {_mb(size)}, over {_mb(PLOTTING_LIBRARY_BUDGET)}"
    )


def test_every_page_within_budget(site_dir):
    weights = page_weights(site_dir)
    assert weights, f"no pages found under {site_dir}"
    heavy = {page: w for page, w in weights.items() if w[0] > PAGE_BUDGET}
    if heavy:
        lines = []
        for page, (total, parts) in sorted(heavy.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  {page}: {_mb(total)}")
            lines += [f"      {_mb(size):>9}  {path}" for size, path in parts[:6]]
        raise AssertionError(
            f"{len(heavy)} pages weigh more than {_mb(PAGE_BUDGET)} of their own:\n"
            + "\n".join(lines)
        )


# -- the measure itself, on a tiny site -------------------------------------------------------


def _tiny_site(root: Path) -> Path:
    (root / "_static").mkdir(parents=True)
    (root / "_images").mkdir()
    (root / "_downloads").mkdir()
    (root / "sub").mkdir()
    (root / "_static" / "theme.css").write_bytes(b"x" * 1000)
    (root / "_images" / "fig.png").write_bytes(b"x" * 300)
    (root / "_images" / "fig@2x.png").write_bytes(b"x" * 600)
    (root / "_downloads" / "example.zip").write_bytes(b"x" * 5000)
    (root / "sub" / "page.html").write_text(
        '<link rel="stylesheet" href="../_static/theme.css">'
        '<img src="../_images/fig.png" srcset="../_images/fig.png, ../_images/fig@2x.png 2x">'
        '<img src="../_images/fig.png#again"><img src="data:image/png;base64,AA==">'
        '<script src="https://example.org/x.js"></script>'
        '<a href="../_downloads/example.zip">zip</a><a href="../index.html">home</a>'
    )
    (root / "index.html").write_text('<a href="sub/page.html">page</a>')
    return root


def test_a_page_counts_its_images_and_srcset_not_shared_files_or_downloads(tmp_path):
    site = _tiny_site(tmp_path / "site")
    weights = page_weights(site)
    html = (site / "sub" / "page.html").stat().st_size
    total, parts = weights["sub/page.html"]
    assert total == html + 300 + 600
    assert [p for _, p in parts] == ["sub/page.html", "_images/fig@2x.png", "_images/fig.png"]
    assert weights["index.html"][0] == (site / "index.html").stat().st_size


def test_the_site_total_counts_every_file(tmp_path):
    site = _tiny_site(tmp_path / "site")
    files = site_files(site)
    assert sum(files.values()) == sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert breakdown(files)[0] == (5000, "_downloads/")
