"""Browser test of the upload page: a real .xlsx dropped on the uploader shows its dry run."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from indicators import accounts, operations
from indicators.access import SYSTEM
from indicators.periods import current_month, shift_month
from tests.browser import (
    ROOT,
    RUN_TIMEOUT_MS,
    Server,
    assert_healthy,
    chromium,
    main_text,
    new_page,
    screenshot,
    wait_for_app,
)
from tests.conftest import COMMUNITIES, STREETS, small_registry

pytestmark = pytest.mark.e2e

WORK = ROOT / "tmp" / "e2e" / "upload"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LAST_MONTH = shift_month(current_month(), -1)
ACCOUNT, PASSWORD = "li", "upload-test-7"  # staff of 和平街道


def small_db(catalog) -> Path:
    """Two streets and li's account; written and closed before the server opens the file."""
    path = WORK / "upload.duckdb"
    WORK.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = operations.open_store(path, catalog)
    operations.import_registry(con, catalog, small_registry(), user="admin")
    accounts.create_account(
        con, ACCOUNT, "staff", STREETS[0], PASSWORD, actor=SYSTEM, source="test"
    )
    con.close()
    return path


def workbook_as_excel_saves_it() -> bytes:
    """A title row, the header with units, codes as text, a date cell and a percent cell."""
    year, month = (int(part) for part in LAST_MONTH.split("-"))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "11月"
    sheet.append(["和平街道社区治理指标报表"])
    sheet.append(["社区代码", "社区名称", "统计期", "群众满意度（%）", "诉求响应时长(小时)"])
    sheet.append([COMMUNITIES[0], "测试社区001", dt.datetime(year, month, 1), 0.885, 12])
    sheet.append([COMMUNITIES[1], "测试社区002", LAST_MONTH, 0.9, 6])
    for row in (3, 4):
        sheet.cell(row, 1).number_format = "@"
        sheet.cell(row, 3).number_format = "yyyy-mm"
        sheet.cell(row, 4).number_format = "0.0%"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_uploaded_workbook_shows_its_dry_run(catalog):
    db = small_db(catalog)
    server = Server(db, WORK / "server.log")
    try:
        server.wait_healthy()
        with chromium() as browser:
            page = new_page(browser, viewport={"width": 1400, "height": 1800})
            page.goto(server.url)
            wait_for_app(page)
            page.locator('input[type="text"]').first.fill(ACCOUNT)
            page.locator('input[type="password"]').fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.locator('[data-testid="stSidebarNav"]').get_by_text("数据上报").click()
            page.get_by_role("heading", name="数据上报").wait_for(timeout=RUN_TIMEOUT_MS)
            wait_for_app(page)
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                {
                    "name": "11月报表.xlsx",
                    "mimeType": XLSX_MIME,
                    "buffer": workbook_as_excel_saves_it(),
                }
            )
            page.get_by_text("没有发现错误").wait_for(timeout=RUN_TIMEOUT_MS)
            wait_for_app(page)
            dry_run = page.locator('[data-testid="stDataFrame"]').first
            assert dry_run.is_visible()
            # the grid's accessible text: headers, then file, outcome, rows 2, new 4, 0, 0, 0
            assert (
                dry_run.text_content()
                == "文件结果数据行新增修改未变拒绝（行）11月报表.xlsx可以导入24000"
            )
            text = main_text(page)
            assert "11月报表.xlsx：没有发现错误，2 行可以导入" in text
            assert "确认导入（1 个文件）" in text
            assert_healthy(page)
            screenshot(page, "upload")
    finally:
        server.stop()
