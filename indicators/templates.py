"""Download templates for the monthly upload: a CSV and an Excel workbook with validation and instructions."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from indicators.catalog import Catalog, Indicator
from indicators.ingest import range_text
from indicators.periods import current_month, shift_month

CODE_HEADER = "社区代码"
NAME_HEADER = "社区名称"
PERIOD_HEADER = "统计期"
FIXED_HEADERS = (CODE_HEADER, NAME_HEADER, PERIOD_HEADER)
# The example row uses a code no registry holds (province 99), so an unchanged template is rejected.
EXAMPLE_CODE = "999999999001"
EXAMPLE_NAME = "示例社区（上传前请删除本行）"
DATA_SHEET_TITLE = "数据"
INSTRUCTIONS_SHEET_TITLE = "填报说明"
TEXT_FORMAT = "@"
VALIDATED_ROWS = 10_000  # data validation and text format cover this many data rows
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
EXAMPLE_FONT = Font(italic=True, color="808080")
THIN_BORDER = Border(*(Side(style="thin", color="A6A6A6") for _ in range(4)))
INSTRUCTION_HEADERS = (
    "指标名称",
    "指标编号",
    "单位",
    "有效范围",
    "所属维度",
    "方向",
    "可用列名（别名）",
    "说明",
)


def template_indicators(catalog: Catalog) -> list[Indicator]:
    """The indicators a community reports: the indexed ones and the context ones, in catalog order."""
    indexed = {i.id for i in catalog.indexed_indicators}
    context = {d.id for d in catalog.dimensions if d.weight == 0}
    return [i for i in catalog.indicators if i.id in indexed or i.dimension in context]


def indicator_header(indicator: Indicator) -> str:
    """The template column header: the Chinese name and the unit, e.g. 群众满意度（%）."""
    return f"{indicator.name_zh}（{indicator.unit}）"


def template_headers(catalog: Catalog) -> list[str]:
    return [*FIXED_HEADERS, *(indicator_header(i) for i in template_indicators(catalog))]


def example_value(indicator: Indicator) -> float:
    """A plausible example: halfway between the goalposts, rounded to one decimal."""
    return round((indicator.best + indicator.worst) / 2, 1)


def example_period(today: dt.date | None = None) -> str:
    """Last month: the month staff usually report."""
    return shift_month(current_month(today), -1)


def template_csv(catalog: Catalog, *, today: dt.date | None = None) -> bytes:
    """The wide template as CSV (UTF-8 with BOM so Excel shows the Chinese headers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(template_headers(catalog))
    writer.writerow(
        [
            EXAMPLE_CODE,
            EXAMPLE_NAME,
            example_period(today),
            *(_number_text(example_value(i)) for i in template_indicators(catalog)),
        ]
    )
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(catalog: Catalog, *, today: dt.date | None = None) -> bytes:
    """The wide template as a workbook: a data sheet with validation and a 填报说明 sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET_TITLE
    indicators = template_indicators(catalog)
    _write_data_sheet(sheet, indicators, today)
    _write_instructions(workbook.create_sheet(INSTRUCTIONS_SHEET_TITLE), catalog, indicators)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_data_sheet(sheet: Worksheet, indicators: list[Indicator], today: dt.date | None) -> None:
    headers = [*FIXED_HEADERS, *(indicator_header(i) for i in indicators)]
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=column, value=header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = THIN_BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(column)].width = max(12, len(header) * 2 + 2)
    sheet.row_dimensions[1].height = 36
    sheet.freeze_panes = "A2"

    example = [
        EXAMPLE_CODE,
        EXAMPLE_NAME,
        example_period(today),
        *(example_value(i) for i in indicators),
    ]
    for column, value in enumerate(example, start=1):
        cell = sheet.cell(row=2, column=column, value=value)
        cell.font = EXAMPLE_FONT
    last_row = VALIDATED_ROWS + 1
    for letter in ("A", "C"):  # code and period stay text exactly as typed
        sheet.column_dimensions[letter].number_format = TEXT_FORMAT
        sheet[f"{letter}2"].number_format = TEXT_FORMAT

    code_rule = DataValidation(
        type="textLength",
        operator="equal",
        formula1="12",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="社区代码格式不对",
        error="社区代码必须是12位数字。请先把本列设置为“文本”格式，再填写完整的12位代码。",
        showInputMessage=True,
        promptTitle="社区代码",
        prompt="12位数字，本列为文本格式，请勿改为数字格式。",
    )
    code_rule.add(f"A2:A{last_row}")
    sheet.add_data_validation(code_rule)
    period_rule = DataValidation(
        type="textLength",
        operator="between",
        formula1="6",
        formula2="10",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="统计期格式不对",
        error="请按“2025-08”的格式填写统计期（年-月）。",
        showInputMessage=True,
        promptTitle="统计期",
        prompt="年-月，如2025-08。",
    )
    period_rule.add(f"C2:C{last_row}")
    sheet.add_data_validation(period_rule)

    for offset, indicator in enumerate(indicators):
        letter = get_column_letter(len(FIXED_HEADERS) + 1 + offset)
        rule = _range_rule(indicator, letter)
        rule.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(rule)


def _range_rule(indicator: Indicator, letter: str) -> DataValidation:
    """Excel data validation for one indicator's valid range, with a Chinese error message."""
    message = (
        f"“{indicator.name_zh}”应在有效范围内：{range_text(indicator, 'zh')}。没有数据请留空。"
    )
    common = {
        "allow_blank": True,
        "showErrorMessage": True,
        "errorTitle": "数值超出有效范围",
        "error": message,
        "showInputMessage": True,
        "promptTitle": indicator.name_zh[:32],
        "prompt": f"{range_text(indicator, 'zh')}"[:255],
    }
    low, high = _number_text(indicator.valid_min), _number_text(indicator.valid_max)
    if indicator.valid_min_inclusive:
        return DataValidation(
            type="decimal", operator="between", formula1=low, formula2=high, **common
        )
    cell = f"{letter}2"
    return DataValidation(
        type="custom", formula1=f"AND(ISNUMBER({cell}),{cell}>{low},{cell}<={high})", **common
    )


def _write_instructions(sheet: Worksheet, catalog: Catalog, indicators: list[Indicator]) -> None:
    notes = [
        f"{catalog.name_zh}月度填报说明（方法版本 {catalog.version}）",
        "1. 在“数据”工作表中每个社区每月填一行；第2行是示例，上传前请删除。",
        "2. 社区代码为12位数字，该列已设为“文本”格式；请勿改为数字格式，否则Excel会显示成科学计数法（如2.19901E+11）。",
        "3. 统计期按“年-月”填写，如2025-08；也可写作2025年8月、202508。",
        "4. 百分比指标填百分数，如68.3 或 68.3%（不要填0.683）。没有数据的单元格请留空，不要填0。",
        "5. 不要修改表头；多余的列（如备注）会被忽略。可以另存为.xlsx或CSV上传。",
        "",
    ]
    for text in notes:
        sheet.append([text])
    sheet["A1"].font = Font(bold=True, size=14)
    header_row = len(notes) + 1
    sheet.append(list(INSTRUCTION_HEADERS))
    for cell in sheet[header_row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = THIN_BORDER
    for indicator in indicators:
        dimension = catalog.dimension_by_id[indicator.dimension]
        direction = "越高越好" if indicator.higher_is_better else "越低越好"
        sheet.append(
            [
                indicator.name_zh,
                indicator.id,
                indicator.unit,
                range_text(indicator, "zh"),
                dimension.name_zh + ("（不计入指数）" if dimension.weight == 0 else ""),
                direction,
                "、".join(indicator.aliases),
                indicator.description_zh or indicator.source,
            ]
        )
    for letter, width in zip("ABCDEFGH", (22, 24, 10, 36, 26, 10, 36, 40), strict=True):
        sheet.column_dimensions[letter].width = width


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
