"""The wall screen: URL parsing, staleness, rotation, composition, and the page through AppTest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from indicators import audit, operations, store, tokens, views
from indicators.access import SYSTEM, Principal
from indicators.catalog import Catalog
from indicators.periods import latest_closed_month, month_range, shift_month
from tests.conftest import COMMUNITIES, DISTRICT, STREETS, small_registry, values_at, write
from ui import screen
from ui.screen import Rotation, ScreenConfig, Slide

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TODAY = dt.date.today()
# Each community sits at a fraction of the way from the worst to the best goalpost, so its
# index is that fraction × 100: two normal, one blue, one yellow, one red; the sixth community
# has not reported the latest month.
FRACTIONS = {
    COMMUNITIES[0]: 0.95,
    COMMUNITIES[1]: 0.75,
    COMMUNITIES[2]: 0.62,
    COMMUNITIES[3]: 0.30,
    COMMUNITIES[4]: 0.90,
}
LATE = COMMUNITIES[5]


def expected_month(catalog: Catalog, today: dt.date = TODAY) -> str:
    return latest_closed_month(today, catalog.alerts.not_reported.deadline_day)


def city_values(catalog: Catalog, months: list[str]) -> pd.DataFrame:
    parts = [values_at(catalog, [code], months, fraction) for code, fraction in FRACTIONS.items()]
    parts.append(values_at(catalog, [LATE], months[:-1], 0.85))
    return pd.concat(parts, ignore_index=True)


def build_city(path: Path, catalog: Catalog, last_month: str, months: int = 12) -> None:
    con = operations.open_store(path, catalog)
    operations.import_registry(con, catalog, small_registry(), user="test")
    write(
        con,
        catalog,
        city_values(catalog, month_range(shift_month(last_month, 1 - months), last_month)),
    )
    con.close()


# ---------------------------------------------------------------- URL parameters


def test_defaults_when_the_url_says_nothing_but_the_token():
    config = screen.parse_config({"token": "abc"})
    assert config == ScreenConfig(token="abc", unit=None)
    assert config.views == ("overview", "streets", "attention")
    assert (config.interval, config.language, config.theme, config.problems) == (
        20,
        "zh",
        "dark",
        (),
    )


@pytest.mark.parametrize(
    ("params", "field", "value", "problem"),
    [
        ({"interval": "5"}, "interval", 5, None),
        ({"interval": "2"}, "interval", 20, ("interval", "2", "20")),
        ({"interval": "abc"}, "interval", 20, ("interval", "abc", "20")),
        ({"interval": "3601"}, "interval", 20, ("interval", "3601", "20")),
        ({"rotate": "attention,overview"}, "views", ("attention", "overview"), None),
        (
            {"rotate": "streets,charts"},
            "views",
            ("streets",),
            ("rotate", "streets,charts", "streets"),
        ),
        (
            {"rotate": "nothing"},
            "views",
            screen.VIEWS,
            ("rotate", "nothing", "overview,streets,attention"),
        ),
        ({"lang": "en"}, "language", "en", None),
        ({"lang": "fr"}, "language", "zh", ("lang", "fr", "zh")),
        ({"theme": "light"}, "theme", "light", None),
        ({"theme": "neon"}, "theme", "dark", ("theme", "neon", "dark")),
        ({"unit": STREETS[0]}, "unit", STREETS[0], None),
        ({"unit": "12345"}, "unit", None, ("unit", "12345", "token")),
    ],
)
def test_each_parameter_is_checked_and_a_bad_value_is_named(params, field, value, problem):
    config = screen.parse_config({"token": "abc", **params})
    assert getattr(config, field) == value
    assert config.problems == ((problem,) if problem else ())


def test_the_clock_ticks_at_least_every_half_minute_however_slow_the_rotation():
    assert screen.parse_config({"interval": "10"}).tick_seconds == 10
    assert screen.parse_config({"interval": "300"}).tick_seconds == screen.CLOCK_SECONDS


# ---------------------------------------------------------------- staleness and rotation


@pytest.mark.parametrize(
    ("today", "latest", "stale_expected"),
    [
        # The catalog's deadline day is 10: October is due on 10 November, and late from the 11th.
        (dt.date(2026, 11, 10), "2026-09", None),
        (dt.date(2026, 11, 11), "2026-09", "2026-10"),
        (dt.date(2026, 11, 11), "2026-10", None),
        (dt.date(2026, 11, 11), "2026-11", None),
        (dt.date(2026, 11, 11), None, "2026-10"),
        (dt.date(2027, 1, 11), "2026-11", "2026-12"),
    ],
)
def test_stale_means_older_than_the_month_whose_deadline_passed(
    catalog, today, latest, stale_expected
):
    result = screen.staleness(latest, today, catalog)
    if stale_expected is None:
        assert result is None
    else:
        assert (result.latest, result.expected) == (latest, stale_expected)
        assert result.deadline.day == catalog.alerts.not_reported.deadline_day


@pytest.mark.parametrize(
    ("previous", "now", "expected"),
    [
        (None, 100.0, Rotation(0, 100.0)),
        (Rotation(0, 100.0), 110.0, Rotation(0, 100.0)),  # halfway through the slide
        (Rotation(0, 100.0), 120.0, Rotation(1, 120.0)),  # on time
        (Rotation(0, 100.0), 119.0, Rotation(1, 119.0)),  # a timer a second early still turns
        (Rotation(2, 100.0), 121.0, Rotation(0, 121.0)),  # wraps around
        (Rotation(7, 100.0), 101.0, Rotation(1, 100.0)),  # fewer slides than before
    ],
)
def test_rotation_turns_after_the_interval(previous, now, expected):
    assert screen.next_rotation(previous, 3, now, interval=20, tick=20) == expected


def test_slow_rotation_waits_for_several_clock_ticks():
    rotation = Rotation(0, 0.0)
    positions = []
    for tick in range(1, 9):
        rotation = screen.next_rotation(rotation, 5, tick * 30.0, interval=120, tick=30)
        positions.append(rotation.position)
    assert positions == [0, 0, 0, 1, 1, 1, 1, 2]


# ---------------------------------------------------------------- composition


@pytest.fixture(scope="module")
def city(tmp_path_factory, catalog) -> tuple[Path, dict[str, str]]:
    """The city one month behind the reporting cycle (stale), with tokens for the district
    and for one street."""
    path = tmp_path_factory.mktemp("screen") / "city.duckdb"
    build_city(path, catalog, shift_month(expected_month(catalog), -1))
    con = store.connect(path)
    issued = {
        "district": tokens.issue(con, SYSTEM, DISTRICT).token,
        "street": tokens.issue(con, SYSTEM, STREETS[1]).token,
        "revoke_me": tokens.issue(con, SYSTEM, DISTRICT).token,
    }
    con.close()
    return path, issued


def read_screen(path: Path, catalog: Catalog, area: str) -> screen.ScreenData:
    con = store.connect(path)  # the same settings as the app's connection: one shared instance
    try:
        period = views.latest_period(con, catalog)
        level = "district" if area == DISTRICT else "street"
        child = screen.CHILD_LEVEL[level]
        children = store.scores(con, catalog, unit_level=child, period=period, scope=area)
        return screen.compose_screen(
            area,
            period,
            store.scores(con, catalog, unit_level=level, scope=area).query("code == @area"),
            store.scores(con, catalog, unit_level="community", period=period, scope=area),
            views.alert_list(con, catalog, period=period, scope=area, today=TODAY),
            children,
            {
                code: store.scores(con, catalog, unit_level=child, scope=code).query(
                    "code == @code"
                )
                for code in children["code"]
            },
            catalog,
            TODAY,
            demo=False,
            fetched_at=dt.datetime.now(dt.UTC),
        )
    finally:
        con.close()


def test_the_screen_counts_levels_not_reported_and_lists_who_needs_attention(city, catalog):
    data = read_screen(city[0], catalog, DISTRICT)
    assert data.period == shift_month(expected_month(catalog), -1)
    assert data.staleness.expected == expected_month(catalog)
    assert dict(data.area.counts) == {
        "red": 1,
        "yellow": 1,
        "blue": 1,
        "not_reported": 1,
        "escalated": 0,
    }
    assert [state for state, _ in data.area.counts] == [
        "red",
        "yellow",
        "blue",
        "not_reported",
        "escalated",
    ]
    assert [c.code for c in data.children] == list(STREETS)
    assert dict(data.children[0].counts) == {
        "red": 0,
        "yellow": 1,
        "blue": 1,
        "not_reported": 0,
        "escalated": 0,
    }
    assert dict(data.children[1].counts) == {
        "red": 1,
        "yellow": 0,
        "blue": 0,
        "not_reported": 1,
        "escalated": 0,
    }
    assert data.attention["state"].tolist() == ["red", "yellow", "blue", "not_reported"]
    assert data.attention["code"].tolist() == [COMMUNITIES[3], COMMUNITIES[2], COMMUNITIES[1], LATE]
    assert data.attention["street"].tolist() == ["东湖街道", "和平街道", "和平街道", "东湖街道"]
    assert len(data.area.series) == screen.TREND_MONTHS
    # The district index is the mean of its communities with an index: six last month, five now.
    assert data.area.index == pytest.approx(70.4)
    assert data.area.change == pytest.approx(70.4 - (95 + 75 + 62 + 30 + 90 + 85) / 6)

    rotation = screen.slides(("overview", "streets", "attention"), data)
    assert rotation == [
        Slide("overview"),
        Slide("streets", STREETS[0]),
        Slide("streets", STREETS[1]),
        Slide("attention"),
    ]


def test_a_street_screen_rotates_through_its_communities(city, catalog):
    data = read_screen(city[0], catalog, STREETS[0])
    assert [c.code for c in data.children] == list(COMMUNITIES[:3])
    assert [s.code for s in screen.slides(("streets",), data)] == list(COMMUNITIES[:3])


def test_the_html_names_every_level_with_its_symbol_and_escapes_names(catalog):
    unit = screen.UnitSummary(
        "990101001001",
        "<b>x</b>社区",
        62.0,
        "yellow",
        "declining",
        -1.25,
        (("red", 2), ("not_reported", 1)),
        pd.DataFrame(),
    )
    headline = screen.headline_html(unit, catalog, "zh")
    assert "62.0" in headline and "▲ 黄色预警" in headline and "较上期 −1.2" in headline
    assert "↓ 下降" in headline
    counts = screen.counts_html(unit, catalog, "en")
    assert "■ Red warning" in counts and "□ Not reported" in counts
    rows = pd.DataFrame(
        {
            "code": [unit.code],
            "name": [unit.name],
            "street": ["和平街道"],
            "state": ["yellow"],
            "index": [62.0],
            "reason_zh": ["低于 70"],
            "reason_en": ["below 70"],
        }
    )
    table = screen.attention_html(rows, catalog, "zh")
    assert "&lt;b&gt;x&lt;/b&gt;社区" in table and "<b>x</b>社区" not in table


# ---------------------------------------------------------------- the page through AppTest


def screen_app(monkeypatch, db: Path, **params: str) -> AppTest:
    monkeypatch.setenv("HEALTH_DB", str(db))
    monkeypatch.setenv("HEALTH_DEMO", "0")
    monkeypatch.setenv("HEALTH_INBOX", str(db.parent / "inbox"))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    test.query_params["view"] = "screen"
    for key, value in params.items():
        test.query_params[key] = value
    return test.run()


def shown(test: AppTest) -> str:
    """The screen's HTML without its style sheet."""
    return "\n".join(
        element.proto.body
        for element in test.get("html")
        if not element.proto.body.startswith("<style>")
    )


def assert_no_data(test: AppTest) -> None:
    text = shown(test)
    assert "data-screen-message" in text
    assert "data-index" not in text and "hs-count" not in text
    assert not test.get("plotly_chart")


def test_a_valid_token_shows_its_area_with_no_sidebar_and_a_stale_badge(monkeypatch, city, catalog):
    path, issued = city
    test = screen_app(monkeypatch, path, token=issued["district"], lang="en", theme="light")
    assert [e.value for e in test.exception] == []
    text = shown(test)
    assert "测试区 · Community governance health" in text
    assert 'data-screen-slide="overview"' in text and "data-index=" in text
    assert 'data-badge="stale"' in text, "the data is a month behind the reporting cycle"
    assert f"data for {expected_month(catalog)} was due" in text
    assert len(test.get("plotly_chart")) == 1
    assert not test.sidebar.children, "no sidebar on a wall screen"
    assert test.session_state["principal"].role == "device"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "no token"),
        ({"token": "guessed-token"}, "not valid"),
        ({"token": "street", "unit": DISTRICT}, "covers 990101002000 only"),
        ({"token": "street", "unit": STREETS[0]}, "covers 990101002000 only"),
    ],
)
def test_no_data_without_a_valid_token_for_the_unit(monkeypatch, city, params, expected):
    path, issued = city
    params = {key: issued.get(value, value) for key, value in params.items()}
    test = screen_app(monkeypatch, path, lang="en", **params)
    assert [e.value for e in test.exception] == []
    assert expected in shown(test)
    assert_no_data(test)


def test_a_token_revoked_while_shown_stops_the_data_at_the_next_refresh(monkeypatch, city):
    path, issued = city
    test = screen_app(monkeypatch, path, token=issued["revoke_me"])
    assert "data-index=" in shown(test)
    from ui import db as ui_db

    con = ui_db.connection()
    token_id = store.scalar(
        con,
        "SELECT token_id FROM device_tokens WHERE token_hash = ?",
        [tokens.hash_token(issued["revoke_me"])],
    )
    tokens.revoke(con, SYSTEM, token_id)
    test.run()
    assert "被撤销" in shown(test)
    assert_no_data(test)
    assert "principal" not in test.session_state and "screen_last_good" not in test.session_state
    refused = audit.entries(con.cursor(), action="token.use")
    assert refused.loc[refused["target"] == token_id, "detail"].tolist() == ["revoked"], (
        "one refusal recorded: the screen stops refreshing once refused"
    )


def test_a_database_error_keeps_the_last_good_view_with_a_badge(monkeypatch, city):
    path, issued = city
    test = screen_app(monkeypatch, path, token=issued["street"], rotate="overview")
    before = shown(test)
    from ui import data

    def broken() -> None:
        raise duckdb.IOException("disk I/O error")

    monkeypatch.setattr(data, "generation", broken)
    test.run()
    after = shown(test)
    assert [e.value for e in test.exception] == []
    assert 'data-badge="failed"' in after and "刷新失败，正在重试" in after
    index = before.split('data-index="', 1)[1].split('"', 1)[0]
    assert f'data-index="{index}"' in after, "the last good numbers stay on the screen"

    monkeypatch.undo()
    test.run()
    assert 'data-badge="failed"' not in shown(test), "the next good refresh drops the badge"


def test_the_screen_page_opened_directly_checks_the_token(monkeypatch, city):
    path, _ = city
    monkeypatch.setenv("HEALTH_DB", str(path))
    test = AppTest.from_file(str(ROOT / "app_pages" / "screen.py"), default_timeout=TIMEOUT).run()
    assert [e.value for e in test.exception] == []
    assert "缺少令牌" in shown(test)
    assert_no_data(test)


def test_the_tokens_page_creates_a_token_once_and_revokes_it(monkeypatch, city):
    path, _ = city
    from ui.state import Selection

    monkeypatch.setenv("HEALTH_DB", str(path))
    test = AppTest.from_file(str(ROOT / "app_pages" / "tokens.py"), default_timeout=TIMEOUT)
    test.session_state["principal"] = Principal("admin", "admin", None)
    test.session_state["_app_gate_passed"] = True
    test.session_state["selection"] = Selection(None, None, None, "month", None, "zh")
    test.run()
    assert [e.value for e in test.exception] == []
    test.selectbox(key="tk_unit").set_value(STREETS[0])
    test.text_input(key="tk_label").set_value("一楼大厅")
    test.button[0].click().run()
    [address, embedded] = [code.value for code in test.code]
    token = address.split("token=", 1)[1].split("&", 1)[0]
    assert address.endswith(f"unit={STREETS[0]}") and embedded.endswith("&embed=true")
    assert f"token={token}" in embedded
    listed = test.dataframe[0].value
    assert "一楼大厅" in listed["备注"].tolist()

    test.run()
    assert not test.code, "the token is shown once"
    from ui import db as ui_db

    token_id = store.scalar(
        ui_db.connection(), "SELECT token_id FROM device_tokens WHERE label = '一楼大厅'"
    )
    test.selectbox(key="tk_revoke_id").set_value(token_id)
    test.button[1].click().run()
    assert any(token_id in s.value for s in test.success)
    with pytest.raises(tokens.TokenRefused):
        tokens.verify(ui_db.connection().cursor(), token)


def test_only_admins_see_the_tokens_page():
    from ui.pages import pages_for

    assert "app_pages/tokens.py" in [spec.path for spec in pages_for("admin")]
    for role in ("leader", "staff", "device"):
        assert "app_pages/tokens.py" not in [spec.path for spec in pages_for(role)]
