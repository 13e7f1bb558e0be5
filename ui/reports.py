"""Download buttons for a unit's report or bulletin and for data exports; files are made on click."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st

from indicators import reports
from indicators.access import Principal
from indicators.operations import csv_bytes
from indicators.orgs import level_of
from reporting.files import FORMATS, file_name, report_bytes
from reporting.xlsx import frames_workbook
from ui import db
from ui.auth import current_principal
from ui.i18n import t

CSV_MIME = "text/csv"


def report_buttons(code: str, unit_name: str, period: str, language: str, key: str) -> None:
    """HTML and XLSX buttons for the report of a community or the bulletin of a street or
    district. Nothing is shown to an account that may not export this unit."""
    principal = current_principal()
    if principal is None or not principal.may("export") or not principal.covers(code):
        return
    kind = "report" if level_of(code) == "community" else "bulletin"
    columns = st.columns(2)
    for column, suffix in zip(columns, (".html", ".xlsx"), strict=True):
        fmt = suffix.lstrip(".")
        column.download_button(
            t(f"report.download.{kind}_{fmt}", language),
            data=partial(_report_file, code, period, principal, language, suffix),
            file_name=file_name(unit_name, code, period, language, suffix),
            mime=FORMATS[suffix],
            key=f"{key}_{fmt}",
            on_click="ignore",
            width="stretch",
        )


def export_buttons(area: str | None, period: str, language: str, key: str) -> None:
    """Values and scores of the area for the period, as CSV (UTF-8 with BOM) and XLSX."""
    principal = current_principal()
    if principal is None or not principal.may("export"):
        return
    stem = f"{area or 'all'}-{period}"
    columns = st.columns(4)
    exports: list[tuple[str, Callable[[], bytes], str, str]] = []
    for part in ("values", "scores"):
        read = partial(_export_frame, part, area, period, principal)
        sheet = t(f"report.export.{part}", language)
        exports.append((f"{part}_csv", partial(_as_csv, read), f"{part}-{stem}.csv", CSV_MIME))
        exports.append(
            (
                f"{part}_xlsx",
                partial(_as_xlsx, read, sheet),
                f"{part}-{stem}.xlsx",
                FORMATS[".xlsx"],
            )
        )
    for column, (label, make, name, mime) in zip(columns, exports, strict=True):
        column.download_button(
            t(f"report.download.{label}", language),
            data=make,
            file_name=name,
            mime=mime,
            key=f"{key}_{label}",
            on_click="ignore",
            width="stretch",
        )


def _report_file(code: str, period: str, principal: Principal, language: str, suffix: str) -> bytes:
    """Runs on click, in a thread of its own: a fresh cursor, the principal captured at render."""
    catalog = db.catalog()
    cursor = db.cursor()
    try:
        report = reports.build_report(cursor, catalog, code, period, principal)
    finally:
        cursor.close()
    return report_bytes(report, catalog, language, suffix)


def _export_frame(part: str, area: str | None, period: str, principal: Principal) -> pd.DataFrame:
    cursor = db.cursor()
    try:
        if part == "values":
            return reports.values_export(cursor, period, principal, area)
        return reports.scores_export(cursor, db.catalog(), period, principal, area)
    finally:
        cursor.close()


def _as_csv(read: Callable[[], pd.DataFrame]) -> bytes:
    return csv_bytes(read())


def _as_xlsx(read: Callable[[], pd.DataFrame], sheet: str) -> bytes:
    return frames_workbook([(sheet, read())])


def area_downloads(area: str | None, area_name: str, period: str, language: str) -> None:
    """The overview's download block: the area's bulletin (or how to choose an area) and the
    data exports of the area."""
    st.subheader(t("report.download.heading", language))
    if area is None:
        st.caption(t("report.download.pick_area", language))
    else:
        report_buttons(area, area_name, period, language, "ov_report")
    export_buttons(area, period, language, "ov_export")
