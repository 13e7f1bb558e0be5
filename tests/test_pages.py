"""Every page through Streamlit's AppTest, signed in as an admin, on the demo city and on an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from indicators import operations, store
from indicators.access import Principal

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "app_pages/overview.py",
    "app_pages/community.py",
    "app_pages/alerts.py",
    "app_pages/methodology.py",
]
TIMEOUT = 90
ADMIN = Principal("admin", "admin", None)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, catalog):
    path = tmp_path_factory.mktemp("pages") / "demo.duckdb"
    operations.init_database(path, catalog, demo=True).close()
    return path


def app(monkeypatch, db: Path, demo: bool = True, principal: Principal | None = ADMIN) -> AppTest:
    """The app signed in as `principal` (the login itself is tested in test_auth_pages.py)."""
    monkeypatch.setenv("HEALTH_DB", str(db))
    monkeypatch.setenv("HEALTH_DEMO", "1" if demo else "0")
    monkeypatch.setenv("HEALTH_INBOX", str(db.parent / "inbox"))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if principal is not None:
        test.session_state["principal"] = principal
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
    test.session_state["principal"] = ADMIN
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


@pytest.mark.parametrize("page", ["app_pages/admin_users.py", "app_pages/audit_log.py"])
def test_the_admin_pages_run_on_the_demo_city(monkeypatch, demo_db, page):
    test = app(monkeypatch, demo_db)
    test.switch_page(page).run()
    no_exceptions(test)
    assert test.title and test.dataframe, "the account list or the audit log is shown"


def test_the_demo_login_page_lists_the_demo_accounts_and_they_sign_in(monkeypatch, demo_db):
    test = app(monkeypatch, demo_db, principal=None)
    no_exceptions(test)
    shown = test.table[0].value
    assert shown["用户名"].tolist() == ["admin", "leader", "staff"]
    row = shown.set_index("用户名").loc["staff"]
    test.text_input(key="lg_name").input("staff")
    test.text_input(key="lg_password").input(row["密码"])
    test.button(key="lg_submit").click().run()
    no_exceptions(test)
    assert test.title[0].value == "总览"
    assert test.selectbox(key="sb_street").disabled, "a street's staff member sees only that street"
    assert (
        test.selectbox(key="sb_street").format_func(test.selectbox(key="sb_street").value)
        == row["所属单位"]
    )


def test_a_damaged_database_file_gives_a_message_not_a_traceback(monkeypatch, tmp_path):
    damaged = tmp_path / "damaged.duckdb"
    damaged.write_bytes(b"this is not a DuckDB file" * 100)
    test = app(monkeypatch, damaged, demo=False, principal=None)
    no_exceptions(test)
    assert test.error and "damaged.duckdb" in test.error[0].value
    assert damaged.read_bytes() == b"this is not a DuckDB file" * 100, "the file is left alone"


def ranking_codes(test: AppTest) -> set[str]:
    ranking = test.dataframe[0].value  # the Overview's first table is the ranking
    return set(ranking[ranking.columns[0]])


def test_page_content_shared_between_sessions_stays_inside_each_account(monkeypatch, demo_db):
    """Overview content is cached across sessions by the scope it was read for: a leader of
    one district opening the Overview after a leader of another never sees the first's units."""
    districts = sorted(ranking_codes(app(monkeypatch, demo_db)))  # the admin's ranking: districts
    assert len(districts) >= 2
    for district in districts[:2]:
        test = app(
            monkeypatch, demo_db, principal=Principal(f"leader-{district}", "leader", district)
        )
        no_exceptions(test)
        streets = ranking_codes(test)
        assert streets, "the ranking lists the district's streets"
        assert all(code.startswith(district[:6]) and code != district for code in streets)


def test_the_hierarchy_of_a_large_area_stops_at_streets(monkeypatch, demo_db):
    import streamlit as st

    from ui import overview

    def hierarchy_ids(test: AppTest) -> list[str]:
        chart = next(c for c in test.get("plotly_chart") if '"sunburst"' in c.proto.spec)
        import json

        return json.loads(chart.proto.spec)["data"][0]["ids"]

    full = hierarchy_ids(app(monkeypatch, demo_db))
    assert any(code.endswith("000") is False for code in full), "communities are drawn"
    monkeypatch.setattr(overview, "HIERARCHY_MAX_COMMUNITIES", 10)
    st.cache_resource.clear()
    test = app(monkeypatch, demo_db)
    no_exceptions(test)
    shown = hierarchy_ids(test)
    assert shown and all(code.endswith("000") for code in shown), "only districts and streets"
    assert set(shown) < set(full)
    assert any("只画到街道" in c.value for c in test.caption)
    st.cache_resource.clear()


def test_the_dashboard_bounds_duckdb_memory_and_refuses_a_bad_limit(monkeypatch, tmp_path):
    from ui import db as ui_db

    monkeypatch.setenv("HEALTH_DB_MEMORY_LIMIT", "lots")
    test = app(monkeypatch, tmp_path / "limit.duckdb", demo=False, principal=None)
    no_exceptions(test)
    assert test.error and "HEALTH_DB_MEMORY_LIMIT" in test.error[0].value

    monkeypatch.setenv("HEALTH_DB_MEMORY_LIMIT", "300MB")
    test = app(monkeypatch, tmp_path / "limit.duckdb", demo=False)
    no_exceptions(test)
    limit = store.scalar(ui_db.cursor(), "SELECT current_setting('memory_limit')")
    assert limit.startswith("286") or limit.startswith("300"), limit  # 300 MB shown in MiB


def test_a_large_area_offers_a_search_instead_of_every_community(monkeypatch, demo_db):
    from ui import community

    monkeypatch.setattr(community, "PICKER_OPTIONS", 3)
    test = app(monkeypatch, demo_db)
    test.switch_page("app_pages/community.py").run()
    no_exceptions(test)
    picker = test.selectbox(key="cm_pick")
    assert len(picker.options) == 3
    assert any("列出 3 个" in c.value for c in test.caption)

    wanted = picker.options[-1]  # "name（code）"
    code = wanted.rsplit("（", 1)[1].rstrip("）")
    test.text_input(key="cm_search").input(code[-6:]).run()
    no_exceptions(test)
    assert wanted in test.selectbox(key="cm_pick").options

    test.text_input(key="cm_search").input("不存在的社区").run()
    no_exceptions(test)
    assert any("不存在的社区" in i.value for i in test.info)
