"""The measured steps of one tier, each run in its own process: `python -m bench.steps STEP TIER`.

Each step prints one JSON object as its last line. A step runs alone in its process so that
its peak memory (ru_maxrss) is its own and only one process holds each DuckDB file.

Databases of a tier (under tmp/bench/<tier>/):
- registry.duckdb: the org registry only; copied as the start of every import.
- values.duckdb: the wide file imported without scores (step `import`), then fully scored
  (step `recompute`); the steps `incremental` and `pages` use copies of it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench.generate import ensure_files
from bench.tiers import TIERS, Tier
from indicators import operations, store
from indicators.access import SYSTEM, Principal
from indicators.catalog import Catalog, load_catalog
from indicators.ingest import parse_upload
from indicators.recompute import recompute_affected, recompute_all
from indicators.templates import CODE_HEADER, NAME_HEADER, PERIOD_HEADER, template_indicators

FLOOR_READ_SQL = (
    "CREATE TABLE wide AS SELECT * FROM read_csv(?, header = true, types = {{'{code}': 'VARCHAR'}})"
)
GROUP_BY_SQL = """
CREATE OR REPLACE TEMP TABLE bench_group_by AS
SELECT community_code, period, count(*) AS n, avg(value) AS mean FROM current_values GROUP BY ALL
"""
# Wide rows the row-by-row variant of the peer inserts (then extrapolated): it is that slow.
ROW_INSERT_SAMPLE = 200
SCORE_TABLES = (
    "unit_scores",
    "dimension_scores",
    "indicator_scores",
    "level_counts",
    "escalations",
    "jumps",
)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh(path: Path) -> Path:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return path


def copy_database(source: Path, target: Path) -> Path:
    fresh(target)
    shutil.copyfile(source, target)
    return target


def timed(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def write_accepted(cursor: duckdb.DuckDBPyConnection, parsed: Any, file_name: str) -> Any:
    """Writes an upload whose rows were all accepted, as the bench user; returns the outcome."""
    return store.write_values(
        cursor,
        parsed.values,
        user="bench",
        file_name=file_name,
        sha256=parsed.sha256,
        rows_total=parsed.rows_total,
        rows_accepted=parsed.rows_total,
        rows_rejected=0,
    )


def summary(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "samples": samples}


# ---- 1. import against DuckDB's read_csv ------------------------------------------------------


def step_floor(tier: Tier, repeat: int) -> dict:
    """DuckDB's own read_csv of the wide file into a table, and the same file turned into the
    import's own output (long rows in current_values and revisions) by SQL alone."""
    catalog = load_catalog()
    read_samples, read_cpu, long_samples = [], [], []
    for _ in range(repeat):
        con = duckdb.connect(str(fresh(tier.database("floor"))))
        sql = FLOOR_READ_SQL.format(code=CODE_HEADER)
        wall, cpu, _ = timed(lambda con=con, sql=sql: con.execute(sql, [str(tier.wide_file)]))
        read_samples.append(wall)
        read_cpu.append(cpu)
        con.close()
        con = store.connect(fresh(tier.database("floor")))
        long_samples.append(_same_output_floor(con, tier, catalog))
        con.close()
    fresh(tier.database("floor"))
    return {
        "read_csv": summary(read_samples),
        "read_csv_cpu": summary(read_cpu),
        "same_output_sql": summary(long_samples),
    }


def _same_output_floor(con: duckdb.DuckDBPyConnection, tier: Tier, catalog: Catalog) -> float:
    """read_csv → UNPIVOT → revisions and current_values, in one transaction: no validation,
    no change detection, nothing but the rows the import writes."""
    from indicators.templates import indicator_header

    mapping = ", ".join(
        f"('{indicator_header(i)}', '{i.id}')" for i in template_indicators(catalog)
    )
    columns = ", ".join(f'"{indicator_header(i)}"' for i in template_indicators(catalog))
    statements = [
        "BEGIN TRANSACTION",
        f"CREATE TEMP TABLE header_ids (header VARCHAR, indicator VARCHAR); "
        f"INSERT INTO header_ids VALUES {mapping}",
        f"""CREATE TEMP TABLE long_rows AS
            SELECT u."{CODE_HEADER}" AS community_code, u."{PERIOD_HEADER}" AS period,
                   h.indicator, u.value
            FROM (UNPIVOT (SELECT * EXCLUDE ("{NAME_HEADER}") FROM read_csv('{tier.wide_file}',
                  header = true, types = {{'{CODE_HEADER}': 'VARCHAR'}}))
                  ON {columns} INTO NAME header VALUE value) u
            JOIN header_ids h USING (header)""",
        """INSERT INTO revisions SELECT community_code, period, indicator, 1, value, NULL, 1,
               now()::TIMESTAMP, 'bench' FROM long_rows""",
        "INSERT INTO current_values SELECT community_code, period, indicator, value, 1, 1 FROM long_rows",
        "COMMIT",
    ]
    start = time.perf_counter()
    for statement in statements:
        con.execute(statement)
    return time.perf_counter() - start


def _registry_database(tier: Tier, catalog: Catalog) -> Path:
    """A database holding the tier's org registry (built once per run)."""
    path = tier.database("registry")
    if not path.exists():
        con = operations.open_store(fresh(path), catalog)
        parsed = operations.read_registry(tier.registry_file.name, tier.registry_file.read_bytes())
        if not parsed.ok:
            raise SystemExit(f"registry rejected: {parsed.errors[:3]}")
        operations.import_registry(con, catalog, parsed.units, "bench", tier.registry_file.name)
        con.close()
    return path


def step_import(tier: Tier, repeat: int) -> dict:
    """Read, parse and validate the upload, then write its values and revisions and commit —
    what import_upload does before it recomputes scores. The last database is kept."""
    catalog = load_catalog()
    manifest = ensure_files(tier, catalog)
    template = _registry_database(tier, catalog)
    samples: list[dict] = []
    for _ in range(repeat):
        con = store.connect(copy_database(template, tier.database("values")))
        clock, cpu = time.perf_counter(), time.process_time()
        data = tier.wide_file.read_bytes()
        known = set(store.registry(con, scope=None)["code"])
        parsed = parse_upload(tier.wide_file.name, data, catalog, registry_codes=known)
        parsed_at = time.perf_counter()
        if parsed.errors or len(parsed.values) != manifest["wide_values"]:
            raise SystemExit(f"import of {tier.wide_file} went wrong: {parsed.errors[:3]}")
        with store.transaction(con) as cursor:
            outcome = write_accepted(cursor, parsed, tier.wide_file.name)
        done, cpu = time.perf_counter(), time.process_time() - cpu
        con.close()
        samples.append(
            {
                "parse_validate": parsed_at - clock,
                "write_commit": done - parsed_at,
                "total": done - clock,
                "cpu": cpu,
                "values": outcome.values_new,
            }
        )
    best = min(samples, key=lambda sample: sample["total"])
    return {
        "total": summary([s["total"] for s in samples]),
        "cpu": summary([s["cpu"] for s in samples]),
        "parse_validate": best["parse_validate"],
        "write_commit": best["write_commit"],
        "values": best["values"],
        "rows": manifest["wide_rows"],
        "file_bytes": tier.wide_file.stat().st_size,
        "peak_rss_mb": peak_rss_mb(),
    }


def step_import_full(tier: Tier) -> dict:
    """The product's whole import (operations.import_upload: parse, validate, write and the
    recompute it triggers, one transaction) and this process's peak memory while doing it."""
    catalog = load_catalog()
    template = _registry_database(tier, catalog)
    path = copy_database(template, tier.database("import_full"))
    con = store.connect(path)
    baseline = peak_rss_mb()
    stages: dict[str, float] = {}
    clock = time.perf_counter()

    def progress(fraction: float, stage: str) -> None:
        stages[stage] = time.perf_counter() - clock

    report = operations.import_upload(
        con,
        catalog,
        tier.wide_file.name,
        tier.wide_file.read_bytes(),
        principal=SYSTEM,
        progress=progress,
    )
    total = time.perf_counter() - clock
    con.close()
    fresh(path)
    if report.status != "committed":
        raise SystemExit(f"import_upload: {report.status} {report.errors[:3]}")
    return {
        "total": total,
        "stages": stages,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": baseline,
        "recompute_seconds": report.recompute.seconds if report.recompute else {},
    }


# ---- 2. the naive peer -------------------------------------------------------------------------


def step_peer(tier: Tier, sample_rows: int | None) -> dict:
    """The naive peer on the whole file, or on its first `sample_rows` rows, extrapolated."""
    from bench.peer import peer_import

    catalog = load_catalog()
    manifest = ensure_files(tier, catalog)
    con = store.connect(_registry_database(tier, catalog), read_only=True)
    known = set(store.registry(con, scope=None)["code"])
    con.close()
    peer_con = duckdb.connect(str(fresh(tier.database("peer"))))
    cpu = time.process_time()
    result = peer_import(tier.wide_file, catalog, known, peer_con, rows=sample_rows)
    cpu = time.process_time() - cpu
    peer_con.close()
    fresh(tier.database("peer"))
    if result["errors"]:
        raise SystemExit(f"the peer rejected {result['errors']} rows")
    scale = manifest["wide_rows"] / result["rows"]
    row_wise_con = duckdb.connect(str(fresh(tier.database("peer"))))
    row_wise = peer_import(
        tier.wide_file, catalog, known, row_wise_con, rows=ROW_INSERT_SAMPLE, row_inserts=True
    )
    row_wise_con.close()
    fresh(tier.database("peer"))
    return {
        **result,
        "measured_rows": result["rows"],
        "extrapolated": scale > 1,
        "measured_seconds": result["seconds"],
        "seconds": result["seconds"] * scale,
        "cpu": cpu * scale,
        "row_inserts": {
            "measured_rows": row_wise["rows"],
            "measured_seconds": row_wise["seconds"],
            "insert_seconds": row_wise["insert_seconds"],
            "seconds": row_wise["seconds"] * manifest["wide_rows"] / row_wise["rows"],
        },
    }


# ---- 3 and 4. recompute ----------------------------------------------------------------------


def step_recompute(tier: Tier, repeat: int) -> dict:
    """Full recompute (scores and alert states, every granularity) against one GROUP BY."""
    catalog = load_catalog()
    con = store.connect(tier.database("values"))
    with store.transaction(con) as cursor:
        store.register_catalog(cursor, catalog)
    full, full_cpu, commits, parts = [], [], [], {}
    for _ in range(repeat):
        with store.transaction(con) as cursor:
            wall, cpu, stats = timed(lambda cursor=cursor: recompute_all(cursor, catalog))
            committed = time.perf_counter()
        commits.append(time.perf_counter() - committed)
        full.append(wall)
        full_cpu.append(cpu)
        parts = stats.seconds
    group_by, group_by_cpu = [], []
    for _ in range(max(repeat, 3)):
        wall, cpu, _ = timed(lambda: con.execute(GROUP_BY_SQL))
        group_by.append(wall)
        group_by_cpu.append(cpu)
    con.execute("DROP TABLE bench_group_by")
    rows = {
        table: int(store.scalar(con, f"SELECT count(*) FROM {table}")) for table in SCORE_TABLES
    }
    copy = []
    for _ in range(max(repeat, 3)):
        start = time.perf_counter()
        for table in SCORE_TABLES:
            con.execute(f"CREATE OR REPLACE TEMP TABLE bench_copy_{table} AS SELECT * FROM {table}")
        copy.append(time.perf_counter() - start)
    for table in SCORE_TABLES:
        con.execute(f"DROP TABLE bench_copy_{table}")
    values = store.value_count(con)
    con.close()
    return {
        "full": summary(full),
        "full_cpu": summary(full_cpu),
        "commit": summary(commits),
        "parts": parts,
        "group_by": summary(group_by),
        "group_by_cpu": summary(group_by_cpu),
        "copy_outputs": summary(copy),
        "rows_written": rows,
        "values": values,
        "peak_rss_mb": peak_rss_mb(),
    }


def step_incremental(tier: Tier, repeat: int) -> dict:
    """One new month imported into a copy of the scored database: recompute_affected alone;
    then the full recompute of that same database, for the ratio (measured minutes apart,
    the two would see different loads on a shared machine)."""
    catalog = load_catalog()
    data = tier.new_month_file.read_bytes()
    samples, cpu_samples, parts, communities = [], [], {}, 0
    full_samples, full_cpu_samples = [], []
    for _ in range(repeat):
        con = store.connect(copy_database(tier.database("values"), tier.database("incremental")))
        known = set(store.registry(con, scope=None)["code"])
        parsed = parse_upload(tier.new_month_file.name, data, catalog, registry_codes=known)
        if parsed.errors:
            raise SystemExit(f"new month rejected: {parsed.errors[:3]}")
        with store.transaction(con) as cursor:
            outcome = write_accepted(cursor, parsed, tier.new_month_file.name)
            wall, cpu, stats = timed(
                lambda cursor=cursor, outcome=outcome: recompute_affected(
                    cursor, catalog, outcome.affected
                )
            )
        samples.append(wall)
        cpu_samples.append(cpu)
        parts = stats.seconds
        communities = stats.communities
        with store.transaction(con) as cursor:
            wall, cpu, _ = timed(lambda cursor=cursor: recompute_all(cursor, catalog))
        full_samples.append(wall)
        full_cpu_samples.append(cpu)
        con.close()
    fresh(tier.database("incremental"))
    return {
        "incremental": summary(samples),
        "incremental_cpu": summary(cpu_samples),
        "full": summary(full_samples),
        "full_cpu": summary(full_cpu_samples),
        "parts": parts,
        "communities": communities,
        "values": len(parsed.values),
    }


# ---- 5. warm page reruns under AppTest -------------------------------------------------------


def page_views(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """The query strings of the views measured: the default view, one district, one community."""
    units = store.registry(con, scope=None)
    district = units.loc[units["level"] == "district", "code"].iloc[0]
    community = units.loc[
        (units["level"] == "community") & units["code"].str.startswith(district[:6]), "code"
    ].iloc[0]
    return {
        "default": {},
        "district": {"d": district},
        "community": {"d": district, "s": community[:9] + "000", "c": community},
    }


# Pages are measured as an admin of the whole registry, signed in (the login page is not timed).
BENCH_PRINCIPAL = Principal("bench", "admin", None)
PRINCIPAL_KEY = "principal"  # ui.auth.PRINCIPAL_KEY, without importing streamlit here
PAGE_FILES = {"overview": "app_pages/overview.py", "community": "app_pages/community.py"}
MEASURED_VIEWS = (
    ("overview", "default"),
    ("overview", "district"),
    ("community", "default"),
    ("community", "community"),
)


def step_pages(tiers: list[Tier], reruns: int) -> dict:
    """Warm reruns of the Overview and Community pages at every tier, in one process.

    Each view of each tier has its own AppTest (signed in, page chosen, run once cold); then
    every round reruns each view at each tier once, so that whatever else the shared machine
    is doing falls alike on all tiers. HEALTH_DB names the tier before each run; the app keeps
    one connection and one set of caches per database file.
    """
    from streamlit.testing.v1 import AppTest

    app_file = str(Path(__file__).resolve().parents[1] / "app.py")
    environments, apps, results = {}, {}, {}
    for tier in tiers:
        path = copy_database(tier.database("values"), tier.database("pages"))
        con = store.connect(path, read_only=True)
        views = page_views(con)
        con.close()
        environments[tier.name] = {
            "HEALTH_DB": str(path),
            "HEALTH_DEMO": "0",
            "HEALTH_INBOX": str(tier.folder / "inbox"),
        }
        os.environ.update(environments[tier.name])
        for page, view in MEASURED_VIEWS:
            app = AppTest.from_file(app_file, default_timeout=600)
            for key, value in views[view].items():
                app.query_params[key] = value
            app.session_state[PRINCIPAL_KEY] = BENCH_PRINCIPAL
            app.run()
            cold, _, _ = timed(lambda app=app, page=page: app.switch_page(PAGE_FILES[page]).run())
            apps[tier.name, page, view] = app
            results.setdefault(tier.name, {})[f"{page}/{view}"] = {
                "cold": cold,
                "wall": [],
                "cpu": [],
            }
    for _ in range(reruns):
        for page, view in MEASURED_VIEWS:
            for tier in tiers:
                os.environ.update(environments[tier.name])
                wall, cpu, _ = timed(apps[tier.name, page, view].run)
                sample = results[tier.name][f"{page}/{view}"]
                sample["wall"].append(wall)
                sample["cpu"].append(cpu)
    for (name, page, view), app in apps.items():
        sample = results[name][f"{page}/{view}"]
        sample["warm"] = summary(sample.pop("wall"))
        sample["warm_cpu"] = summary(sample.pop("cpu"))
        sample["errors"] = [str(e.value) for e in app.exception]
        sample["title"] = [t.value for t in app.title][:1]
    for tier in tiers:
        fresh(tier.database("pages"))
    return {
        "tiers": {name: {"views": views} for name, views in results.items()},
        "interleaved": [tier.name for tier in tiers],
        "peak_rss_mb": peak_rss_mb(),
    }


STEPS: dict[str, Callable[..., dict]] = {
    "floor": step_floor,
    "import": step_import,
    "import_full": step_import_full,
    "peer": step_peer,
    "recompute": step_recompute,
    "incremental": step_incremental,
    "pages": step_pages,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=[*STEPS, "server", "load"])
    parser.add_argument(
        "tier", help=f"one of {', '.join(TIERS)}; the pages step takes several, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sample-rows", type=int, default=None)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    names = args.tier.split(",")
    if any(name not in TIERS for name in names) or (len(names) > 1 and args.step != "pages"):
        parser.error(f"unknown or too many tiers: {args.tier}")
    tier = TIERS[names[0]]
    if args.step in ("server", "load"):
        from bench import live

        result = (
            live.step_server(tier)
            if args.step == "server"
            else live.step_load(tier, args.sessions, args.seconds)
        )
    elif args.step in ("floor", "import", "recompute", "incremental"):
        result = STEPS[args.step](tier, args.repeat)
    elif args.step == "peer":
        result = step_peer(tier, args.sample_rows)
    elif args.step == "pages":
        result = step_pages([TIERS[name] for name in names], args.reruns)
    else:
        result = STEPS[args.step](tier)
    sys.stdout.flush()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
