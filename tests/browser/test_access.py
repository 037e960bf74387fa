"""Accessibility of every built page, checked with axe-core in headless Chromium.

Each page (redirect pages aside) is opened at 1280x900 and checked against the WCAG 2.1 A and
AA rules (and axe's experimental WCAG 2.5.3 rule, label-content-name-mismatch); a page fails
on any violation of impact "serious" or "critical". The landing page and one page of each
kind are checked again in dark mode, where the colours (and so the contrasts) differ. The
counts of every violation found, of any impact, go to test-artifacts/axe-summary.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, is_redirect, site_pages

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# axe-core ships this WCAG 2.5.3 rule as "experimental", outside the tag sets: run it too
EXTRA_RULES = {"label-content-name-mismatch": {"enabled": True}}
FAILING_IMPACTS = {"serious", "critical"}
# pages checked again in dark mode: the landing page and one page of each kind
DARK_PAGES = [
    "index.html",
    "auto_examples/index.html",
    "diagnose.html",
    "references.html",
    "glossary.html",
]


def _pages(site: Path) -> list[str]:
    return [rel for rel in site_pages(site) if not is_redirect(site / rel)]


def _dark_pages(pages: list[str]) -> list[str]:
    """The landing page and a few others, plus the first page of each generated kind."""
    kinds = [
        lambda p: "/plot_" in p,  # an example
        lambda p: p.startswith("api/") and p != "api/index.html",  # an API page
    ]
    chosen = [p for p in DARK_PAGES if p in pages]
    chosen += [next(p for p in pages if kind(p)) for kind in kinds if any(map(kind, pages))]
    return chosen


def pytest_generate_tests(metafunc):
    site = Path(metafunc.config.getoption("--site")).resolve()
    if "access_page" in metafunc.fixturenames:
        metafunc.parametrize("access_page", _pages(site))
    if "dark_page" in metafunc.fixturenames:
        metafunc.parametrize("dark_page", _dark_pages(_pages(site)))


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture(scope="session")
def axe_summary():
    """Violations found, by colour mode, rule and impact (written whatever the outcome)."""
    data = {"light": {"pages": 0, "rules": {}}, "dark": {"pages": 0, "rules": {}}}
    yield data
    for mode in data.values():
        by_impact: dict[str, dict[str, int]] = {}
        for rule in mode["rules"].values():
            counts = by_impact.setdefault(rule["impact"], {"nodes": 0, "instances": 0})
            counts["nodes"] += rule["nodes"]
            counts["instances"] += rule["pages"]
        mode["by_impact"] = dict(sorted(by_impact.items()))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe-summary.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"\naxe summary: {json.dumps({k: v['by_impact'] for k, v in data.items()})}")


def _check(browser, base_url, site_dir, axe, summary, path, mode):
    """Open ``path`` in the given colour mode, run axe on it; return its violations."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # the theme reads the reader's choice from localStorage before it paints the page
    context.add_init_script(f"localStorage.setItem('mode', '{mode}');")
    page = context.new_page()
    try:
        page.goto(base_url + path, wait_until="load")
        source = (site_dir / path).read_text(encoding="utf-8")
        has_math = 'class="math' in source or "\\(" in source or "\\[" in source
        if has_math and "mathjax" in source:
            page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.dataset.theme") == mode
        options = {
            "runOnly": {"type": "tag", "values": WCAG_TAGS},
            "rules": EXTRA_RULES,
            "resultTypes": ["violations"],
        }
        violations = axe.run(page, options=options).response["violations"]
    finally:
        context.close()
    summary[mode]["pages"] += 1
    for v in violations:
        rule = summary[mode]["rules"].setdefault(
            v["id"], {"impact": v["impact"], "nodes": 0, "pages": 0}
        )
        rule["nodes"] += len(v["nodes"])
        rule["pages"] += 1
    return violations


def _report(path: str, violations: list[dict]) -> str:
    lines = [f"{path}: serious or critical accessibility violations"]
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
        more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
        lines.append(f"  {v['id']} [{v['impact']}] {v['help']}: {targets}{more}")
    return "\n".join(lines)


def test_page_is_accessible(browser, base_url, site_dir, axe, axe_summary, access_page):
    violations = _check(browser, base_url, site_dir, axe, axe_summary, access_page, "light")
    bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not bad, _report(access_page, bad)


def test_page_is_accessible_in_dark_mode(browser, base_url, site_dir, axe, axe_summary, dark_page):
    violations = _check(browser, base_url, site_dir, axe, axe_summary, dark_page, "dark")
    bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not bad, _report(f"{dark_page} (dark mode)", bad)
