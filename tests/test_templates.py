"""Download templates: read back with openpyxl and parse_upload, they round-trip."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable

import openpyxl
import pandas as pd
import pytest

from indicators.catalog import Catalog, load_catalog
from indicators.ingest import parse_upload, range_text
from indicators.templates import (
    EXAMPLE_CODE,
    example_value,
    template_csv,
    template_headers,
    template_indicators,
    template_xlsx,
)

CATALOG = load_catalog()
TODAY = dt.date(2025, 12, 15)
EXAMPLE_PERIOD = "2025-11"


def expected_example_cells() -> set[tuple[str, str, str, float, int]]:
    return {
        (EXAMPLE_CODE, EXAMPLE_PERIOD, i.id, example_value(i), 2)
        for i in template_indicators(CATALOG)
    }


def cells(values: pd.DataFrame) -> set[tuple[str, str, str, float, int]]:
    return {
        (r.community_code, r.period, r.indicator, float(r.value), int(r.row))
        for r in values.itertuples()
    }


def test_template_lists_indexed_and_context_indicators() -> None:
    ids = [i.id for i in template_indicators(CATALOG)]
    assert ids == [i.id for i in CATALOG.indicators]  # the default catalog: 12 indexed + 1 context
    assert "residents_per_worker" in ids
    headers = template_headers(CATALOG)
    assert headers[:4] == ["社区代码", "社区名称", "统计期", "群众满意度（%）"]
    assert "诉求响应时长（小时）" in headers and "每名社区工作者服务居民数（人）" in headers
    assert len(headers) == 3 + len(ids)


def test_csv_template_is_excel_friendly_and_round_trips() -> None:
    data = template_csv(CATALOG, today=TODAY)
    assert data.startswith(codecs.BOM_UTF8)
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == template_headers(CATALOG)
    assert len(table) == 2 and table[1][:3] == [
        EXAMPLE_CODE,
        "示例社区（上传前请删除本行）",
        EXAMPLE_PERIOD,
    ]
    result = parse_upload("模板.csv", data, CATALOG, today=TODAY)
    assert result.errors == [] and result.warnings == []
    assert (result.layout, result.header_row, result.rows_total) == ("wide", 1, 1)
    assert cells(result.values) == expected_example_cells()


def test_an_unchanged_template_is_rejected_by_the_registry() -> None:
    result = parse_upload(
        "模板.csv", template_csv(CATALOG, today=TODAY), CATALOG, {"219901001001"}, TODAY
    )
    assert [p.code for p in result.errors] == ["code_unknown"]


def test_xlsx_template_layout() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(template_xlsx(CATALOG, today=TODAY)))
    assert workbook.sheetnames == ["数据", "填报说明"]
    sheet = workbook["数据"]
    headers = [c.value for c in sheet[1]]
    assert headers == template_headers(CATALOG)
    assert all(c.font.bold for c in sheet[1])
    assert sheet["A1"].fill.fgColor.rgb.endswith("1F4E78")
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].number_format == "@"
    assert sheet["A2"].number_format == "@" and sheet["A2"].value == EXAMPLE_CODE
    assert sheet["C2"].value == EXAMPLE_PERIOD


def test_xlsx_template_validates_each_indicator_range() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(template_xlsx(CATALOG, today=TODAY)))["数据"]
    rules = {
        str(rule.sqref).split(":")[0][:-1]: rule for rule in sheet.data_validations.dataValidation
    }
    code_rule = rules["A"]
    assert (code_rule.type, code_rule.operator, code_rule.formula1) == ("textLength", "equal", "12")
    assert "文本" in code_rule.error
    for offset, indicator in enumerate(template_indicators(CATALOG)):
        letter = openpyxl.utils.get_column_letter(4 + offset)
        rule = rules[letter]
        assert str(rule.sqref) == f"{letter}2:{letter}10001"
        assert rule.showErrorMessage and rule.allow_blank
        assert indicator.name_zh in rule.error and range_text(indicator, "zh") in rule.error
        if indicator.valid_min_inclusive:
            assert (rule.type, rule.operator) == ("decimal", "between")
            assert (float(rule.formula1), float(rule.formula2)) == (
                indicator.valid_min,
                indicator.valid_max,
            )
        else:
            assert rule.type == "custom"
            assert rule.formula1 == f"AND(ISNUMBER({letter}2),{letter}2>0,{letter}2<=100000)"


def test_xlsx_template_instructions() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(template_xlsx(CATALOG, today=TODAY)))["填报说明"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_index = next(i for i, r in enumerate(rows) if r[0] == "指标名称")
    assert rows[header_index] == [
        "指标名称",
        "指标编号",
        "单位",
        "有效范围",
        "所属维度",
        "方向",
        "可用列名（别名）",
        "说明",
    ]
    listed = {r[1]: r for r in rows[header_index + 1 :] if r[1]}
    assert set(listed) == {i.id for i in template_indicators(CATALOG)}
    satisfaction = listed["satisfaction"]
    assert satisfaction[:6] == [
        "群众满意度",
        "satisfaction",
        "%",
        "0到100之间（含0和100），单位：%",
        "群众评议",
        "越高越好",
    ]
    assert listed["response_hours"][5] == "越低越好"
    assert listed["residents_per_worker"][3] == "大于0且不超过100000，单位：人"
    assert listed["residents_per_worker"][4] == "背景指标（不计入指数）"
    notes = " ".join(str(r[0]) for r in rows[:header_index] if r[0])
    assert "文本" in notes and "科学计数法" in notes and "2025-08" in notes


def test_xlsx_template_round_trips() -> None:
    result = parse_upload("模板.xlsx", template_xlsx(CATALOG, today=TODAY), CATALOG, today=TODAY)
    assert result.errors == [] and result.warnings == []
    assert (result.layout, result.header_row, result.rows_total, result.sheet) == (
        "wide",
        1,
        1,
        "数据",
    )
    assert cells(result.values) == expected_example_cells()


def test_a_filled_in_xlsx_template_imports() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(template_xlsx(CATALOG, today=TODAY)))
    sheet = workbook["数据"]
    sheet.delete_rows(2)  # staff delete the example row
    sheet["A2"], sheet["B2"], sheet["C2"] = "219901001001", "幸福社区", "2025-11"
    sheet["D2"] = 0.895
    sheet[
        "D2"
    ].number_format = "0.0%"  # Excel turns a typed "89.5%" into 0.895 shown as a percentage
    sheet["K2"] = 12  # 诉求响应时长
    sheet["A3"], sheet["C3"], sheet["D3"] = "219901001002", "2025-11", 70
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_upload(
        "十一月.xlsx", buffer.getvalue(), CATALOG, {"219901001001", "219901001002"}, TODAY
    )
    assert result.errors == []
    assert cells(result.values) == {
        ("219901001001", "2025-11", "satisfaction", 89.5, 2),
        ("219901001001", "2025-11", "response_hours", 12.0, 2),
        ("219901001002", "2025-11", "satisfaction", 70.0, 3),
    }


@pytest.mark.parametrize("build", [template_csv, template_xlsx])
def test_templates_default_to_last_month(build: Callable[[Catalog], bytes]) -> None:
    name = "模板.csv" if build is template_csv else "模板.xlsx"
    parsed = parse_upload(name, build(CATALOG), CATALOG)
    assert parsed.errors == []
    today = dt.date.today()
    last_month = dt.date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    assert set(parsed.values["period"]) == {f"{last_month.year:04d}-{last_month.month:02d}"}
