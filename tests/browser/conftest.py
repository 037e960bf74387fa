"""Fixtures for the real-browser suite: serve the built site on localhost, drive Chromium."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
_REDIRECT = re.compile(r'<meta name="vgsite-redirect" content="([^"]*)"')
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def redirect_target(html: str) -> str | None:
    """The URL a redirect page left behind by a rename points to (None for a real page)."""
    m = _REDIRECT.search(html)
    return m.group(1) if m else None


def is_redirect(path: Path) -> bool:
    return redirect_target(path.read_text(encoding="utf-8", errors="replace")) is not None


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the built site (relative paths), assets' own HTML files aside."""
    assets = ("_static/", "_images/", "_downloads/", "_sources/")
    return sorted(
        rel
        for p in site.rglob("*.html")
        if not (rel := p.relative_to(site).as_posix()).startswith(assets)
    )


def first_chapter() -> str:
    """The gallery folder of the first chapter (gallery/CHAPTERS.txt)."""
    return (ROOT / "gallery" / "CHAPTERS.txt").read_text().split()[0]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="session")
def site_dir(request) -> Path:
    path = Path(request.config.getoption("--site")).resolve()
    if not (path / "index.html").is_file():
        pytest.fail(f"--site {path} holds no built site: run `nox -s docs` first")
    return path


@pytest.fixture(scope="session")
def base_url(site_dir):
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="session")
def browser(request):
    from playwright.sync_api import sync_playwright

    executable = request.config.getoption("--chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def summary():
    """Counts reported at the end of the run (pages checked, requests made)."""
    data = {"pages": 0, "requests": 0, "local_requests": 0, "foreign_requests": 0}
    yield data
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-summary.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"\nbrowser summary: {data}")
