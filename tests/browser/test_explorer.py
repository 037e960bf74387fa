"""The explorer page (docs/explorer.md) in headless Chromium: every control redraws the plots
with other data (read back from the page's Bokeh document, not from pixels), by mouse and by
keyboard; the controls have accessible names; the setting travels in the URL; nothing comes
from another host; no console error; usable on a 390 px screen."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import ARTIFACTS
from .test_pages import _open

PAGE = "explorer.html"
# accessible name of each control -> the setting's part it chooses
CONTROLS = {"Activation": 0, "Initialization": 1, "Depth": 2, "Architecture": 3}
SOURCES = ("grad", "spread", "curve")

_DATA = (
    """() => {
  const doc = Bokeh.documents[0];
  const out = {};
  for (const name of NAMES) {
    const data = doc.get_model_by_name(name).data;
    const cols = data instanceof Map ? Array.from(data.entries()) : Object.entries(data);
    out[name] = Object.fromEntries(cols.map(([k, v]) => [k, Array.from(v)]));
  }
  return out;
}"""
).replace("NAMES", json.dumps(list(SOURCES)))

# the focused element, through the shadow roots Bokeh's widgets live in: its tag and value
_FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el ? [el.tagName.toLowerCase(), el.value === undefined ? null : el.value] : null;
}"""


def _ready(page) -> None:
    page.wait_for_function(
        "() => window.Bokeh && Bokeh.documents.length > 0"
        " && Bokeh.documents[0].get_model_by_name('grad') !== null"
    )
    page.get_by_role("combobox").nth(len(CONTROLS) - 1).wait_for()


def _data(page) -> dict:
    return page.evaluate(_DATA)


def _value(page, name: str) -> str:
    """The setting a control holds, as the page's Bokeh document has it (the options the
    browser shows carry their labels)."""
    return page.evaluate(
        "n => Bokeh.documents[0].get_model_by_name(n).value", f"select-{name.lower()}"
    )


def _setting(page) -> list[str]:
    return parse_qs(urlparse(page.url).query)["setting"][0].split(".")


@pytest.fixture
def explorer(browser, base_url, summary):
    context, page, seen = _open(browser, base_url, PAGE, summary)
    _ready(page)
    yield page, seen
    context.close()


def test_page_loads_bokeh_from_the_site_without_errors(explorer, base_url):
    page, seen = explorer
    page.wait_for_timeout(300)
    assert seen["console"] == [], seen["console"]
    assert seen["failed"] == [], seen["failed"]
    assert seen["foreign"] == [], seen["foreign"]
    srcs = page.eval_on_selector_all("script[src*=bokeh]", "els => els.map(e => e.src)")
    assert len(srcs) == 2 and all(s.startswith(base_url + "_static/bokeh/") for s in srcs)
    data = _data(page)
    assert len(data["grad"]["mid"]) >= 2 and len(data["curve"]["loss"]) >= 1
    assert page.inner_text("#vg-explorer-reading").startswith(
        ("first/last gradient ratio", "the first layer's gradient underflows")
    )


@pytest.mark.parametrize("name", CONTROLS)
def test_each_control_changes_the_plotted_data(explorer, name):
    page, seen = explorer
    control = page.get_by_role("combobox", name=name)
    assert control.count() == 1
    before, reading = _data(page), page.inner_text("#vg-explorer-reading")
    chosen = _value(page, name)
    options = control.evaluate("s => Array.from(s.options).map(o => o.value)")
    other = next(v for v in options if v != control.input_value())
    control.select_option(other)
    _changed(page, before)
    after = _data(page)
    assert after["grad"] != before["grad"] or after["spread"] != before["spread"]
    assert _value(page, name) != chosen
    assert _setting(page)[CONTROLS[name]] == _value(page, name)
    if page.inner_text("#vg-explorer-reading") == reading:
        # two settings may read alike, never with the same numbers in every plot
        assert after != before
    assert seen["console"] == []


def _changed(page, before: dict, timeout_s: float = 5.0) -> None:
    """Wait until the plotted data differ from ``before`` (the callback runs on change)."""
    for _ in range(int(timeout_s / 0.1)):
        if _data(page) != before:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the plotted data did not change")


def test_controls_are_reached_and_operated_by_keyboard(explorer):
    page, _seen = explorer
    page.locator("#vg-explorer-reading").click()  # start from the text above the controls
    reached = 0
    for _ in range(16):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused and focused[0] == "select":
            reached += 1
            if reached == len(CONTROLS):
                break
    assert reached == len(CONTROLS), f"Tab reached {reached} of the {len(CONTROLS)} controls"
    # the last control reached (the architecture) has the focus: an arrow key picks another
    before_value, before_data = _value(page, "Architecture"), _data(page)
    page.keyboard.press("ArrowDown")
    _changed(page, before_data)
    assert page.evaluate(_FOCUSED)[0] == "select"
    assert _value(page, "Architecture") != before_value
    assert _setting(page)[CONTROLS["Architecture"]] == _value(page, "Architecture")


def test_setting_in_the_url_is_shown_and_kept(browser, base_url, summary):
    context, page, seen = _open(browser, base_url, PAGE + "?setting=relu.he.40.batch_norm", summary)
    try:
        _ready(page)
        page.wait_for_timeout(300)
        for name, value in zip(CONTROLS, ["relu", "he", "40", "batch_norm"], strict=True):
            assert _value(page, name) == value
        data = _data(page)
        assert len(data["grad"]["mid"]) == 41
        assert "exploding" in page.inner_text("#vg-explorer-reading") or "ratio" in page.inner_text(
            "#vg-explorer-reading"
        )
        assert _setting(page) == ["relu", "he", "40", "batch_norm"]
        links = page.eval_on_selector_all("#vg-explorer-links a", "els => els.map(e => e.href)")
        assert any("batch-normalization" in h for h in links)
        assert seen["console"] == []
    finally:
        context.close()


def test_unknown_setting_in_the_url_falls_back_to_the_default(browser, base_url, summary):
    context, page, seen = _open(browser, base_url, PAGE + "?setting=relu.he.7.plain", summary)
    try:
        _ready(page)
        assert _value(page, "Depth") in {"5", "10", "20", "40"}
        assert seen["console"] == []
    finally:
        context.close()


def test_usable_at_390px(browser, base_url, summary):
    context, page, seen = _open(browser, base_url, PAGE, summary, width=390, height=844)
    try:
        _ready(page)
        page.wait_for_timeout(500)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"page scrolls sideways by {overflow}px at 390px"
        for name in CONTROLS:
            box = page.get_by_role("combobox", name=name).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 391, (name, box)
        for plot in ("plot-gradient", "plot-spread", "plot-loss"):
            width = page.evaluate("n => Bokeh.documents[0].get_model_by_name(n).inner_width", plot)
            assert 250 <= width <= 390, (plot, width)
        page.get_by_role("combobox", name="Architecture").select_option(label="residual")
        page.wait_for_timeout(300)
        assert _setting(page)[3] == "residual"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explorer-mobile.png"), full_page=True)
        assert seen["console"] == []
    finally:
        context.close()


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)


def test_every_setting_links_to_a_page_and_section_that_exist(site_dir):
    from vgexamples.interactive import LINKS

    for knob, targets in LINKS.items():
        for target in targets.values():
            page, _, anchor = target.partition("#")
            path = site_dir / page
            assert path.is_file(), (knob, target)
            if anchor:
                parser = _Ids()
                parser.feed(path.read_text(encoding="utf-8"))
                assert anchor in parser.ids, (knob, target)


def test_page_links_to_settings_it_discusses(site_dir):
    html = (site_dir / PAGE).read_text(encoding="utf-8")
    assert re.findall(r'href="\?setting=([\w.]+)"', html)
