"""The fast .xlsx reader gives exactly the cell texts of the openpyxl path, or hands the file to it."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from indicators import ingest, xlsx_reader
from indicators.catalog import load_catalog
from indicators.ingest import ParsedUpload, parse_upload

CATALOG = load_catalog()
TODAY = dt.date(2025, 12, 15)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
HEADER = ["社区代码", "社区名称", "统计期", "群众满意度（%）", "诉求响应时长(小时)"]


# ---- reading one workbook both ways ------------------------------------------------------------


def reading(workbook: Any) -> dict[str, Any]:
    """What ingest makes of a workbook: every visible sheet's lines, the grid, sheet, problems."""
    lines = {}
    for sheet in workbook.worksheets:
        if sheet.sheet_state != "visible":
            continue
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        lines[sheet.title] = [
            ingest._sheet_lines(sheet, limit) for limit in (ingest.HEADER_SEARCH_ROWS + 1, None)
        ]
    report = ingest._Report("t.xlsx", CATALOG, TODAY)
    result = ParsedUpload("t.xlsx", "", None, None, ingest.empty_values(), 0, set(), [], [])
    grid = ingest._workbook_grid(workbook, ingest._Vocabulary.of(CATALOG), report, result)
    errors, warnings = report.finish()
    return {"lines": lines, "grid": grid, "sheet": result.sheet, "problems": errors + warnings}


def fast(data: bytes) -> dict[str, Any]:
    """The fast reader alone: a NotFast here fails the test (it must not hand over)."""
    with xlsx_reader.FastWorkbook(data, ingest._cell_text, ingest._is_percent_format) as workbook:
        return reading(workbook)


def slow(data: bytes) -> dict[str, Any]:
    """The openpyxl path, warnings silenced as ingest silences them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return reading(workbook)
        finally:
            workbook.close()


def assert_same_reading(data: bytes) -> dict[str, Any]:
    """The fast reader's lines, grid, chosen sheet and problems equal the openpyxl path's."""
    got, expected = fast(data), slow(data)
    assert got["lines"] == expected["lines"]
    if expected["grid"] is None:
        assert got["grid"] is None
    else:
        pd.testing.assert_frame_equal(got["grid"], expected["grid"])
    assert (got["sheet"], got["problems"]) == (expected["sheet"], expected["problems"])
    return got


def grid_rows(reading: dict[str, Any]) -> list[list[str]]:
    return reading["grid"].to_numpy(dtype=object).tolist()


# ---- building workbooks ------------------------------------------------------------------------


def save(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_of(
    workbook: openpyxl.Workbook,
    title: str,
    rows: list[list[Any]],
    formats: dict[str, str] | None = None,
    state: str = "visible",
) -> None:
    sheet = workbook.create_sheet(title)
    for row in rows:
        sheet.append(row)
    for reference, number_format in (formats or {}).items():
        sheet[reference].number_format = number_format
    sheet.sheet_state = state


def workbook_of(*sheets: tuple[Any, ...], date1904: bool = False) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    if date1904:
        workbook.epoch = CALENDAR_MAC_1904
    for sheet in sheets:
        sheet_of(workbook, *sheet)
    return save(workbook)


def rewritten(data: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """The zip with every member passed through `change(name, content)`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, change(name, source.read(name)))
    return buffer.getvalue()


def patched(data: bytes, member: str, pattern: str, replacement: str, count: int = 1) -> bytes:
    """The zip with `pattern` (a regex) replaced in one member; fails when it is not there."""

    def change(name: str, content: bytes) -> bytes:
        if name != member:
            return content
        text, done = re.subn(pattern, replacement, content.decode(), count=count)
        assert done, f"{pattern} not found in {member}"
        return text.encode()

    return rewritten(data, change)


INLINE_CELL = re.compile(r'<c ([^>]*?)t="inlineStr"([^>]*?)><is>(.*?)</is></c>', re.S)


def with_shared_strings(data: bytes) -> bytes:
    """The workbook as Excel saves it: strings in the shared string table, not inline."""
    table: dict[str, int] = {}

    def shared(match: re.Match[str]) -> str:
        index = table.setdefault(match.group(3), len(table))
        return f'<c {match.group(1)}t="s"{match.group(2)}><v>{index}</v></c>'

    def change(name: str, content: bytes) -> bytes:
        if name.startswith("xl/worksheets/"):
            return INLINE_CELL.sub(shared, content.decode()).encode()
        if name == "[Content_Types].xml":
            override = (
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
            )
            return content.replace(b"</Types>", override.encode() + b"</Types>")
        if name == "xl/_rels/workbook.xml.rels":
            relationship = (
                f'<Relationship Id="rIdStrings" Type="{RELS}/sharedStrings" '
                'Target="sharedStrings.xml"/>'
            )
            return content.replace(b"</Relationships>", relationship.encode() + b"</Relationships>")
        return content

    sheets_done = rewritten(data, change)
    items = "".join(f"<si>{inner}</si>" for inner in table)
    strings = f'<sst xmlns="{MAIN}" count="{len(table)}" uniqueCount="{len(table)}">{items}</sst>'
    buffer = io.BytesIO(sheets_done)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", strings)
    return buffer.getvalue()


# ---- workbooks made with openpyxl --------------------------------------------------------------


NUMBERS = [0.883, 1, 0, -0.05, 1e-07, 68.3, 0.1 + 0.2, 123456789012, 990101001001.0, 1e20, 2.5e-300]
NUMBER_FORMATS = [
    "General",
    "0%",
    "0.0%",
    "0.00%",
    '0.0"%"',
    "0.0\\%",
    "[Red]0.0%;[Blue]-0.0%",
    "0.00E+00",
    "#,##0.00",
    "@",
]


def test_numbers_under_percent_scientific_and_text_formats_read_alike():
    rows = [["格式", *NUMBER_FORMATS]]
    formats = {}
    for row_number, number in enumerate(NUMBERS, start=2):
        rows.append([str(number), *([number] * len(NUMBER_FORMATS))])
        for column, number_format in enumerate(NUMBER_FORMATS, start=2):
            formats[f"{openpyxl.utils.get_column_letter(column)}{row_number}"] = number_format
    got = assert_same_reading(workbook_of(("数字", rows, formats)))
    first = grid_rows(got)[1]  # 0.883 under each format
    assert first[1:5] == ["0.883", "88.3", "88.3", "88.3"]  # General, then three percent formats
    assert first[5:7] == ["0.883", "0.883"]  # a literal "%" is not a percent format
    assert grid_rows(got)[9][1] == "990101001001"  # a 12-digit code stored as a number


@pytest.mark.parametrize("date1904", [False, True], ids=["1900", "1904"])
def test_dates_times_and_serials_read_alike_in_both_date_systems(date1904):
    rows = [
        ["日期", dt.date(2025, 8, 31), dt.datetime(2025, 10, 1, 13, 45), dt.date(1900, 2, 28)],
        ["时间", dt.time(12, 30), dt.timedelta(days=1, hours=2), 45931],
        ["序号", 45931, 45931.5, 3e6],
    ]
    formats = {"D2": "yyyy-mm-dd", "B3": 'yyyy"年"m"月"', "C3": "mm-dd-yy", "D3": "yyyy/m/d"}
    got = assert_same_reading(workbook_of(("数据", rows, formats), date1904=date1904))
    assert grid_rows(got)[0][1:3] == ["2025-08-31", "2025-10-01"]
    assert grid_rows(got)[2][3] == "#VALUE!"  # a date format on a serial beyond year 9999


def test_shared_strings_rich_text_entities_and_spaces_read_alike():
    bold = InlineFont(b=True)
    rows = [
        ["XX街道2025年11月社区治理指标报表"],
        HEADER,
        ["990101001001", "a&b<c>\"d'", "2025.10", " ６８．３ ", "12"],
        ["０９９０１０１００１００２", "line1\nline2\rline3\r\nend", "x005F_x000D_", "  ", "—"],
        [CellRichText(["红", TextBlock(bold, "色"), "预警"]), "=1+1", "#N/A", True, False],
    ]
    inline = workbook_of(("数据", rows))
    assert_same_reading(inline)
    shared = with_shared_strings(inline)
    assert b'<c r="A1" t="s">' in zipfile.ZipFile(io.BytesIO(shared)).read(
        "xl/worksheets/sheet1.xml"
    )
    got = assert_same_reading(shared)
    assert grid_rows(got)[4][0] == "红色预警"
    assert grid_rows(got)[3][2] == "x000D_"  # openpyxl drops "x005F_" from shared strings


def test_phonetic_runs_and_several_runs_of_shared_strings_read_alike():
    data = with_shared_strings(workbook_of(("数据", [HEADER, ["990101001001", "占位"]])))
    runs = (
        '<r><rPr><b/><sz val="11"/><color rgb="FFFF0000"/><rFont val="宋体"/>'
        '<family val="3"/><charset val="134"/></rPr><t xml:space="preserve">幸福 </t></r>'
        '<r><t>社区</t></r><rPh sb="0" eb="2"><t>シアワセ</t></rPh>'
        '<phoneticPr fontId="1" type="noConversion"/>'
    )
    data = patched(data, "xl/sharedStrings.xml", r"<si><t>占位</t></si>", f"<si>{runs}</si>")
    got = assert_same_reading(data)
    assert grid_rows(got)[1][1] == "幸福 社区"


def test_formulas_with_cached_values_errors_and_booleans_read_alike():
    rows = [HEADER, ["990101001001", "=B3", '=A2&"x"', "=1/0", "=NA()"], [True, False, "#DIV/0!"]]
    data = workbook_of(("数据", rows))
    # openpyxl writes formulas without a cached value; give them the values Excel would store
    sheet = "xl/worksheets/sheet1.xml"
    data = patched(
        data, sheet, r'<c r="B2"><f>B3</f><v\s*/></c>', '<c r="B2"><f>B3</f><v>0</v></c>'
    )
    data = patched(
        data,
        sheet,
        r'<c r="C2"><f>(.*?)</f><v\s*/></c>',
        r'<c r="C2" t="str"><f>\1</f><v>990101001001x</v></c>',
    )
    data = patched(
        data,
        sheet,
        r'<c r="D2"><f>1/0</f><v\s*/></c>',
        '<c r="D2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
    )
    got = assert_same_reading(data)
    assert grid_rows(got)[1][1:5] == ["0", "990101001001x", "#DIV/0!", ""]
    assert grid_rows(got)[2][:3] == ["TRUE", "FALSE", "#DIV/0!"]


def test_hidden_sheets_are_skipped_and_other_data_sheets_warned_about():
    data_rows = [HEADER, ["990101001001", "幸福社区", "2025-08", 68.3, 12]]
    data = workbook_of(
        ("填报说明", [["请按模板填写"], ["社区代码为12位"]]),
        ("隐藏", data_rows, None, "hidden"),
        ("深度隐藏", data_rows, None, "veryHidden"),
        ("十月", data_rows),
        ("空表", []),
        ("十一月", data_rows),
    )
    got = assert_same_reading(data)
    assert got["sheet"] == "十月"
    assert [p.code for p in got["problems"]] == ["sheet_ignored"]
    assert set(got["lines"]) == {"填报说明", "十月", "空表", "十一月"}


def test_title_rows_gaps_missing_rows_and_trailing_formatted_rows_read_alike():
    rows = [
        ["XX街道2025年11月社区治理指标报表"],
        [None],
        ["填报单位：XX街道办事处", None, None, None, None, None, None, "盖章"],
        HEADER,
        ["990101001001", None, "2025-08", None, 12],
        [None, None, None, None, None],
        ["990101001002", "和平社区", "2025-08", 70],
    ]
    data = workbook_of(("数据", rows, {"D7": "0.0%"}))
    data = patched(
        data,
        "xl/worksheets/sheet1.xml",
        r"</sheetData>",
        '<row r="40" spans="1:5" ht="20" customHeight="1"/><row r="41"></row></sheetData>',
    )
    got = assert_same_reading(data)
    assert len(got["grid"]) == 41 and got["grid"].shape[1] == 8
    assert grid_rows(got)[6][:4] == ["990101001002", "和平社区", "2025-08", "7000"]


def test_many_rows_beyond_the_header_search_read_alike():
    rows = [["标题"], HEADER] + [
        [f"9901010010{n:02d}", f"社区{n}", "2025-08", 60 + n / 10, n] for n in range(1, 80)
    ]
    rows[50] = []
    got = assert_same_reading(workbook_of(("数据", rows), ("第二张", rows[:3])))
    assert [len(x) for x in got["lines"]["数据"]][:2] == [ingest.HEADER_SEARCH_ROWS + 1, 81]


def test_merged_title_cells_read_alike():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["XX街道社区治理指标报表"])
    sheet.merge_cells("A1:E1")
    sheet.append(HEADER)
    sheet.append(["990101001001", "幸福社区", "2025-08", 68.3, 12])
    sheet.merge_cells("B3:B4")
    assert_same_reading(save(workbook))


# ---- a workbook written the way Excel and WPS write them ----------------------------------------


def excel_package(sheet_xml: str, strings_xml: str, date1904: str = "0") -> bytes:
    """A workbook assembled by hand as Excel (numbered styles, shared strings) and WPS write it."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
        "</Types>"
    )
    package_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
        f'<workbookPr date1904="{date1904}" defaultThemeVersion="164011"/>'
        '<sheets><sheet name="填报说明" sheetId="1" r:id="rId1"/>'
        '<sheet name="数据" sheetId="2" r:id="rId2"/></sheets></workbook>'
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{RELS}/worksheet" Target="/xl/worksheets/sheet2.xml"/>'
        f'<Relationship Id="rId3" Type="{RELS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId4" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    number_formats = {  # cellXfs index → numFmtId; 176/177 custom, 14 redeclared as WPS does
        0: 0, 1: 176, 2: 177, 3: 14, 4: 49, 5: 10, 6: 31, 7: 11, 8: 46,
    }  # fmt: skip
    styles = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<styleSheet xmlns="{MAIN}"><numFmts count="3">'
        '<numFmt numFmtId="176" formatCode="0.0%"/>'
        '<numFmt numFmtId="177" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/>'
        '<numFmt numFmtId="14" formatCode="yyyy/m/d"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(number_formats)}">'
        + "".join(
            f'<xf numFmtId="{n}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            for n in number_formats.values()
        )
        + '</cellXfs><cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )
    notes = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        "</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/styles.xml", styles)
        archive.writestr("xl/sharedStrings.xml", strings_xml)
        archive.writestr("xl/worksheets/sheet1.xml", notes)
        archive.writestr("xl/worksheets/sheet2.xml", sheet_xml)
    return buffer.getvalue()


EXCEL_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    f'<sst xmlns="{MAIN}" count="12" uniqueCount="12">'
    "<si><t>请按模板填写</t></si>"  # 0
    "<si><t>社区代码</t></si><si><t>社区名称</t></si><si><t>统计期</t></si>"  # 1-3
    "<si><t>群众满意度（%）</t></si><si><t>诉求响应时长(小时)</t></si>"  # 4-5
    "<si><t>990101001001</t></si>"  # 6
    '<si><r><rPr><sz val="11"/><rFont val="宋体"/><charset val="134"/></rPr><t>幸福</t></r>'
    '<r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">社区 </t></r></si>'  # 7
    "<si><t>2025-08</t></si>"  # 8
    "<si><t>A&amp;B &#x4E2D;&#20013; &lt;备注&gt;</t></si>"  # 9
    '<si><t xml:space="preserve">  第一行&#13;&#10;第二行\r\n第三行  </t></si>'  # 10
    "<si><t/></si>"  # 11
    "</sst>"
)
EXCEL_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" '
    'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
    '<dimension ref="A1:F12"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    '<sheetFormatPr defaultRowHeight="14.25" x14ac:dyDescent="0.2"/>'
    '<cols><col min="1" max="1" width="15" style="4" customWidth="1"/></cols>'
    "<sheetData>\r\n"
    '<row r="2" spans="1:5" x14ac:dyDescent="0.2">'
    '<c r="A2" t="s"><v>1</v></c><c r="B2" t="s"><v>2</v></c><c r="C2" t="s"><v>3</v></c>'
    '<c r="D2" t="s"><v>4</v></c><c r="E2" t="s"><v>5</v></c></row>\r\n'
    '<row r="3" spans="1:6" x14ac:dyDescent="0.2">'
    '<c r="A3" s="4" t="s"><v>6</v></c><c r="B3" t="s"><v>7</v></c>'
    '<c r="C3" s="2"><v>45870</v></c><c r="D3" s="1"><v>0.88300000000000001</v></c>'
    '<c r="E3"><v>12.5</v></c><c r="F3" t="s"><v>9</v></c></row>\r\n'
    '<row r="4" spans="1:6">\r\n'
    '  <c r="A4" s="7"><v>990101001002</v></c>\r\n'
    '  <c r="B4" t="s"><v>10</v></c>\r\n'
    '  <c r="C4" s="3"><v>45901</v></c>\r\n'
    '  <c r="D4" s="5"><f>E4/100</f><v>0.68300000000000005</v></c>\r\n'
    '  <c r="E4" cm="1"><f t="array" ref="E4">SUM(E3:E3)</f><v>12.5</v></c>\r\n'
    '  <c r="F4" t="s"><v>11</v></c>\r\n'
    "</row>\r\n"
    '<row r="6" spans="1:6"><c r="A6" t="str"><f>A3&amp;""</f><v>990101001001</v></c>'
    '<c r="B6" t="inlineStr"><is><r><t>和平</t></r><r><rPr><i/></rPr><t>社区</t></r></is></c>'
    '<c r="C6" s="6"><v>45931</v></c><c r="D6" t="e"><f>NA()</f><v>#N/A</v></c>'
    '<c r="E6" t="b"><v>1</v></c><c r="F6" s="8"><v>1.5</v></c></row>'
    '<row r="7" spans="1:6"><c r="A7" s="0" t="n"><v>9.9010100100300005E+11</v></c>'
    '<c r="B7" t="inlineStr"><is><t xml:space="preserve"> 东湖 </t></is></c>'
    '<c r="C7" t="s"><v>8</v></c><c r="D7" s="1"><v>1.2E-3</v></c><c r="E7"><v/></c>'
    '<c r="F7" s="3"/></row>'
    '<row r="9" spans="1:6" ht="20" customHeight="1"/>'
    '<row r="12" spans="1:6" hidden="1"><c r="C12" s="3"/></row>'
    "</sheetData>"
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    "</worksheet>"
)


@pytest.mark.parametrize("date1904", ["0", "1", "true", "false"])
def test_an_excel_and_wps_style_workbook_reads_alike(date1904):
    got = assert_same_reading(excel_package(EXCEL_SHEET, EXCEL_STRINGS, date1904))
    rows = grid_rows(got)
    assert got["sheet"] == "数据"
    assert rows[2][:6] == [
        "990101001001",
        "幸福社区 ",
        "2025-08-01" if date1904 in ("0", "false") else "2029-08-02",
        "88.3",
        "12.5",
        "A&B 中中 <备注>",
    ]
    assert rows[3][1] == "  第一行\r\n第二行\n第三行  "
    assert rows[3][3] == "68.3"
    assert rows[5][:6] == ["990101001001", "和平社区", "45931", "#N/A", "TRUE", "1 day, 12:00:00"]
    assert rows[6][:4] == ["990101001003", " 东湖 ", "2025-08", "0.12"]
    assert len(rows) == 12


# ---- handing over to openpyxl ------------------------------------------------------------------


def data_workbook() -> bytes:
    return workbook_of(("数据", [HEADER, ["990101001001", "幸福社区", "2025-08", 68.3, 12]]))


HANDED_OVER = {
    "cell without a reference": (r'<c r="D2"', "<c"),
    "row without a number": (r'<row r="2"', "<row"),
    "reference not the first attribute": (r'<c r="D2" t="n"', '<c t="n" r="D2"'),
    "single quotes": (r'<c r="D2" t="n">', "<c r=\"D2\" t='n'>"),
    "comment between cells": (r'(<c r="D2")', r"<!-- 注释 -->\1"),
    "rows out of order": (r'<row r="2">', '<row r="1">'),
    "cells out of order": (r'<c r="D2"', '<c r="A2"'),
    "unknown cell type": (r'<c r="D2" t="n"', '<c r="D2" t="d"'),
    "prefixed elements": (r"<sheetData>", "<x:sheetData>"),
}


@pytest.mark.parametrize("case", HANDED_OVER, ids=list(HANDED_OVER))
def test_what_the_fast_reader_does_not_understand_is_read_by_openpyxl(case):
    pattern, replacement = HANDED_OVER[case]
    data = patched(data_workbook(), "xl/worksheets/sheet1.xml", pattern, replacement)
    with pytest.raises(xlsx_reader.NotFast):
        fast(data)
    got = parse_upload("t.xlsx", data, CATALOG, today=TODAY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsx_reader, "FastWorkbook", _refusing_workbook)
        expected = parse_upload("t.xlsx", data, CATALOG, today=TODAY)
    assert got.errors == expected.errors and got.warnings == expected.warnings
    pd.testing.assert_frame_equal(got.values, expected.values)


def _refusing_workbook(*args: object) -> None:
    raise xlsx_reader.NotFast("refused for the test")


def test_uploads_are_read_without_openpyxl_when_the_fast_reader_understands_them(monkeypatch):
    def no_openpyxl(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fast reader handed over")

    monkeypatch.setattr(ingest.openpyxl, "load_workbook", no_openpyxl)
    rows = [["XX街道报表"], HEADER, ["990101001001", "幸福社区", dt.date(2025, 8, 1), 0.683, 12]]
    data = with_shared_strings(workbook_of(("数据", rows, {"D3": "0.0%"})))
    parsed = parse_upload("t.xlsx", data, CATALOG, {"990101001001"}, TODAY)
    assert parsed.ok and parsed.sheet == "数据" and parsed.header_row == 2
    assert sorted(zip(parsed.values["indicator"], parsed.values["value"], strict=True)) == [
        ("response_hours", 12.0),
        ("satisfaction", 68.3),
    ]
    assert set(parsed.values["period"]) == {"2025-08"}


# ---- random small workbooks ---------------------------------------------------------------------

TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn"))
    | st.sampled_from("\t\n\r&<>\"' "),
    max_size=8,
)
VALUES = st.one_of(
    st.none(),
    TEXT,
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=dt.date(1905, 1, 1), max_value=dt.date(2200, 12, 31)),
    st.sampled_from(["#N/A", "#DIV/0!", "990101001001", "2025.10", "６８．３", "=1+1", "社区代码"]),
)
FORMATS = st.sampled_from(
    ["General", "0%", "0.0%", "yyyy-mm-dd", "@", "0.00E+00", "h:mm", '0.0"%"', "#,##0.00", "[h]:mm"]
)
SHEETS = st.lists(
    st.tuples(
        st.lists(st.lists(st.tuples(VALUES, FORMATS), max_size=6), max_size=8),
        st.sampled_from(["visible", "visible", "hidden"]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets=SHEETS, date1904=st.booleans(), shared=st.booleans(), header_at=st.integers(0, 3))
def test_random_workbooks_read_alike(sheets, date1904, shared, header_at):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    if date1904:
        workbook.epoch = CALENDAR_MAC_1904
    for number, (rows, state) in enumerate(sheets):
        sheet = workbook.create_sheet(f"表{number}")
        for row_number, row in enumerate(rows, start=1):
            for column, (value, number_format) in enumerate(row, start=1):
                cell = sheet.cell(row_number, column, value)
                cell.number_format = number_format
        if header_at and len(rows) >= header_at:
            for column, header in enumerate(HEADER, start=1):
                sheet.cell(header_at, column, header)
        sheet.sheet_state = state if number else "visible"  # openpyxl needs one visible sheet
    data = save(workbook)
    assert_same_reading(with_shared_strings(data) if shared else data)


def test_many_distinct_numbers_plain_and_percent_read_alike():
    """Numbers formatted in bulk (plain and percent) match the one-by-one path, ties included."""
    numbers = [
        0.123456789125,  # x × 100 ends in a rounding tie at the 10th decimal
        0.000000000005,
        -0.0000125,
        0.1 + 0.2,
        1 / 3,
        -2 / 3,
        8.79,
        8.8,
        1e-5,
        9.99999999e8,
        1.5e9,
        123456789.125,
        5e15,
        -0.0,
        2**53 + 2.0,
        7,
        -12,
    ]
    numbers += [(n * 7919 % 100_003) / 997.0 * (-1) ** n for n in range(600)]
    numbers += [n / 10**k for n in range(1, 40) for k in range(1, 14)]
    rows = [["plain", "percent", "percent 0"]] + [[x, x, x] for x in numbers]
    formats = {}
    for row_number in range(2, len(rows) + 1):
        formats[f"B{row_number}"] = "0.00%"
        formats[f"C{row_number}"] = "0%"
    got = assert_same_reading(workbook_of(("数字", rows, formats)))
    assert grid_rows(got)[1][:2] == ["0.123456789125", "12.3456789125"]
