"""DuckDB store: schema migrations, org registry, batches, revisions, as-of views and score tables."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from indicators.catalog import Catalog
from indicators.orgs import in_scope, parent_of, prefix_of_scope

DEFAULT_DB_PATH = Path(__file__).resolve().parent.parent / "data" / "health.duckdb"

# ---------------------------------------------------------------------------------------------
# Schema. Each migration is applied once, in order, inside one transaction, and recorded in
# schema_migrations; a database made by an older release is brought up to date when opened.
# ---------------------------------------------------------------------------------------------

MIGRATION_1_INITIAL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE orgs (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    parent_code VARCHAR,
    population BIGINT,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE org_history (
    code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    population BIGINT,
    valid_from TIMESTAMP NOT NULL,
    batch_id BIGINT
);
CREATE SEQUENCE batch_id_seq START 1;
CREATE TABLE batches (
    batch_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    file_name VARCHAR,
    sha256 VARCHAR,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    rows_total BIGINT NOT NULL DEFAULT 0,
    rows_accepted BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    values_new BIGINT NOT NULL DEFAULT 0,
    values_changed BIGINT NOT NULL DEFAULT 0,
    values_unchanged BIGINT NOT NULL DEFAULT 0,
    rollback_of BIGINT,
    rolled_back_by BIGINT
);
CREATE TABLE revisions (
    community_code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    value DOUBLE,
    previous_value DOUBLE,
    batch_id BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    user_name VARCHAR NOT NULL
);
CREATE TABLE current_values (
    community_code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    revision INTEGER NOT NULL,
    batch_id BIGINT NOT NULL
);
CREATE TABLE catalog_versions (
    version VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    registered_at TIMESTAMP NOT NULL
);
"""

MIGRATION_2_SCORES = """
CREATE TABLE unit_scores (
    version VARCHAR NOT NULL,
    granularity VARCHAR NOT NULL,
    unit_level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    "index" DOUBLE,
    coverage DOUBLE,
    withheld BOOLEAN,
    withheld_reason VARCHAR,
    communities INTEGER,
    scored INTEGER,
    level VARCHAR,
    raw_level VARCHAR,
    previous_level VARCHAR,
    carried_level VARCHAR,
    level_changed BOOLEAN,
    reason_code VARCHAR,
    reason_zh VARCHAR,
    reason_en VARCHAR,
    trend VARCHAR,
    slope DOUBLE
);
CREATE TABLE dimension_scores (
    version VARCHAR NOT NULL,
    granularity VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL,
    score DOUBLE
);
CREATE TABLE indicator_scores (
    version VARCHAR NOT NULL,
    granularity VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    value DOUBLE,
    score DOUBLE,
    effective_weight DOUBLE,
    level VARCHAR
);
CREATE TABLE level_counts (
    version VARCHAR NOT NULL,
    granularity VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    n INTEGER NOT NULL
);
CREATE TABLE escalations (
    version VARCHAR NOT NULL,
    unit_level VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    level VARCHAR,
    streak INTEGER NOT NULL,
    escalated BOOLEAN NOT NULL,
    reason_zh VARCHAR,
    reason_en VARCHAR
);
CREATE TABLE jumps (
    version VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    value DOUBLE,
    median DOUBLE,
    mad DOUBLE,
    robust_z DOUBLE,
    reason_zh VARCHAR,
    reason_en VARCHAR
);
"""


MIGRATION_3_ACCESS = """
CREATE TABLE users (
    name VARCHAR PRIMARY KEY,
    display_name VARCHAR,
    role VARCHAR NOT NULL,
    org_code VARCHAR,
    password_hash VARCHAR NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    is_demo BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE SEQUENCE audit_id_seq START 1;
CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY,
    recorded_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target VARCHAR,
    outcome VARCHAR NOT NULL,
    source VARCHAR,
    detail VARCHAR
);
CREATE TABLE device_tokens (
    token_id VARCHAR PRIMARY KEY,
    token_hash VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    org_code VARCHAR,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by VARCHAR,
    last_seen_at TIMESTAMP
);
"""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", MIGRATION_1_INITIAL),
    Migration(2, "materialised scores", MIGRATION_2_SCORES),
    Migration(3, "accounts, audit log and device tokens", MIGRATION_3_ACCESS),
)

SQL_CREATE_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL
)
"""
SQL_APPLIED_MIGRATIONS = "SELECT number FROM schema_migrations ORDER BY number"
SQL_RECORD_MIGRATION = "INSERT INTO schema_migrations VALUES (?, ?, ?)"

# ---- meta ----
SQL_GET_META = "SELECT value FROM meta WHERE key = ?"
SQL_SET_META = "INSERT OR REPLACE INTO meta VALUES (?, ?)"

# ---- orgs ----
SQL_ORGS = "SELECT code, name, level, parent_code, population FROM orgs ORDER BY code"
SQL_ORGS_IN_SCOPE = """
SELECT code, name, level, parent_code, population FROM orgs
WHERE starts_with(code, ?) OR list_contains(?::VARCHAR[], code) ORDER BY code
"""
SQL_UPSERT_ORGS = """
INSERT OR REPLACE INTO orgs
SELECT code, name, level, parent_code, CAST(population AS BIGINT), ? FROM incoming_orgs
"""
SQL_CHANGED_ORGS = """
SELECT i.code, i.name, CAST(i.population AS BIGINT) AS population
FROM incoming_orgs i LEFT JOIN orgs o USING (code)
WHERE o.code IS NULL OR o.name IS DISTINCT FROM i.name
   OR o.population IS DISTINCT FROM CAST(i.population AS BIGINT)
"""
SQL_INSERT_ORG_HISTORY = (
    "INSERT INTO org_history SELECT code, name, population, ?, ? FROM changed_orgs"
)
SQL_ORG_HISTORY = """
SELECT code, name, population, valid_from, batch_id FROM org_history
WHERE code = ? ORDER BY valid_from
"""

# ---- batches and revisions ----
SQL_NEXT_BATCH_ID = "SELECT nextval('batch_id_seq')"
SQL_INSERT_BATCH = """
INSERT INTO batches (batch_id, kind, file_name, sha256, user_name, created_at, status,
    rows_total, rows_accepted, rows_rejected, values_new, values_changed, values_unchanged,
    rollback_of)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
SQL_CLASSIFY_INCOMING = """
SELECT
    count(*) FILTER (WHERE c.value IS NULL) AS values_new,
    count(*) FILTER (WHERE c.value IS NOT NULL AND c.value <> i.value) AS values_changed,
    count(*) FILTER (WHERE c.value = i.value) AS values_unchanged
FROM incoming i
LEFT JOIN current_values c USING (community_code, period, indicator)
"""
# A cell a rollback removed has no current row but keeps its revisions: numbering goes on
# from the highest one (one pass over revisions, limited to the incoming cells).
SQL_STAGE_CHANGES = """
CREATE OR REPLACE TEMP TABLE staged_changes AS
SELECT i.community_code, i.period, i.indicator, i.value,
       coalesce(c.revision, removed.revision, 0) + 1 AS revision, c.value AS previous_value
FROM incoming i
LEFT JOIN current_values c USING (community_code, period, indicator)
LEFT JOIN (
    SELECT community_code, period, indicator, max(revision) AS revision
    FROM revisions SEMI JOIN incoming USING (community_code, period, indicator)
    GROUP BY ALL
) removed USING (community_code, period, indicator)
WHERE c.value IS NULL OR c.value <> i.value
"""
SQL_INSERT_REVISIONS = """
INSERT INTO revisions
SELECT community_code, period, indicator, revision, value, previous_value, ?, ?, ?
FROM staged_changes
"""
# A staged cell without a previous value has no current row to replace.
SQL_DELETE_STAGED_CURRENT = """
DELETE FROM current_values c USING staged_changes s
WHERE c.community_code = s.community_code AND c.period = s.period AND c.indicator = s.indicator
  AND s.previous_value IS NOT NULL
"""
SQL_INSERT_STAGED_CURRENT = """
INSERT INTO current_values
SELECT community_code, period, indicator, value, revision, ? FROM staged_changes
WHERE value IS NOT NULL
"""
SQL_STAGED_AFFECTED = """
SELECT community_code, min(period) AS since FROM staged_changes GROUP BY community_code
"""
# A scoped reader sees the batches that wrote at least one cell inside its subtree; the whole
# registry (scope NULL) sees every batch, org registry loads included.
SQL_BATCHES = """
SELECT batch_id, kind, file_name, sha256, user_name, created_at, status, rows_total,
       rows_accepted, rows_rejected, values_new, values_changed, values_unchanged,
       rollback_of, rolled_back_by
FROM batches b
WHERE ? IS NULL OR EXISTS (SELECT 1 FROM revisions r
                           WHERE r.batch_id = b.batch_id AND starts_with(r.community_code, ?))
ORDER BY batch_id DESC
"""
SQL_BATCH = """
SELECT batch_id, kind, file_name, sha256, user_name, created_at, status, rows_total,
       rows_accepted, rows_rejected, values_new, values_changed, values_unchanged,
       rollback_of, rolled_back_by
FROM batches WHERE batch_id = ?
"""
# A batch's cell is still its own while the current value is the one it wrote, whoever wrote
# it last (a later batch that changed it may have been rolled back since).
SQL_BATCH_CELLS_NOT_CURRENT = """
SELECT r.community_code, r.period, r.indicator, c.batch_id AS later_batch
FROM revisions r
LEFT JOIN current_values c USING (community_code, period, indicator)
WHERE r.batch_id = ? AND c.value IS DISTINCT FROM r.value
ORDER BY 1, 2, 3
"""
# Each cell goes back to the value it had before the batch, as the cell's next revision (after
# the check above every cell of the batch still holds the value the batch wrote).
SQL_STAGE_ROLLBACK = """
CREATE OR REPLACE TEMP TABLE staged_changes AS
SELECT r.community_code, r.period, r.indicator, r.previous_value AS value,
       c.revision + 1 AS revision, c.value AS previous_value
FROM revisions r
JOIN current_values c USING (community_code, period, indicator)
WHERE r.batch_id = ?
"""
SQL_BATCH_COMMUNITIES = (
    "SELECT DISTINCT community_code FROM revisions WHERE batch_id = ? ORDER BY 1"
)
SQL_MARK_ROLLED_BACK = (
    "UPDATE batches SET status = 'rolled_back', rolled_back_by = ? WHERE batch_id = ?"
)
SQL_CELL_HISTORY = """
SELECT r.period, r.indicator, r.revision, r.previous_value, r.value, r.batch_id,
       b.kind, b.file_name, r.user_name, r.recorded_at
FROM revisions r JOIN batches b USING (batch_id)
WHERE r.community_code = ? AND (? IS NULL OR r.indicator = ?)
ORDER BY r.period, r.indicator, r.revision
"""
SQL_CURRENT_VALUES = """
SELECT community_code, period, indicator, value FROM current_values
WHERE (? IS NULL OR period = ?) AND starts_with(community_code, ?)
ORDER BY community_code, period, indicator
"""
SQL_VALUES_AS_OF = """
SELECT community_code, period, indicator, value FROM (
    SELECT community_code, period, indicator, value,
           row_number() OVER (PARTITION BY community_code, period, indicator
                              ORDER BY revision DESC) AS newest
    FROM revisions WHERE recorded_at <= ?
) WHERE newest = 1 AND value IS NOT NULL
  AND (? IS NULL OR period = ?) AND starts_with(community_code, ?)
ORDER BY community_code, period, indicator
"""
SQL_VALUE_COUNT = "SELECT count(*) FROM current_values"

# ---- catalog versions ----
SQL_CATALOG_VERSION = "SELECT fingerprint FROM catalog_versions WHERE version = ?"
SQL_INSERT_CATALOG_VERSION = "INSERT INTO catalog_versions VALUES (?, ?, ?, ?)"
SQL_CATALOG_VERSIONS = (
    "SELECT version, fingerprint, registered_at FROM catalog_versions ORDER BY registered_at"
)
SQL_SCORED_VERSIONS = "SELECT DISTINCT version FROM unit_scores"

# One process owns the database file (DuckDB allows no other), so one lock serialises its writes.
_WRITE_LOCK = threading.RLock()


class StoreError(RuntimeError):
    """A store operation that cannot go ahead, with a message in Chinese and English."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(message_zh)

    def message(self, language: str) -> str:
        return self.message_en if language == "en" else self.message_zh


class DatabaseBusyError(StoreError):
    """Another process (usually the running dashboard) holds the database file."""


def utc_now() -> dt.datetime:
    """The current time in UTC without tzinfo, as stored in TIMESTAMP columns."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def write_lock() -> threading.RLock:
    """The lock that serialises writes within this process."""
    return _WRITE_LOCK


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, with the result fully consumed (DuckDB 2 blocks the
    connection while a result is only partly fetched)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    row = first_row(con, sql, params)
    return None if row is None else row[0]


def next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(con, SQL_NEXT_BATCH_ID))


def connect(
    path: str | Path = DEFAULT_DB_PATH, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Opens the database file (creating its folder), brought up to the current schema.

    Raises DatabaseBusyError when another process holds the file.
    """
    target = Path(path)
    if str(path) != ":memory:":
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(path), read_only=read_only, config={"autoinstall_known_extensions": False}
        )
    except duckdb.IOException as error:
        text = str(error)
        if "lock" in text.lower():
            holder = text.split("Conflicting lock is held in", 1)[-1].split(". See", 1)[0].strip()
            raise DatabaseBusyError(
                "database_busy",
                f"数据库文件 {path} 正被另一个进程占用（{holder}），通常是正在运行的仪表盘。"
                "请把上报文件放入仪表盘监视的收件箱文件夹（data/inbox/），仪表盘会自动导入并在旁边写出结果文件；"
                "或者先停止仪表盘再运行此命令。",
                f"The database file {path} is held by another process ({holder}), usually the "
                "running dashboard. Drop the upload into the inbox folder the dashboard watches "
                "(data/inbox/): it imports it and writes a result file beside it; or stop the "
                "dashboard first.",
            ) from None
        raise StoreError(
            "database_unreadable",
            f"无法打开数据库文件 {path}：{error}",
            f"Cannot open the database file {path}: {error}",
        ) from None
    if not read_only:
        migrate(con)
    return con


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Applies the migrations this database lacks; returns the numbers applied."""
    con.execute(SQL_CREATE_MIGRATIONS)
    done = {row[0] for row in con.execute(SQL_APPLIED_MIGRATIONS).fetchall()}
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.number in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(SQL_RECORD_MIGRATION, [migration.number, migration.name, utc_now()])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.number)
    return applied


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute(SQL_APPLIED_MIGRATIONS).fetchall()
    return rows[-1][0] if rows else 0


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One serialised write transaction on a fresh cursor: everything or nothing."""
    with write_lock():
        cursor = con.cursor()
        cursor.execute("BEGIN TRANSACTION")
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = first_row(con, SQL_GET_META, [key])
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(SQL_SET_META, [key, value])


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    return get_meta(con, "demo") == "true"


# ---- org registry ----------------------------------------------------------------------------


def ancestors(code: str) -> list[str]:
    """The street and district above a unit, nearest first."""
    chain = []
    parent = parent_of(code)
    while parent:
        chain.append(parent)
        parent = parent_of(parent)
    return chain


def check_in_scope(code: str, scope: str | None) -> None:
    """Refuses (AccessDenied) a unit outside the caller's subtree `scope` (None = everything)."""
    if in_scope(code, scope):
        return
    from indicators.access import AccessDenied  # access builds on this module's StoreError

    raise AccessDenied(
        "access.scope",
        f"单位 {code} 不在您的管辖范围（{scope}）内，不能查看。",
        f"Unit {code} is outside your area ({scope}); you cannot see it.",
    )


def registry(
    con: duckdb.DuckDBPyConnection, *, scope: str | None, with_ancestors: bool = False
) -> pd.DataFrame:
    """Registered units (code, name, level, parent_code, population) in the subtree of `scope`
    (None = the whole registry); `with_ancestors` adds the street and district above it, so
    a street's account can show the name of its district."""
    above = ancestors(scope) if with_ancestors and scope is not None else []
    return con.execute(SQL_ORGS_IN_SCOPE, [prefix_of_scope(scope), above]).df()


def upsert_orgs(
    con: duckdb.DuckDBPyConnection, units: pd.DataFrame, batch_id: int | None = None
) -> int:
    """Adds or updates units (code, name, level, parent_code, population), keeping renames.

    Runs inside the caller's transaction; returns how many units were new or changed.
    """
    incoming = units[["code", "name", "level", "parent_code", "population"]].copy()
    incoming["population"] = pd.to_numeric(incoming["population"], errors="coerce").round()
    con.register("incoming_orgs", incoming)
    try:
        changed = con.execute(SQL_CHANGED_ORGS).df()
        con.register("changed_orgs", changed)
        now = utc_now()
        con.execute(SQL_INSERT_ORG_HISTORY, [now, batch_id])
        con.execute(SQL_UPSERT_ORGS, [now])
        con.unregister("changed_orgs")
    finally:
        con.unregister("incoming_orgs")
    return len(changed)


def org_history(con: duckdb.DuckDBPyConnection, code: str, *, scope: str | None) -> pd.DataFrame:
    """The names and populations a unit has had; refused outside `scope`."""
    check_in_scope(code, scope)
    return con.execute(SQL_ORG_HISTORY, [code]).df()


# ---- values, batches, revisions ----------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    """What an import did or would do."""

    status: str  # "committed" | "unchanged" | "dry_run"
    batch_id: int | None
    values_new: int
    values_changed: int
    values_unchanged: int
    affected: pd.DataFrame  # community_code, since (earliest changed month)


def classify_values(con: duckdb.DuckDBPyConnection, values: pd.DataFrame) -> tuple[int, int, int]:
    """(new, changed, unchanged) counts of `values` against the current values."""
    con.register("incoming", values[["community_code", "period", "indicator", "value"]])
    try:
        row = first_row(con, SQL_CLASSIFY_INCOMING)
    finally:
        con.unregister("incoming")
    return int(row[0]), int(row[1]), int(row[2])


def write_values(
    con: duckdb.DuckDBPyConnection,
    values: pd.DataFrame,
    *,
    user: str,
    file_name: str | None,
    sha256: str | None,
    rows_total: int,
    rows_accepted: int,
    rows_rejected: int,
    kind: str = "import",
) -> BatchOutcome:
    """Records a batch and a revision for every new or changed cell; inside a transaction.

    Cells whose value equals the current one get no revision; a batch that changes nothing
    is not recorded (status "unchanged").
    """
    incoming = values[["community_code", "period", "indicator", "value"]]
    con.register("incoming", incoming)
    try:
        con.execute(SQL_STAGE_CHANGES)
    finally:
        con.unregister("incoming")
    new, changed, unchanged = _staged_counts(con, len(incoming))
    affected = con.execute(SQL_STAGED_AFFECTED).df()
    if new + changed == 0:
        return BatchOutcome("unchanged", None, 0, 0, unchanged, affected)
    batch_id = next_batch_id(con)
    now = utc_now()
    con.execute(
        SQL_INSERT_BATCH,
        [
            batch_id,
            kind,
            file_name,
            sha256,
            user,
            now,
            "committed",
            rows_total,
            rows_accepted,
            rows_rejected,
            new,
            changed,
            unchanged,
            None,
        ],
    )
    _apply_staged(con, batch_id, now, user, replaces_cells=changed > 0)
    return BatchOutcome("committed", batch_id, new, changed, unchanged, affected)


def _staged_counts(con: duckdb.DuckDBPyConnection, total: int) -> tuple[int, int, int]:
    row = first_row(
        con,
        "SELECT count(*) FILTER (WHERE previous_value IS NULL), "
        "count(*) FILTER (WHERE previous_value IS NOT NULL) FROM staged_changes",
    )
    new, changed = int(row[0]), int(row[1])
    return new, changed, total - new - changed


def _apply_staged(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    now: dt.datetime,
    user: str,
    replaces_cells: bool = True,
) -> None:
    """Records the staged changes as revisions and makes them current; `replaces_cells` False
    (only new cells staged) skips looking for current rows to replace."""
    con.execute(SQL_INSERT_REVISIONS, [batch_id, now, user])
    if replaces_cells:
        con.execute(SQL_DELETE_STAGED_CURRENT)
    con.execute(SQL_INSERT_STAGED_CURRENT, [batch_id])


def batches(con: duckdb.DuckDBPyConnection, *, scope: str | None) -> pd.DataFrame:
    """Batches, newest first: all of them for the whole registry, else those that wrote a
    cell inside `scope`."""
    return con.execute(SQL_BATCHES, [scope, prefix_of_scope(scope)]).df()


def batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> dict | None:
    """One batch's record (no cell values), for the checks before a rollback."""
    frame = con.execute(SQL_BATCH, [batch_id]).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def batch_community_codes(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[str]:
    """The communities whose values a batch wrote."""
    return [row[0] for row in con.execute(SQL_BATCH_COMMUNITIES, [batch_id]).fetchall()]


def rollback_values(con: duckdb.DuckDBPyConnection, batch_id: int, user: str) -> BatchOutcome:
    """Restores every cell a batch changed to its previous revision; inside a transaction.

    The rollback is itself a batch (kind "rollback"). Refused when the batch is unknown,
    already rolled back, or when a later batch changed one of its cells since.
    """
    info = batch(con, batch_id)
    if info is None:
        raise StoreError(
            "batch_unknown", f"批次 {batch_id} 不存在。", f"There is no batch {batch_id}."
        )
    if info["kind"] != "import":
        raise StoreError(
            "batch_not_import",
            f"批次 {batch_id} 是一次{info['kind']}操作，不能回滚。",
            f"Batch {batch_id} is a {info['kind']}, not an import; it cannot be rolled back.",
        )
    if info["status"] == "rolled_back":
        raise StoreError(
            "batch_rolled_back",
            f"批次 {batch_id} 已于批次 {info['rolled_back_by']} 回滚过。",
            f"Batch {batch_id} was already rolled back by batch {info['rolled_back_by']}.",
        )
    conflicts = con.execute(SQL_BATCH_CELLS_NOT_CURRENT, [batch_id]).df()
    if not conflicts.empty:
        later = sorted({int(b) for b in conflicts["later_batch"].dropna()})
        first = conflicts.iloc[0]
        raise StoreError(
            "batch_superseded",
            f"批次 {batch_id} 的 {len(conflicts)} 个数据已被之后的批次 {', '.join(map(str, later))} 修改"
            f"（例如社区 {first['community_code']} {first['period']} {first['indicator']}），请先回滚这些批次。",
            f"{len(conflicts)} values of batch {batch_id} were changed later by batch(es) "
            f"{', '.join(map(str, later))} (e.g. {first['community_code']} {first['period']} "
            f"{first['indicator']}); roll those back first.",
        )
    con.execute(SQL_STAGE_ROLLBACK, [batch_id])
    restored = int(scalar(con, "SELECT count(*) FROM staged_changes"))
    affected = con.execute(SQL_STAGED_AFFECTED).df()
    rollback_id = next_batch_id(con)
    now = utc_now()
    con.execute(
        SQL_INSERT_BATCH,
        [
            rollback_id,
            "rollback",
            info["file_name"],
            info["sha256"],
            user,
            now,
            "committed",
            0,
            0,
            0,
            0,
            restored,
            0,
            batch_id,
        ],
    )
    _apply_staged(con, rollback_id, now, user)
    con.execute(SQL_MARK_ROLLED_BACK, [rollback_id, batch_id])
    return BatchOutcome("committed", rollback_id, 0, restored, 0, affected)


def current_values(
    con: duckdb.DuckDBPyConnection, period: str | None = None, *, scope: str | None
) -> pd.DataFrame:
    """The current value of every cell (community_code, period, indicator, value) in `scope`."""
    return con.execute(SQL_CURRENT_VALUES, [period, period, prefix_of_scope(scope)]).df()


def values_as_of(
    con: duckdb.DuckDBPyConnection,
    moment: dt.datetime,
    period: str | None = None,
    *,
    scope: str | None,
) -> pd.DataFrame:
    """Every cell in `scope` exactly as it stood at `moment` (UTC), rebuilt from the revisions."""
    return con.execute(SQL_VALUES_AS_OF, [moment, period, period, prefix_of_scope(scope)]).df()


def cell_history(
    con: duckdb.DuckDBPyConnection,
    community_code: str,
    indicator: str | None = None,
    *,
    scope: str | None,
) -> pd.DataFrame:
    """Every revision of a community's cells: old → new, batch, file, who, when; refused
    when the community lies outside `scope`."""
    check_in_scope(community_code, scope)
    return con.execute(SQL_CELL_HISTORY, [community_code, indicator, indicator]).df()


def value_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(con, SQL_VALUE_COUNT))


# ---- catalog versions ----------------------------------------------------------------------------


def register_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> bool:
    """Records the catalog's version; True when the version is new to this database.

    Refuses a catalog whose content differs from an already registered one of the same
    version: changed goalposts or weights need a new version so old results stay readable.
    """
    row = first_row(con, SQL_CATALOG_VERSION, [catalog.version])
    if row is None:
        con.execute(
            SQL_INSERT_CATALOG_VERSION,
            [catalog.version, catalog.fingerprint, catalog.model_dump_json(), utc_now()],
        )
        return True
    if row[0] != catalog.fingerprint:
        raise StoreError(
            "catalog_version_reused",
            f"方法版本 {catalog.version} 已用于另一套权重或阈值。修改了指标目录后，请同时修改 version，"
            "这样旧版本的结果仍可查阅。",
            f"Methodology version {catalog.version} was already used for different weights or "
            "thresholds. Give the changed catalog a new version so the old results stay readable.",
        )
    return False


def catalog_versions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(SQL_CATALOG_VERSIONS).df()


# ---- materialised scores: what the pages, the command line and the reports read ----------------

SQL_SCORES = """
SELECT s.code, o.name, s.unit_level, s.period, s."index", s.level, s.coverage, s.withheld,
       s.withheld_reason, s.carried_level, s.level_changed, s.reason_code, s.reason_zh, s.reason_en,
       s.trend, s.slope, s.communities, s.scored
FROM unit_scores s LEFT JOIN orgs o USING (code)
WHERE s.version = ? AND s.granularity = ? AND s.unit_level = ?
  AND (? IS NULL OR s.period = ?) AND starts_with(s.code, ?)
ORDER BY s.code, s.period
"""
# dimension_scores has no unit_level column; the level is read off the code (see orgs.level_of).
SQL_DIMENSIONS = """
SELECT d.code, d.period, d.dimension, d.score FROM dimension_scores d
WHERE d.version = ? AND d.granularity = ? AND (? IS NULL OR d.period = ?)
  AND starts_with(d.code, ?) AND length(d.code) = 12
  AND CASE ?
      WHEN 'district' THEN substr(d.code, 7) = '000000'
      WHEN 'street' THEN substr(d.code, 10) = '000' AND substr(d.code, 7) <> '000000'
      ELSE substr(d.code, 10) <> '000' END
"""
SQL_PERIODS = """
SELECT DISTINCT period FROM unit_scores
WHERE version = ? AND granularity = ? AND unit_level = 'community' ORDER BY period
"""
SQL_LEVEL_COUNTS = """
SELECT state, n FROM level_counts WHERE version = ? AND granularity = ? AND code = ? AND period = ?
"""
SQL_ESCALATIONS = """
SELECT e.code, o.name, e.unit_level, e.period, e.level, e.streak, e.escalated, e.reason_zh, e.reason_en
FROM escalations e LEFT JOIN orgs o USING (code)
WHERE e.version = ? AND starts_with(e.code, ?) AND (? IS NULL OR e.period = ?)
ORDER BY e.code, e.period
"""
SQL_JUMPS = """
SELECT j.code, o.name, j.period, j.indicator, j.value, j.median, j.mad, j.robust_z,
       j.reason_zh, j.reason_en
FROM jumps j LEFT JOIN orgs o USING (code)
WHERE j.version = ? AND starts_with(j.code, ?) AND (? IS NULL OR j.period = ?)
ORDER BY j.period DESC, j.code
"""
SQL_INDICATOR_SCORES = """
SELECT code, period, indicator, value, score, effective_weight, level FROM indicator_scores
WHERE version = ? AND granularity = ? AND code = ? AND (? IS NULL OR period = ?)
ORDER BY period, indicator
"""
SQL_INDICATOR_SCORES_PAIR = """
SELECT code, period, indicator, value, score, effective_weight, level FROM indicator_scores
WHERE version = ? AND granularity = ? AND period IN (?, ?) AND starts_with(code, ?)
"""
SQL_REPORTED_COMMUNITIES = """
SELECT DISTINCT community_code FROM current_values WHERE period = ? AND starts_with(community_code, ?)
"""


def scores(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    *,
    scope: str | None,
    granularity: str = "month",
    unit_level: str = "community",
    period: str | None = None,
) -> pd.DataFrame:
    """Materialised scores with one column per weighted dimension, for units in `scope`."""
    prefix = prefix_of_scope(scope)
    frame = con.execute(
        SQL_SCORES, [catalog.version, granularity, unit_level, period, period, prefix]
    ).df()
    dims = con.execute(
        SQL_DIMENSIONS, [catalog.version, granularity, period, period, prefix, unit_level]
    ).df()
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    if dims.empty:
        for dimension in dimension_ids:
            frame[dimension] = float("nan")
        return frame
    wide = dims.pivot_table(
        index=["code", "period"], columns="dimension", values="score", aggfunc="first"
    ).reset_index()
    wide.columns.name = None
    wide = wide.reindex(columns=["code", "period", *dimension_ids])
    return frame.merge(wide, on=["code", "period"], how="left")


def scored_periods(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, granularity: str = "month"
) -> list[str]:
    """Periods that have community scores under the catalog's version, oldest first."""
    return [row[0] for row in con.execute(SQL_PERIODS, [catalog.version, granularity]).fetchall()]


def level_counts(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    code: str,
    period: str,
    granularity: str = "month",
    *,
    scope: str | None,
) -> dict[str, int]:
    """How many communities of a street or district are at each level (plus withheld, missing);
    refused when the unit lies outside `scope`."""
    check_in_scope(code, scope)
    rows = con.execute(SQL_LEVEL_COUNTS, [catalog.version, granularity, code, period]).fetchall()
    return {state: int(n) for state, n in rows}


def escalations(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    *,
    scope: str | None,
    period: str | None = None,
) -> pd.DataFrame:
    """Escalation states per assessment period (streak, escalated, reason) of units in `scope`."""
    return con.execute(
        SQL_ESCALATIONS, [catalog.version, prefix_of_scope(scope), period, period]
    ).df()


def jumps(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    *,
    scope: str | None,
    period: str | None = None,
) -> pd.DataFrame:
    """Values in `scope` flagged as suspicious jumps (异常波动)."""
    return con.execute(SQL_JUMPS, [catalog.version, prefix_of_scope(scope), period, period]).df()


def indicator_scores(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    code: str,
    granularity: str = "month",
    period: str | None = None,
    *,
    scope: str | None,
) -> pd.DataFrame:
    """One community's indicator values, scores, effective weights and colours; refused when
    the community lies outside `scope`."""
    check_in_scope(code, scope)
    return con.execute(
        SQL_INDICATOR_SCORES, [catalog.version, granularity, code, period, period]
    ).df()


def indicator_scores_pair(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    period_from: str,
    period_to: str,
    granularity: str = "month",
    *,
    scope: str | None,
) -> pd.DataFrame:
    """Indicator scores of every community in `scope` for two periods (biggest movers)."""
    return con.execute(
        SQL_INDICATOR_SCORES_PAIR,
        [catalog.version, granularity, period_from, period_to, prefix_of_scope(scope)],
    ).df()


def reported_communities(
    con: duckdb.DuckDBPyConnection, month: str, *, scope: str | None
) -> set[str]:
    """Communities in `scope` with at least one value for a month."""
    rows = con.execute(SQL_REPORTED_COMMUNITIES, [month, prefix_of_scope(scope)]).fetchall()
    return {row[0] for row in rows}
