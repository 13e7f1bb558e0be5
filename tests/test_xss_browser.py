"""In a real browser, unit names carrying <script> and <img onerror> from an imported registry are shown as text and never run."""

from __future__ import annotations

import pytest

from indicators import accounts, operations, store
from indicators.access import SYSTEM
from tests import accounts_fixtures as fx
from tests.browser import (
    WORK,
    Server,
    assert_healthy,
    chromium,
    main_text,
    new_page,
    sign_in,
    wait_for_app,
)
from tests.conftest import values_at, write

pytestmark = pytest.mark.e2e

SCRIPT_NAME = "<script>alert(1)</script>社区"
IMG_NAME = "<img src=x onerror=alert(1)>街道"
ADMIN, PASSWORD = "root", "correct-horse-7"


def registry_file() -> bytes:
    """The org registry as a person sends it (代码, 名称, 常住人口), with the two hostile names."""
    names = {fx.IN_STREET_1: SCRIPT_NAME, fx.STREET_1: IMG_NAME}
    rows = ["代码,名称,常住人口"]
    for code, name in fx.registry(names)[["code", "name"]].itertuples(index=False):
        rows.append(f"{code},{name},5000")
    return ("\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def hostile_db(catalog):
    """Prepared before the server starts (one process per DuckDB file)."""
    path = WORK / "xss" / "hostile.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    parsed = operations.read_registry("名录.csv", registry_file())
    assert parsed.ok, parsed.errors
    con = operations.open_store(path, catalog)
    try:
        operations.import_registry(con, catalog, parsed.units, user="test", file_name="名录.csv")
        assert SCRIPT_NAME in set(store.registry(con, scope=None)["name"])
        write(con, catalog, values_at(catalog, list(fx.COMMUNITIES), fx.MONTHS, 0.6))
        accounts.create_account(con, ADMIN, "admin", None, PASSWORD, actor=SYSTEM, source="test")
    finally:
        con.close()
    return path


def test_hostile_unit_names_are_text_and_never_run(hostile_db):
    server = Server(hostile_db, WORK / "xss" / "streamlit.log")
    try:
        server.wait_healthy()
        with chromium() as browser:
            page = new_page(browser)
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            # A shared deep link: the login first, then the community it names.
            page.goto(
                f"{server.url}/community?d={fx.DISTRICT_1}&s={fx.STREET_1}&c={fx.IN_STREET_1}"
            )
            wait_for_app(page)
            sign_in(page, ADMIN, PASSWORD)
            assert page.locator("h1").first.inner_text() == SCRIPT_NAME
            page.get_by_role("link", name="总览").click()
            wait_for_app(page)
            assert IMG_NAME in main_text(page), "the street's name heads the overview"
            assert page.locator('img[src="x"]').count() == 0
            assert page.locator("script", has_text="alert(1)").count() == 0
            page.wait_for_timeout(500)
            assert dialogs == []
            assert_healthy(page)
    finally:
        server.stop()
