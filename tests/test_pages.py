"""Every page through Streamlit's AppTest, on the demo city and on an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from indicators import operations, store

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["app_pages/overview.py", "app_pages/community.py", "app_pages/alerts.py", "app_pages/methodology.py"]
TIMEOUT = 90


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, catalog):
    path = tmp_path_factory.mktemp("pages") / "demo.duckdb"
    operations.init_database(path, catalog, demo=True).close()
    return path


def app(monkeypatch, db: Path, demo: bool = True) -> AppTest:
    monkeypatch.setenv("HEALTH_DB", str(db))
    monkeypatch.setenv("HEALTH_DEMO", "1" if demo else "0")
    monkeypatch.setenv("HEALTH_INBOX", str(db.parent / "inbox"))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    test.run()
    return test


def no_exceptions(test: AppTest) -> None:
    assert [e.value for e in test.exception] == []


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_demo_city(monkeypatch, demo_db, page):
    test = app(monkeypatch, demo_db)
    test.switch_page(page).run()
    no_exceptions(test)
    assert test.title, "each page shows a title"
    assert any("示例数据" in c.value for c in test.caption), "demo data is labelled as synthetic"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_is_friendly_on_an_empty_database(monkeypatch, tmp_path, page):
    test = app(monkeypatch, tmp_path / "empty.duckdb", demo=False)
    test.switch_page(page).run()
    no_exceptions(test)
    if page != "app_pages/methodology.py":
        assert test.info, "an empty database shows a friendly message"


def test_picking_a_community_shows_the_stored_index(monkeypatch, demo_db, catalog):
    test = app(monkeypatch, demo_db)
    for key in ("sb_district", "sb_street", "sb_community"):
        test.selectbox(key=key).select_index(1).run()
    community = test.selectbox(key="sb_community").value
    test.switch_page("app_pages/community.py").run()
    no_exceptions(test)
    period = test.selectbox(key="sb_period").value

    from ui import db as ui_db

    cursor = ui_db.connection().cursor()
    stored = store.scores(cursor, catalog, period=period, scope=community)
    shown = {m.label: m.value for m in test.metric}
    assert shown["指数"] == f"{stored['index'].iloc[0]:.1f}"


def test_switching_language_changes_the_labels(monkeypatch, demo_db):
    test = app(monkeypatch, demo_db)
    assert test.title[0].value == "总览"
    test.radio(key="sb_lang").set_value("en").run()
    no_exceptions(test)
    assert test.title[0].value == "Overview"
    assert test.query_params.get("lang") == "en"


def test_filters_are_restored_from_the_url(monkeypatch, demo_db):
    monkeypatch.setenv("HEALTH_DB", str(demo_db))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    test.query_params["lang"] = "en"
    test.query_params["g"] = "year"
    test.run()
    no_exceptions(test)
    assert test.radio(key="sb_lang").value == "en"
    assert test.segmented_control(key="sb_granularity").value == "year"
    assert len(test.selectbox(key="sb_period").value) == 4


def test_a_page_run_without_the_app_shows_no_data(monkeypatch, demo_db):
    monkeypatch.setenv("HEALTH_DB", str(demo_db))
    for page in PAGES:
        test = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
        test.run()
        no_exceptions(test)
        assert test.metric == [] and test.dataframe == []
        assert "请从首页打开" in test.warning[0].value
