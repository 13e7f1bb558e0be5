"""What users do to the data, shared by the command line, the pages and the inbox watcher."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from indicators import accounts, audit, store
from indicators.access import AccessDenied, Principal, require
from indicators.catalog import Catalog
from indicators.orgs import ParsedRegistry, registry_from_frame, scope_prefix
from indicators.recompute import RecomputeStats, recompute_affected, recompute_all

if TYPE_CHECKING:
    from indicators.ingest import ParsedUpload, Problem

DEMO_USER = "示例数据"
# Called with (fraction done 0..1, stage) while an import runs: "read", "validated",
# "classified", "written", "recomputed".
Progress = Callable[[float, str], None]


@dataclass
class ImportReport:
    """The outcome of importing one file: the `import --json` contract of interfaces.md."""

    file: str
    sha256: str
    status: str  # committed | rejected | dry_run | unchanged
    batch_id: int | None = None
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    values_new: int = 0
    values_changed: int = 0
    values_unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    recompute: RecomputeStats | None = None

    def to_dict(self, language: str = "zh") -> dict:
        data = asdict(self)
        data.pop("recompute")
        data["errors"] = [_problem_dict(p, language) for p in self.errors]
        data["warnings"] = [_problem_dict(p, language) for p in self.warnings]
        return data


def _problem_dict(problem: Problem, language: str) -> dict:
    return {
        "row": problem.row,
        "column": problem.column,
        "code": problem.code,
        "value": problem.value,
        "message": problem.message(language),
    }


def open_store(path: str | Path, catalog: Catalog) -> duckdb.DuckDBPyConnection:
    """Opens (and migrates) the database and makes sure the catalog's version is scored.

    A catalog version new to this database gets the whole history recomputed under it,
    while the results of older versions stay readable.
    """
    con = store.connect(path)
    with store.transaction(con) as cursor:
        is_new = store.register_catalog(cursor, catalog)
        if is_new and store.value_count(cursor):
            recompute_all(cursor, catalog)
    return con


def import_upload(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    file_name: str,
    data: bytes,
    *,
    principal: Principal,
    dry_run: bool = False,
    accept_valid: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    source: str | None = None,
) -> ImportReport:
    """Parses, validates and (unless a dry run or rejected) commits one upload as a batch.

    All-or-nothing by default: any row error rejects the whole file. With `accept_valid` the
    valid rows are written and the rest reported. Rows outside the principal's subtree are
    errors; a role without upload rights raises AccessDenied before anything is read. Every
    import except a dry run is audited, refusals included (`source`: where it came from).
    """
    from indicators.ingest import parse_upload

    try:
        require(principal, "upload")
    except AccessDenied:
        audit.record(
            con,
            actor=principal.name,
            action="upload",
            outcome="refused",
            target=file_name,
            source=source,
            detail="role may not upload",
        )
        raise
    report_progress = progress or _no_progress
    report_progress(0.05, "read")
    known = set(store.registry(con, scope=None)["code"])  # out-of-scope rows are named as such
    parsed = parse_upload(file_name, data, catalog, registry_codes=known, today=today)
    report_progress(0.6, "validated")
    errors = list(parsed.errors) + _scope_problems(parsed, principal.org_code)
    error_rows = set(parsed.error_rows) | {
        p.row for p in errors if p.row is not None and p.code == "row_out_of_scope"
    }
    values = (
        parsed.values[~parsed.values["row"].isin(error_rows)]
        if len(parsed.values)
        else parsed.values
    )
    accepted_rows = len(set(values["row"])) if len(values) else 0
    report = ImportReport(
        file=file_name,
        sha256=parsed.sha256,
        status="rejected",
        rows_total=parsed.rows_total,
        rows_accepted=accepted_rows,
        rows_rejected=parsed.rows_total - accepted_rows if errors else 0,
        errors=errors,
        warnings=list(parsed.warnings),
    )
    if errors and (not accept_valid or parsed.layout is None):
        report.rows_accepted = 0
        report.rows_rejected = parsed.rows_total
        if not dry_run:
            out_of_scope = sum(p.code == "row_out_of_scope" for p in errors)
            audit.record(
                con,
                actor=principal.name,
                action="upload",
                outcome="refused" if out_of_scope else "failed",
                target=file_name,
                source=source,
                detail=f"rejected: {len(errors)} errors, {out_of_scope} rows outside scope",
            )
        return report
    if dry_run:
        new, changed, unchanged = store.classify_values(con, values)
        report_progress(1.0, "classified")
        report.status = "dry_run"
        report.values_new, report.values_changed, report.values_unchanged = new, changed, unchanged
        return report
    with store.transaction(con) as cursor:
        outcome = store.write_values(
            cursor,
            values,
            user=principal.name,
            file_name=file_name,
            sha256=parsed.sha256,
            rows_total=report.rows_total,
            rows_accepted=report.rows_accepted,
            rows_rejected=report.rows_rejected,
        )
        report_progress(0.8, "written")
        if outcome.status == "committed":
            report.recompute = recompute_affected(cursor, catalog, outcome.affected)
        audit.record(
            cursor,
            actor=principal.name,
            action="upload",
            target=file_name,
            source=source,
            detail=f"{outcome.status} batch={outcome.batch_id} new={outcome.values_new} "
            f"changed={outcome.values_changed} rejected_rows={report.rows_rejected}",
        )
    report_progress(1.0, "recomputed")
    report.status = outcome.status
    report.batch_id = outcome.batch_id
    report.values_new = outcome.values_new
    report.values_changed = outcome.values_changed
    report.values_unchanged = outcome.values_unchanged
    return report


def _no_progress(fraction: float, stage: str) -> None:
    """The default progress callback: nobody is watching."""


def _scope_problems(parsed: ParsedUpload, scope_code: str | None) -> list[Problem]:
    if scope_code is None or parsed.values.empty:
        return []
    from indicators.ingest import Problem

    prefix = scope_prefix(scope_code)
    outside = parsed.values[~parsed.values["community_code"].str.startswith(prefix)]
    problems = []
    for row, code in (
        outside[["row", "community_code"]].drop_duplicates("row").itertuples(index=False)
    ):
        problems.append(
            Problem(
                code="row_out_of_scope",
                row=int(row),
                column="社区代码",
                value=code,
                message_zh=f"第{row}行的社区“{code}”不在您的管辖范围（{scope_code}）内，不能上报。",
                message_en=f"Row {row}: community {code} is outside your area ({scope_code}); you cannot upload for it.",
            )
        )
    return problems


def rollback_batch(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    batch_id: int,
    principal: Principal,
    source: str | None = None,
) -> store.BatchOutcome:
    """Undoes one import batch and recomputes what it touched; raises StoreError if refused.

    Only the batch's owner (within their subtree) or an admin may roll a batch back. Audited,
    refusals included.
    """
    try:
        require(principal, "rollback")
        with store.transaction(con) as cursor:
            _check_rollback_rights(cursor, batch_id, principal)
            outcome = store.rollback_values(cursor, batch_id, principal.name)
            recompute_affected(cursor, catalog, outcome.affected)
            audit.record(
                cursor,
                actor=principal.name,
                action="rollback",
                target=f"batch {batch_id}",
                source=source,
                detail=f"by batch {outcome.batch_id}, {outcome.values_changed} values restored",
            )
    except store.StoreError as error:
        audit.record(
            con,
            actor=principal.name,
            action="rollback",
            target=f"batch {batch_id}",
            outcome="refused" if isinstance(error, AccessDenied) else "failed",
            source=source,
            detail=error.code,
        )
        raise
    return outcome


def _check_rollback_rights(
    con: duckdb.DuckDBPyConnection, batch_id: int, principal: Principal
) -> None:
    if principal.role == "admin":
        return
    found = store.batch(con, batch_id)
    if found is None:
        return  # rollback_values reports the unknown batch
    if found["user_name"] != principal.name:
        raise AccessDenied(
            "access.batch_owner",
            f"批次 {batch_id} 由“{found['user_name']}”上传，只有上传者本人或管理员可以撤销。",
            f"Batch {batch_id} was uploaded by '{found['user_name']}'; only its uploader or an "
            "admin may roll it back.",
        )
    codes = store.batch_community_codes(con, batch_id)
    stray = [code for code in codes if not principal.covers(code)]
    if stray:
        raise AccessDenied(
            "access.scope",
            f"批次 {batch_id} 含有不在您管辖范围内的社区（{stray[0]} 等 {len(stray)} 个），不能撤销。",
            f"Batch {batch_id} holds communities outside your area ({stray[0]} and "
            f"{len(stray) - 1} more); you cannot roll it back.",
        )


def recompute(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> RecomputeStats:
    """Rebuilds all scores and alert states under the catalog's version."""
    with store.transaction(con) as cursor:
        store.register_catalog(cursor, catalog)
        return recompute_all(cursor, catalog)


def read_registry(file_name: str, data: bytes) -> ParsedRegistry:
    """Reads an org registry file (CSV in any encoding Excel writes, or .xlsx)."""
    from indicators.ingest import read_table

    table = read_table(file_name, data)
    if table.error is not None:
        return ParsedRegistry(
            pd.DataFrame(), [(0, "", "", table.error.message_zh, table.error.message_en)]
        )
    header = table.rows[0] if table.rows else []
    frame = pd.DataFrame(table.rows[1:], columns=header) if header else pd.DataFrame()
    return registry_from_frame(frame, header_row=table.first_row)


def import_registry(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    units: pd.DataFrame,
    user: str,
    file_name: str | None = None,
    data: bytes | None = None,
) -> int:
    """Adds or updates org units, keeping the history of renames; returns how many changed."""
    with store.transaction(con) as cursor:
        batch_id = store.next_batch_id(cursor)
        changed = store.upsert_orgs(cursor, units, batch_id)
        cursor.execute(
            store.SQL_INSERT_BATCH,
            [
                batch_id,
                "orgs",
                file_name,
                hashlib.sha256(data).hexdigest() if data else None,
                user,
                store.utc_now(),
                "committed",
                len(units),
                len(units),
                0,
                0,
                changed,
                len(units) - changed,
                None,
            ],
        )
        if changed and store.value_count(cursor):
            recompute_all(cursor, catalog)
    return changed


def init_database(
    path: str | Path, catalog: Catalog, demo: bool = False, last_month: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Creates the database (with the synthetic demo city when `demo`)."""
    con = open_store(path, catalog)
    if demo and not store.registry(con, scope=None).shape[0]:
        load_demo(con, catalog, last_month=last_month)
    return con


def load_demo(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, last_month: str | None = None
) -> None:
    """Loads the synthetic demo city (示例数据) into an empty database in one transaction."""
    from indicators.demo import build_demo

    city = build_demo(catalog, last_month=last_month)
    with store.transaction(con) as cursor:
        batch_id = store.next_batch_id(cursor)
        store.upsert_orgs(cursor, city.registry, batch_id)
        cursor.execute(
            store.SQL_INSERT_BATCH,
            [
                batch_id,
                "orgs",
                "示例数据（虚构）",
                None,
                DEMO_USER,
                store.utc_now(),
                "committed",
                len(city.registry),
                len(city.registry),
                0,
                0,
                len(city.registry),
                0,
                None,
            ],
        )
        store.write_values(
            cursor,
            city.values,
            user=DEMO_USER,
            file_name="示例数据（虚构）",
            sha256=None,
            rows_total=len(city.values),
            rows_accepted=len(city.values),
            rows_rejected=0,
            kind="demo",
        )
        store.set_meta(cursor, "demo", "true")
        accounts.add_demo_accounts(cursor, city.registry)
        recompute_all(cursor, catalog)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (so Excel opens Chinese correctly), spreadsheet formulas neutralised."""
    buffer = io.StringIO()
    neutralised(frame).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8-sig")


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells a spreadsheet would not run as formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_formula)
    return safe


def neutralise_formula(cell: object) -> object:
    """Prefixes text that a spreadsheet would run as a formula (= + - @) with a quote."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(cell)
            return cell
        except ValueError:
            return "'" + cell
    return cell
