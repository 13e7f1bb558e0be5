"""The dashboard's one database connection, its catalog, and the inbox watcher thread."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import streamlit as st

from indicators import operations, store
from indicators.catalog import Catalog, load_catalog
from indicators.inbox import InboxWatcher

DB_ENV = "HEALTH_DB"
CATALOG_ENV = "HEALTH_CATALOG"
DEMO_ENV = "HEALTH_DEMO"
INBOX_ENV = "HEALTH_INBOX"
MEMORY_LIMIT_ENV = "HEALTH_DB_MEMORY_LIMIT"
# DuckDB's own memory in the dashboard process (its default is 80 % of the machine). Reads keep
# file blocks cached up to this; bigger sorts and joins spill to disk. A province-wide monthly
# upload with its recompute ran in 14 s under 512 MB.
DEFAULT_MEMORY_LIMIT = "1GB"


def database_path() -> Path:
    return Path(os.environ.get(DB_ENV) or store.DEFAULT_DB_PATH)


@st.cache_resource(show_spinner=False)
def get_catalog(path: str | None = None) -> Catalog:
    return load_catalog(path or os.environ.get(CATALOG_ENV) or None)


@st.cache_resource(show_spinner="正在准备数据库… / Preparing the database…")
def _open(path: str, catalog_path: str | None) -> duckdb.DuckDBPyConnection:
    """Opens the database once per server process; the first start with no file builds the
    synthetic demo city unless HEALTH_DEMO=0."""
    catalog = get_catalog(catalog_path)
    first_start = not Path(path).exists()
    demo = first_start and os.environ.get(DEMO_ENV, "1") != "0"
    con = operations.init_database(path, catalog, demo=demo)
    limit = os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT
    try:
        con.execute("SET memory_limit = ?", [limit])
    except duckdb.Error:
        con.close()
        raise store.StoreError(
            "memory_limit_invalid",
            f"环境变量 {MEMORY_LIMIT_ENV} 的值 {limit!r} 不是有效的内存大小（例如 1GB、512MB）。",
            f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size (for example 1GB or 512MB).",
        ) from None
    inbox = os.environ.get(INBOX_ENV) or str(Path(path).parent / "inbox")
    InboxWatcher(con, catalog, Path(inbox)).start()
    return con


def connection() -> duckdb.DuckDBPyConnection:
    """The process-wide connection (use `cursor()` for each unit of work)."""
    return _open(str(database_path()), os.environ.get(CATALOG_ENV) or None)


def database_problem() -> store.StoreError | None:
    """Why the database cannot be opened (busy, unreadable, damaged), or None when it opens.

    Failures are not cached, so the next rerun tries again once the file is fixed.
    """
    try:
        connection()
    except store.StoreError as error:
        return error
    return None


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor: one shared connection across threads fails, sometimes silently."""
    return connection().cursor()


def catalog() -> Catalog:
    return get_catalog(os.environ.get(CATALOG_ENV) or None)


# The newest batch id is read at most once per this many seconds: every page run asks for it
# several times. Only this process writes the file; its uploads and rollbacks call
# `data_changed()` so their results show at once, and inbox imports show within this time.
GENERATION_SECONDS = 2.0


def data_generation() -> int:
    """Changes whenever data changes (newest batch id), so cached reads refresh after a write."""
    return _newest_batch(str(database_path()))


def data_changed() -> None:
    """Called after a write from the dashboard, so the next run reads the new generation."""
    _newest_batch.clear()


@st.cache_resource(ttl=GENERATION_SECONDS, show_spinner=False)
def _newest_batch(path: str) -> int:
    cur = cursor()
    try:
        value = store.scalar(cur, "SELECT coalesce(max(batch_id), 0) FROM batches")
    finally:
        cur.close()
    return int(value or 0)
