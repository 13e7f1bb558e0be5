"""Community health reports and bulletins: numbers against the store, XLSX and HTML files, the CLI."""

from __future__ import annotations

import datetime as dt
import html
import io
import time

import openpyxl
import pandas as pd
import pytest

from indicators import operations, reports, store, views
from indicators.__main__ import main
from indicators.access import SYSTEM, AccessDenied, Principal
from indicators.orgs import level_of
from indicators.reports import Bulletin, CommunityReport, ReportError
from reporting.files import file_name, report_bytes
from reporting.html import report_html
from reporting.xlsx import frames_workbook, report_workbook
from tests.conftest import COMMUNITIES, DISTRICT, STREETS, small_registry, values_at, write

PERIOD = "2026-10"
# Demo-city units with a story: a community at yellow for years (escalated), its street and
# district, and a street of another district.
YELLOW_COMMUNITY = "990101001003"
STREET = "990101001000"
DEMO_DISTRICT = "990101000000"
OTHER_STREET = "990102001000"
# The day the reports are made: after the October deadline, so missing months count.
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, catalog):
    path = tmp_path_factory.mktemp("reports") / "demo.duckdb"
    con = operations.init_database(path, catalog, demo=True, last_month=PERIOD)
    yield path, con
    con.close()


@pytest.fixture(scope="module")
def con(demo):
    return demo[1]


@pytest.fixture(scope="module")
def community(con, catalog) -> CommunityReport:
    report = reports.build_report(con, catalog, YELLOW_COMMUNITY, PERIOD, SYSTEM, today=TODAY)
    assert isinstance(report, CommunityReport)
    return report


@pytest.fixture(scope="module")
def district(con, catalog) -> Bulletin:
    report = reports.build_report(con, catalog, DEMO_DISTRICT, PERIOD, SYSTEM, today=TODAY)
    assert isinstance(report, Bulletin)
    return report


def stored(con, catalog, code: str, period: str = PERIOD) -> pd.Series:
    frame = store.scores(
        con, catalog, granularity="month", unit_level=level_of(code), period=period, scope=code
    )
    return frame[frame["code"] == code].iloc[0]


# ---- the data against the store ---------------------------------------------------------------


def test_the_community_report_states_the_stored_index_level_and_dimensions(con, catalog, community):
    row, before = (
        stored(con, catalog, YELLOW_COMMUNITY),
        stored(con, catalog, YELLOW_COMMUNITY, "2026-09"),
    )
    assert community.unit.name == row["name"]
    assert community.headline.index == pytest.approx(row["index"])
    assert community.headline.state == row["level"] == "yellow"
    assert community.headline.change == pytest.approx(row["index"] - before["index"])
    assert community.meta.previous_period == "2026-09"
    street, district = stored(con, catalog, STREET), stored(con, catalog, DEMO_DISTRICT)
    dims = community.dimensions.set_index("dimension")
    for dimension in catalog.weighted_dimensions:
        assert dims.loc[dimension.id, "score"] == pytest.approx(row[dimension.id])
        assert dims.loc[dimension.id, "street"] == pytest.approx(street[dimension.id])
        assert dims.loc[dimension.id, "district"] == pytest.approx(district[dimension.id])
    assert (community.street.code, community.district.code) == (STREET, DEMO_DISTRICT)
    assert community.series["period"].iloc[-1] == PERIOD
    assert len(community.series) == reports.TREND_PERIODS


def test_each_indicator_carries_its_stored_value_score_colour_and_goalposts(
    con, catalog, community
):
    expected = store.indicator_scores(
        con, catalog, YELLOW_COMMUNITY, "month", PERIOD, scope=YELLOW_COMMUNITY
    ).set_index("indicator")
    shown = community.indicators.set_index("indicator")
    assert list(shown.index) == [i.id for i in catalog.indicators]
    for indicator in catalog.indicators:
        assert shown.loc[indicator.id, "value"] == pytest.approx(
            expected.loc[indicator.id, "value"]
        )
        assert shown.loc[indicator.id, "score"] == pytest.approx(
            expected.loc[indicator.id, "score"]
        )
        assert shown.loc[indicator.id, "level"] == expected.loc[indicator.id, "level"]
        assert (shown.loc[indicator.id, "best"], shown.loc[indicator.id, "worst"]) == (
            indicator.best,
            indicator.worst,
        )


def test_the_attribution_adds_up_to_the_index_change(community):
    assert len(community.attribution)
    assert community.attribution["contribution"].sum() == pytest.approx(
        community.headline.change, abs=1e-9
    )
    magnitudes = community.attribution["contribution"].abs().tolist()
    assert magnitudes == sorted(magnitudes, reverse=True), "largest contribution first"


def test_alert_history_and_completeness(con, catalog, community):
    escalated = community.escalations[community.escalations["escalated"]]
    assert set(escalated["period"]) == {"2024", "2025"}, (
        "escalated in every complete year it qualified"
    )
    assert community.escalations["period"].max() <= "2025", (
        "the year in progress is not assessed yet"
    )
    assert set(community.completeness["months_expected"]) == {1}
    reported = store.current_values(con, PERIOD, scope=YELLOW_COMMUNITY)
    assert community.completeness.set_index("indicator")["months_reported"].sum() == len(reported)
    assert (community.months_reported, community.months_expected) == (1, 1)


def test_the_district_bulletin_counts_match_the_store(con, catalog, district):
    stored_counts = store.level_counts(
        con, catalog, DEMO_DISTRICT, PERIOD, "month", scope=DEMO_DISTRICT
    )
    for state, n in stored_counts.items():
        assert district.counts[state] == n
    row = stored(con, catalog, DEMO_DISTRICT)
    assert district.headline.index == pytest.approx(row["index"])
    assert district.headline.coverage == pytest.approx(row["coverage"])
    communities = store.scores(
        con,
        catalog,
        granularity="month",
        unit_level="community",
        period=PERIOD,
        scope=DEMO_DISTRICT,
    )
    flagged = communities[communities["level"].notna() & (communities["level"] != "normal")]
    assert sorted(district.flagged["code"]) == sorted(flagged["code"])
    ranks = district.flagged["level"].map({lv: r for r, lv in enumerate(catalog.level_ids)})
    assert ranks.is_monotonic_decreasing, "red first, then yellow, then blue"
    for level in catalog.level_ids:
        assert int(district.children[level].sum()) == stored_counts[level], level
    streets = store.scores(
        con, catalog, granularity="month", unit_level="street", period=PERIOD, scope=DEMO_DISTRICT
    )
    assert sorted(district.children["code"]) == sorted(streets["code"])


def test_the_bulletin_lists_escalations_non_reporters_and_movers(con, catalog, district):
    alerts = views.alert_list(con, catalog, PERIOD, scope=DEMO_DISTRICT, today=TODAY)
    assert sorted(district.escalations["code"]) == sorted(
        alerts.loc[alerts["state"] == "escalated", "code"]
    )
    assert (district.escalations["periods"] >= 1).all()
    assert (district.escalations["since"] <= PERIOD).all()
    assert sorted(district.not_reported["code"]) == sorted(
        alerts.loc[alerts["state"] == "not_reported", "code"]
    )
    assert district.counts["not_reported"] == len(district.not_reported) > 0
    ups = district.movers[district.movers["direction"] == "up"]
    downs = district.movers[district.movers["direction"] == "down"]
    assert len(ups) and len(downs)
    assert ups["change"].is_monotonic_decreasing and (ups["change"] > 0).all()
    assert downs["change"].is_monotonic_increasing and (downs["change"] < 0).all()
    for drivers, direction in zip(
        district.movers["drivers"], district.movers["direction"], strict=True
    ):
        assert drivers, "every mover names the indicators behind its change"
        assert all((c > 0) == (direction == "up") for _, c in drivers)


def test_indicator_averages_are_the_area_mean_against_the_goalposts(con, catalog, district):
    pair = store.indicator_scores_pair(con, catalog, PERIOD, PERIOD, "month", scope=DEMO_DISTRICT)
    means = pair.groupby("indicator")["value"].mean()
    shown = district.indicator_averages.set_index("indicator")
    for indicator in catalog.indicators:
        assert shown.loc[indicator.id, "mean_value"] == pytest.approx(means[indicator.id])
        assert shown.loc[indicator.id, "best"] == indicator.best
        assert shown.loc[indicator.id, "level"] == catalog.level_of(
            shown.loc[indicator.id, "mean_score"]
        )


@pytest.mark.parametrize("period", ["2026-Q3", "2026-Q4", "2025", "2023-11"])
def test_quarters_years_and_the_first_month_are_reported(con, catalog, period):
    bulletin = reports.build_report(con, catalog, STREET, period, SYSTEM, today=TODAY)
    report = reports.build_report(con, catalog, YELLOW_COMMUNITY, period, SYSTEM, today=TODAY)
    assert bulletin.meta.period == report.meta.period == period
    # A quarter in progress expects only the months that have data anywhere so far.
    expected = {"2026-Q3": 3, "2026-Q4": 1, "2025": 12, "2023-11": 1}[period]
    assert report.months_expected == expected
    if period == "2023-11":
        assert report.meta.previous_period is None and report.attribution.empty
        assert bulletin.movers.empty


@pytest.mark.parametrize("period", [PERIOD, "2026-Q4"])
def test_a_community_that_did_not_report_gets_a_report_saying_so(con, catalog, period):
    street = reports.build_report(con, catalog, STREET, PERIOD, SYSTEM, today=TODAY)
    silent = street.not_reported["code"].iloc[0]
    report = reports.build_report(con, catalog, silent, period, SYSTEM, today=TODAY)
    assert report.headline.state == "not_reported" and pd.isna(report.headline.index)
    assert report.months_reported == 0
    assert "未报送" in report_html(report, catalog, "zh")
    assert (
        summary_values(workbook(report_workbook(report, catalog, "zh")))["预警等级"] == "□ 未报送"
    )


def test_unknown_units_and_periods_are_refused_plainly(con, catalog):
    with pytest.raises(ReportError, match="990109000000"):
        reports.build_report(con, catalog, "990109000000", PERIOD, SYSTEM)
    with pytest.raises(ReportError, match="12位"):
        reports.build_report(con, catalog, "99010100100X", PERIOD, SYSTEM)
    with pytest.raises(ReportError) as refused:
        reports.build_report(con, catalog, STREET, "2031-01", SYSTEM)
    assert "2023-11 — 2026-10" in refused.value.message("en")


def test_reports_stay_inside_the_principal_s_subtree(con, catalog):
    leader = Principal("street_leader", "leader", STREET)
    assert (
        reports.build_report(con, catalog, YELLOW_COMMUNITY, PERIOD, leader).unit.code
        == YELLOW_COMMUNITY
    )
    with pytest.raises(AccessDenied):
        reports.build_report(con, catalog, OTHER_STREET, PERIOD, leader)
    with pytest.raises(AccessDenied):
        reports.build_report(
            con, catalog, YELLOW_COMMUNITY, PERIOD, Principal("screen", "device", None)
        )


# ---- the XLSX workbooks -----------------------------------------------------------------------


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def summary_values(book: openpyxl.Workbook) -> dict[str, object]:
    sheet = book.worksheets[0]
    return {row[0].value: row[1].value for row in sheet.iter_rows()}


def sheet_records(book: openpyxl.Workbook, title: str) -> tuple[list[str], list[tuple]]:
    rows = list(book[title].iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


def test_the_community_workbook_holds_the_store_s_numbers_as_numbers(con, catalog, community):
    book = workbook(report_workbook(community, catalog, "zh"))
    assert book.sheetnames == [
        "概要",
        "指数走势",
        "四个维度与街道、全区对比",
        "各项指标与目标值",
        "较上期变化归因（2026-09 → 2026-10）",
        "等级变化",
        "整改约谈",
        "异常波动",
        "数据完整性",
    ]
    summary = summary_values(book)
    assert summary["健康指数"] == pytest.approx(community.headline.index)
    assert summary["预警等级"] == "▲ 黄色预警"
    assert summary["代码"] == YELLOW_COMMUNITY and isinstance(summary["代码"], str)
    headers, rows = sheet_records(book, "各项指标与目标值")
    assert headers[:5] == ["指标", "单位", "数值", "得分", "等级"]
    expected = store.indicator_scores(
        con, catalog, YELLOW_COMMUNITY, "month", PERIOD, scope=YELLOW_COMMUNITY
    ).set_index("indicator")
    satisfaction = next(r for r in rows if r[0] == "群众满意度")
    assert satisfaction[2] == pytest.approx(expected.loc["satisfaction", "value"])
    assert satisfaction[3] == pytest.approx(expected.loc["satisfaction", "score"])
    sheet = book["各项指标与目标值"]
    assert sheet.freeze_panes == "A2"
    for row in sheet.iter_rows(min_row=2, min_col=3, max_col=4):
        assert all(cell.data_type == "n" and cell.number_format == "0.0" for cell in row)
    level_cell = sheet.cell(row=2, column=5)
    assert level_cell.value.endswith(
        catalog.level_by_id[expected.loc["satisfaction", "level"]].name_zh
    )
    assert level_cell.fill.fgColor.rgb.endswith(
        catalog.level_by_id[expected.loc["satisfaction", "level"]].color[1:]
    )
    _, contributions = sheet_records(book, "较上期变化归因（2026-09 → 2026-10）")
    assert sum(r[5] for r in contributions) == pytest.approx(community.headline.change)


def test_the_bulletin_workbook_holds_counts_and_unit_tables(con, catalog, district):
    book = workbook(report_workbook(district, catalog, "zh"))
    summary = summary_values(book)
    counts = store.level_counts(con, catalog, DEMO_DISTRICT, PERIOD, "month", scope=DEMO_DISTRICT)
    assert summary["红色预警（个）"] == counts["red"]
    assert summary["黄色预警（个）"] == counts["yellow"]
    assert summary["整改约谈（个）"] == len(district.escalations)
    assert summary["社区总数"] == 99
    headers, rows = sheet_records(book, "街道指数一览")
    assert headers[:4] == ["代码", "名称", "指数", "等级"]
    streets = store.scores(
        con, catalog, granularity="month", unit_level="street", period=PERIOD, scope=DEMO_DISTRICT
    ).set_index("code")
    for row in rows:
        assert isinstance(row[0], str) and len(row[0]) == 12
        assert row[2] == pytest.approx(streets.loc[row[0], "index"])
    _, communities = sheet_records(book, "全部社区")
    assert len(communities) == len(district.communities)
    assert len(book["未报送单位"]["A"]) == len(district.not_reported) + 1


def test_reports_come_in_english_on_request(catalog, community, district):
    book = workbook(report_workbook(district, catalog, "en"))
    assert book.sheetnames[0] == "Summary"
    assert "Index of each Street" in book.sheetnames
    page = report_html(community, catalog, "en")
    assert '<html lang="en">' in page and "Community governance health report" in page
    assert "Yellow warning" in page


# ---- the HTML page ----------------------------------------------------------------------------


def test_the_html_page_is_printable_offline_and_complete(catalog, community, district):
    page = report_html(community, catalog, "zh")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert "@page" in page and "size: A4" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count("<svg") == 4, "trend, dimensions, indicators and attribution charts"
    for heading in (
        "社区治理健康度报告",
        "指数走势",
        "四个维度与街道、全区对比",
        "各项指标与目标值",
        "预警记录",
        "数据完整性",
        "示例数据（虚构）",
    ):
        assert heading in page, heading
    assert "▲ 黄色预警" in page and catalog.level_by_id["yellow"].color in page, (
        "level by colour and label"
    )
    bulletin = report_html(district, catalog, "zh")
    for heading in (
        "社区治理健康度月度通报",
        "街道指数一览",
        "红色预警（8个）",
        "整改约谈",
        "未报送单位",
        "进步最大",
        "退步最大",
        "各项指标区域平均值与目标值",
    ):
        assert heading in bulletin, heading
    assert "<script" not in bulletin and "https://" not in bulletin


HOSTILE_NAME = '<script>alert("x")</script>=HYPERLINK("http://evil")'


@pytest.fixture
def hostile_db(small_db, catalog):
    registry = small_registry()
    registry.loc[registry["code"] == COMMUNITIES[0], "name"] = HOSTILE_NAME
    registry.loc[registry["code"] == STREETS[0], "name"] = "=1+1 街道"
    operations.import_registry(small_db, catalog, registry, user="test")
    write(small_db, catalog, values_at(catalog, list(COMMUNITIES), ["2025-01", "2025-02"], 0.6))
    return small_db


def test_names_from_uploads_are_escaped_in_html_and_neutralised_in_xlsx(hostile_db, catalog):
    for code in (COMMUNITIES[0], STREETS[0], DISTRICT):
        report = reports.build_report(hostile_db, catalog, code, "2025-02", SYSTEM, today=TODAY)
        page = report_html(report, catalog, "zh")
        assert "<script>alert" not in page
        if code != DISTRICT:
            assert html.escape(HOSTILE_NAME, quote=True) in page or html.escape("=1+1 街道") in page
        texts = [
            cell.value
            for sheet in workbook(report_workbook(report, catalog, "zh")).worksheets
            for row in sheet.iter_rows()
            for cell in row
            if isinstance(cell.value, str)
        ]
        assert not [text for text in texts if text.startswith(("=", "+", "@"))]
        assert any(text.startswith("'=") for text in texts)


def test_file_names_drop_path_characters(catalog):
    assert (
        file_name("阳光/社区", YELLOW_COMMUNITY, PERIOD, "zh", ".xlsx")
        == "阳光社区-健康度报告-2026-10.xlsx"
    )
    assert (
        file_name("示例一区", DEMO_DISTRICT, "2026-Q3", "en", ".html")
        == "示例一区-bulletin-2026-Q3.html"
    )


# ---- data exports -----------------------------------------------------------------------------


def test_value_and_score_exports_are_scoped_and_typed(con, catalog):
    leader = Principal("street_leader", "leader", STREET)
    values = reports.values_export(con, "2026-Q3", leader, None)
    assert set(values["period"]) == {"2026-07", "2026-08", "2026-09"}
    assert values["community_code"].str.startswith(STREET[:9]).all()
    with pytest.raises(AccessDenied):
        reports.values_export(con, PERIOD, leader, OTHER_STREET)
    scores = reports.scores_export(con, catalog, PERIOD, leader, None)
    assert list(scores["unit_level"].unique()) == ["street", "community"]
    assert scores.loc[scores["code"] == YELLOW_COMMUNITY, "index"].iloc[0] == pytest.approx(
        stored(con, catalog, YELLOW_COMMUNITY)["index"]
    )
    csv = operations.csv_bytes(scores)
    assert csv.startswith(b"\xef\xbb\xbf")
    book = workbook(frames_workbook([("指数得分", scores)]))
    headers, rows = sheet_records(book, "指数得分")
    assert headers[:5] == ["code", "name", "unit_level", "period", "index"]
    assert all(isinstance(r[4], float) for r in rows if r[4] is not None)
    assert book["指数得分"].freeze_panes == "A2"


# ---- every unit of the demo city ----------------------------------------------------------------


def test_every_unit_of_the_demo_city_gets_its_report_in_both_formats(con, catalog):
    units = store.registry(con, scope=None)
    started = time.perf_counter()
    made: dict[str, str] = {}
    for district_code in units.loc[units["level"] == "district", "code"]:
        for report in reports.build_reports(
            con, catalog, district_code, PERIOD, SYSTEM, today=TODAY
        ):
            page = report_bytes(report, catalog, "zh", ".html").decode("utf-8")
            book = report_bytes(report, catalog, "zh", ".xlsx")
            assert html.escape(report.unit.name) in page and book[:2] == b"PK"
            made[report.unit.code] = report.kind
    elapsed = time.perf_counter() - started
    assert set(made) == set(units["code"])
    assert {code for code, kind in made.items() if kind == "community"} == set(
        units.loc[units["level"] == "community", "code"]
    )
    print(f"\n{len(made)} reports (HTML and XLSX) in {elapsed:.1f}s")


# ---- the command line -------------------------------------------------------------------------


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_report_command_writes_xlsx_and_html(demo, catalog, tmp_path, capsys):
    path, con = demo
    out = tmp_path / "bulletin.xlsx"
    code, printed, _ = run_cli(
        capsys,
        "report",
        "--db",
        str(path),
        "--unit",
        DEMO_DISTRICT,
        "--period",
        PERIOD,
        "--out",
        str(out),
    )
    assert code == 0 and str(out) in printed
    summary = summary_values(workbook(out.read_bytes()))
    assert summary["健康指数"] == pytest.approx(stored(con, catalog, DEMO_DISTRICT)["index"])
    page = tmp_path / "report.html"
    code, printed, _ = run_cli(
        capsys,
        "report",
        "--db",
        str(path),
        "--unit",
        YELLOW_COMMUNITY,
        "--period",
        PERIOD,
        "--out",
        str(page),
        "--lang",
        "en",
    )
    assert code == 0 and "wrote" in printed
    assert "Community governance health report" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("unit", "period", "out", "expected"),
    [
        ("990109000000", PERIOD, "r.html", "990109000000"),
        ("12345", PERIOD, "r.html", "12位"),
        (DEMO_DISTRICT, "2031-01", "r.html", "2023-11 — 2026-10"),
        (DEMO_DISTRICT, "2026-13", "r.html", "YYYY-MM"),
        (DEMO_DISTRICT, PERIOD, "r.pdf", ".html 或 .xlsx"),
        (DEMO_DISTRICT, PERIOD, "missing-folder/r.html", "无法写入"),
    ],
)
def test_the_report_command_explains_bad_arguments(
    demo, tmp_path, capsys, unit, period, out, expected
):
    code, _, error = run_cli(
        capsys,
        "report",
        "--db",
        str(demo[0]),
        "--unit",
        unit,
        "--period",
        period,
        "--out",
        str(tmp_path / out),
    )
    assert code == 2
    assert expected in error and "Traceback" not in error
    assert not (tmp_path / out).exists()


def test_the_report_command_applies_the_user_s_scope(demo, tmp_path, capsys):
    from indicators import accounts

    path, con = demo
    if accounts.get_account(con, "wuli_leader") is None:
        accounts.create_account(
            con, "wuli_leader", "leader", STREET, None, actor=SYSTEM, source="test"
        )
    code, _, error = run_cli(
        capsys,
        "report",
        "--db",
        str(path),
        "--unit",
        OTHER_STREET,
        "--period",
        PERIOD,
        "--out",
        str(tmp_path / "b.html"),
        "--user",
        "wuli_leader",
    )
    assert code == 1 and OTHER_STREET in error
    code, _, _ = run_cli(
        capsys,
        "report",
        "--db",
        str(path),
        "--unit",
        STREET,
        "--period",
        PERIOD,
        "--out",
        str(tmp_path / "b.html"),
        "--user",
        "wuli_leader",
    )
    assert code == 0
