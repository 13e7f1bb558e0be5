"""Upload parsing: files built here the way Excel and WPS write them, with their exact outcome."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from indicators.catalog import load_catalog
from indicators.ingest import (
    MAX_PROBLEMS,
    ParsedUpload,
    Problem,
    parse_upload,
    problems_csv,
    problems_frame,
    read_table,
)

CATALOG = load_catalog()
TODAY = dt.date(2025, 12, 15)
TITLE = "XX街道2025年11月社区治理指标报表"
NOTE = "填报单位：XX街道办事处（盖章）"
HEADER = [
    "社区代码",
    "社区名称",
    "统计期",
    "群众满意度（%）",
    "诉求响应时长(小时)",
    "每名社区工作者服务居民数（人）",
]
ROWS = [
    ["219901001001", "幸福社区", "2025-08", "68.3", "12", "1,800"],
    ["219901001002", "和平社区", "2025-08", "89.5%", "", "1200"],
]
# (community_code, period, indicator, value, row) for HEADER + ROWS below a title and a note row
EXPECTED = {
    ("219901001001", "2025-08", "satisfaction", 68.3, 4),
    ("219901001001", "2025-08", "response_hours", 12.0, 4),
    ("219901001001", "2025-08", "residents_per_worker", 1800.0, 4),
    ("219901001002", "2025-08", "satisfaction", 89.5, 5),
    ("219901001002", "2025-08", "residents_per_worker", 1200.0, 5),
}
REGISTRY = {"219901001001", "219901001002", "219901001003"}


# ---- builders: bytes as Excel / WPS write them -------------------------------------------------


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def excel_rows(
    header: list[str], rows: list[list[str]], titles: tuple[str, ...] = (TITLE, NOTE)
) -> list[list[str]]:
    """Title rows padded to the table width, as Excel's CSV export does."""
    width = len(header)
    return [[t] + [""] * (width - 1) for t in titles] + [header, *rows]


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


def wide_csv(rows: list[list[str]], header: list[str] | None = None, **kwargs: str) -> bytes:
    return csv_text([header or [*HEADER[:3], "群众满意度"], *rows], **kwargs).encode("utf-8")


def parse(data: bytes, name: str = "upload.csv", registry: set[str] | None = None) -> ParsedUpload:
    return parse_upload(name, data, CATALOG, registry_codes=registry, today=TODAY)


def xlsx_bytes(
    rows: list[list[object]],
    number_formats: dict[str, str] | None = None,
    sheets_before: tuple[tuple[str, str, list[list[object]]], ...] = (),
) -> bytes:
    """A workbook whose first visible data sheet holds `rows`; cells by A1 reference get formats."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    for index, (title, state, content) in enumerate(sheets_before):
        sheet = first if index == 0 else workbook.create_sheet()
        sheet.title = title
        sheet.sheet_state = state
        for row in content:
            sheet.append(row)
    data_sheet = workbook.create_sheet("数据") if sheets_before else first
    data_sheet.title = "数据"
    for row in rows:
        data_sheet.append(row)
    for reference, number_format in (number_formats or {}).items():
        data_sheet[reference].number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def cells(result: ParsedUpload) -> set[tuple[str, str, str, float, int]]:
    return {
        (r.community_code, r.period, r.indicator, float(r.value), int(r.row))
        for r in result.values.itertuples(index=False)
    }


def codes_of(problems: list[Problem]) -> list[tuple[str, int | None, str | None, str | None]]:
    return [(p.code, p.row, p.column, p.value) for p in problems]


# ---- formats and encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter", "name", "reported_encoding"),
    [
        ("utf-8", ",", "a.csv", "utf-8"),
        ("utf-8-sig", ",", "a.csv", "utf-8-sig"),
        ("gb18030", ",", "a.csv", "gb18030"),  # Excel "CSV (逗号分隔)" on Chinese Windows
        ("utf-16-le-bom", "\t", "a.txt", "utf-16"),  # Excel "Unicode 文本"
        ("utf-16-be-bom", "\t", "a.txt", "utf-16"),
        ("utf-8-sig", ";", "a.csv", "utf-8-sig"),
        ("gb18030", ";", "a.csv", "gb18030"),
        ("utf-8", "\t", "a.txt", "utf-8"),
        ("gb18030", "\t", "a.TXT", "gb18030"),
        ("utf-16-le", "\t", "a.txt", "utf-16-le"),  # no BOM: told apart by its zero bytes
    ],
)
def test_encodings_and_delimiters_read_the_same_values(
    encoding: str, delimiter: str, name: str, reported_encoding: str
) -> None:
    data = encode(csv_text(excel_rows(HEADER, ROWS), delimiter), encoding)
    result = parse(data, name, REGISTRY)
    assert result.errors == []
    assert result.warnings == []
    assert (result.layout, result.header_row, result.rows_total) == ("wide", 3, 2)
    assert (result.encoding, result.delimiter) == (reported_encoding, delimiter)
    assert cells(result) == EXPECTED
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.ok


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = newline.join(
        ",".join(row)
        for row in [[*HEADER[:3], "群众满意度"], ["219901001001", "甲", "2025-08", "70"]]
    )
    result = parse((text + newline).encode("gb18030"))
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


def test_quoted_thousands_do_not_fool_the_delimiter_detection() -> None:
    rows = [
        ["219901001001", "甲", "2025-08", "1,800", "2,000"],
        ["219901001002", "乙", "2025-08", "3,500", "900"],
    ]
    data = csv_text(
        [["社区代码", "社区名称", "统计期", "每名社区工作者服务居民数", "备注"], *rows]
    ).encode("gb18030")
    result = parse(data)
    assert result.delimiter == ","
    assert cells(result) == {
        ("219901001001", "2025-08", "residents_per_worker", 1800.0, 2),
        ("219901001002", "2025-08", "residents_per_worker", 3500.0, 3),
    }
    assert codes_of(result.warnings) == [("column_ignored", 1, "备注", "备注")]


def test_semicolons_with_unquoted_thousands() -> None:
    text = (
        "社区代码;统计期;每名社区工作者服务居民数;群众满意度\r\n"
        "219901001001;2025-08;1,800;70.5\r\n"
        "219901001002;2025-08;900;70,5\r\n"
    )
    result = parse(text.encode("utf-8"))
    assert result.delimiter == ";"
    assert cells(result) == {
        ("219901001001", "2025-08", "residents_per_worker", 1800.0, 2),
        ("219901001001", "2025-08", "satisfaction", 70.5, 2),
    }
    assert codes_of(result.errors) == [("value_text", 3, "群众满意度", "70,5")]


@pytest.mark.parametrize(
    ("name", "data", "reason_zh"),
    [
        ("report.xls", bytes.fromhex("D0CF11E0A1B11AE1") + bytes(512), "旧版Excel（.xls）"),
        ("report.xls", "社区代码\t统计期\n".encode("gb18030"), "旧版Excel（.xls）"),
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        ("report.csv", b"%PDF-1.7\n1 0 obj", "PDF"),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "只支持.xlsx、.csv和.txt文件"),
        ("data.bin", bytes(range(256)), "只支持.xlsx、.csv和.txt文件"),
        ("report.xlsx", "社区代码,统计期\n".encode(), "内容不是Excel工作簿"),
    ],
)
def test_unsupported_formats(name: str, data: bytes, reason_zh: str) -> None:
    result = parse(data, name)
    assert [p.code for p in result.errors] == ["unsupported_format"]
    message = result.errors[0].message_zh
    assert reason_zh in message
    assert ".xlsx" in message and "CSV" in message
    assert "save it as an Excel workbook (.xlsx) or as CSV" in result.errors[0].message_en
    assert (result.layout, result.header_row, result.rows_total, result.error_rows) == (
        None,
        None,
        0,
        set(),
    )
    assert result.values.empty and not result.ok


def test_a_word_document_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    result = parse(buffer.getvalue(), "report.docx")
    assert [p.code for p in result.errors] == ["unsupported_format"]
    assert "压缩包或其他Office文件" in result.errors[0].message_zh


def test_a_damaged_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not a workbook")
    result = parse(buffer.getvalue(), "report.xlsx")
    assert [p.code for p in result.errors] == ["file_unreadable"]
    assert "另存为.xlsx" in result.errors[0].message_zh


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.csv", b""),
        ("a.csv", b"  \r\n\r\n \t"),
        ("a.txt", codecs.BOM_UTF16_LE),
        ("a.csv", codecs.BOM_UTF8 + b"\r\n,,,\r\n"),
    ],
)
def test_empty_files(name: str, data: bytes) -> None:
    result = parse(data, name)
    assert [p.code for p in result.errors] == [
        "empty_file" if b"," not in data else "header_not_found"
    ]


def test_header_without_data_rows() -> None:
    result = parse(wide_csv([["", "", "", ""]]))
    assert result.errors == [] and result.rows_total == 0 and result.values.empty
    assert codes_of(result.warnings) == [("no_data_rows", None, None, None)]


def test_unbalanced_quote_swallowing_the_rest_of_a_large_file() -> None:
    rows = [["219901001001", "甲", "2025-08", '"70']] + [
        ["219901001002", "乙", "2025-08", "7" * 50]
    ] * 4000
    text = "社区代码,社区名称,统计期,群众满意度\r\n" + "\r\n".join(",".join(r) for r in rows)
    result = parse(text.encode("gb18030"))
    assert [(p.code, p.row) for p in result.errors] == [("csv_malformed", 2)]
    assert "引号不配对" in result.errors[0].message_zh


def test_unbalanced_quote_in_a_small_file_is_reported_shortly() -> None:
    text = (
        '社区代码,统计期,群众满意度\r\n219901001001,2025-08,"70\r\n'
        + "219901001002,2025-08,71\r\n" * 50
    )
    result = parse(text.encode("utf-8"))
    assert [(p.code, p.row, p.column) for p in result.errors] == [("value_text", 2, "群众满意度")]
    assert result.errors[0].value is not None and result.errors[0].value.endswith("…")
    assert len(result.errors[0].value) == 201


def test_empty_workbook() -> None:
    result = parse(xlsx_bytes([]), "a.xlsx")
    assert [p.code for p in result.errors] == ["empty_file"]


@pytest.mark.parametrize(
    "data",
    [
        b"\x81\x20\x81\x20 not gbk, not utf-8",
        codecs.BOM_UTF8 + b"\xff\xfe\xfd",
        b"\x00\x01\x02binary\x00\x00\x00\x00\xff",
    ],
)
def test_undecodable_text(data: bytes) -> None:
    result = parse(data, "a.csv")
    assert [p.code for p in result.errors] == ["encoding"]
    assert "UTF-8" in result.errors[0].message_zh and "GBK" in result.errors[0].message_zh


# ---- header row ----------------------------------------------------------------------------------


def test_title_and_note_rows_count_in_row_numbers() -> None:
    rows = [[TITLE], [], [NOTE, "", "填报日期：2025-12-05"], HEADER, ROWS[0], [], ROWS[1]]
    result = parse(csv_text(rows).encode("gb18030"))
    assert result.header_row == 4
    assert result.rows_total == 2
    assert {(c[2], c[4]) for c in cells(result)} == {
        ("satisfaction", 5),
        ("response_hours", 5),
        ("residents_per_worker", 5),
        ("satisfaction", 7),
        ("residents_per_worker", 7),
    }


def test_header_on_the_first_line_is_row_one() -> None:
    result = parse(wide_csv([["219901001001", "甲", "2025-08", "70"]]))
    assert result.header_row == 1
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


def test_header_not_found() -> None:
    data = csv_text([[TITLE], ["代码", "月份?", "分数"], ["219901001001", "2025-08", "70"]]).encode(
        "gb18030"
    )
    result = parse(data)
    assert [p.code for p in result.errors] == ["header_not_found"]
    assert (result.layout, result.header_row) == (None, None)
    assert "社区代码" in result.errors[0].message_zh and "模板" in result.errors[0].message_zh


def test_two_line_header_with_dimension_groups() -> None:
    rows: list[list[object]] = [
        [TITLE],
        ["社区代码", "社区名称", "统计期", "群众评议", None, "过程考核"],
        [None, None, None, "群众满意度（%）", "居民参与率（%）", "诉求响应时长（小时）"],
        ["219901001001", "甲", "2025-08", 70, 30, 24],
    ]
    result = parse(xlsx_bytes(rows), "a.xlsx")
    assert result.errors == []
    assert result.header_row == 3
    assert cells(result) == {
        ("219901001001", "2025-08", "satisfaction", 70.0, 4),
        ("219901001001", "2025-08", "participation", 30.0, 4),
        ("219901001001", "2025-08", "response_hours", 24.0, 4),
    }


@pytest.mark.parametrize(
    "header",
    [
        "群众满意度",
        "群众满意度（%）",
        "群众满意度(%)",
        "群众满意度 (%)",
        "群众满意度[%]",
        "群众满意度【%】",
        " 群众满意度 ",
        "群众\u3000满意度",
        "群 众 满 意 度",
        "satisfaction",
        "SATISFACTION",
        "Satisfaction",
        "ｓａｔｉｓｆａｃｔｉｏｎ",
        "满意度",
        "居民满意度（%）",
        "Resident satisfaction",
        "*群众满意度",
    ],
)
def test_indicator_header_spellings(header: str) -> None:
    result = parse(
        wide_csv(
            [["219901001001", "甲", "2025-08", "70"]], ["社区代码", "社区名称", "统计期", header]
        )
    )
    assert result.errors == [] and result.warnings == []
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


@pytest.mark.parametrize(
    ("code_header", "name_header", "period_header"),
    [
        ("社区代码", "社区名称", "统计期"),
        ("社区代码 ", " 社区名称", "统计期 "),
        ("community_code", "community_name", "period"),
        ("Community_Code", "Community Name", "PERIOD"),
        ("ｃｏｍｍｕｎｉｔｙ＿ｃｏｄｅ", "社区名称", "统计月份"),
        ("社区代码（12位）", "社区名称", "月份"),
        ("社区代码", "社区名称", "期间"),
    ],
)
def test_fixed_header_spellings(code_header: str, name_header: str, period_header: str) -> None:
    header = [code_header, name_header, period_header, "群众满意度"]
    result = parse(wide_csv([["219901001001", "甲", "2025-08", "70"]], header))
    assert result.errors == [] and result.warnings == []
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


def test_community_name_is_optional() -> None:
    result = parse(
        wide_csv([["219901001001", "2025-08", "70"]], ["社区代码", "统计期", "群众满意度"])
    )
    assert result.errors == []
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


@pytest.mark.parametrize(
    "extra",
    ["备注", "序号", "街道", "所属街道", "联系人", "联系电话", "填报人", "填报日期", "说明"],
)
def test_unknown_columns_are_ignored_with_a_warning(extra: str) -> None:
    header = ["社区代码", "社区名称", "统计期", extra, "群众满意度"]
    result = parse(wide_csv([["219901001001", "甲", "2025-08", "随便写", "70"]], header))
    assert result.errors == []
    assert codes_of(result.warnings) == [("column_ignored", 1, extra, extra)]
    assert "已忽略" in result.warnings[0].message_zh and extra in result.warnings[0].message_zh
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


@pytest.mark.parametrize(
    ("header", "suggested_id", "suggested_name"),
    [
        ("群众满意率", "satisfaction", "群众满意度"),
        ("群众满意度评分", "satisfaction", "群众满意度"),
        ("满意率", "satisfaction", "满意度"),
        ("居民参预率（%）", "participation", "居民参与率"),
        ("诉求响应时间(小时)", "response_hours", "诉求响应时长"),
        ("satisfation", "satisfaction", "群众满意度"),
        ("turnovr", "turnover", "人员流失率"),
    ],
)
def test_misspelt_indicator_header_is_an_error_never_dropped(
    header: str, suggested_id: str, suggested_name: str
) -> None:
    rows = [
        ["219901001001", "甲", "2025-08", "70", "80"],
        ["219901001002", "乙", "2025-08", "71", "81"],
    ]
    result = parse(wide_csv(rows, ["社区代码", "社区名称", "统计期", "人均培训学时", header]))
    assert codes_of(result.errors) == [("header_misspelt", 1, header, header)]
    message = result.errors[0].message_zh
    assert f"“{header}”" in message and suggested_id in message
    assert suggested_id in result.errors[0].message_en
    assert suggested_name in message or CATALOG.indicator_by_id[suggested_id].name_zh in message
    assert result.error_rows == {2, 3}  # the file cannot be trusted column by column
    assert result.values.empty
    assert result.rows_total == 2


def test_misspelt_header_is_the_only_indicator() -> None:
    result = parse(
        wide_csv(
            [["219901001001", "甲", "2025-08", "70"]],
            ["社区代码", "社区名称", "统计期", "群众满意率"],
        )
    )
    assert [p.code for p in result.errors] == ["header_misspelt"]
    assert result.layout == "wide"


@pytest.mark.parametrize(
    ("header", "row", "missing"),
    [
        (
            ["社区代码", "社区名称", "群众满意度", "居民参与率"],
            ["219901001001", "甲", "70", "30"],
            "统计期",
        ),
        (
            ["社区名称", "统计期", "群众满意度", "居民参与率"],
            ["甲", "2025-08", "70", "30"],
            "社区代码",
        ),
    ],
)
def test_missing_required_column(header: list[str], row: list[str], missing: str) -> None:
    result = parse(wide_csv([row], header))
    assert [(p.code, p.row) for p in result.errors] == [("column_missing", 1)]
    assert f"“{missing}”" in result.errors[0].message_zh
    assert result.error_rows == {2} and result.values.empty


def test_no_indicator_column() -> None:
    header = ["社区代码", "社区名称", "统计期", "备注"]
    result = parse(wide_csv([["219901001001", "甲", "2025-08", "无"]], header))
    assert [(p.code, p.row) for p in result.errors] == [("column_missing", 1)]
    assert "没有任何指标列" in result.errors[0].message_zh


def test_the_same_indicator_twice() -> None:
    header = ["社区代码", "统计期", "群众满意度", "满意度"]
    result = parse(wide_csv([["219901001001", "2025-08", "70", "71"]], header))
    assert codes_of(result.errors) == [("column_duplicate", 1, "满意度", "满意度")]
    assert "群众满意度" in result.errors[0].message_zh
    assert result.values.empty


def test_unnamed_column_with_data_and_trailing_empty_columns() -> None:
    rows = [
        ["社区代码", "统计期", "群众满意度", "", "", ""],
        ["219901001001", "2025-08", "70", "", "手写备注", ""],
        ["", "", "", "", "", ""],
    ]
    result = parse(csv_text(rows).encode("gb18030"))
    assert codes_of(result.warnings) == [("column_ignored", 1, "E", None)]
    assert "第E列没有表头" in result.warnings[0].message_zh
    assert result.rows_total == 1
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


def test_note_and_total_rows_below_the_table_are_ignored() -> None:
    rows = [
        ["社区代码", "社区名称", "统计期", "群众满意度"],
        ["219901001001", "甲", "2025-08", "70"],
        ["合计", "", "", "140"],
        ["", "平均", "", "70"],
        ["填表人：张三", "", "", ""],
        ["审核人：李四", "", "", ""],
    ]
    result = parse(csv_text(rows).encode("gb18030"))
    assert result.errors == []
    assert codes_of(result.warnings) == [
        ("row_ignored", 3, None, None),
        ("row_ignored", 4, None, None),
        ("row_ignored", 5, None, None),
        ("row_ignored", 6, None, None),
    ]
    assert "合计" in result.warnings[0].message_zh and "备注" in result.warnings[2].message_zh
    assert result.rows_total == 1


# ---- community codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "code", "normalised"),
    [
        ("219901001001", None, "219901001001"),
        (" 219901001001 ", None, "219901001001"),
        ("2199 0100 1001", None, "219901001001"),
        ("２１９９０１００１００１", None, "219901001001"),
        ("'219901001001", None, "219901001001"),
        ('="219901001001"', None, "219901001001"),
        ("2.19901E+11", "code_scientific", None),
        ("2.19901e+11", "code_scientific", None),
        ("219901001001.0", "code_format", None),
        ("21990100100", "code_format", None),
        ("2199010010011", "code_format", None),
        ("21990100100A", "code_format", None),
        ("219901001000", "code_not_community", None),
        ("", "code_missing", None),
    ],
)
def test_community_codes(cell: str, code: str | None, normalised: str | None) -> None:
    result = parse(wide_csv([[cell, "甲", "2025-08", "70"]]))
    if code is None:
        assert result.errors == []
        assert cells(result) == {(normalised, "2025-08", "satisfaction", 70.0, 2)}
    else:
        assert codes_of(result.errors) == [(code, 2, "社区代码", cell)]
        assert result.error_rows == {2}
        assert result.values.empty


def test_scientific_code_message_says_format_the_column_as_text() -> None:
    result = parse(wide_csv([["ignored", "", "", ""], ["2.19901E+11", "甲", "2025-08", "70"]]))
    problem = next(p for p in result.errors if p.code == "code_scientific")
    assert problem.message_zh == (
        "第3行“社区代码”列的值“2.19901E+11”被Excel显示为科学计数法，"
        "请将该列设置为“文本”格式后重新填写完整的12位代码。"
    )
    assert 'Format the column as "Text"' in problem.message_en


def test_registry_check() -> None:
    rows = [["219901001001", "甲", "2025-08", "70"], ["219901009999", "乙", "2025-08", "71"]]
    result = parse(wide_csv(rows), registry=REGISTRY)
    assert codes_of(result.errors) == [("code_unknown", 3, "社区代码", "219901009999")]
    assert "机构名录" in result.errors[0].message_zh
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}
    assert result.error_rows == {3}
    # None skips the registry check
    assert parse(wide_csv(rows)).errors == []


def test_street_code_in_a_community_row_is_not_checked_against_the_registry_twice() -> None:
    result = parse(wide_csv([["219901001000", "街道", "2025-08", "70"]]), registry={"219901001000"})
    assert [p.code for p in result.errors] == ["code_not_community"]


# ---- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "2025-08",
        "2025/08",
        "2025.08",
        "202508",
        "2025-8",
        "2025/8",
        "2025年8月",
        "2025年08月",
        "2025年8月份",
        " 2025-08 ",
        "２０２５－０８",
        "2025-08-01",
        "2025/8/1",
        "2025/8/31",
        "2025-08-01 00:00:00",
        "2025年8月1日",
    ],
)
def test_period_spellings(cell: str) -> None:
    result = parse(wide_csv([["219901001001", "甲", cell, "70"]]))
    assert result.errors == []
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("2025-13", "period_invalid"),
        ("2025-00", "period_invalid"),
        ("202513", "period_invalid"),
        ("2025年13月", "period_invalid"),
        ("2025/8/32", "period_invalid"),
        ("八月", "period_invalid"),
        ("25-08", "period_invalid"),
        ("1925-08", "period_invalid"),
        ("2026-01", "period_future"),
        ("2026年1月", "period_future"),
        ("", "period_missing"),
    ],
)
def test_invalid_periods(cell: str, code: str) -> None:
    result = parse(wide_csv([["219901001001", "甲", cell, "70"]]))
    assert codes_of(result.errors) == [(code, 2, "统计期", cell)]
    assert result.values.empty


def test_the_current_month_is_allowed_and_the_next_is_future() -> None:
    rows = [["219901001001", "甲", "2025-12", "70"], ["219901001001", "甲", "2026-01", "70"]]
    result = parse(wide_csv(rows))
    assert codes_of(result.errors) == [("period_future", 3, "统计期", "2026-01")]
    assert "2025-12" in result.errors[0].message_zh
    assert cells(result) == {("219901001001", "2025-12", "satisfaction", 70.0, 2)}


def test_today_defaults_to_the_real_date() -> None:
    next_year = dt.date.today().year + 1
    result = parse_upload(
        "a.csv", wide_csv([["219901001001", "甲", f"{next_year}-01", "70"]]), CATALOG
    )
    assert [p.code for p in result.errors] == ["period_future"]


# ---- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("68.3", 68.3),
        ("68.3%", 68.3),
        ("68.3 %", 68.3),
        ("６８．３", 68.3),
        ("６８．３％", 68.3),
        (" 68.3 ", 68.3),
        ("\u00a068.3\u3000", 68.3),
        ("+68.3", 68.3),
        ("68", 68.0),
        ("0", 0.0),
        ("100", 100.0),
        (".5", 0.5),
        ("6.83E+01", 68.3),
    ],
)
def test_number_spellings(cell: str, value: float) -> None:
    result = parse(wide_csv([["219901001001", "甲", "2025-08", cell]]))
    assert result.errors == []
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", value, 2)}


@pytest.mark.parametrize(
    "cell", ["", "NA", "N/A", "n/a", "na", "-", "—", "–", "/", "无", "空", "——", "  ", "－"]
)
def test_missing_markers_produce_no_value(cell: str) -> None:
    rows = [["219901001001", "甲", "2025-08", cell, "45"]]
    result = parse(wide_csv(rows, ["社区代码", "社区名称", "统计期", "群众满意度", "居民参与率"]))
    assert result.errors == [] and result.warnings == []
    assert cells(result) == {("219901001001", "2025-08", "participation", 45.0, 2)}
    assert result.rows_total == 1


@pytest.mark.parametrize(
    ("header", "cell", "code", "phrase_zh"),
    [
        ("群众满意度", "良好", "value_text", "不是数字"),
        ("群众满意度", "68,3", "value_text", "不是数字"),
        ("群众满意度", "68.3.1", "value_text", "不是数字"),
        ("群众满意度", "nan", "value_text", "不是数字"),
        ("群众满意度", "#DIV/0!", "value_excel_error", "Excel公式错误"),
        ("群众满意度", "#N/A", "value_excel_error", "Excel公式错误"),
        ("群众满意度", "#VALUE!", "value_excel_error", "Excel公式错误"),
        ("群众满意度", "#REF!", "value_excel_error", "Excel公式错误"),
        ("群众满意度", "#NAME?", "value_excel_error", "Excel公式错误"),
        ("群众满意度", "#NUM!", "value_excel_error", "Excel公式错误"),
        ("群众满意度", "#NULL!", "value_excel_error", "Excel公式错误"),
        ("群众满意度", "101", "value_range", "0到100之间（含0和100），单位：%"),
        ("群众满意度", "-0.1", "value_range", "0到100之间"),
        ("群众满意度", "120%", "value_range", "0到100之间"),
        ("群众满意度", "1e999", "value_range", "0到100之间"),
        ("诉求响应时长", "721", "value_range", "0到720之间（含0和720），单位：小时"),
        ("诉求响应时长", "12%", "value_text", "单位是“小时”，不是百分比"),
        ("每名社区工作者服务居民数", "0", "value_range", "大于0且不超过100000，单位：人"),
        ("每名社区工作者服务居民数", "100,001", "value_range", "大于0且不超过100000"),
    ],
)
def test_bad_values(header: str, cell: str, code: str, phrase_zh: str) -> None:
    rows = [
        ["219901001001", "甲", "2025-08", cell, "45"],
        ["219901001002", "乙", "2025-08", "", "46"],
    ]
    result = parse(wide_csv(rows, ["社区代码", "社区名称", "统计期", header, "居民参与率"]))
    assert codes_of(result.errors) == [(code, 2, header, cell)]
    assert phrase_zh in result.errors[0].message_zh
    assert f"第2行“{header}”列" in result.errors[0].message_zh
    assert result.error_rows == {2}
    # the row with an error contributes nothing, not even its valid cells
    assert cells(result) == {("219901001002", "2025-08", "participation", 46.0, 3)}


def test_value_range_message_in_english_names_the_range() -> None:
    result = parse(wide_csv([["219901001001", "甲", "2025-08", "101"]]))
    assert "from 0 to 100 inclusive, in %" in result.errors[0].message_en
    assert result.errors[0].message("en") == result.errors[0].message_en
    assert result.errors[0].message("zh") == result.errors[0].message_zh


def test_values_frame_types() -> None:
    result = parse(encode(csv_text(excel_rows(HEADER, ROWS)), "gb18030"))
    values = result.values
    assert list(values.columns) == ["community_code", "period", "indicator", "value", "row"]
    assert values["value"].dtype == "float64" and values["row"].dtype == "int64"
    assert pd.api.types.is_string_dtype(values["community_code"])
    assert pd.api.types.is_string_dtype(values["period"]) and pd.api.types.is_string_dtype(
        values["indicator"]
    )
    assert not values["value"].isna().any()
    assert values["community_code"].str.fullmatch(r"[0-9]{12}").all()


# ---- duplicates ----------------------------------------------------------------------------------


def test_conflicting_duplicate_rows_are_an_error_on_both() -> None:
    rows = [
        ["219901001001", "甲", "2025-08", "70"],
        ["219901001002", "乙", "2025-08", "60"],
        ["219901001001", "甲", "2025-8", "72.5"],
    ]
    result = parse(wide_csv(rows))
    assert codes_of(result.errors) == [
        ("duplicate_conflict", 2, "群众满意度", "70"),
        ("duplicate_conflict", 4, "群众满意度", "72.5"),
    ]
    assert result.errors[0].message_zh == (
        "第2行与第4行是同一社区（219901001001）同一统计期（2025-08）的数据，但“群众满意度”的值不同"
        "（第2行为70，第4行为72.5）。请删除重复的行或改正数值后重新上传。"
    )
    assert "第4行与第2行" in result.errors[1].message_zh
    assert result.error_rows == {2, 4}
    assert cells(result) == {("219901001002", "2025-08", "satisfaction", 60.0, 3)}


def test_identical_duplicate_rows_are_kept_once_with_a_warning() -> None:
    rows = [["219901001001", "甲", "2025-08", "70"], ["219901001001", "甲", "2025年8月", "70.0"]]
    result = parse(wide_csv(rows))
    assert result.errors == []
    assert codes_of(result.warnings) == [("duplicate_row", 3, None, None)]
    assert "第3行与第2行" in result.warnings[0].message_zh
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}
    assert result.rows_total == 2 and result.error_rows == set()


def test_same_community_different_months_are_not_duplicates() -> None:
    rows = [["219901001001", "甲", "2025-08", "70"], ["219901001001", "甲", "2025-09", "72"]]
    result = parse(wide_csv(rows))
    assert result.errors == [] and result.warnings == []
    assert len(result.values) == 2


# ---- long layout ---------------------------------------------------------------------------------


def test_long_layout_with_chinese_headers_names_and_ids() -> None:
    rows = [
        ["社区代码", "统计期", "指标", "数值"],
        ["219901001001", "2025-08", "群众满意度", "68.3%"],
        ["219901001001", "2025-08", "response_hours", "12"],
        ["219901001001", "2025-08", "服务居民数", "1,800"],
        ["219901001001", "2025-08", "居民参与率（%）", ""],
    ]
    result = parse(csv_text(rows).encode("gb18030"))
    assert result.errors == [] and result.layout == "long"
    assert cells(result) == {
        ("219901001001", "2025-08", "satisfaction", 68.3, 2),
        ("219901001001", "2025-08", "response_hours", 12.0, 3),
        ("219901001001", "2025-08", "residents_per_worker", 1800.0, 4),
    }


def test_long_layout_errors() -> None:
    rows = [
        ["community_code", "period", "indicator", "value"],
        ["219901001001", "2025-08", "群众满意率", "70"],
        ["219901001001", "2025-08", "response_hours", "800"],
        ["219901001001", "2025-08", "", "5"],
        ["219901001001", "2025-08", "不存在的指标", "5"],
        ["219901001001", "2025-08", "satisfaction", "70"],
        ["219901001001", "2025-08", "satisfaction", "71"],
        ["219901001002", "2025-08", "satisfaction", "65"],
        ["219901001002", "2025-08", "满意度", "65"],
    ]
    result = parse(csv_text(rows).encode("utf-8"))
    assert codes_of(result.errors) == [
        ("indicator_unknown", 2, "indicator", "群众满意率"),
        ("value_range", 3, "value", "800"),
        ("indicator_missing", 4, "indicator", ""),
        ("indicator_unknown", 5, "indicator", "不存在的指标"),
        ("duplicate_conflict", 6, "value", "70"),
        ("duplicate_conflict", 7, "value", "71"),
    ]
    assert "是不是“群众满意度”（satisfaction）" in result.errors[0].message_zh
    assert "0到720之间" in result.errors[1].message_zh
    assert codes_of(result.warnings) == [("duplicate_row", 9, "value", "65")]
    assert cells(result) == {("219901001002", "2025-08", "satisfaction", 65.0, 8)}
    assert result.error_rows == {2, 3, 4, 5, 6, 7}


def test_long_layout_missing_value_column() -> None:
    rows = [["社区代码", "统计期", "指标"], ["219901001001", "2025-08", "群众满意度"]]
    result = parse(csv_text(rows).encode("utf-8"))
    assert result.layout == "long"
    assert [p.code for p in result.errors] == ["column_missing"]
    assert "“数值”" in result.errors[0].message_zh


# ---- xlsx ----------------------------------------------------------------------------------------


def test_xlsx_as_staff_fill_it() -> None:
    rows: list[list[object]] = [
        [TITLE],
        [NOTE],
        [
            "社区代码",
            "社区名称",
            "统计期",
            "群众满意度（%）",
            "居民参与率（%）",
            "诉求响应时长(小时)",
            "备注",
        ],
        [
            219901001001,
            "幸福社区",
            dt.datetime(2025, 8, 1),
            0.683,
            45,
            12,
            None,
        ],  # numeric code, date cell
        ["219901001002", "和平社区", "2025年8月", 68.3, "45%", 2.5, "已核实"],
        ["2.19901E+11", "安康社区", dt.date(2025, 8, 1), 70, 30, "#DIV/0!", None],
        [219901001003.0, "长青社区", 202508, 0.9, 0.3, 6, None],
    ]
    data = xlsx_bytes(rows, {"D4": "0.0%", "D7": "0%", "E7": "0.00%", "D5": '0.0"%"'})
    result = parse(data, "十一月.xlsx", REGISTRY)
    assert result.sheet == "数据" and result.header_row == 3 and result.rows_total == 4
    assert codes_of(result.errors) == [
        ("code_scientific", 6, "社区代码", "2.19901E+11"),
        ("value_excel_error", 6, "诉求响应时长(小时)", "#DIV/0!"),
    ]
    assert codes_of(result.warnings) == [("column_ignored", 3, "备注", "备注")]
    assert cells(result) == {
        ("219901001001", "2025-08", "satisfaction", 68.3, 4),
        ("219901001001", "2025-08", "participation", 45.0, 4),
        ("219901001001", "2025-08", "response_hours", 12.0, 4),
        ("219901001002", "2025-08", "satisfaction", 68.3, 5),
        ("219901001002", "2025-08", "participation", 45.0, 5),
        ("219901001002", "2025-08", "response_hours", 2.5, 5),
        ("219901001003", "2025-08", "satisfaction", 90.0, 7),
        ("219901001003", "2025-08", "participation", 30.0, 7),
        ("219901001003", "2025-08", "response_hours", 6.0, 7),
    }
    assert result.error_rows == {6}


def test_xlsx_skips_hidden_and_empty_sheets() -> None:
    hidden = [["社区代码", "统计期", "群众满意度"], ["219901001009", "2025-08", 10]]
    data = xlsx_bytes(
        [["社区代码", "统计期", "群众满意度"], ["219901001001", "2025-08", 70]],
        sheets_before=(("旧数据", "hidden", hidden), ("封面", "visible", [])),
    )
    result = parse(data, "a.xlsx")
    assert result.sheet == "数据"
    assert cells(result) == {("219901001001", "2025-08", "satisfaction", 70.0, 2)}
    assert result.warnings == []


def test_xlsx_prefers_the_sheet_with_a_header_and_warns_about_a_second_data_sheet() -> None:
    cover = [["XX街道社区治理指标报表"], ["说明：请在“数据”表填写"]]
    data_rows = [["社区代码", "统计期", "群众满意度"], ["219901001001", "2025-08", 70]]
    workbook = openpyxl.Workbook()
    workbook.active.title = "封面"
    for row in cover:
        workbook.active.append(row)
    for title in ("数据", "九月"):
        sheet = workbook.create_sheet(title)
        for row in data_rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse(buffer.getvalue(), "a.xlsx")
    assert result.sheet == "数据"
    assert codes_of(result.warnings) == [("sheet_ignored", None, None, None)]
    assert "九月" in result.warnings[0].message_zh


def test_xlsx_trailing_formatted_empty_rows_and_columns_are_noise() -> None:
    data = xlsx_bytes(
        [["社区代码", "统计期", "群众满意度"], ["219901001001", "2025-08", 70]],
        {"H40": "@", "A30": "0.0%", "Z2": "General"},
    )
    result = parse(data, "a.xlsx")
    assert result.errors == [] and result.warnings == []
    assert result.rows_total == 1


def test_xlsx_formula_without_cached_value_is_no_value() -> None:
    data = xlsx_bytes(
        [
            ["社区代码", "统计期", "群众满意度", "居民参与率"],
            ["219901001001", "2025-08", "=A1*2", 30],
        ]
    )
    result = parse(data, "a.xlsx")
    assert result.errors == []
    assert cells(result) == {("219901001001", "2025-08", "participation", 30.0, 2)}


# ---- many problems -------------------------------------------------------------------------------


def test_problems_are_capped_but_every_bad_row_is_counted() -> None:
    rows = [["2.19901E+11", "甲", "2025-08", "70"] for _ in range(MAX_PROBLEMS + 500)]
    result = parse(wide_csv(rows))
    assert len(result.errors) == MAX_PROBLEMS + 1
    assert result.errors[-1].code == "too_many_errors"
    assert result.errors[-1].row is None
    assert "另有500个错误" in result.errors[-1].message_zh
    assert "500 more errors" in result.errors[-1].message_en
    assert [p.row for p in result.errors[:3]] == [2, 3, 4]
    assert len(result.error_rows) == MAX_PROBLEMS + 500 == result.rows_total


# ---- problem tables ------------------------------------------------------------------------------


def test_problems_frame_and_csv() -> None:
    rows = [
        ["219901001001", "甲", "2025-08", "=1+1"],
        ["219901001002", "乙", "2025-08", "-5"],
        ["@SUM(A1)", "丙", "2025-08", "+"],
    ]
    result = parse(wide_csv(rows))
    frame = problems_frame(result.errors, "zh")
    assert list(frame.columns) == ["row", "column", "code", "value", "message"]
    assert frame["row"].tolist() == [2, 3, 4, 4]
    assert frame["code"].tolist() == ["value_text", "value_range", "code_format", "value_text"]

    for language, header in (
        ("zh", ["行号", "列", "错误代码", "值", "说明"]),
        ("en", ["row", "column", "code", "value", "message"]),
    ):
        data = problems_csv(result.errors, language)
        assert data.startswith(codecs.BOM_UTF8)
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert table[0] == header
        assert [line[3] for line in table[1:]] == ["'=1+1", "'-5", "'@SUM(A1)", "'+"]
        assert table[1][0] == "2" and table[1][1] == "群众满意度"
        assert table[1][4] == result.errors[0].message(language)


def test_problem_csv_of_file_level_problems_has_empty_cells() -> None:
    result = parse(b"", "a.csv")
    table = list(csv.reader(io.StringIO(problems_csv(result.errors, "en").decode("utf-8-sig"))))
    assert table[1][:4] == ["", "", "empty_file", ""]
    frame = problems_frame(result.errors, "en")
    assert frame["row"].isna().all() and frame["message"].iloc[0].startswith(
        'The file "a.csv" is empty'
    )


# ---- plain tables (the org registry) ---------------------------------------------------------------


def test_read_table_gbk_csv_keeps_inner_blank_rows_and_trims_the_rest() -> None:
    text = '\r\n代码,名称,常住人口,,\r\n219901000000,幸福街道,,,\r\n,,,,\r\n219901001001,甲社区,"5,000",,\r\n,,,,\r\n'
    table = read_table("orgs.csv", text.encode("gb18030"))
    assert table.error is None and table.encoding == "gb18030" and table.delimiter == ","
    assert table.first_row == 2
    assert table.rows == [
        ["代码", "名称", "常住人口"],
        ["219901000000", "幸福街道", ""],
        ["", "", ""],
        ["219901001001", "甲社区", "5,000"],
    ]


def test_read_table_xlsx_turns_numeric_codes_into_text() -> None:
    data = xlsx_bytes(
        [
            ["代码", "名称", "常住人口"],
            [219901001001, "甲社区", 5000],
            ["2.19901E+11", "乙社区", 3000.5],
        ]
    )
    table = read_table("orgs.xlsx", data)
    assert table.error is None and table.sheet == "数据" and table.first_row == 1
    assert table.rows[1:] == [
        ["219901001001", "甲社区", "5000"],
        ["2.19901E+11", "乙社区", "3000.5"],
    ]


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("orgs.csv", b"", "empty_file"),
        ("orgs.csv", b",,,\r\n,,\r\n", "empty_file"),
        ("orgs.pdf", b"%PDF-1.4", "unsupported_format"),
        ("orgs.csv", b"\x81\x20\x81\x20", "encoding"),
    ],
)
def test_read_table_errors(name: str, data: bytes, code: str) -> None:
    table = read_table(name, data)
    assert table.rows == [] and table.error is not None and table.error.code == code
    assert table.error.message_zh and table.error.message_en


# ---- a period whose month Excel may have cut short ---------------------------------------------


@pytest.mark.parametrize("cell", ["2025.1", "２０２５．１", " 2025.1 "])
def test_a_period_with_one_digit_after_a_dot_is_ambiguous(cell: str) -> None:
    """2025.1 may be January, or October after Excel made "2025.10" the number 2025.1."""
    data = (
        "社区代码,社区名称,统计期,群众满意度（%）\r\n"
        f"219901001001,a,{cell},88\r\n219901001002,b,2025.10,90\r\n"
    ).encode()
    result = parse(data, registry=REGISTRY)
    assert codes_of(result.errors) == [("period_ambiguous", 2, "统计期", cell)]
    message_zh, message_en = result.errors[0].message_zh, result.errors[0].message_en
    assert all(
        part in message_zh for part in ("第2行", "统计期", cell, "文本", "2025-10", "2025-01")
    )
    assert all(
        part in message_en for part in ("Row 2", "统计期", cell, "Text", "2025-10", "2025-01")
    )
    assert cells(result) == {("219901001002", "2025-10", "satisfaction", 90.0, 3)}


@pytest.mark.parametrize(
    ("cell", "period"),
    [("2025.10", "2025-10"), ("2025.01", "2025-01"), ("2025.11", "2025-11"), ("2025.9", "2025-09")],
)
def test_a_period_with_a_dot_and_no_doubt_is_read(cell: str, period: str) -> None:
    result = parse(wide_csv([["219901001001", "甲", cell, "70"]]))
    assert result.errors == []
    assert cells(result) == {("219901001001", period, "satisfaction", 70.0, 2)}


def test_a_period_stored_as_the_number_2025_1_in_a_workbook_is_ambiguous() -> None:
    data = xlsx_bytes(
        [HEADER[:4], ["219901001001", "甲", 2025.1, 70], ["219901001002", "乙", 2025.09, 71]]
    )
    result = parse(data, "upload.xlsx", REGISTRY)
    assert codes_of(result.errors) == [("period_ambiguous", 2, "统计期", "2025.1")]
    assert cells(result) == {("219901001002", "2025-09", "satisfaction", 71.0, 3)}


def test_the_brief_case_of_2025_1_is_no_longer_january() -> None:
    result = parse_upload(
        "a.csv",
        "社区代码,社区名称,统计期,群众满意度（%）\r\n990101001001,a,2025.1,88\r\n".encode(),
        CATALOG,
        registry_codes={"990101001001"},
        today=dt.date(2025, 11, 15),
    )
    assert [p.code for p in result.errors] == ["period_ambiguous"]
    assert result.values.empty
