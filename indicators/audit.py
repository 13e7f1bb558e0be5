"""The audit trail: who did what, when, from where, and whether it was allowed."""

from __future__ import annotations

import getpass

import duckdb
import pandas as pd

from indicators import store

SQL_RECORD = """
INSERT INTO audit_log (audit_id, recorded_at, actor, action, target, outcome, source, detail)
VALUES (nextval('audit_id_seq'), ?, ?, ?, ?, ?, ?, ?)
"""
SQL_READ = """
SELECT audit_id, recorded_at, actor, action, target, outcome, source, detail FROM audit_log
WHERE (? IS NULL OR actor = ?) AND (? IS NULL OR action = ?) AND (? IS NULL OR outcome = ?)
  AND (? IS NULL OR recorded_at >= ?) AND (? IS NULL OR recorded_at < ?)
  AND (? IS NULL OR contains(lower(concat_ws(' ', actor, target, source, detail)), lower(?)))
ORDER BY audit_id DESC
LIMIT ?
"""
SQL_ACTIONS = "SELECT DISTINCT action FROM audit_log ORDER BY action"
SQL_ACTORS = "SELECT DISTINCT actor FROM audit_log ORDER BY actor"
# ok: done; refused: not allowed (role, scope, lock); failed: tried and did not work
# (wrong password, a rejected upload).
OUTCOMES = ("ok", "refused", "failed")


def record(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    action: str,
    outcome: str = "ok",
    target: str | None = None,
    source: str | None = None,
    detail: str | None = None,
) -> None:
    """Appends one entry (in its own transaction unless one is open on `con`'s caller)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}; expected one of {OUTCOMES}")
    with store.write_lock():
        con.execute(SQL_RECORD, [store.utc_now(), actor, action, target, outcome, source, detail])


def entries(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    text: str | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Audit entries, newest first, filtered by whichever arguments are given (`text` is found
    in the actor, target, source or detail, ignoring case)."""
    return con.execute(
        SQL_READ,
        [
            actor,
            actor,
            action,
            action,
            outcome,
            outcome,
            since,
            since,
            until,
            until,
            text or None,
            text or None,
            limit,
        ],
    ).df()


def actions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The actions that occur in the log, for a filter."""
    return [row[0] for row in con.execute(SQL_ACTIONS).fetchall()]


def actors(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The actors that occur in the log, for a filter."""
    return [row[0] for row in con.execute(SQL_ACTORS).fetchall()]


def cli_source() -> str:
    """Where a command-line action comes from: "cli:" and the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
