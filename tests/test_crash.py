"""Crash safety of imports: an import killed with SIGKILL leaves the whole batch or nothing.

Each round starts a child process that opens the database and imports a sizeable upload
(6 communities x 24 months in the template layout), kills it after a random (seeded) delay,
then checks in this process that the database is consistent. CRASH_ROUNDS sets the rounds.
"""

from __future__ import annotations

import csv
import io
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indicators import operations, store
from indicators.catalog import load_catalog
from indicators.periods import shift_month
from indicators.templates import template_headers, template_indicators
from tests.conftest import COMMUNITIES, small_registry

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[1]
ROUNDS = int(os.environ.get("CRASH_ROUNDS", "12"))
MONTHS = 24
FIRST_MONTH = "2022-01"

CHILD = """
import sys, time
from pathlib import Path
from indicators import operations
from indicators.access import Principal
from indicators.catalog import load_catalog

db, upload = sys.argv[1], Path(sys.argv[2])
catalog = load_catalog()
con = operations.open_store(db, catalog)
data = upload.read_bytes()
print("BEGIN", flush=True)
report = operations.import_upload(con, catalog, upload.name, data,
                                  principal=Principal("crash", "admin", None))
con.close()
print("END", report.status, report.batch_id, flush=True)
"""


def upload_for(
    round_no: int, rng: random.Random
) -> tuple[bytes, dict[tuple[str, str, str], float]]:
    """A wide upload whose window moves by one month a round (so some cells are new) and whose
    values differ every round (so every other cell changes)."""
    catalog = load_catalog()
    indicators = template_indicators(catalog)
    start = shift_month(FIRST_MONTH, round_no % 24)
    months = [shift_month(start, k) for k in range(MONTHS)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(template_headers(catalog))
    cells: dict[tuple[str, str, str], float] = {}
    for code in COMMUNITIES:
        for month in months:
            row = [code, f"社区{code[-3:]}", month]
            for indicator in indicators:
                fraction = 0.05 + 0.9 * rng.random()
                value = round(indicator.worst + fraction * (indicator.best - indicator.worst), 1)
                row.append(f"{value:.1f}")
                cells[(code, month, indicator.id)] = float(f"{value:.1f}")
            writer.writerow(row)
    return buffer.getvalue().encode("utf-8"), cells


def snapshot(db: Path) -> dict[tuple[str, str, str], float]:
    con = store.connect(db)
    try:
        rows = con.execute(
            "SELECT community_code, period, indicator, value FROM current_values"
        ).fetchall()
    finally:
        con.close()
    return {(c, p, i): v for c, p, i, v in rows}


def check_consistency(db: Path, before: dict, cells: dict) -> str:
    """Asserts the database holds the previous state or the previous state plus the whole
    file; returns which ("nothing" or "batch")."""
    con = store.connect(db)
    try:
        current = {
            (c, p, i): v
            for c, p, i, v in con.execute(
                "SELECT community_code, period, indicator, value FROM current_values"
            ).fetchall()
        }
        after_batch = {**before, **cells}
        new_cells = len(set(cells) - set(before))
        assert len(current) in (len(before), len(before) + new_cells)
        if current == before:
            outcome = "nothing"
        else:
            assert current == after_batch, "a partial batch is visible after the crash"
            assert len(current) == len(before) + new_cells
            outcome = "batch"
        orphans = con.execute("""
            SELECT count(*) FROM current_values c
            LEFT JOIN revisions r USING (community_code, period, indicator, revision)
            WHERE r.batch_id IS NULL OR r.batch_id <> c.batch_id OR r.value <> c.value
        """).fetchone()[0]
        assert orphans == 0, "current values without their revision"
        missing_batches = con.execute("""
            SELECT count(*) FROM (SELECT batch_id FROM current_values UNION SELECT batch_id FROM revisions) x
            WHERE batch_id NOT IN (SELECT batch_id FROM batches)
        """).fetchone()[0]
        assert missing_batches == 0, "values refer to batches that do not exist"
        batch_rows = con.execute(
            "SELECT count(*) FROM batches WHERE kind = 'import' AND status = 'committed'"
        ).fetchone()[0]
        revision_batches = con.execute(
            "SELECT count(DISTINCT batch_id) FROM revisions WHERE user_name = 'crash'"
        ).fetchone()[0]
        assert batch_rows == revision_batches, "a batch without its revisions (or the reverse)"
        valued = set(
            con.execute("SELECT DISTINCT community_code, period FROM current_values").fetchall()
        )
        scored = set(
            con.execute(
                "SELECT DISTINCT code, period FROM unit_scores WHERE granularity = 'month' "
                "AND unit_level = 'community' AND \"index\" IS NOT NULL"
            ).fetchall()
        )
        months_of_file = {(c, p) for c, p, _ in cells}
        assert (valued & months_of_file) == (scored & months_of_file), (
            "unit scores out of step with the values"
        )
    finally:
        con.close()
    return outcome


def start_child(db: Path, upload: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(upload)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_line(child: subprocess.Popen[str], timeout: float) -> str:
    ready, _, _ = select.select([child.stdout], [], [], timeout)
    assert ready, "the child printed nothing in time"
    return child.stdout.readline()


def test_killed_imports_leave_all_or_nothing(tmp_path):
    catalog = load_catalog()
    db = tmp_path / "crash.duckdb"
    con = operations.open_store(db, catalog)
    operations.import_registry(con, catalog, small_registry(), user="test")
    con.close()
    rng = random.Random(20261123)

    # Calibrate: how long does one import take once the child is ready? (on a throwaway copy)
    calibration = tmp_path / "calibrate.duckdb"
    shutil.copyfile(db, calibration)
    data, _ = upload_for(0, random.Random(1))
    upload = tmp_path / "calibrate.csv"
    upload.write_bytes(data)
    child = start_child(calibration, upload)
    assert wait_line(child, 120).startswith("BEGIN")
    began = time.monotonic()
    end = wait_line(child, 120)
    import_seconds = time.monotonic() - began
    child.wait(60)
    assert end.startswith("END committed"), (end, child.stderr.read())

    killed = completed = 0
    outcomes = []
    for round_no in range(ROUNDS):
        before = snapshot(db)
        data, cells = upload_for(round_no, rng)
        upload = tmp_path / f"round{round_no}.csv"
        upload.write_bytes(data)
        child = start_child(db, upload)
        assert wait_line(child, 120).startswith("BEGIN")
        time.sleep(rng.uniform(0, 1.2 * import_seconds))
        child.send_signal(signal.SIGKILL)
        child.wait(60)
        rest = child.stdout.read()
        child.stdout.close()
        child.stderr.close()
        finished = "END committed" in rest
        outcome = check_consistency(db, before, cells)
        if finished:
            completed += 1
            assert outcome == "batch", "the child reported a commit the database does not hold"
        else:
            killed += 1
        outcomes.append((round_no, "completed" if finished else "killed", outcome))
    print(
        f"crash rounds: {killed} killed mid-import, {completed} completed; "
        f"import takes {import_seconds:.2f}s; {outcomes}"
    )
    assert killed >= min(3, ROUNDS // 3), outcomes
    assert any(outcome == "batch" for _, _, outcome in outcomes) or ROUNDS < 4, outcomes
