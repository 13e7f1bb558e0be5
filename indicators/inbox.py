"""The inbox folder: scheduled imports while the dashboard owns the database file."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

import duckdb

from indicators.access import Principal
from indicators.catalog import Catalog
from indicators.operations import import_upload

ACCEPTED_SUFFIXES = (".csv", ".txt", ".xlsx")
INBOX_USER = "inbox"
# Files dropped on the server's disk come from someone with shell access: an operator.
INBOX_PRINCIPAL = Principal(INBOX_USER, "admin", None)
RESULT_SUFFIX = ".result.json"
POLL_SECONDS = 5.0
# A file still being written (size changing between two looks) waits for the next poll.
SETTLE_SECONDS = 1.0

log = logging.getLogger(__name__)


def pending_files(folder: Path) -> list[Path]:
    """Upload files waiting in the inbox, oldest first."""
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in ACCEPTED_SUFFIXES
        and not p.name.startswith((".", "~$"))
    ]
    return sorted(files, key=lambda p: p.stat().st_mtime)


def process_file(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, path: Path, language: str = "zh"
) -> dict:
    """Imports one inbox file (all-or-nothing), writes `<name>.result.json` beside it and moves
    the file into `done/` or `rejected/`. Returns the result object."""
    data = path.read_bytes()
    report = import_upload(con, catalog, path.name, data, principal=INBOX_PRINCIPAL, source="inbox")
    result = report.to_dict(language)
    target = path.parent / ("rejected" if report.status == "rejected" else "done")
    target.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = target / f"{stamp}-{path.name}"
    shutil.move(str(path), moved)
    result["moved_to"] = str(moved)
    result_path = path.parent / (path.name + RESULT_SUFFIX)
    temporary = result_path.with_suffix(".tmp")
    temporary.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    temporary.replace(result_path)
    return result


def process_inbox(con: duckdb.DuckDBPyConnection, catalog: Catalog, folder: Path) -> list[dict]:
    """Processes every settled file in the inbox once."""
    results = []
    for path in pending_files(folder):
        size = path.stat().st_size
        if time.time() - path.stat().st_mtime < SETTLE_SECONDS or size == 0:
            continue
        try:
            results.append(process_file(con.cursor(), catalog, path))
        except Exception:  # a failure on one file must not stop the watcher
            log.exception("inbox: could not process %s", path)
    return results


class InboxWatcher(threading.Thread):
    """Polls the inbox folder in the dashboard process, which owns the database."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        catalog: Catalog,
        folder: Path,
        interval: float = POLL_SECONDS,
    ) -> None:
        super().__init__(name="inbox-watcher", daemon=True)
        self.con = con
        self.catalog = catalog
        self.folder = folder
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        while not self.stopped.wait(self.interval):
            process_inbox(self.con, self.catalog, self.folder)

    def stop(self) -> None:
        self.stopped.set()
