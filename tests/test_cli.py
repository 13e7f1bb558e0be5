"""The command line as users run it: `python -m indicators ...` in a subprocess on real DuckDB files.

Checks the "Command line" contract of interfaces.md: exit codes (0 ok, 1 input rejected,
2 usage error or unreadable file), exact output layouts, and never a Python traceback.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from indicators import operations
from indicators.catalog import load_catalog
from indicators.templates import template_headers, template_indicators
from tests.conftest import COMMUNITIES, small_registry

REPO = Path(__file__).parents[1]
IMPORT_KEYS = {
    "file",
    "sha256",
    "status",
    "batch_id",
    "rows_total",
    "rows_accepted",
    "rows_rejected",
    "values_new",
    "values_changed",
    "values_unchanged",
    "errors",
    "warnings",
}
ERROR_KEYS = {"row", "column", "code", "value", "message"}
SCORE_COLUMNS = [
    "code",
    "name",
    "period",
    "index",
    "level",
    "coverage",
    "resident",
    "professional",
    "process",
    "innovation",
]
LEVELS = {"normal", "blue", "yellow", "red", ""}


def run(*args: str | Path, ok: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Runs the CLI; checks the exit code (unless ok is None) and that no traceback leaks out."""
    result = subprocess.run(
        [sys.executable, "-m", "indicators", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    if ok is not None:
        assert result.returncode == ok, (result.returncode, result.stdout, result.stderr)
    return result


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def upload_bytes(
    codes: list[str], period: str, shift: float = 0.0, bad: str | None = None
) -> bytes:
    """A wide upload in the template layout: 社区代码, 社区名称, 统计期, one column per indicator."""
    catalog = load_catalog()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(template_headers(catalog))
    for n, code in enumerate(codes):
        values = [round((i.best + i.worst) / 2 + shift, 1) for i in template_indicators(catalog)]
        cells = [str(v) for v in values]
        if bad is not None and n == 0:
            cells[0] = bad
        writer.writerow([code, f"社区{code[-3:]}", period, *cells])
    return buffer.getvalue().encode("utf-8")


def cells_per_row() -> int:
    return len(template_indicators(load_catalog()))


def batch_count(db: Path) -> int:
    """Counted in this process (read-only) to save a subprocess start."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM batches").fetchone()[0]
    finally:
        con.close()


def current(db: Path) -> dict[tuple[str, str, str], float]:
    """The current values, read in this process (export itself is tested on the demo)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT community_code, period, indicator, value FROM current_values"
        ).fetchall()
    finally:
        con.close()
    return {(c, p, i): v for c, p, i, v in rows}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """One demo database for the module; tests that write work on a copy."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    result = run("init", "--demo", "--db", path)
    assert "database ready" in result.stdout and "demo" in result.stdout
    return path


@pytest.fixture(scope="module")
def demo_scores(demo_db) -> list[dict[str, str]]:
    return read_csv(run("scores", "--db", demo_db).stdout)


@pytest.fixture
def demo_copy(demo_db, tmp_path) -> Path:
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_db, target)
    return target


@pytest.fixture
def small_file(tmp_path) -> Path:
    """A database holding the small test registry (one district, two streets, six communities)."""
    path = tmp_path / "small.duckdb"
    catalog = load_catalog()
    con = operations.open_store(path, catalog)
    operations.import_registry(con, catalog, small_registry(), user="test")
    con.close()
    return path


# --- init and the org registry ------------------------------------------------------------------


def test_init_plain_creates_an_empty_database(tmp_path):
    db = tmp_path / "sub" / "new.duckdb"
    result = run("init", "--db", db)
    assert db.exists()
    assert "0 org units, 0 values" in result.stdout
    assert "demo" not in result.stdout
    assert batch_count(db) == 0


def test_init_demo_loads_the_synthetic_city(demo_db):
    batches = json.loads(run("batches", "--json", "--db", demo_db).stdout)
    assert {b["kind"] for b in batches} == {"orgs", "demo"}
    assert all(b["status"] == "committed" for b in batches)
    demo = next(b for b in batches if b["kind"] == "demo")
    assert demo["values_new"] > 0 and demo["rows_rejected"] == 0


def registry_csv() -> str:
    lines = ["代码,名称,常住人口"]
    for code, name, population in small_registry()[["code", "name", "population"]].itertuples(
        index=False
    ):
        lines.append(
            f"{code},{name},{'' if population != population or population is None else int(population)}"
        )
    return "\n".join(lines) + "\n"


def test_import_orgs_utf8_then_unchanged(tmp_path):
    db = tmp_path / "orgs.duckdb"
    run("init", "--db", db)
    source = tmp_path / "orgs.csv"
    source.write_text(registry_csv(), encoding="utf-8")
    first = run("import-orgs", source, "--db", db)
    assert first.stdout.strip() == "9 org units read, 9 new or changed"
    again = run("import-orgs", source, "--db", db)
    assert again.stdout.strip() == "9 org units read, 0 new or changed"


def test_import_orgs_gbk(tmp_path):
    db = tmp_path / "orgs.duckdb"
    source = tmp_path / "orgs_gbk.csv"
    source.write_bytes(registry_csv().encode("gbk"))
    result = run("import-orgs", source, "--db", db)
    assert result.stdout.strip() == "9 org units read, 9 new or changed"


def test_import_orgs_bad_code_is_rejected_with_the_row(tmp_path):
    db = tmp_path / "orgs.duckdb"
    source = tmp_path / "orgs_bad.csv"
    source.write_text(
        "代码,名称,常住人口\n990101001001,甲社区,5000\n12345,乙社区,3000\n", encoding="utf-8"
    )
    result = run("import-orgs", source, "--db", db, "--lang", "en", ok=1)
    assert "Row 3" in result.stderr and "12345" in result.stderr
    assert result.stdout == ""


# --- import ---------------------------------------------------------------------------------------


def test_import_commit_unchanged_dry_run_reject_accept_valid_rollback(small_file, tmp_path):
    db = small_file
    per_row = cells_per_row()
    good = tmp_path / "good.csv"
    good.write_bytes(upload_bytes(list(COMMUNITIES[:2]), "2025-06"))
    before = batch_count(db)

    dry = json.loads(run("import", good, "--dry-run", "--json", "--db", db).stdout)
    assert set(dry) == IMPORT_KEYS
    assert dry["status"] == "dry_run" and dry["batch_id"] is None
    assert (dry["rows_total"], dry["rows_accepted"], dry["rows_rejected"]) == (2, 2, 0)
    assert (dry["values_new"], dry["values_changed"], dry["values_unchanged"]) == (
        2 * per_row,
        0,
        0,
    )
    assert batch_count(db) == before

    committed = json.loads(run("import", good, "--json", "--db", db).stdout)
    assert set(committed) == IMPORT_KEYS
    assert committed["file"] == "good.csv" and len(committed["sha256"]) == 64
    assert committed["status"] == "committed" and isinstance(committed["batch_id"], int)
    assert committed["values_new"] == 2 * per_row and committed["errors"] == []
    assert batch_count(db) == before + 1
    exported = current(db)
    assert len(exported) == 2 * per_row

    again = json.loads(run("import", good, "--json", "--db", db).stdout)
    assert again["status"] == "unchanged" and again["batch_id"] is None
    assert (again["values_new"], again["values_changed"], again["values_unchanged"]) == (
        0,
        0,
        2 * per_row,
    )
    assert batch_count(db) == before + 1

    bad = tmp_path / "bad.csv"
    bad.write_bytes(upload_bytes(list(COMMUNITIES[:2]), "2025-06", shift=1.0, bad="150"))
    rejected_run = run("import", bad, "--json", "--db", db, ok=1)
    rejected = json.loads(rejected_run.stdout)
    assert set(rejected) == IMPORT_KEYS
    assert rejected["status"] == "rejected" and rejected["batch_id"] is None
    assert (rejected["rows_accepted"], rejected["rows_rejected"]) == (0, 2)
    assert len(rejected["errors"]) == 1
    error = rejected["errors"][0]
    assert set(error) == ERROR_KEYS
    assert (error["row"], error["column"], error["code"], error["value"]) == (
        2,
        "群众满意度（%）",
        "value_range",
        "150",
    )
    assert "150" in error["message"]
    assert batch_count(db) == before + 1

    partial = json.loads(run("import", bad, "--accept-valid", "--json", "--db", db).stdout)
    assert partial["status"] == "committed"
    assert (partial["rows_accepted"], partial["rows_rejected"]) == (1, 1)
    assert (partial["values_new"], partial["values_changed"]) == (0, per_row)
    assert len(partial["errors"]) == 1

    rolled = run("rollback", str(partial["batch_id"]), "--db", db)
    assert rolled.stdout.startswith(f"batch {partial['batch_id']} rolled back by batch ")
    assert rolled.stdout.strip().endswith(f"{per_row} values restored")
    assert current(db) == exported

    twice = run("rollback", str(partial["batch_id"]), "--db", db, "--lang", "en", ok=1)
    assert twice.stderr.strip() and twice.stdout == ""

    history = read_csv(
        run(
            "history", "--community", COMMUNITIES[1], "--indicator", "satisfaction", "--db", db
        ).stdout
    )
    assert [h["revision"] for h in history] == ["1", "2", "3"]
    assert [h["batch_id"] for h in history] == [
        str(committed["batch_id"]),
        str(partial["batch_id"]),
        str(partial["batch_id"] + 1),
    ]


def test_import_human_readable_report(small_file, tmp_path):
    good = tmp_path / "上报.csv"
    good.write_bytes(upload_bytes([COMMUNITIES[0]], "2025-07"))
    result = run("import", good, "--lang", "en", "--db", small_file)
    per_row = cells_per_row()
    assert result.stdout.startswith("上报.csv: committed batch ")
    assert (
        f"rows 1 (accepted 1, rejected 0); values new {per_row}, changed 0, unchanged 0"
        in result.stdout
    )


def test_rollback_unknown_batch(demo_copy):
    result = run("rollback", "999", "--db", demo_copy, ok=1)
    assert result.stderr.strip() == "批次 999 不存在。"
    assert result.stdout == ""


# --- reading commands on the demo -----------------------------------------------------------------


def test_batches_json(demo_db):
    batches = json.loads(run("batches", "--json", "--db", demo_db).stdout)
    assert isinstance(batches, list) and batches
    for key in (
        "batch_id",
        "kind",
        "file_name",
        "sha256",
        "user_name",
        "created_at",
        "status",
        "rows_total",
        "rows_accepted",
        "rows_rejected",
        "values_new",
        "values_changed",
        "values_unchanged",
        "rollback_of",
        "rolled_back_by",
    ):
        assert key in batches[0]


def test_export_csv_and_json(demo_db, demo_scores):
    period = max(r["period"] for r in demo_scores)
    text = run("export", "--period", period, "--db", demo_db).stdout
    assert text.splitlines()[0] == "community_code,period,indicator,value"
    rows = read_csv(text)
    assert rows and {r["period"] for r in rows} == {period}
    for row in rows[:50]:
        float(row["value"])
        assert "e" not in row["value"].lower()
    records = json.loads(
        run("export", "--period", period, "--format", "json", "--db", demo_db).stdout
    )
    assert isinstance(records, list) and len(records) == len(rows)
    assert all(set(r) == {"community_code", "period", "indicator", "value"} for r in records)


def test_history_of_a_community(demo_db, demo_scores):
    code = demo_scores[0]["code"]
    rows = read_csv(
        run("history", "--community", code, "--indicator", "satisfaction", "--db", demo_db).stdout
    )
    months = sorted({r["period"] for r in demo_scores if r["code"] == code})
    assert [r["period"] for r in rows] == months
    assert {r["indicator"] for r in rows} == {"satisfaction"}
    missing = run("history", "--community", "990199999999", "--json", "--db", demo_db)
    assert "990199999999" in missing.stderr and json.loads(missing.stdout) == []


def test_scores_csv_community_months(demo_scores):
    assert list(demo_scores[0])[:10] == SCORE_COLUMNS
    assert {r["level"] for r in demo_scores} <= LEVELS
    periods = {r["period"] for r in demo_scores}
    assert all(len(p) == 7 and p[4] == "-" for p in periods)
    assert all(len(r["code"]) == 12 for r in demo_scores)
    for row in demo_scores:
        if row["index"] == "":
            assert row["level"] == ""
        else:
            assert 0 <= float(row["index"]) <= 100


@pytest.mark.parametrize("level", ["street", "district"])
def test_scores_by_level_and_year(demo_db, demo_scores, level):
    years = sorted({r["period"][:4] for r in demo_scores})
    full = [
        y
        for y in years
        if sum(1 for p in {r["period"] for r in demo_scores} if p.startswith(y)) == 12
    ]
    assert full, "the demo should hold at least one whole year"
    year = full[-1]
    rows = read_csv(run("scores", "--level", level, "--period", year, "--db", demo_db).stdout)
    assert rows and list(rows[0])[:10] == SCORE_COLUMNS
    assert {r["period"] for r in rows} == {year}
    assert {r["level"] for r in rows} <= LEVELS
    if level == "street":
        assert all(r["code"].endswith("000") and not r["code"].endswith("000000") for r in rows)
    else:
        assert all(r["code"].endswith("000000") for r in rows)


def test_alerts_json(demo_db, demo_scores):
    records = json.loads(run("alerts", "--format", "json", "--db", demo_db).stdout)
    assert isinstance(records, list) and records
    states = {r["state"] for r in records}
    assert states <= {"normal", "blue", "yellow", "red", "not_reported", "escalated"}
    assert states & {"red", "yellow", "blue"}
    for record in records:
        assert set(record) == {
            "code",
            "name",
            "unit_level",
            "period",
            "state",
            "index",
            "streak",
            "reason",
        }
        assert record["reason"]


def test_recompute(demo_copy):
    result = run("recompute", "--db", demo_copy)
    assert result.stdout.startswith("recomputed ")
    assert "communities under methodology" in result.stdout


# --- usage errors and unreadable inputs -----------------------------------------------------------


def test_unknown_command():
    result = run("frobnicate", ok=2)
    assert "invalid choice" in result.stderr


def test_bad_period(demo_db):
    result = run("scores", "--period", "2025-13", "--db", demo_db, ok=2)
    assert "2025-13" in result.stderr and "YYYY-MM" in result.stderr
    assert result.stdout == ""


def test_export_takes_a_month_only(demo_db):
    result = run("export", "--period", "2025", "--db", demo_db, ok=2)
    assert "YYYY-MM" in result.stderr


def test_missing_file(tmp_path):
    db = tmp_path / "x.duckdb"
    result = run("import", tmp_path / "nope.csv", "--db", db, ok=2)
    assert "nope.csv" in result.stderr and "No such file" in result.stderr


def test_database_held_by_another_process(demo_copy, tmp_path):
    upload = tmp_path / "u.csv"
    upload.write_bytes(upload_bytes([COMMUNITIES[0]], "2025-06"))
    holder = duckdb.connect(str(demo_copy))
    try:
        result = run("import", upload, "--db", demo_copy, "--lang", "en", ok=2)
        assert "inbox" in result.stderr and "held by another process" in result.stderr
    finally:
        holder.close()


def test_broken_catalog_names_the_key(demo_db, tmp_path):
    source = (REPO / "tests" / "catalogs" / "simple.toml").read_text(encoding="utf-8")
    assert "min = 80.0" in source
    broken = tmp_path / "broken.toml"
    broken.write_text(source.replace("min = 80.0", 'min = "abc"', 1), encoding="utf-8")
    result = run("scores", "--catalog", broken, "--db", demo_db, ok=2)
    assert "catalog error" in result.stderr
    assert "levels[0]" in result.stderr and ".min" in result.stderr
