"""The upload page's parts: dry runs cached per file, commits with progress, problem tables, batch history and rollback."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import PurePath

import duckdb
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from indicators import operations, store
from indicators.access import AccessDenied, Principal, require
from indicators.catalog import Catalog
from indicators.ingest import Problem, problems_csv, problems_frame
from indicators.operations import ImportReport, Progress
from indicators.templates import template_csv, template_xlsx
from ui import db
from ui.auth import client_source
from ui.data import CACHE, Generation
from ui.i18n import LANGUAGES, t

ACCEPTED_TYPES = ["csv", "txt", "xlsx"]
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# session_state keys of the page (widget keys carry the same "up_" prefix)
CHECKS_KEY = "up_checks"  # dry-run reports by (sha256, data generation, options, principal, day)
RESULTS_KEY = "up_results"  # the outcome of the last commit, shown after the rerun
NOTICE_KEY = "up_notice"  # the outcome of the last rollback
ROUND_KEY = "up_round"  # bumped after a commit so that the uploader starts empty
ROLLBACK_BATCH_KEY = "up_rb_batch"
ROLLBACK_CONFIRM_KEY = "up_rb_confirm"
PROBLEM_COLUMNS = ("row", "column", "value", "message")


@dataclass(frozen=True)
class UploadedData:
    """One file as the browser sent it."""

    name: str
    data: bytes


@dataclass(frozen=True)
class CommitResult:
    """What confirming one file did: its import report, or else the refusal that stopped it."""

    file_name: str
    report: ImportReport | None
    failure: store.StoreError | None = None


@dataclass(frozen=True)
class Notice:
    """A message to show after a rerun, kept in every language so a language switch keeps it."""

    level: str  # "success" | "info" | "error"
    texts: dict[str, str]

    def show(self, language: str) -> None:
        {"success": st.success, "info": st.info, "error": st.error}[self.level](
            self.texts[language]
        )


# ---- dry run and commit ------------------------------------------------------------------------


def dry_run(
    file: UploadedData,
    *,
    principal: Principal,
    accept_valid: bool,
    generation: Generation,
    progress: Progress | None = None,
) -> ImportReport:
    """The dry-run report of one file, computed once per content, data generation and options."""
    checks: dict[tuple, ImportReport] = st.session_state.setdefault(CHECKS_KEY, {})
    key = check_key(file, principal, accept_valid, generation)
    if key not in checks:
        cursor = db.cursor()
        try:
            checks[key] = operations.import_upload(
                cursor,
                db.catalog(),
                file.name,
                file.data,
                principal=principal,
                dry_run=True,
                accept_valid=accept_valid,
                progress=progress,
                source=client_source(),
            )
        finally:
            cursor.close()
    return checks[key]


def check_key(
    file: UploadedData, principal: Principal, accept_valid: bool, generation: Generation
) -> tuple:
    """What a dry run depends on: the bytes, the stored data, the options, who and which day."""
    digest = hashlib.sha256(file.data).hexdigest()
    return (file.name, digest, generation, accept_valid, principal, dt.date.today().isoformat())


def forget_other_checks(keep: list[tuple]) -> None:
    """Drops cached dry runs of files no longer in the uploader."""
    checks: dict[tuple, ImportReport] = st.session_state.setdefault(CHECKS_KEY, {})
    for key in set(checks) - set(keep):
        del checks[key]


def dry_run_all(
    files: list[UploadedData],
    *,
    principal: Principal,
    accept_valid: bool,
    generation: Generation,
    language: str,
) -> list[ImportReport]:
    """Dry-runs every file, with a progress bar while a file not seen before is read."""
    reports, keys = [], []
    for file in files:
        keys.append(check_key(file, principal, accept_valid, generation))
        slot = st.empty()
        reports.append(
            dry_run(
                file,
                principal=principal,
                accept_valid=accept_valid,
                generation=generation,
                progress=progress_bar(slot, file.name, language),
            )
        )
        slot.empty()
    forget_other_checks(keys)
    return reports


def progress_bar(
    slot: DeltaGenerator, file_name: str, language: str, done: int = 0, count: int = 1
) -> Progress:
    """A progress callback drawing into `slot`: file `done` of `count`, stage by stage."""

    def show(fraction: float, stage: str) -> None:
        slot.progress(
            min(1.0, (done + fraction) / count),
            text=t(
                "upload.progress",
                language,
                file=file_name,
                stage=t(f"upload.stage.{stage}", language),
            ),
        )

    return show


def is_committable(report: ImportReport) -> bool:
    """A dry run that passed and would write something."""
    return report.status == "dry_run" and report.values_new + report.values_changed > 0


def commit_all(
    files: list[UploadedData], *, principal: Principal, accept_valid: bool, language: str
) -> list[CommitResult]:
    """Imports each file for real, one transaction per file, with one progress bar for all."""
    slot = st.empty()
    results = [
        commit_one(
            file,
            principal=principal,
            accept_valid=accept_valid,
            progress=progress_bar(slot, file.name, language, index, len(files)),
        )
        for index, file in enumerate(files)
    ]
    slot.empty()
    return results


def commit_one(
    file: UploadedData,
    *,
    principal: Principal,
    accept_valid: bool,
    progress: Progress | None = None,
) -> CommitResult:
    """Imports one file; a refusal or a failed write comes back as a message, nothing half-written."""
    cursor = db.cursor()
    try:
        report = operations.import_upload(
            cursor,
            db.catalog(),
            file.name,
            file.data,
            principal=principal,
            accept_valid=accept_valid,
            progress=progress,
            source=client_source(),
        )
    except store.StoreError as refusal:
        return CommitResult(file.name, None, refusal)
    except duckdb.Error as error:
        return CommitResult(
            file.name,
            None,
            store.StoreError(
                "write_failed",
                t("upload.write_failed", "zh", error=error),
                t("upload.write_failed", "en", error=error),
            ),
        )
    finally:
        cursor.close()
        db.data_changed()
    return CommitResult(file.name, report)


def result_notice(result: CommitResult) -> Notice:
    """The sentence reporting one commit, in every language."""
    failure = result.failure
    if failure is not None:
        return Notice(
            "error",
            {
                lang: t(
                    "upload.result.failed",
                    lang,
                    file=result.file_name,
                    message=failure.message(lang),
                )
                for lang in LANGUAGES
            },
        )
    report = result.report
    if report.status == "committed":
        return Notice(
            "success",
            {
                lang: t(
                    "upload.result.committed",
                    lang,
                    file=report.file,
                    batch=report.batch_id,
                    new=report.values_new,
                    changed=report.values_changed,
                    unchanged=report.values_unchanged,
                )
                for lang in LANGUAGES
            },
        )
    if report.status == "unchanged":
        return Notice(
            "info",
            {lang: t("upload.result.unchanged", lang, file=report.file) for lang in LANGUAGES},
        )
    return Notice(
        "error",
        {
            lang: t("upload.result.rejected", lang, file=report.file, count=len(report.errors))
            for lang in LANGUAGES
        },
    )


# ---- what a dry run shows ----------------------------------------------------------------------


def outcome_of(report: ImportReport) -> str:
    """ready | partial | unchanged | rejected: what confirming would do with this file."""
    if report.status == "rejected":
        return "rejected"
    if report.values_new + report.values_changed == 0:
        return "unchanged"
    return "partial" if report.errors else "ready"


def dry_run_table(reports: list[ImportReport], language: str) -> pd.DataFrame:
    """One row per file: outcome, data rows, new / changed / unchanged values, rejected rows."""
    return pd.DataFrame(
        {
            t("upload.column.file", language): pd.Series([r.file for r in reports], dtype="str"),
            t("upload.column.outcome", language): pd.Series(
                [t(f"upload.outcome.{outcome_of(r)}", language) for r in reports], dtype="str"
            ),
            t("upload.column.rows", language): [r.rows_total for r in reports],
            t("upload.column.new", language): [r.values_new for r in reports],
            t("upload.column.changed", language): [r.values_changed for r in reports],
            t("upload.column.unchanged", language): [r.values_unchanged for r in reports],
            t("upload.column.rejected", language): [r.rows_rejected for r in reports],
        }
    )


def problems_table(problems: list[Problem], language: str) -> pd.DataFrame:
    """Row, column, offending value and the message in `language`, headed in `language`."""
    frame = problems_frame(problems, language)[list(PROBLEM_COLUMNS)]
    return frame.rename(columns={c: t(f"upload.column.{c}", language) for c in PROBLEM_COLUMNS})


def error_report_name(file_name: str, language: str) -> str:
    return t("upload.error_report_name", language, stem=PurePath(file_name).stem)


def file_summary(report: ImportReport, language: str) -> Notice:
    """The one sentence above a file's problems: what confirming would do, and why."""
    outcome = outcome_of(report)
    level = {"rejected": "error", "unchanged": "info"}.get(outcome, "success")
    texts = {
        lang: t(
            f"upload.file_{outcome}",
            lang,
            file=report.file,
            count=len(report.errors),
            rows=report.rows_accepted,
        )
        for lang in LANGUAGES
    }
    return Notice(level, texts)


def show_file_check(report: ImportReport, index: int, language: str) -> None:
    """One file's summary sentence, its errors with the error report download, its warnings."""
    with st.container(border=True):
        file_summary(report, language).show(language)
        if report.errors:
            st.markdown(f"**{t('upload.errors', language, count=len(report.errors))}**")
            st.dataframe(
                problems_table(report.errors, language),
                key=f"up_errors_{index}",
                hide_index=True,
                width="stretch",
            )
            st.download_button(
                t("upload.errors_download", language),
                problems_csv(report.errors, language),
                file_name=error_report_name(report.file, language),
                mime=CSV_MIME,
                key=f"up_error_report_{index}",
                on_click="ignore",
            )
        if report.warnings:
            st.markdown(f"**{t('upload.warnings', language, count=len(report.warnings))}**")
            st.dataframe(
                problems_table(report.warnings, language),
                key=f"up_warnings_{index}",
                hide_index=True,
                width="stretch",
            )


def show_templates(catalog: Catalog, language: str) -> None:
    """The two template downloads and how to fill them in."""
    with st.expander(t("upload.templates", language)):
        st.markdown(t("upload.template_help", language))
        left, right = st.columns(2)
        left.download_button(
            t("upload.template_csv", language),
            template_csv(catalog),
            file_name=t("upload.template_csv_name", language),
            mime=CSV_MIME,
            key="up_template_csv",
            on_click="ignore",
        )
        right.download_button(
            t("upload.template_xlsx", language),
            template_xlsx(catalog),
            file_name=t("upload.template_xlsx_name", language),
            mime=XLSX_MIME,
            key="up_template_xlsx",
            on_click="ignore",
        )


def upload_refusal(principal: Principal | None, language: str) -> str | None:
    """Why this session may not upload (signed out, or a role without upload rights), or None."""
    if principal is None:
        return t("login.required", language)
    try:
        require(principal, "upload")
    except AccessDenied as refusal:
        return refusal.message(language)
    return None


# ---- batch history and rollback ----------------------------------------------------------------


@st.cache_data(**CACHE)
def visible_batches(generation: Generation, scope: str | None) -> pd.DataFrame:
    """The batches that wrote a cell inside `scope` (all of them for the whole registry)."""
    cursor = db.cursor()
    try:
        return store.batches(cursor, scope=scope)
    finally:
        cursor.close()


def local_zone() -> dt.tzinfo:
    """The server's time zone, in which the history shows times."""
    return dt.datetime.now(dt.UTC).astimezone().tzinfo or dt.UTC


def local_times(utc: pd.Series, zone: dt.tzinfo) -> pd.Series:
    """Stored UTC timestamps (naive) as local 'YYYY-MM-DD HH:MM' text."""
    moments = pd.to_datetime(utc).dt.tz_localize("UTC").dt.tz_convert(zone)
    return moments.dt.strftime("%Y-%m-%d %H:%M").astype("str")


def history_table(batches: pd.DataFrame, language: str, zone: dt.tzinfo) -> pd.DataFrame:
    """Batch, kind, who, when (local), file, status, rows, new / changed / unchanged, rolled back by."""
    kinds = batches["kind"].map(lambda kind: _label("upload.kind", kind, language))
    statuses = batches["status"].map(lambda status: _label("upload.status", status, language))
    return pd.DataFrame(
        {
            t("upload.column.batch", language): batches["batch_id"].astype("int64"),
            t("upload.column.kind", language): kinds.astype("str"),
            t("upload.column.user", language): batches["user_name"].astype("str"),
            t("upload.column.time", language): local_times(batches["created_at"], zone),
            t("upload.column.file", language): batches["file_name"].astype("str"),
            t("upload.column.status", language): statuses.astype("str"),
            t("upload.column.rows", language): batches["rows_total"].astype("int64"),
            t("upload.column.new", language): batches["values_new"].astype("int64"),
            t("upload.column.changed", language): batches["values_changed"].astype("int64"),
            t("upload.column.unchanged", language): batches["values_unchanged"].astype("int64"),
            t("upload.column.rolled_back_by", language): batches["rolled_back_by"]
            .map(lambda batch: "" if pd.isna(batch) else str(int(batch)))
            .astype("str"),
        }
    ).reset_index(drop=True)


def _label(prefix: str, value: str, language: str) -> str:
    """The translated name of a kind or status; an unknown one shows as stored."""
    try:
        return t(f"{prefix}.{value}", language)
    except KeyError:
        return value


def rollback_candidates(batches: pd.DataFrame, principal: Principal) -> pd.DataFrame:
    """Imports still in effect that this account may try to roll back: its own, or any for an admin."""
    mine = batches["user_name"] == principal.name
    candidates = batches[
        (batches["kind"] == "import")
        & (batches["status"] == "committed")
        & (mine | (principal.role == "admin"))
    ]
    return candidates if principal.may("rollback") else candidates.iloc[0:0]


def rollback_option_label(batch: pd.Series, language: str, zone: dt.tzinfo) -> str:
    when = local_times(pd.Series([batch["created_at"]]), zone).iloc[0]
    return t(
        "upload.rollback_option",
        language,
        batch=int(batch["batch_id"]),
        file=batch["file_name"],
        user=batch["user_name"],
        time=when,
    )


def roll_back(batch_id: int, principal: Principal) -> Notice:
    """Rolls one batch back; a refusal (owner, subtree, superseded) becomes a message."""
    cursor = db.cursor()
    try:
        outcome = operations.rollback_batch(
            cursor, db.catalog(), batch_id, principal, source=client_source()
        )
    except store.StoreError as refusal:
        return Notice("error", {lang: refusal.message(lang) for lang in LANGUAGES})
    finally:
        cursor.close()
        db.data_changed()
    return Notice(
        "success",
        {
            lang: t(
                "upload.rollback_done",
                lang,
                batch=batch_id,
                rollback=outcome.batch_id,
                count=outcome.values_changed,
            )
            for lang in LANGUAGES
        },
    )


def _roll_back_selected(principal: Principal) -> None:
    """The rollback button's callback: runs before the rerun, so the history is fresh after it."""
    batch_id = st.session_state.get(ROLLBACK_BATCH_KEY)
    if batch_id is None:
        return
    st.session_state[NOTICE_KEY] = roll_back(int(batch_id), principal)
    st.session_state[ROLLBACK_CONFIRM_KEY] = False


def show_history(principal: Principal, generation: Generation, language: str) -> None:
    """The batch history table, then the rollback control for the batches this account owns."""
    st.subheader(t("upload.history", language))
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is not None:
        notice.show(language)
    batches = visible_batches(generation, principal.org_code)
    if batches.empty:
        st.info(t("upload.history_empty", language))
        return
    zone = local_zone()
    st.dataframe(
        history_table(batches, language, zone), key="up_history", hide_index=True, width="stretch"
    )
    st.caption(t("upload.history_zone", language, zone=dt.datetime.now(zone).tzname()))
    candidates = rollback_candidates(batches, principal)
    st.markdown(f"**{t('upload.rollback', language)}**")
    if candidates.empty:
        st.caption(t("upload.rollback_none", language))
        return
    labels = {
        int(row["batch_id"]): rollback_option_label(row, language, zone)
        for _, row in candidates.iterrows()
    }
    st.selectbox(
        t("upload.rollback_pick", language),
        list(labels),
        format_func=labels.get,
        key=ROLLBACK_BATCH_KEY,
        help=t("upload.rollback_help", language),
    )
    confirmed = st.checkbox(t("upload.rollback_confirm", language), key=ROLLBACK_CONFIRM_KEY)
    st.button(
        t("upload.rollback_go", language),
        key="up_rb_go",
        disabled=not confirmed,
        on_click=_roll_back_selected,
        args=(principal,),
    )
