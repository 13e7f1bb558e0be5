"""The HTML report and bulletin in Debian's chromium: offline, no console errors, A4 print, screenshots."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from indicators import operations, reports
from indicators.access import SYSTEM
from reporting.html import report_html
from tests.browser import chromium, new_page, screenshot

pytestmark = pytest.mark.e2e

PERIOD = "2026-10"
UNITS = {"report": "990101001003", "bulletin": "990101000000"}
# A4 is 210 mm wide; less the print stylesheet's 12 mm margins each side that leaves 186 mm,
# about 703 CSS pixels at 96 per inch.
A4_CONTENT_WIDTH = 703
A4_POINTS = (595.3, 841.9)  # 210 × 297 mm in PDF points


@pytest.fixture(scope="module")
def pages(tmp_path_factory, catalog):
    folder = tmp_path_factory.mktemp("report_pages")
    con = operations.init_database(folder / "demo.duckdb", catalog, demo=True, last_month=PERIOD)
    try:
        files = {}
        for name, code in UNITS.items():
            report = reports.build_report(
                con, catalog, code, PERIOD, SYSTEM, today=dt.date(2026, 11, 23)
            )
            files[name] = folder / f"{name}.html"
            files[name].write_text(report_html(report, catalog, "zh"), encoding="utf-8")
    finally:
        con.close()
    return files


def test_reports_render_offline_without_errors_and_print_on_a4(pages):
    with chromium() as browser:
        for name, path in pages.items():
            page = new_page(browser, viewport={"width": 1000, "height": 1500})
            fetched: list[str] = []
            page.on("request", lambda request, seen=fetched: seen.append(request.url))
            page.goto(path.as_uri(), wait_until="load")
            assert page.console.errors == [], page.console.errors
            assert [url for url in fetched if not url.startswith("file://")] == [], "works offline"
            charts = page.locator("figure svg")
            assert charts.count() >= 3
            for index in range(charts.count()):
                box = charts.nth(index).bounding_box()
                assert box is not None and box["width"] > 600 and box["height"] > 20
            assert page.locator(".level-badge").count() > 5, "levels are shown as labelled badges"
            screenshot(page, name)

            page.emulate_media(media="print")
            page.set_viewport_size({"width": A4_CONTENT_WIDTH, "height": 1000})
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= A4_CONTENT_WIDTH + 1, (
                f"{name}: content {overflow}px wider than an A4 page"
            )
            pdf = page.pdf(format="A4", print_background=True)
            assert pdf.startswith(b"%PDF")
            for box in re.findall(rb"/MediaBox \[([^\]]+)\]", pdf):
                width, height = (float(v) for v in box.split()[2:4])
                assert abs(width - A4_POINTS[0]) < 2 and abs(height - A4_POINTS[1]) < 2, box
            assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2, "a multi-page printout"
            page.context.close()
