"""The upload page through AppTest: real files uploaded, dry run, errors, commit, history, rollback."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from indicators import operations, store
from indicators.access import Principal
from indicators.ingest import Problem
from indicators.operations import ImportReport
from indicators.periods import current_month, shift_month
from tests.conftest import COMMUNITIES, DISTRICT, STREETS, small_registry, values_at, write

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/upload.py"
TIMEOUT = 60
LAST_MONTH = shift_month(current_month(), -1)  # reported for the first time by the uploads
STORED_MONTH = shift_month(current_month(), -2)  # already in the database
TITLE = "和平街道社区治理指标报表"
HEADER = ["社区代码", "社区名称", "统计期", "群众满意度（%）", "诉求响应时长(小时)"]
# The stored values sit 70 % of the way from worst to best: satisfaction 81.5, response 23.0.
STORED_SATISFACTION = "81.5"
ZHANG = Principal("zhang", "staff", DISTRICT)  # district staff: every community of the registry
LI = Principal("li", "staff", STREETS[0])  # street staff of 和平街道 (990101001…)
CSV_MIME = "text/csv"


def excel_csv(rows: list[list[str]], encoding: str = "gbk") -> bytes:
    """A CSV as Excel on a Chinese Windows saves it: GBK, CRLF, a title row above the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[TITLE] + [""] * (len(HEADER) - 1), HEADER, *rows])
    return buffer.getvalue().encode(encoding)


def good_file() -> bytes:
    """Two new community-months (4 new values) and one stored month (1 unchanged, 1 changed)."""
    year, month = LAST_MONTH.split("-")
    return excel_csv(
        [
            [COMMUNITIES[0], "测试社区001", f"{year}/{month}", "88.5%", "12"],
            [COMMUNITIES[1], "测试社区002", f"{year}年{int(month)}月", "90", "6"],
            [COMMUNITIES[2], "测试社区003", STORED_MONTH, STORED_SATISFACTION, "30"],
        ]
    )


def file_with_an_error() -> bytes:
    return excel_csv(
        [
            [COMMUNITIES[0], "测试社区001", LAST_MONTH, "88.5", "12"],
            [COMMUNITIES[1], "测试社区002", LAST_MONTH, "良好", "6"],
        ]
    )


@pytest.fixture(scope="module")
def template_db(tmp_path_factory, catalog) -> Path:
    """A registry of two streets with one stored month, built once and copied per use."""
    path = tmp_path_factory.mktemp("upload") / "template.duckdb"
    con = operations.open_store(path, catalog)
    operations.import_registry(con, catalog, small_registry(), user="admin")
    write(con, catalog, values_at(catalog, list(COMMUNITIES), [STORED_MONTH], 0.7), user="admin")
    con.close()
    return path


@pytest.fixture(scope="module")
def dry_run_db(template_db) -> Path:
    """One copy shared by the tests that only dry-run (the page keeps its connection open)."""
    path = template_db.with_name("dry_run.duckdb")
    shutil.copy(template_db, path)
    return path


@pytest.fixture
def db(template_db, tmp_path) -> Path:
    """A fresh copy for a test that writes."""
    path = tmp_path / "upload.duckdb"
    shutil.copy(template_db, path)
    return path


def upload_page(monkeypatch, db: Path, principal: Principal = ZHANG) -> AppTest:
    """app.py signed in as `principal`, opened straight on the upload page."""
    monkeypatch.setenv("HEALTH_DB", str(db))
    monkeypatch.setenv("HEALTH_DEMO", "0")
    monkeypatch.setenv("HEALTH_INBOX", str(db.parent / "inbox"))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    test.session_state["principal"] = principal
    test.switch_page(PAGE).run()
    no_exceptions(test)
    return test


def no_exceptions(test: AppTest) -> None:
    assert [e.value for e in test.exception] == []


def uploader(test: AppTest):
    return next(w for w in test.file_uploader if w.key.startswith("up_files_"))


def upload(test: AppTest, *files: tuple[str, bytes, str]) -> AppTest:
    uploader(test).set_value(list(files)).run()
    no_exceptions(test)
    return test


def shown_values(db: Path, period: str) -> pd.DataFrame:
    from ui import db as ui_db

    cursor = ui_db.connection().cursor()
    try:
        return store.current_values(cursor, period, scope=None)
    finally:
        cursor.close()


def tables(test: AppTest, column: str) -> list[pd.DataFrame]:
    """The shown tables that have `column` (AppTest does not expose a dataframe's key)."""
    return [frame.value for frame in test.dataframe if column in frame.value.columns]


def table(test: AppTest, column: str) -> pd.DataFrame:
    return tables(test, column)[0]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def rollback_control(test: AppTest) -> list:
    return [box for box in test.selectbox if box.key == "up_rb_batch"]


def roll_back(test: AppTest, batch_id: int) -> AppTest:
    test.selectbox(key="up_rb_batch").set_value(batch_id)
    test.checkbox(key="up_rb_confirm").check().run()
    test.button(key="up_rb_go").click().run()
    no_exceptions(test)
    return test


def test_a_gbk_csv_with_a_title_row_is_dry_run_with_exact_counts(monkeypatch, dry_run_db):
    test = upload(upload_page(monkeypatch, dry_run_db), ("11月报表.csv", good_file(), CSV_MIME))
    assert test.title[0].value == "数据上报"
    assert table(test, "结果").to_dict("records") == [
        {
            "文件": "11月报表.csv",
            "结果": "可以导入",
            "数据行": 3,
            "新增": 4,
            "修改": 1,
            "未变": 1,
            "拒绝（行）": 0,
        }
    ]
    assert "没有发现错误，3 行可以导入" in texts(test.success)
    assert shown_values(dry_run_db, LAST_MONTH).empty, "a dry run writes nothing"
    assert not test.button(key="up_confirm").disabled


def test_an_error_is_named_by_row_column_and_value_and_nothing_can_be_committed(
    monkeypatch, dry_run_db
):
    test = upload(
        upload_page(monkeypatch, dry_run_db), ("报表.csv", file_with_an_error(), CSV_MIME)
    )
    assert table(test, "结果")["结果"].tolist() == ["拒绝"]
    errors = table(test, "说明")
    assert list(errors.columns) == ["行号", "列", "值", "说明"]
    first = errors.iloc[0]
    assert (int(first["行号"]), first["列"], first["值"]) == (4, "群众满意度（%）", "良好")
    assert "整个文件不会导入" in texts(test.error)
    assert test.button(key="up_confirm").disabled

    test.toggle(key="up_accept_valid").set_value(True).run()
    no_exceptions(test)
    assert table(test, "结果")[["结果", "新增", "拒绝（行）"]].values.tolist() == [
        ["导入有效行", 2, 1]
    ]
    assert not test.button(key="up_confirm").disabled


def test_bad_files_and_rows_outside_the_subtree_are_turned_back(monkeypatch, dry_run_db):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["这张表没有表头", "只有说明文字"])
    notes_only = io.BytesIO()
    workbook.save(notes_only)
    other_street = [[COMMUNITIES[3], "测试社区004", LAST_MONTH, "88", "10"]]  # 东湖街道, not li's
    test = upload(
        upload_page(monkeypatch, dry_run_db, LI),
        ("垃圾.csv", bytes(range(256)) * 8, CSV_MIME),
        ("空.csv", b"", CSV_MIME),
        ("说明.xlsx", notes_only.getvalue(), "application/octet-stream"),
        ("东湖.csv", excel_csv(other_street), CSV_MIME),
    )
    assert table(test, "结果")["结果"].tolist() == ["拒绝"] * 4
    problems = tables(test, "说明")
    assert len(problems) >= 4
    for frame in problems:
        assert frame["说明"].str.len().min() > 5
    outside = problems[-1].iloc[0]
    assert outside["值"] == COMMUNITIES[3] and "管辖范围" in outside["说明"]
    assert test.button(key="up_confirm").disabled
    assert "没有需要导入的文件" in texts(test.info)


def test_the_page_speaks_english_when_the_sidebar_says_so(monkeypatch, dry_run_db):
    test = upload_page(monkeypatch, dry_run_db)
    test.radio(key="sb_lang").set_value("en").run()
    upload(test, ("report.csv", file_with_an_error(), CSV_MIME))
    assert test.title[0].value == "Upload"
    assert list(table(test, "Message").columns) == ["Row", "Column", "Value", "Message"]
    assert table(test, "Outcome")["Outcome"].tolist() == ["Rejected"]
    assert table(test, "Message").iloc[0]["Message"].startswith("Row 4, column")


def test_commit_shows_on_the_overview_and_only_the_owner_rolls_back(monkeypatch, db):
    from ui import upload as upload_ui

    test = upload(upload_page(monkeypatch, db, LI), ("11月报表.csv", good_file(), CSV_MIME))
    test.button(key="up_confirm").click().run()
    no_exceptions(test)
    assert "已导入（批次" in texts(test.success)
    assert uploader(test).key == "up_files_1", "the uploader starts empty after a commit"
    stored = shown_values(db, LAST_MONTH).set_index(["community_code", "indicator"])["value"]
    assert stored[(COMMUNITIES[0], "satisfaction")] == 88.5
    assert stored[(COMMUNITIES[1], "response_hours")] == 6.0
    assert (
        shown_values(db, STORED_MONTH)
        .query("community_code == @COMMUNITIES[2] and indicator == 'response_hours'")["value"]
        .item()
        == 30.0
    )
    history = table(test, "撤销于批次")
    batch_id = int(history.iloc[0]["批次"])
    assert history.iloc[0][["类型", "操作人", "文件", "状态", "新增", "修改", "未变"]].tolist() == [
        "导入",
        "li",
        "11月报表.csv",
        "已生效",
        4,
        1,
        1,
    ]

    test.switch_page("app_pages/overview.py").run()
    no_exceptions(test)
    assert LAST_MONTH in test.selectbox(key="sb_period").options

    # another street's staff sees neither li's batch nor a rollback control...
    test.session_state["principal"] = Principal("wang", "staff", STREETS[1])
    test.switch_page(PAGE).run()
    no_exceptions(test)
    assert batch_id not in set(table(test, "撤销于批次")["批次"])
    assert not rollback_control(test)
    assert "没有您可以撤销的批次" in texts(test.caption)
    # ...and is refused with a message when trying anyway; so is li after moving street
    refusal = upload_ui.roll_back(batch_id, Principal("wang", "staff", STREETS[1]))
    assert refusal.level == "error"
    assert "只有上传者本人或管理员可以撤销" in refusal.texts["zh"]
    assert "only its uploader or an admin" in refusal.texts["en"]
    moved = upload_ui.roll_back(batch_id, Principal("li", "staff", STREETS[1]))
    assert "不在您管辖范围" in moved.texts["zh"]
    assert len(shown_values(db, LAST_MONTH)) == 4

    test.session_state["principal"] = LI
    roll_back(test.run(), batch_id)
    assert f"批次 {batch_id} 已撤销" in texts(test.success)
    assert shown_values(db, LAST_MONTH).empty
    history = table(test, "撤销于批次").set_index("批次")
    assert history.loc[batch_id, "状态"] == "已撤销"
    assert history.loc[batch_id, "撤销于批次"] == str(batch_id + 1)
    assert history.loc[batch_id + 1, "撤销于批次"] == ""
    assert history.loc[batch_id + 1, "类型"] == "撤销"


def test_a_rollback_after_a_later_correction_is_refused_with_a_message(monkeypatch, db):
    test = upload(upload_page(monkeypatch, db, LI), ("和平.csv", good_file(), CSV_MIME))
    test.button(key="up_confirm").click().run()
    batch_id = int(table(test, "撤销于批次").iloc[0]["批次"])
    test.session_state["principal"] = ZHANG
    test.run()
    assert not rollback_control(test), "zhang owns no batch and is no admin"
    fix = excel_csv([[COMMUNITIES[0], "测试社区001", LAST_MONTH, "77", "12"]])
    upload(test, ("更正.csv", fix, CSV_MIME)).button(key="up_confirm").click().run()

    test.session_state["principal"] = LI
    roll_back(test.run(), batch_id)
    assert f"已被之后的批次 {batch_id + 1} 修改" in texts(test.error)
    assert len(shown_values(db, LAST_MONTH)) == 4

    # an admin may roll back anyone's batch: undoing the correction restores li's value
    test.session_state["principal"] = Principal("root", "admin", None)
    test.run()
    offered = {option.split(" · ")[0] for option in rollback_control(test)[0].options}
    assert {f"批次 {batch_id}", f"批次 {batch_id + 1}"} <= offered
    roll_back(test, batch_id + 1)
    assert f"批次 {batch_id + 1} 已撤销" in texts(test.success)
    satisfaction = shown_values(db, LAST_MONTH).query(
        "community_code == @COMMUNITIES[0] and indicator == 'satisfaction'"
    )
    assert satisfaction["value"].item() == 88.5


def test_a_leader_gets_no_upload_page():
    from ui.pages import pages_for

    assert "app_pages/upload.py" not in [spec.path for spec in pages_for("leader")]
    assert "app_pages/upload.py" in [spec.path for spec in pages_for("staff")]


def test_builders_render_reports_in_both_languages():
    from ui import upload

    problem = Problem("number_text", 7, "群众满意度", "良好", "第7行…", "Row 7 …")
    report = ImportReport(
        "a.csv",
        "x",
        "dry_run",
        rows_total=5,
        rows_accepted=4,
        rows_rejected=1,
        values_new=8,
        errors=[problem],
    )
    assert upload.outcome_of(report) == "partial"
    assert upload.problems_table([problem], "en").to_dict("records") == [
        {"Row": 7, "Column": "群众满意度", "Value": "良好", "Message": "Row 7 …"}
    ]
    assert upload.error_report_name("11月/报表.xlsx", "zh") == "报表_错误报告.csv"
    assert upload.is_committable(report)
    assert not upload.is_committable(ImportReport("b.csv", "x", "dry_run", values_unchanged=3))


def test_history_shows_local_time_and_names_kinds_and_statuses():
    import datetime as dt

    from ui import upload

    batches = pd.DataFrame(
        {
            "batch_id": [5, 4],
            "kind": ["rollback", "import"],
            "file_name": ["a.csv", "a.csv"],
            "user_name": ["li", "li"],
            "status": ["committed", "rolled_back"],
            "created_at": pd.to_datetime(["2025-11-01 02:30", "2025-10-31 23:59"]),
            "rows_total": [0, 3],
            "values_new": [0, 4],
            "values_changed": [4, 1],
            "values_unchanged": [0, 1],
            "rolled_back_by": [float("nan"), 5.0],
        }
    )
    beijing = dt.timezone(dt.timedelta(hours=8))
    shown = upload.history_table(batches, "zh", beijing)
    assert shown[["批次", "类型", "时间", "状态", "撤销于批次"]].values.tolist() == [
        [5, "撤销", "2025-11-01 10:30", "已生效", ""],
        [4, "导入", "2025-11-01 07:59", "已撤销", "5"],
    ]
    assert upload.rollback_candidates(batches, LI).empty, "rolled back already"
    assert upload.rollback_candidates(batches.assign(status="committed"), LI)[
        "batch_id"
    ].tolist() == [4]
    other = Principal("wang", "staff", STREETS[1])
    assert upload.rollback_candidates(batches.assign(status="committed"), other).empty
    admin = Principal("root", "admin", None)
    assert upload.rollback_candidates(batches.assign(status="committed"), admin)[
        "batch_id"
    ].tolist() == [4]


def test_commit_results_read_as_sentences():
    from ui import upload

    committed = ImportReport("a.csv", "x", "committed", batch_id=7, values_new=4, values_changed=1)
    notice = upload.result_notice(upload.CommitResult("a.csv", committed))
    assert notice.level == "success"
    assert notice.texts["zh"] == "a.csv：已导入（批次 7），新增 4 个、修改 1 个、未变 0 个数据。"
    same = upload.result_notice(
        upload.CommitResult("a.csv", ImportReport("a.csv", "x", "unchanged"))
    )
    assert same.level == "info"
    refused = store.StoreError("x", "不行。", "No.")
    failed = upload.result_notice(upload.CommitResult("a.csv", None, refused))
    assert (failed.level, failed.texts["en"]) == (
        "error",
        "a.csv: the import failed and nothing was written. No.",
    )
