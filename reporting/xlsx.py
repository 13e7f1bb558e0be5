"""XLSX workbooks: a report's summary sheet and one sheet per table, and plain data exports."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from indicators.catalog import Catalog
from indicators.operations import neutralise_formula
from indicators.reports import Report
from reporting.tables import Column, Kind, SummaryItem, Table, summary, tables
from ui.i18n import SPECIAL_STATES, is_missing, t
from ui.theme import level_color, level_label, text_color_on

NUMBER_FORMATS: dict[str, str] = {
    "number": "0.0",
    "signed": "+0.0;-0.0;0.0",
    "contribution": "+0.00;-0.00;0.00",
    "percent": "0%",
    "integer": "0",
    "weight": "0.0%",
    "code": "@",
}
HEADER_FILL = PatternFill("solid", fgColor="ECEFF1")
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
WRAP = Alignment(wrap_text=True, vertical="top")
# Excel refuses these characters in sheet names and cuts names at 31 characters.
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_LIMIT = 31
MIN_WIDTH, MAX_WIDTH = 8, 60


def report_workbook(report: Report, catalog: Catalog, language: str) -> bytes:
    """The report as an .xlsx file: a summary sheet, then one sheet per table."""
    book = Workbook()
    styles = _register_styles(book, catalog, language)
    sheet = book.active
    sheet.title = _sheet_name(t("report.section.summary", language), set())
    _write_summary(sheet, summary(report, catalog, language), styles)
    used = {sheet.title}
    for table in tables(report, catalog, language):
        name = _sheet_name(table.title, used)
        used.add(name)
        _write_table(book.create_sheet(name), table, styles)
    return _saved(book)


def frames_workbook(sheets: list[tuple[str, pd.DataFrame]]) -> bytes:
    """Plain data exports (values, scores) as sheets: numbers as numbers, text neutralised."""
    book = Workbook()
    book.remove(book.active)
    styles = _register_styles(book, None, "zh")
    used: set[str] = set()
    for title, frame in sheets:
        name = _sheet_name(title, used)
        used.add(name)
        columns = tuple(Column(str(c), str(c), _kind_of(frame[c])) for c in frame.columns)
        _write_table(book.create_sheet(name), Table(name, title, columns, frame), styles)
    return _saved(book)


@dataclass(frozen=True)
class _Styles:
    """The workbook's named styles: one lookup per cell instead of one per attribute."""

    catalog: Catalog | None
    language: str
    levels: dict[str | None, tuple[str, str]]  # state → (label, style name)


def _register_styles(book: Workbook, catalog: Catalog | None, language: str) -> _Styles:
    book.add_named_style(
        NamedStyle(
            "header",
            font=HEADER_FONT,
            fill=HEADER_FILL,
            alignment=Alignment(vertical="center", wrap_text=True),
        )
    )
    book.add_named_style(NamedStyle("title", font=TITLE_FONT))
    book.add_named_style(NamedStyle("wrap", alignment=WRAP))
    for kind, number_format in NUMBER_FORMATS.items():
        book.add_named_style(NamedStyle(f"kind_{kind}", number_format=number_format))
    levels: dict[str | None, tuple[str, str]] = {}
    if catalog is not None:
        for state in (*catalog.level_ids, *SPECIAL_STATES, None):
            background = level_color(state, catalog)
            name = f"level_{state or 'none'}"
            book.add_named_style(
                NamedStyle(
                    name,
                    fill=PatternFill("solid", fgColor=background.lstrip("#").upper()),
                    font=Font(color=text_color_on(background).lstrip("#").upper(), bold=True),
                )
            )
            levels[state] = (level_label(state, catalog, language), name)
    return _Styles(catalog, language, levels)


def _kind_of(series: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "text"


def _saved(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(title: str, used: set[str]) -> str:
    base = SHEET_NAME_FORBIDDEN.sub("_", title).strip("'") or "Sheet"
    base = base[:SHEET_NAME_LIMIT]
    name, number = base, 2
    while name in used:
        suffix = f" ({number})"
        name = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        number += 1
    return name


def _write_summary(sheet: Worksheet, items: list[SummaryItem], styles: _Styles) -> None:
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 60
    for row, item in enumerate(items, start=1):
        sheet.cell(row=row, column=1, value=item.label).style = "header"
        cell = sheet.cell(row=row, column=2)
        _put(cell, item.value, item.kind, styles)
        if cell.style == "Normal":
            cell.style = "wrap"
    sheet.cell(row=1, column=2).style = "title"


def _write_table(sheet: Worksheet, table: Table, styles: _Styles) -> None:
    for position, column in enumerate(table.columns, start=1):
        sheet.cell(row=1, column=position, value=neutralise_formula(column.header)).style = "header"
    widths = [_width(column.header) for column in table.columns]
    for row_number, values in enumerate(table.rows(), start=2):
        for position, (column, value) in enumerate(
            zip(table.columns, values, strict=True), start=1
        ):
            cell = sheet.cell(row=row_number, column=position)
            _put(cell, value, column.kind, styles)
            if column.wide:
                cell.style = "wrap"
            if isinstance(cell.value, str):
                widths[position - 1] = max(widths[position - 1], _width(cell.value))
            elif cell.value is not None:
                widths[position - 1] = max(widths[position - 1], 10)
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = min(
            max(width, MIN_WIDTH), MAX_WIDTH
        )
    sheet.freeze_panes = "A2"
    if len(table.frame):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.frame) + 1}"


def _width(text: str) -> float:
    """Column width for text: CJK characters take about two Latin character widths."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + 2


def _put(cell: Cell, value: object, kind: Kind, styles: _Styles) -> None:
    """Writes one value: numbers as numbers with a number format, missing as an empty cell,
    levels as their label on their colour, text with formulas neutralised."""
    if kind == "level" and styles.levels:
        label, style = styles.levels[None if is_missing(value) else str(value)]
        cell.value = label
        cell.style = style
        return
    if is_missing(value):
        return
    if kind in ("number", "signed", "contribution", "percent", "weight"):
        cell.value = float(value)  # type: ignore[arg-type]
    elif kind == "integer":
        cell.value = int(value)  # type: ignore[call-overload]
    else:
        cell.value = neutralise_formula(str(value))
    if kind in NUMBER_FORMATS:
        cell.style = f"kind_{kind}"
