"""Materialises scores and alert states: the whole history, or only what an import touched."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from indicators import alerts
from indicators.catalog import Catalog
from indicators.periods import months_in, period_of_month, period_sort_key, shift_month
from indicators.scoring import aggregate_months, rollup, score_values

GRANULARITIES = ("month", "quarter", "year")
ROLLUP_LEVELS = ("street", "district")
UNIT_SCORE_COLUMNS = [
    "version", "granularity", "unit_level", "code", "period", "index", "coverage", "withheld",
    "withheld_reason", "communities", "scored", "level", "raw_level", "previous_level",
    "carried_level", "level_changed", "reason_code", "reason_zh", "reason_en", "trend", "slope",
]
# How many months before the first changed month the jump rule looks back for history.
JUMP_LOOKBACK_FACTOR = 3

SQL_VALUES_FOR = """
SELECT v.community_code, v.period, v.indicator, v.value
FROM current_values v {join}
WHERE v.period >= ?
"""
SQL_JOIN_AFFECTED = "JOIN affected_codes a ON a.code = v.community_code"
SQL_STORED_INDEX = """
SELECT s.code, s.period, s."index" FROM unit_scores s {join}
WHERE s.version = ? AND s.granularity = ? AND s.unit_level = ? AND s.period < ?
"""
SQL_JOIN_AFFECTED_UNITS = "JOIN affected_codes a ON a.code = s.code"
SQL_DELETE_UNIT_SCORES = """
DELETE FROM unit_scores s USING affected_codes a
WHERE s.code = a.code AND s.version = ? AND s.granularity = ? AND s.unit_level = ? AND s.period >= ?
"""
SQL_DELETE_DIMENSION_SCORES = """
DELETE FROM dimension_scores s USING affected_codes a
WHERE s.code = a.code AND s.version = ? AND s.granularity = ? AND s.period >= ?
"""
SQL_DELETE_INDICATOR_SCORES = """
DELETE FROM indicator_scores s USING affected_codes a
WHERE s.code = a.code AND s.version = ? AND s.granularity = ? AND s.period >= ?
"""
SQL_DELETE_LEVEL_COUNTS = """
DELETE FROM level_counts s USING affected_codes a
WHERE s.code = a.code AND s.version = ? AND s.granularity = ? AND s.period >= ?
"""
SQL_DELETE_ESCALATIONS = """
DELETE FROM escalations s USING affected_codes a WHERE s.code = a.code AND s.version = ?
"""
SQL_DELETE_JUMPS = """
DELETE FROM jumps s USING affected_codes a WHERE s.code = a.code AND s.version = ? AND s.period >= ?
"""
SQL_DELETE_VERSION = [
    "DELETE FROM unit_scores WHERE version = ?",
    "DELETE FROM dimension_scores WHERE version = ?",
    "DELETE FROM indicator_scores WHERE version = ?",
    "DELETE FROM level_counts WHERE version = ?",
    "DELETE FROM escalations WHERE version = ?",
    "DELETE FROM jumps WHERE version = ?",
]
SQL_COMMUNITY_ROWS_UNDER = """
SELECT s.code AS community_code, s.period, s."index", s.level
FROM unit_scores s
WHERE EXISTS (SELECT 1 FROM affected_parents p WHERE starts_with(s.code, p.prefix))
  AND s.version = ? AND s.granularity = ? AND s.unit_level = 'community' AND s.period >= ?
"""
SQL_DIMENSIONS_UNDER = """
SELECT d.code AS community_code, d.period, d.dimension, d.score
FROM dimension_scores d
WHERE EXISTS (SELECT 1 FROM affected_parents p WHERE starts_with(d.code, p.prefix))
  AND d.version = ? AND d.granularity = ? AND d.period >= ? AND length(d.code) = 12
  AND substr(d.code, 10, 3) <> '000'
"""
SQL_LEVEL_SERIES = """
SELECT s.code, s.period, s."index", s.unit_level FROM unit_scores s
JOIN affected_codes a ON a.code = s.code
WHERE s.version = ? AND s.granularity = ?
"""
SQL_ALL_COMMUNITY_CODES = "SELECT DISTINCT community_code AS code FROM current_values"
SQL_REGISTRY = "SELECT code, level, population FROM orgs"


@dataclass
class RecomputeStats:
    """What a recompute did and how long each part took."""

    communities: int = 0
    since: str | None = None
    rows_written: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def recompute_all(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> RecomputeStats:
    """Rebuilds every score and alert state of the catalog's version from the current values."""
    for statement in SQL_DELETE_VERSION:
        con.execute(statement, [catalog.version])
    codes = [row[0] for row in con.execute(SQL_ALL_COMMUNITY_CODES).fetchall()]
    if not codes:
        return RecomputeStats()
    return _recompute(con, catalog, codes, since=None)


def recompute_affected(con: duckdb.DuckDBPyConnection, catalog: Catalog,
                       affected: pd.DataFrame) -> RecomputeStats:
    """Recomputes the communities in `affected` (community_code, since) and their parents,
    from the earliest affected month forward; earlier periods keep their stored results."""
    if affected.empty:
        return RecomputeStats()
    since = str(affected["since"].min())
    return _recompute(con, catalog, sorted(affected["community_code"].unique()), since=since)


def _recompute(con: duckdb.DuckDBPyConnection, catalog: Catalog, codes: list[str],
               since: str | None) -> RecomputeStats:
    stats = RecomputeStats(communities=len(codes), since=since)
    clock = _Clock(stats)
    parents = sorted({c[:9] + "000" for c in codes} | {c[:6] + "000000" for c in codes})
    full = since is None
    version = catalog.version
    registry = con.execute(SQL_REGISTRY).df()

    _register_codes(con, codes)
    earliest = since or "0000-00"
    load_from = earliest if full else min(
        shift_month(since, -catalog.alerts.jump.window * JUMP_LOOKBACK_FACTOR),
        months_in(period_of_month(since, "year"))[0],
    )
    months = con.execute(
        SQL_VALUES_FOR.format(join="" if full else SQL_JOIN_AFFECTED), [load_from]
    ).df()
    clock.lap("load values")

    for granularity in GRANULARITIES:
        start = "0000" if full else period_of_month(since, granularity)
        if granularity == "month":
            values = months
        else:
            first_month = "0000-00" if full else months_in(start)[0]
            values = aggregate_months(months[months["period"] >= first_month], granularity)
        values = values[values["period"] >= start]
        tables = score_values(values, catalog)
        clock.lap(f"score {granularity}")

        _register_codes(con, codes)
        units = tables.unit_scores.rename(columns={"community_code": "code"})
        levelled = _with_history(con, catalog, units, granularity, "community", start, full)
        clock.lap(f"levels {granularity}")
        if not full:
            con.execute(SQL_DELETE_UNIT_SCORES, [version, granularity, "community", start])
            con.execute(SQL_DELETE_DIMENSION_SCORES, [version, granularity, start])
            con.execute(SQL_DELETE_INDICATOR_SCORES, [version, granularity, start])
        stats.rows_written += _insert_unit_scores(con, levelled, version, granularity, "community")
        stats.rows_written += _insert_dimensions(con, units, catalog, version, granularity)
        stats.rows_written += _insert_indicator_scores(con, tables.indicator_scores, catalog,
                                                       version, granularity)
        clock.lap(f"write {granularity}")

        _rollups(con, catalog, registry, parents, granularity, start, full, stats)
        clock.lap(f"roll-up {granularity}")

        if granularity == catalog.alerts.escalation.granularity:
            _escalations(con, catalog, codes + parents, granularity)
            clock.lap("escalations")

    _register_codes(con, codes)
    jump_values = months[months["period"] >= load_from]
    flagged = alerts.suspicious_jumps(jump_values, catalog)
    flagged = flagged[flagged["period"] >= earliest]
    if not full:
        con.execute(SQL_DELETE_JUMPS, [version, earliest])
    if len(flagged):
        frame = pd.DataFrame({
            "version": version, "code": flagged["community_code"], "period": flagged["period"],
            "indicator": flagged["indicator"], "value": flagged["value"],
            "median": flagged["median"], "mad": flagged["mad"], "robust_z": flagged["robust_z"],
            "reason_zh": flagged["reason_zh"], "reason_en": flagged["reason_en"],
        })
        _insert(con, "jumps", frame)
    clock.lap("jumps")
    return stats


class _Clock:
    def __init__(self, stats: RecomputeStats) -> None:
        self.stats = stats
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stats.seconds[name] = self.stats.seconds.get(name, 0.0) + now - self.last
        self.last = now


def _register_codes(con: duckdb.DuckDBPyConnection, codes: list[str]) -> None:
    con.register("affected_codes", pd.DataFrame({"code": pd.Series(codes, dtype="str")}))


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    if frame.empty:
        return 0
    con.register("rows_to_insert", frame)
    try:
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM rows_to_insert")  # noqa: S608 - table and columns are ours
    finally:
        con.unregister("rows_to_insert")
    return len(frame)


def _with_history(con: duckdb.DuckDBPyConnection, catalog: Catalog, units: pd.DataFrame,
                  granularity: str, unit_level: str, start: str, full: bool) -> pd.DataFrame:
    """Levels and trends of `units` (code, period, index, …), continuing each unit's stored
    history before `start`; returns the rows of `units` only."""
    series = units
    if not full:
        history = con.execute(
            SQL_STORED_INDEX.format(join=SQL_JOIN_AFFECTED_UNITS),
            [catalog.version, granularity, unit_level, start],
        ).df()
        if len(history):
            history["_history"] = True
            series = pd.concat([history, units], ignore_index=True)
    levelled = alerts.assign_levels(series, catalog, key="code")
    periods = _calendar(series["period"], granularity)
    trend = alerts.trends(series[["code", "period", "index"]], catalog, periods, key="code")
    levelled = levelled.merge(trend[["code", "period", "trend", "slope"]], on=["code", "period"], how="left")
    if "_history" in levelled.columns:
        levelled = levelled[levelled["_history"].isna()].drop(columns="_history")
    return levelled


def _calendar(periods: pd.Series, granularity: str) -> list[str]:
    """Every period label from the earliest to the latest present, gaps included."""
    present = sorted(set(periods), key=period_sort_key)
    if not present:
        return []
    first, last = present[0], present[-1]
    if granularity == "month":
        from indicators.periods import month_range

        return month_range(first, last)
    if granularity == "year":
        return [str(y) for y in range(int(first), int(last) + 1)]
    labels = []
    year, quarter = int(first[:4]), int(first[-1])
    while (year, quarter) <= (int(last[:4]), int(last[-1])):
        labels.append(f"{year}-Q{quarter}")
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return labels


def _insert_unit_scores(con: duckdb.DuckDBPyConnection, levelled: pd.DataFrame, version: str,
                        granularity: str, unit_level: str) -> int:
    frame = levelled.copy()
    frame["version"] = version
    frame["granularity"] = granularity
    frame["unit_level"] = unit_level
    for column in UNIT_SCORE_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return _insert(con, "unit_scores", frame[UNIT_SCORE_COLUMNS])


def _insert_dimensions(con: duckdb.DuckDBPyConnection, units: pd.DataFrame, catalog: Catalog,
                       version: str, granularity: str) -> int:
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    long = units.melt(id_vars=["code", "period"], value_vars=dimension_ids,
                      var_name="dimension", value_name="score")
    long = long[long["score"].notna()]
    long.insert(0, "granularity", granularity)
    long.insert(0, "version", version)
    return _insert(con, "dimension_scores", long)


def _insert_indicator_scores(con: duckdb.DuckDBPyConnection, scores: pd.DataFrame,
                             catalog: Catalog, version: str, granularity: str) -> int:
    frame = pd.DataFrame({
        "version": version,
        "granularity": granularity,
        "code": scores["community_code"],
        "period": scores["period"],
        "indicator": scores["indicator"],
        "value": scores["value"],
        "score": scores["score"],
        "effective_weight": scores["effective_weight"],
        "level": alerts.indicator_levels(scores["score"].to_numpy(), catalog),
    })
    return _insert(con, "indicator_scores", frame)


def _rollups(con: duckdb.DuckDBPyConnection, catalog: Catalog, registry: pd.DataFrame,
             parents: list[str], granularity: str, start: str, full: bool,
             stats: RecomputeStats) -> None:
    version = catalog.version
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    prefixes = pd.DataFrame({"prefix": [p[:9] if p[9:] == "000" and p[6:9] != "000" else p[:6]
                                        for p in parents]}).drop_duplicates()
    con.register("affected_parents", prefixes)
    try:
        communities = con.execute(SQL_COMMUNITY_ROWS_UNDER, [version, granularity, start]).df()
        dims = con.execute(SQL_DIMENSIONS_UNDER, [version, granularity, start]).df()
    finally:
        con.unregister("affected_parents")
    if dims.empty:
        wide = pd.DataFrame(columns=["community_code", "period", *dimension_ids])
    else:
        wide = dims.pivot_table(index=["community_code", "period"], columns="dimension",
                                values="score", aggfunc="first").reset_index()
    wide = wide.reindex(columns=["community_code", "period", *dimension_ids])
    communities = communities.merge(wide, on=["community_code", "period"], how="left")
    for unit_level in ROLLUP_LEVELS:
        wanted = [p for p in parents if _level_of_parent(p) == unit_level]
        rolled = rollup(communities, registry, catalog, unit_level)
        rolled = rolled[rolled["code"].isin(wanted)]
        _register_codes(con, wanted)
        levelled = _with_history(con, catalog, rolled, granularity, unit_level, start, full)
        if not full:
            con.execute(SQL_DELETE_UNIT_SCORES, [version, granularity, unit_level, start])
            con.execute(SQL_DELETE_DIMENSION_SCORES, [version, granularity, start])
            con.execute(SQL_DELETE_LEVEL_COUNTS, [version, granularity, start])
        levelled["withheld"] = levelled["index"].isna()
        stats.rows_written += _insert_unit_scores(con, levelled, version, granularity, unit_level)
        stats.rows_written += _insert_dimensions(con, rolled, catalog, version, granularity)
        count_columns = [f"n_{lv}" for lv in catalog.level_ids] + ["n_withheld", "n_missing"]
        counts = rolled.melt(id_vars=["code", "period"], value_vars=count_columns,
                             var_name="state", value_name="n")
        counts["state"] = counts["state"].str.slice(2)
        counts.insert(0, "granularity", granularity)
        counts.insert(0, "version", version)
        stats.rows_written += _insert(con, "level_counts", counts)


def _level_of_parent(code: str) -> str:
    return "district" if code[6:] == "000000" else "street"


def _escalations(con: duckdb.DuckDBPyConnection, catalog: Catalog, codes: list[str],
                 granularity: str) -> None:
    _register_codes(con, codes)
    series = con.execute(SQL_LEVEL_SERIES, [catalog.version, granularity]).df()
    con.execute(SQL_DELETE_ESCALATIONS, [catalog.version])
    if series.empty:
        return
    frames = []
    for unit_level, group in series.groupby("unit_level"):
        levelled = alerts.assign_levels(group[["code", "period", "index"]], catalog, key="code")
        states = alerts.escalation_states(levelled, catalog, key="code")
        states["unit_level"] = unit_level
        frames.append(states)
    states = pd.concat(frames, ignore_index=True)
    frame = pd.DataFrame({
        "version": catalog.version,
        "unit_level": states["unit_level"],
        "code": states["code"],
        "period": states["period"],
        "level": states["level"],
        "streak": states["streak"].astype("int64"),
        "escalated": states["escalated"].astype(bool),
        "reason_zh": states["escalation_reason_zh"],
        "reason_en": states["escalation_reason_en"],
    })
    _insert(con, "escalations", frame)

