"""Fuzzing parse_upload: arbitrary, truncated and mutated files never raise and never leak bad rows."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io

import numpy as np
import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.catalog import load_catalog
from indicators.ingest import MAX_PROBLEMS, ParsedUpload, parse_upload

CATALOG = load_catalog()
TODAY = dt.date(2025, 12, 15)
REGISTRY = {f"2199010010{n:02d}" for n in range(1, 21)}
PROBLEM_CODES = {
    "unsupported_format", "empty_file", "encoding", "file_unreadable", "csv_malformed",
    "header_not_found", "header_misspelt", "column_missing", "column_duplicate", "column_ignored",
    "sheet_ignored", "row_ignored", "code_missing", "code_scientific", "code_format",
    "code_not_community", "code_unknown", "period_missing", "period_ambiguous", "period_invalid", "period_future",
    "value_text", "value_excel_error", "value_range", "indicator_missing", "indicator_unknown",
    "duplicate_conflict", "duplicate_row", "no_data_rows", "too_many_errors", "too_many_warnings",
}  # fmt: skip
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER = [
    "社区代码",
    "社区名称",
    "统计期",
    "群众满意度（%）",
    "诉求响应时长(小时)",
    "每名社区工作者服务居民数",
    "备注",
]
ROWS = [
    ["219901001001", "幸福社区", "2025-08", "68.3", "12", "1,800", ""],
    ["219901001002", "和平社区", "2025年8月", "89.5%", "", "1200", "已核实"],
    ["2.19901E+11", "安康社区", "2025-08", "良好", "#DIV/0!", "0", ""],
    ["219901001003", "长青社区", "2025-13", "101", "24", "900", ""],
    ["219901001001", "幸福社区", "2025-08", "70", "12", "1,800", ""],
    ["合计", "", "", "", "", "", ""],
]


def table_text(rows: list[list[str]], delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def base_files() -> list[tuple[str, bytes]]:
    rows = [["XX街道2025年11月社区治理指标报表"], ["填报单位：XX街道"], HEADER, *ROWS]
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.active["D4"] = 0.683
    workbook.active["D4"].number_format = "0.0%"
    workbook.active["C5"] = dt.datetime(2025, 8, 1)
    workbook.active["A5"] = 219901001002
    buffer = io.BytesIO()
    workbook.save(buffer)
    return [
        ("gbk.csv", table_text(rows, ",").encode("gb18030")),
        ("unicode.txt", codecs.BOM_UTF16_LE + table_text(rows, "\t").encode("utf-16-le")),
        ("bom.csv", table_text(rows, ";").encode("utf-8-sig")),
        ("long.csv", table_text([["社区代码", "统计期", "指标", "数值"], *[[r[0], r[2], h, r[3 + i]] for r in ROWS for i, h in enumerate(HEADER[3:6])]], ",").encode("utf-8")),
        ("book.xlsx", buffer.getvalue()),
    ]  # fmt: skip


BASES = base_files()


def check(result: ParsedUpload, data: bytes) -> None:
    """The promises every result keeps, whatever the input."""
    assert isinstance(result, ParsedUpload)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.ok == (not result.errors)
    assert result.layout in (None, "wide", "long")
    assert {p.code for p in result.errors + result.warnings} <= PROBLEM_CODES
    assert len(result.errors) <= MAX_PROBLEMS + 1 and len(result.warnings) <= MAX_PROBLEMS + 1
    assert all(p.message_zh and p.message_en for p in result.errors + result.warnings)
    assert len(result.error_rows) <= result.rows_total
    values = result.values
    assert list(values.columns) == ["community_code", "period", "indicator", "value", "row"]
    assert not set(values["row"].tolist()) & result.error_rows
    assert values["value"].dtype == "float64" and bool(np.isfinite(values["value"]).all())
    assert bool(values["community_code"].str.fullmatch(r"[0-9]{12}").all())
    assert not values["community_code"].str.endswith("000").any()
    assert bool(values["period"].str.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])").all())
    assert bool((values["period"] <= "2025-12").all())
    assert not values.duplicated(["community_code", "period", "indicator"]).any()
    for indicator_id, group in values.groupby("indicator"):
        indicator = CATALOG.indicator_by_id[str(indicator_id)]
        low_ok = (
            group["value"] >= indicator.valid_min
            if indicator.valid_min_inclusive
            else group["value"] > indicator.valid_min
        )
        assert bool(low_ok.all()) and bool((group["value"] <= indicator.valid_max).all())


def parse(name: str, data: bytes, registry: set[str] | None = None) -> ParsedUpload:
    result = parse_upload(name, data, CATALOG, registry_codes=registry, today=TODAY)
    check(result, data)
    return result


@FUZZ
@given(
    data=st.binary(max_size=3000),
    suffix=st.sampled_from([".csv", ".txt", ".xlsx", ".xls", ".bin", ""]),
)
def test_arbitrary_bytes(data: bytes, suffix: str) -> None:
    parse("upload" + suffix, data)


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(
            list(",;\t\r\n\"' 0123456789.-%/年月社区代码统计期群众满意度#NA无")
        ),
        max_size=400,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
)
def test_arbitrary_text(text: str, encoding: str) -> None:
    parse("upload.csv", text.encode(encoding), REGISTRY)


@FUZZ
@given(base=st.sampled_from(BASES), cut=st.floats(0, 1))
def test_truncated_files(base: tuple[str, bytes], cut: float) -> None:
    name, data = base
    parse(name, data[: int(len(data) * cut)], REGISTRY)


@FUZZ
@given(
    base=st.sampled_from(BASES),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6),
)
def test_flipped_bytes(base: tuple[str, bytes], flips: list[tuple[float, int]]) -> None:
    name, data = base
    mutable = bytearray(data)
    for where, byte in flips:
        mutable[min(int(where * len(mutable)), len(mutable) - 1)] = byte
    parse(name, bytes(mutable), REGISTRY)


TOKENS = [
    "", " ", "NA", "-", "—", "无", "良好", "#DIV/0!", "#N/A", "68.3", "68.3%", "６８．３", "1,800", "101", "-1", "0",
    "1e999", "nan", "2025-08", "2025年8月", "2026-01", "2025-13", "219901001001", "219901001002", "2.19901E+11",
    "219901001000", "合计", "群众满意度", "满意度", "群众满意率", "社区代码", "统计期", '"', "=1+1", "\n",
]  # fmt: skip


@FUZZ
@given(
    rows=st.lists(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=8), max_size=12),
    drop=st.lists(st.integers(0, 20), max_size=4),
    swaps=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 7), st.integers(0, 7)), max_size=4),
    delimiter=st.sampled_from([",", "\t", ";"]),
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
)
def test_mutated_tables(
    rows: list[list[str]],
    drop: list[int],
    swaps: list[tuple[int, int, int]],
    delimiter: str,
    encoding: str,
) -> None:
    """Valid files with lines dropped, cells swapped and rows of tricky cells added."""
    table = [["标题"], HEADER, *[list(r) for r in ROWS], *rows]
    table = [line for index, line in enumerate(table) if index not in set(drop)]
    for line_index, a, b in swaps:
        if line_index < len(table):
            line = table[line_index]
            if a < len(line) and b < len(line):
                line[a], line[b] = line[b], line[a]
    parse("upload.csv", table_text(table, delimiter).encode(encoding), REGISTRY)


VALID_VALUES = ["68.3", "68.3%", "６８．３", " 70 ", "0", "100", "", "NA", "-", "无"]
BAD_VALUES = ["良好", "#DIV/0!", "101", "-1", "#N/A"]


@FUZZ
@given(
    picks=st.lists(
        st.tuples(st.integers(1, 20), st.sampled_from(["2025-08", "2025年9月", "202510", "2025/11"]),
                  st.sampled_from(VALID_VALUES + BAD_VALUES), st.sampled_from(VALID_VALUES)),
        max_size=15,
        unique_by=lambda pick: (pick[0], pick[1]),
    ),
    delimiter=st.sampled_from([",", "\t", ";"]),
)  # fmt: skip
def test_generated_tables_match_an_oracle(
    picks: list[tuple[int, str, str, str]], delimiter: str
) -> None:
    """Rows with a bad value are rejected whole; every other cell arrives exactly once."""
    rows = [
        [f"2199010010{n:02d}", f"社区{n}", period, first, second]
        for n, period, first, second in picks
    ]
    data = table_text(
        [["社区代码", "社区名称", "统计期", "群众满意度", "议事会出勤率"], *rows], delimiter
    )
    result = parse("upload.csv", data.encode("gb18030"), REGISTRY)
    months = {
        "2025-08": "2025-08",
        "2025年9月": "2025-09",
        "202510": "2025-10",
        "2025/11": "2025-11",
    }
    numbers = {"68.3": 68.3, "68.3%": 68.3, "６８．３": 68.3, " 70 ": 70.0, "0": 0.0, "100": 100.0}
    bad_rows = {index + 2 for index, pick in enumerate(picks) if pick[2] in BAD_VALUES}
    expected = set()
    for index, (n, period, first, second) in enumerate(picks):
        if index + 2 in bad_rows:
            continue
        for indicator, cell in (("satisfaction", first), ("council_attendance", second)):
            if cell in numbers:
                expected.add(
                    (f"2199010010{n:02d}", months[period], indicator, numbers[cell], index + 2)
                )
    assert result.error_rows == bad_rows
    assert {
        (r.community_code, r.period, r.indicator, r.value, r.row)
        for r in result.values.itertuples()
    } == expected
    assert result.rows_total == len(picks)


CELL_VALUES = st.one_of(
    st.none(),
    st.sampled_from(TOKENS[:-1]),
    st.integers(-(10**13), 10**13),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=8),
)
NUMBER_FORMATS = st.sampled_from(["General", "0.0%", "0%", "@", '0.0"%"', "yyyy-mm", "0.00E+00"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(st.tuples(CELL_VALUES, NUMBER_FORMATS), max_size=7), max_size=8),
    titles=st.integers(0, 3),
)
def test_generated_workbooks(rows: list[list[tuple[object, str]]], titles: int) -> None:
    """Workbooks with any cell types and number formats under a real header."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for _ in range(titles):
        sheet.append(["XX街道社区治理指标报表"])
    sheet.append(HEADER[:6])
    for row in rows:
        sheet.append([value for value, _ in row])
        for column, (_, number_format) in enumerate(row, start=1):
            sheet.cell(row=sheet.max_row, column=column).number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    parse("generated.xlsx", buffer.getvalue(), REGISTRY)
