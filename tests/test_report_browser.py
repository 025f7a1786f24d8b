"""The report of a small sweep opened in a real browser: headless Chromium (Debian's
`chromium`) driven by playwright. Outside CI it is skipped, saying why, when Chromium or
playwright is missing; under CI=true it fails instead."""
import os
import shutil
from pathlib import Path

import pytest


CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def _browser_or_skip():
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed (pip install -e '.[dev]')")
    if missing and os.environ.get("CI") == "true":
        pytest.fail("browser test under CI=true: " + "; ".join(missing))
    if missing:
        pytest.skip("browser test skipped: " + "; ".join(missing))


def wait_until(page, expression, timeout=30.0):
    """Poll a JavaScript expression until it is true. (page.wait_for_function evaluates its
    predicate with eval inside the page, which the report's Content-Security-Policy refuses;
    page.evaluate runs outside the page's policy.)"""
    import time
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise AssertionError(f"not true after {timeout} s: {expression}")
        time.sleep(0.05)


@pytest.mark.slow
def test_the_report_works_in_a_real_browser(small_sweep, tmp_path):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    page_path = small_sweep / "report" / "report.html"
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.resolve().as_uri())
            wait_until(page, "document.querySelectorAll('.chart[data-rendered]').length >= 5")
            rows = page.locator("#runs tbody tr")
            assert rows.count() == 4                                  # one row per run
            assert page.locator("#results tbody tr").count() == 2     # and per group, at the top
            assert page.locator("#results-said li").count() >= 1
            # sorting: click a header, the column is ascending; again, descending
            columns = page.eval_on_selector_all("#runs thead th", "ths => ths.map(t => t.textContent)")
            col = columns.index("final val_loss")
            header = page.locator("#runs thead th").nth(col)
            values = "Array.from(document.querySelectorAll('#runs tbody tr')).map(r => +r.children[%d].dataset.v)" % col
            header.click()
            up = page.evaluate(values)
            assert up == sorted(up) and len(set(up)) > 1
            header.click()
            assert page.evaluate(values) == sorted(up, reverse=True)
            # filtering by text
            page.fill("#filter", "bptt=5")
            assert page.locator("#runs tbody tr:visible").count() == 2
            page.fill("#filter", "")
            # each run's section: its charts are drawn when opened; then every chart is rendered
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            # (the toggle events run after this call returns: wait for the runs' charts to appear)
            # a run's charts: loss and gradient reach; its constant rate is a note, not a flat chart
            wait_until(page, "document.querySelectorAll('.chart').length === 5 + 4 * 2 && "
                                   "document.querySelectorAll('.chart').length === "
                                   "document.querySelectorAll('.chart[data-rendered]').length")
            charts = page.locator(".chart")
            assert charts.count() == 5 + 4 * 2                        # 5 of the sweep, 2 per run
            notes = page.eval_on_selector_all("details p.note", "ps => ps.map(p => p.textContent)")
            assert notes.count("learning rate 0.1000 throughout") == 4
            for i in range(charts.count()):
                assert charts.nth(i).locator("svg.main-svg").count() >= 1
            assert page.locator("img.view").count() == 4
            page.evaluate("Promise.all(Array.from(document.images).map(i => i.decode()))")
            assert all(page.evaluate("Array.from(document.images).map(i => i.naturalWidth > 0)"))
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requests and all(u.startswith("file://") for u in requests), requests
    assert shot.stat().st_size > 50_000
    keep = os.environ.get("REPORT_SCREENSHOT")  # to look at it: REPORT_SCREENSHOT=/tmp/shot.png
    if keep:
        shutil.copyfile(shot, keep)


@pytest.mark.slow
def test_without_webgl_the_parallel_chart_is_drawn_as_svg_and_the_runs_table_fits(small_sweep):
    """Headless browsers and remote desktops have no WebGL: plotly's parcoords would show a
    grey 'WebGL is not supported' box; the report draws the same lines as an SVG chart. And
    the runs table fits a 1400-pixel window without a horizontal scroll."""
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    page_path = small_sweep / "report" / "report.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=ARGS + ["--disable-webgl", "--disable-3d-apis"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_path.resolve().as_uri())
            wait_until(page, "document.querySelector('#parallel[data-rendered]') !== null")
            assert page.evaluate("!document.createElement('canvas').getContext('webgl')")
            assert page.get_attribute("#parallel", "data-fallback") == "svg"
            assert page.locator("#parallel svg.main-svg .scatterlayer .trace").count() == 4
            assert "WebGL is not supported" not in page.inner_text("body")
            assert "drawn without WebGL" in page.inner_text("#parallel")
            scroller = page.locator("#runs").locator("xpath=..")
            assert page.evaluate("e => e.scrollWidth <= e.clientWidth", scroller.element_handle())
        finally:
            browser.close()
