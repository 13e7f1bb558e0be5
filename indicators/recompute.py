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
    "unit_level",
    "code",
    "period",
    "index",
    "coverage",
    "withheld",
    "withheld_reason",
    "communities",
    "scored",
    "level",
    "raw_level",
    "previous_level",
    "carried_level",
    "level_changed",
    "reason_code",
    "reason_zh",
    "reason_en",
    "trend",
    "slope",
]
# A full recompute works through whole districts of about this many communities at a time:
# every result depends only on a community's own values or on the communities of its district,
# so the chunks give the same rows as one pass, while the frames in memory stay the size of a
# city (at a province, most of the process's memory is then DuckDB's own buffer pool).
FULL_RECOMPUTE_CHUNK = 2_500
# How many months before the first changed month the jump rule looks back for history, in
# windows of the rule, for a series that has gaps (a series without gaps needs one window).
JUMP_LOOKBACK_FACTOR = 3

SQL_VALUES_FOR = """
SELECT v.community_code, v.period, v.indicator, v.value
FROM current_values v {join}
WHERE v.period >= ?
"""
SQL_JOIN_AFFECTED = "JOIN affected_codes a ON a.code = v.community_code"
# Series with a value from `since` on but fewer than a jump window of values in the recent
# months before it (a gap): the jump rule looks further back for them.
SQL_SHORT_SERIES = """
SELECT v.community_code, v.indicator
FROM current_values v JOIN affected_codes a ON a.code = v.community_code
WHERE v.period >= ?
GROUP BY ALL
HAVING count(*) FILTER (WHERE v.period >= ?) > 0 AND count(*) FILTER (WHERE v.period < ?) < ?
"""
SQL_VALUES_OF_SERIES = """
SELECT v.community_code, v.period, v.indicator, v.value
FROM current_values v JOIN short_series s USING (community_code, indicator)
WHERE v.period >= ? AND v.period < ?
"""
# The stored index of the periods a trend window reaches back into, and each unit's last known
# level before the recomputed periods (carried_level of its latest stored row): all the history
# that levels and trends of the recomputed periods depend on. A code names its unit level.
SQL_STORED_INDEX = """
SELECT s.code, s.period, s."index" FROM unit_scores s JOIN affected_codes a ON a.code = s.code
WHERE s.version = ? AND s.granularity = ? AND s.period >= ? AND s.period < ?
"""
SQL_LAST_CARRIED_LEVEL = """
SELECT s.code, arg_max_null(s.carried_level, s.period) AS carried_level
FROM unit_scores s JOIN affected_codes a ON a.code = s.code
WHERE s.version = ? AND s.granularity = ? AND s.period < ?
GROUP BY s.code
"""
# What a recompute from a month replaces, in one pass over each table: the rows of the
# affected communities, streets and districts from the month's own month, quarter and year on.
SQL_DELETE_RECOMPUTED = """
DELETE FROM {table} s USING affected_codes a
WHERE s.code = a.code AND s.version = ?
  AND ((s.granularity = 'month' AND s.period >= ?) OR (s.granularity = 'quarter' AND s.period >= ?)
       OR (s.granularity = 'year' AND s.period >= ?))
"""
RECOMPUTED_TABLES = ("unit_scores", "dimension_scores", "indicator_scores", "level_counts")
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
# Every community of the affected districts (the affected streets lie within them), with its
# weighted dimensions as columns: what the street and district roll-ups are computed from.
SQL_COMMUNITY_ROWS_UNDER = """
SELECT s.code AS community_code, s.period, s."index", s.level, {dimensions}
FROM unit_scores s
LEFT JOIN dimension_scores d
  ON d.code = s.code AND d.period = s.period AND d.version = s.version
 AND d.granularity = s.granularity
WHERE substr(s.code, 1, 6) IN (SELECT prefix FROM affected_districts)
  AND s.version = ? AND s.granularity = ? AND s.unit_level = 'community' AND s.period >= ?
GROUP BY ALL
"""
SQL_DIMENSION_COLUMN = "max(d.score) FILTER (WHERE d.dimension = '{id}') AS \"{id}\""
SQL_LEVEL_SERIES = """
SELECT s.code, s.period, s."index", s.unit_level FROM unit_scores s
JOIN affected_codes a ON a.code = s.code
WHERE s.version = ? AND s.granularity = ?
"""
SQL_ALL_COMMUNITY_CODES = "SELECT DISTINCT community_code AS code FROM current_values"
SQL_REGISTRY = "SELECT code, level, population FROM orgs"
# Indicator rows are many (every value, at every granularity): their colour is computed in the
# INSERT from the score, on the same bands as alerts.indicator_levels, with no Python objects.
SQL_INSERT_INDICATOR_SCORES = """
INSERT INTO indicator_scores
    (version, granularity, code, period, indicator, value, score, effective_weight, level)
SELECT ?, ?, community_code, period, indicator, value, score, effective_weight, {level}
FROM rows_to_insert
"""
SQL_INSERT_DIMENSIONS = """
INSERT INTO dimension_scores (version, granularity, code, period, dimension, score)
SELECT ?, ?, code, period, dimension, score
FROM (UNPIVOT (SELECT code, period, {columns} FROM rows_to_insert)
      ON {columns} INTO NAME dimension VALUE score)
WHERE NOT isnan(score)
"""


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
    stats = RecomputeStats(communities=len(codes))
    for chunk in _district_chunks(sorted(codes), FULL_RECOMPUTE_CHUNK):
        _recompute(con, catalog, chunk, since=None, stats=stats)
    return stats


def _district_chunks(codes: list[str], size: int) -> list[list[str]]:
    """Sorted community codes cut into runs of whole districts, each about `size` long."""
    chunks: list[list[str]] = []
    for code in codes:
        new_district = not chunks or code[:6] != chunks[-1][-1][:6]
        if new_district and (not chunks or len(chunks[-1]) >= size):
            chunks.append([])
        chunks[-1].append(code)
    return chunks


def recompute_affected(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, affected: pd.DataFrame
) -> RecomputeStats:
    """Recomputes the communities in `affected` (community_code, since) and their parents,
    from the earliest affected month forward; earlier periods keep their stored results."""
    if affected.empty:
        return RecomputeStats()
    since = str(affected["since"].min())
    return _recompute(con, catalog, sorted(affected["community_code"].unique()), since=since)


def _recompute(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    codes: list[str],
    since: str | None,
    stats: RecomputeStats | None = None,
) -> RecomputeStats:
    """Scores `codes` (sorted community codes) and their streets and districts from `since`
    (None: their whole history, everything of theirs already deleted), adding to `stats`."""
    stats = stats or RecomputeStats(communities=len(codes), since=since)
    clock = _Clock(stats)
    parents = sorted({c[:9] + "000" for c in codes} | {c[:6] + "000000" for c in codes})
    full = since is None
    version = catalog.version
    registry = _frame(con, SQL_REGISTRY)

    if not full:
        _register_codes(con, codes + parents)
        starts = [period_of_month(since, granularity) for granularity in GRANULARITIES]
        for table in RECOMPUTED_TABLES:
            con.execute(SQL_DELETE_RECOMPUTED.format(table=table), [version, *starts])
        clock.lap("delete")
    _register_codes(con, codes)
    earliest = since or "0000-00"
    months = _load_months(con, catalog, since)
    months_from: dict[str, pd.DataFrame] = {}  # first month → the months from it on

    def months_since(first: str) -> pd.DataFrame:
        if first not in months_from:  # a new January starts its month, quarter and year
            months_from[first] = months[months["period"] >= first]
        return months_from[first]

    clock.lap("load values")

    for granularity in GRANULARITIES:
        start = "0000" if full else period_of_month(since, granularity)
        if full:  # every value counts: no copy through a filter
            values = months if granularity == "month" else aggregate_months(months, granularity)
        elif granularity == "month":
            values = months_since(start)
        else:
            values = aggregate_months(months_since(months_in(start)[0]), granularity)
        tables = score_values(values, catalog)
        clock.lap(f"score {granularity}")

        _register_codes(con, codes)
        units = tables.unit_scores.rename(columns={"community_code": "code"})
        levelled = _with_history(
            con, catalog, units.assign(unit_level="community"), granularity, start, full
        )
        clock.lap(f"levels {granularity}")
        stats.rows_written += _insert_unit_scores(con, levelled, version, granularity)
        stats.rows_written += _insert_dimensions(con, units, catalog, version, granularity)
        stats.rows_written += _insert_indicator_scores(
            con, tables.indicator_scores, catalog, version, granularity
        )
        clock.lap(f"write {granularity}")

        # A full recompute has every community's rows at hand; otherwise the siblings of the
        # affected communities are read back from the store.
        in_memory = _community_rows(levelled, units, catalog) if full else None
        _rollups(con, catalog, registry, parents, granularity, start, full, stats, in_memory)
        clock.lap(f"roll-up {granularity}")

        if granularity == catalog.alerts.escalation.granularity:
            _escalations(con, catalog, codes + parents, granularity)
            clock.lap("escalations")

    _register_codes(con, codes)
    flagged = alerts.suspicious_jumps(months, catalog, flag_from=since)
    clock.lap("jumps")
    if not full:
        con.execute(SQL_DELETE_JUMPS, [version, earliest])
    if len(flagged):
        frame = pd.DataFrame(
            {
                "code": flagged["community_code"],
                "period": flagged["period"],
                "indicator": flagged["indicator"],
                "value": flagged["value"],
                "median": flagged["median"],
                "mad": flagged["mad"],
                "robust_z": flagged["robust_z"],
                "reason_zh": flagged["reason_zh"],
                "reason_en": flagged["reason_en"],
            }
        )
        _insert(con, "jumps", frame, {"version": version})
    clock.lap("write jumps")
    return stats


class _Clock:
    def __init__(self, stats: RecomputeStats) -> None:
        self.stats = stats
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stats.seconds[name] = self.stats.seconds.get(name, 0.0) + now - self.last
        self.last = now


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """A query's rows as a frame, through Arrow: the same frame as `.df()`, several times faster
    for text columns (they stay Arrow strings instead of passing through Python objects)."""
    return con.sql(sql, params=params or None).to_arrow_table().to_pandas()


def _load_months(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, since: str | None
) -> pd.DataFrame:
    """The monthly values of the affected communities a recompute from `since` needs (all
    of them when None).

    From `since` on everything is rescored; before it, the months of since's year (the quarter
    and year means) and the history the jump rule compares with: its window of months for every
    series, and further back, to JUMP_LOOKBACK_FACTOR windows, for the series with gaps.
    """
    if since is None:
        return _frame(con, SQL_VALUES_FOR.format(join=SQL_JOIN_AFFECTED), ["0000-00"])
    window = catalog.alerts.jump.window
    recent_from = min(shift_month(since, -window), months_in(period_of_month(since, "year"))[0])
    recent = _frame(con, SQL_VALUES_FOR.format(join=SQL_JOIN_AFFECTED), [recent_from])
    short = _frame(con, SQL_SHORT_SERIES, [recent_from, since, since, window])
    if short.empty:
        return recent
    con.register("short_series", short)
    try:
        older = _frame(
            con,
            SQL_VALUES_OF_SERIES,
            [shift_month(since, -window * JUMP_LOOKBACK_FACTOR), recent_from],
        )
    finally:
        con.unregister("short_series")
    return pd.concat([older, recent], ignore_index=True)


def _register_codes(con: duckdb.DuckDBPyConnection, codes: list[str]) -> None:
    con.register("affected_codes", pd.DataFrame({"code": pd.Series(codes, dtype="str")}))


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, constants: dict[str, object]
) -> int:
    """Inserts the frame's columns plus constant columns (passed as parameters, not repeated
    in a column of the frame)."""
    if frame.empty:
        return 0
    con.register("rows_to_insert", frame)
    try:
        names = [*constants, *frame.columns]
        columns = ", ".join(f'"{c}"' for c in names)
        selected = ", ".join(["?"] * len(constants) + [f'"{c}"' for c in frame.columns])
        con.execute(
            f"INSERT INTO {table} ({columns}) SELECT {selected} FROM rows_to_insert",  # noqa: S608 - table and columns are ours
            list(constants.values()),
        )
    finally:
        con.unregister("rows_to_insert")
    return len(frame)


def _with_history(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    units: pd.DataFrame,
    granularity: str,
    start: str,
    full: bool,
) -> pd.DataFrame:
    """Levels and trends of `units` (code, period, index, …; their codes registered as
    affected_codes), continuing each unit's stored history before `start`: its last known
    level, and the index of the periods the trend window reaches back into. Returns the rows
    of `units` only, sorted by code and period."""
    initial = None
    series = units[["code", "period", "index"]]
    if not full:
        reach = _shift_period(start, -(catalog.alerts.trend.window - 1))
        history = _frame(con, SQL_STORED_INDEX, [catalog.version, granularity, reach, start])
        if len(history):
            series = pd.concat([history, series], ignore_index=True)
        last = _frame(con, SQL_LAST_CARRIED_LEVEL, [catalog.version, granularity, start])
        initial = pd.Series(
            last["carried_level"].to_numpy(dtype=object), index=last["code"].to_numpy(dtype=object)
        )
    levelled = alerts.assign_levels(units, catalog, key="code", initial=initial)
    periods = _calendar(series["period"], granularity)
    trend = alerts.trends(series, catalog, periods, key="code")
    return levelled.merge(
        trend[["code", "period", "trend", "slope"]], on=["code", "period"], how="left"
    )


def _shift_period(period: str, count: int) -> str:
    """The label `count` periods after `period` (before when negative), in its granularity."""
    months = months_in(period)
    granularity = "month" if len(months) == 1 else "quarter" if len(months) == 3 else "year"
    return period_of_month(shift_month(months[0], count * len(months)), granularity)


def _calendar(periods: pd.Series, granularity: str) -> list[str]:
    """Every period label from the earliest to the latest present, gaps included."""
    present = sorted(pd.unique(periods.astype("str")), key=period_sort_key)
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


def _insert_unit_scores(
    con: duckdb.DuckDBPyConnection, levelled: pd.DataFrame, version: str, granularity: str
) -> int:
    """Rows of `levelled` (with their unit_level) into unit_scores."""
    frame = levelled.assign(**{c: None for c in UNIT_SCORE_COLUMNS if c not in levelled.columns})
    return _insert(
        con,
        "unit_scores",
        frame[UNIT_SCORE_COLUMNS],
        {"version": version, "granularity": granularity},
    )


def _insert_dimensions(
    con: duckdb.DuckDBPyConnection,
    units: pd.DataFrame,
    catalog: Catalog,
    version: str,
    granularity: str,
) -> int:
    """One row per unit, period and weighted dimension with a score."""
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    if units.empty or not dimension_ids:
        return 0
    frame = units[["code", "period", *dimension_ids]]
    columns = ", ".join(f'"{d}"' for d in dimension_ids)
    con.register("rows_to_insert", frame)
    try:
        con.execute(SQL_INSERT_DIMENSIONS.format(columns=columns), [version, granularity])
    finally:
        con.unregister("rows_to_insert")
    return int(frame[dimension_ids].notna().to_numpy().sum())


def _insert_indicator_scores(
    con: duckdb.DuckDBPyConnection,
    scores: pd.DataFrame,
    catalog: Catalog,
    version: str,
    granularity: str,
) -> int:
    frame = scores[["community_code", "period", "indicator", "value", "score", "effective_weight"]]
    if frame.empty:
        return 0
    level, parameters = _level_case(catalog)
    con.register("rows_to_insert", frame)
    try:
        con.execute(
            SQL_INSERT_INDICATOR_SCORES.format(level=level), [version, granularity, *parameters]
        )
    finally:
        con.unregister("rows_to_insert")
    return len(frame)


def _level_case(catalog: Catalog) -> tuple[str, list[object]]:
    """SQL for alerts.indicator_levels(score): the best level whose minimum the score reaches,
    else the worst level; no level for a missing score."""
    levels = catalog.levels
    branches = " ".join("WHEN score >= ? THEN ?" for _ in levels[:-1])
    parameters: list[object] = []
    for level in levels[:-1]:
        parameters += [level.min, level.id]
    parameters.append(levels[-1].id)
    return f"CASE WHEN score IS NULL OR isnan(score) THEN NULL {branches} ELSE ? END", parameters


def _community_rows(levelled: pd.DataFrame, units: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """community_code, period, index, level and the weighted dimensions of scored communities:
    the rows the roll-ups read back from the store, taken from memory."""
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    rows = levelled[["code", "period", "index", "level"]].merge(
        units[["code", "period", *dimension_ids]], on=["code", "period"], how="left"
    )
    return rows.rename(columns={"code": "community_code"})


def _rollups(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    registry: pd.DataFrame,
    parents: list[str],
    granularity: str,
    start: str,
    full: bool,
    stats: RecomputeStats,
    communities: pd.DataFrame | None,
) -> None:
    version = catalog.version
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    if communities is None:
        districts = pd.DataFrame({"prefix": sorted({p[:6] for p in parents})})
        columns = ", ".join(SQL_DIMENSION_COLUMN.format(id=d) for d in dimension_ids)
        con.register("affected_districts", districts)
        try:
            communities = _frame(
                con,
                SQL_COMMUNITY_ROWS_UNDER.format(dimensions=columns or "NULL"),
                [version, granularity, start],
            )
        finally:
            con.unregister("affected_districts")
    # Streets and districts go through levels, trends and the writes together.
    rolled = pd.concat(
        [
            rollup(communities, registry, catalog, unit_level).assign(unit_level=unit_level)
            for unit_level in ROLLUP_LEVELS
        ],
        ignore_index=True,
    )
    rolled = rolled[rolled["code"].isin(parents)]
    _register_codes(con, parents)
    levelled = _with_history(con, catalog, rolled, granularity, start, full)
    levelled["withheld"] = levelled["index"].isna()
    stats.rows_written += _insert_unit_scores(con, levelled, version, granularity)
    stats.rows_written += _insert_dimensions(con, rolled, catalog, version, granularity)
    count_columns = [f"n_{lv}" for lv in catalog.level_ids] + ["n_withheld", "n_missing"]
    counts = rolled.melt(
        id_vars=["code", "period"], value_vars=count_columns, var_name="state", value_name="n"
    )
    counts["state"] = counts["state"].str.slice(2)
    stats.rows_written += _insert(
        con, "level_counts", counts, {"version": version, "granularity": granularity}
    )


def _escalations(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, codes: list[str], granularity: str
) -> None:
    _register_codes(con, codes)
    series = _frame(con, SQL_LEVEL_SERIES, [catalog.version, granularity])
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
    frame = pd.DataFrame(
        {
            "unit_level": states["unit_level"],
            "code": states["code"],
            "period": states["period"],
            "level": states["level"],
            "streak": states["streak"].astype("int64"),
            "escalated": states["escalated"].astype(bool),
            "reason_zh": states["escalation_reason_zh"],
            "reason_en": states["escalation_reason_en"],
        }
    )
    _insert(con, "escalations", frame, {"version": catalog.version})
