"""Browser tests of the leaders' dashboard: walk every page, switch language, URL filters, deep links.

Debian's chromium (through Playwright) against a live `streamlit run app.py` on 127.0.0.1.
Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser import (
    DEMO_ADMIN,
    ROOT,
    RUN_TIMEOUT_MS,
    Server,
    assert_healthy,
    build_demo,
    chromium,
    main_text,
    new_page,
    screenshot,
    sidebar_filters,
    sign_in,
    wait_for_app,
    wait_for_text,
)

pytestmark = pytest.mark.e2e

WORK = ROOT / "tmp" / "e2e"


@pytest.fixture(scope="module")
def demo_db() -> Path:
    path = WORK / "main" / "demo.duckdb"
    build_demo(path)
    return path


@pytest.fixture(scope="module")
def district_code(demo_db: Path) -> str:
    """A district of the demo city, read with the CLI before any server holds the file."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "indicators",
            "scores",
            "--level",
            "district",
            "--format",
            "json",
            "--db",
            str(demo_db),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    codes = sorted({row["code"] for row in json.loads(out)})
    assert len(codes) >= 2, codes
    return codes[-1]  # not the first one, so a default selection cannot pass by accident


@pytest.fixture(scope="module")
def fresh_db_template(demo_db: Path) -> Path:
    """A byte copy of the demo database for the fresh servers (one process per DuckDB file)."""
    copy = WORK / "template" / "demo.duckdb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(demo_db, copy)
    return copy


@pytest.fixture(scope="module")
def server(demo_db: Path, district_code: str, fresh_db_template: Path) -> Iterator[str]:
    # district_code and fresh_db_template read/copy the file before this process locks it.
    running = Server(demo_db, WORK / "main" / "streamlit.log")
    try:
        running.wait_healthy()
        yield running.url
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    page = new_page(browser)
    yield page
    page.context.close()


PAGES = [
    # (url path, sidebar link text, text the page must show, screenshot name)
    ("/overview", "总览", "总览", "overview"),
    ("/community", "社区详情", "指数", "community"),
    ("/alerts", "预警", None, "alerts"),
    ("/methodology", "方法", "维度权重", "methodology"),
]


def test_walk_every_page(server: str, page) -> None:
    """Sign in, then reach every page through the sidebar menu; no exception, no console error."""
    page.goto(f"{server}/?lang=zh")
    wait_for_app(page)
    assert page.get_by_label("用户名").is_visible(), "a signed-out visitor sees the login first"
    assert "admin-demo" in main_text(page), "the demo database lists its demo accounts"
    sign_in(page, *DEMO_ADMIN)
    for path, link, expected, name in PAGES:
        if path != "/overview":
            page.locator('[data-testid="stSidebarNav"] a', has_text=link).first.click()
            page.wait_for_url(f"**{path}*", timeout=RUN_TIMEOUT_MS)
        wait_for_app(page)
        assert urlparse(page.url).path in ((path, "/") if path == "/overview" else (path,))
        text = wait_for_text(page, expected) if expected else main_text(page)
        assert page.locator("h1").first.is_visible()
        assert_healthy(page)
        if path == "/overview":
            assert "示例数据" in text
            assert page.locator("h1").first.inner_text().strip() == "总览"
        if path == "/alerts":
            assert page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').count() >= 1
        screenshot(page, name)
    assert_healthy(page)


def test_shared_link_and_language_switch(server: str, page, district_code: str) -> None:
    """A link with a district survives the login, drives the filters, and English relabels it."""
    page.goto(f"{server}/?d={district_code}&lang=zh")
    wait_for_app(page)
    sign_in(page, *DEMO_ADMIN)
    assert_healthy(page)
    shown = sidebar_filters(page).first.inner_text()
    assert "全部" not in shown.splitlines()[-1], f"district not selected: {shown!r}"
    assert parse_qs(urlparse(page.url).query).get("d") == [district_code]
    assert sidebar_filters(page).nth(1).locator("input").first.is_enabled()
    assert page.locator("h1").first.inner_text().strip() == "总览"
    page.locator(
        '[data-testid="stSidebar"] [data-testid="stRadio"] label', has_text="English"
    ).first.click()
    page.locator("h1", has_text="Overview").first.wait_for(timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    assert_healthy(page)
    query = parse_qs(urlparse(page.url).query)
    assert query.get("lang") == ["en"]
    assert query.get("d") == [district_code], "the district survives the language switch"


def test_deep_link_on_fresh_server(fresh_db_template: Path, browser) -> None:
    """The very first request to a brand-new server is a deep link: it must show the login
    (no data, no exception); legacy pages/ paths show no data either; after signing in the
    page it named opens."""
    folder = WORK / "fresh"
    shutil.rmtree(folder, ignore_errors=True)  # a previous run's write-ahead log must not replay
    db = folder / "demo.duckdb"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fresh_db_template, db)
    fresh = Server(db, folder / "streamlit.log")
    try:
        fresh.wait_healthy()
        legacy = new_page(browser)  # the path a legacy pages/ router would have served
        legacy.goto(f"{fresh.url}/pages/alerts.py")
        legacy.wait_for_timeout(3000)
        assert legacy.locator('[data-testid="stDataFrame"], [data-testid="stMetric"]').count() == 0
        legacy.context.close()
        for target in ("/community", "/alerts"):
            page = new_page(browser)
            page.goto(f"{fresh.url}{target}")
            wait_for_app(page)
            exceptions = page.locator('[data-testid="stException"]')
            assert exceptions.count() == 0, f"{target}: {exceptions.first.inner_text()}"
            assert page.get_by_label("用户名").is_visible(), f"{target}: no login shown"
            assert page.locator('[data-testid="stDataFrame"]').count() == 0, f"{target}: data shown"
            if target == "/community":
                sign_in(page, *DEMO_ADMIN)
                assert urlparse(page.url).path == "/community"
                assert_healthy(page)
                assert sidebar_filters(page).count() >= 3
            page.context.close()
    finally:
        fresh.stop()
