"""The demo report in a real browser (Debian's Chromium through Playwright): no table is cut off.

On screen, a table wider than the page scrolls inside its own frame (the page itself never scrolls
sideways); printed, every table fits the paper width in full.  A screenshot is written for a person to
look at (``report-screen.png`` and ``report-print.pdf`` in the test's folder).
"""

from __future__ import annotations

import pytest

from tests._services import chromium_path

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]

MEASURE = """() => Array.from(document.querySelectorAll('.table-wrap')).map(w => {
  const t = w.querySelector('table');
  return {caption: w.getAttribute('aria-label'), wrap: w.clientWidth, table: t.scrollWidth,
          overflow: getComputedStyle(w).overflowX, right: w.getBoundingClientRect().right};
})"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from recoverystudy.report.demo import run_demo

    out = tmp_path_factory.mktemp("report-browser")
    return run_demo(out / "demo", seed=0, scale=0.2).report_path


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=LAUNCH_ARGS)
        yield b
        b.close()


def test_screen_tables_scroll_inside_their_frame(report, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(report.as_uri())
    tables = page.evaluate(MEASURE)
    assert len(tables) >= 5
    page_width = page.evaluate("() => document.documentElement.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= page_width  # no sideways page scroll
    for t in tables:
        assert t["right"] <= page_width + 1, t
        if t["table"] > t["wrap"] + 1:   # wider than its frame: the frame scrolls, nothing is clipped
            assert t["overflow"] == "auto", t
    page.screenshot(path=str(report.parent / "report-screen.png"), full_page=True)
    page.close()


def test_printed_tables_fit_the_paper(report, browser):
    page = browser.new_page(viewport={"width": 794, "height": 1123})   # A4 at 96 dpi
    page.goto(report.as_uri())
    page.emulate_media(media="print")
    for t in page.evaluate(MEASURE):
        assert t["table"] <= t["wrap"] + 1, f"table {t['caption']!r} is cut off when printed: {t}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 794
    page.pdf(path=str(report.parent / "report-print.pdf"), format="A4")
    page.close()
