"""A report or bulletin as file content: printable HTML or an XLSX workbook, chosen by suffix."""

from __future__ import annotations

from indicators.catalog import Catalog
from indicators.orgs import level_of
from indicators.reports import Report, ReportError
from reporting.html import report_html
from reporting.xlsx import report_workbook
from ui.i18n import t

FORMATS = {
    ".html": "text/html",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_suffix(suffix: str) -> str:
    """The lower-case suffix when it is a report format; ReportError naming the formats otherwise."""
    lowered = suffix.lower()
    if lowered not in FORMATS:
        shown = suffix or "（无）"
        raise ReportError(
            "report.format",
            f"不支持的报告文件类型“{shown}”：输出文件名须以 .html 或 .xlsx 结尾。",
            f"Unsupported report file type '{suffix or '(none)'}': the output file must end in .html or .xlsx.",
        )
    return lowered


def report_bytes(report: Report, catalog: Catalog, language: str, suffix: str) -> bytes:
    """The report rendered in the format of `suffix` (.html as UTF-8, or .xlsx)."""
    if check_suffix(suffix) == ".html":
        return report_html(report, catalog, language).encode("utf-8")
    return report_workbook(report, catalog, language)


def file_name(unit_name: str, code: str, period: str, language: str, suffix: str) -> str:
    """A download name such as 阳光社区-健康度报告-2026-10.xlsx (no path separators)."""
    kind = "community" if level_of(code) == "community" else "bulletin"
    stem = t(f"report.file_stem.{kind}", language)
    safe = "".join(ch for ch in unit_name if ch not in '\\/:*?"<>|').strip() or code
    return f"{safe}-{stem}-{period}{suffix}"
