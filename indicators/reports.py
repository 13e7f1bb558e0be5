"""Report data: a community's health report and a street's or district's bulletin, read from the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import duckdb
import pandas as pd

from indicators import access, store, views
from indicators.access import Principal
from indicators.alerts import not_reported
from indicators.catalog import Catalog
from indicators.movers import biggest_movers, drivers_of
from indicators.orgs import is_valid_code, level_of, parent_of, prefix_of_scope
from indicators.periods import granularity_of, months_in
from indicators.scoring import attribute_change

# How many periods the trend chart and table show, ending with the report's period.
TREND_PERIODS = 12
# How many communities the bulletin names among the biggest improvements and declines, and
# how many indicators it names behind each of them.
MOVERS_SHOWN = 5
DRIVERS_NAMED = 3
UNIT_LEVELS = ("district", "street", "community")


class ReportError(store.StoreError):
    """A report that cannot be made (unknown unit or period), with a message in zh and en."""


@dataclass(frozen=True)
class Unit:
    """An org unit named in a report."""

    code: str
    name: str
    level: str


@dataclass(frozen=True)
class Headline:
    """Where a unit stands in the report's period.

    `state` is the level id, "withheld" (数据不足: a row without an index), "not_reported"
    (no values after the deadline) or "no_data" (no values, deadline not yet passed).
    """

    state: str
    index: float
    level: str | None
    coverage: float
    trend: str | None
    previous_index: float
    reason_zh: str
    reason_en: str

    @property
    def change(self) -> float:
        """Index change since the previous period (NaN unless both periods have an index)."""
        return self.index - self.previous_index


@dataclass(frozen=True)
class ReportMeta:
    """What every report states about itself."""

    period: str
    granularity: str
    previous_period: str | None
    methodology_version: str
    generated_at: dt.datetime
    demo: bool


@dataclass(frozen=True)
class CommunityReport:
    """社区治理健康度报告: one community in one period.

    series: period, index, level (up to TREND_PERIODS, oldest first);
    dimensions: dimension, score, street, district;
    indicators: indicator, value, score, level, effective_weight, best, worst (catalog order);
    level_changes: period, index, level, reason_zh, reason_en (newest first);
    escalations: period, level, streak, escalated, reason_zh, reason_en (assessment periods);
    jumps: period, indicator, value, median, robust_z, reason_zh, reason_en;
    attribution: indicator, value_from, value_to, score_from, score_to, contribution
    (largest first; empty unless both periods have an index);
    completeness: indicator, months_reported, months_expected.
    """

    meta: ReportMeta
    unit: Unit
    street: Unit | None
    district: Unit | None
    headline: Headline
    series: pd.DataFrame
    dimensions: pd.DataFrame
    indicators: pd.DataFrame
    level_changes: pd.DataFrame
    escalations: pd.DataFrame
    jumps: pd.DataFrame
    attribution: pd.DataFrame
    completeness: pd.DataFrame
    months_reported: int
    months_expected: int

    kind = "community"


@dataclass(frozen=True)
class Bulletin:
    """月度通报 of a street or district for one period.

    counts: state → number of communities (the catalog's levels, withheld, missing, plus
    escalated and not_reported); registered: communities in the registry; children: code, name, index, level, change, trend, coverage
    and one count column per level; communities: code, name, street, index, level, change,
    trend, coverage, reason_zh, reason_en; flagged: the communities at a level other than the
    best one, worst first; withheld: communities without an index; escalations: code, name,
    street, level, streak, since, periods, reason_zh, reason_en; not_reported: code, name,
    street, months, deadline; movers: code, name, index_from, index_to, change, direction,
    drivers (tuple of (indicator, contribution)); indicator_averages: indicator, mean_value,
    mean_score, level, reporting, best, worst.
    """

    meta: ReportMeta
    unit: Unit
    headline: Headline
    counts: dict[str, int]
    registered: int
    series: pd.DataFrame
    children: pd.DataFrame
    communities: pd.DataFrame
    flagged: pd.DataFrame
    withheld: pd.DataFrame
    escalations: pd.DataFrame
    not_reported: pd.DataFrame
    movers: pd.DataFrame
    indicator_averages: pd.DataFrame

    kind = "bulletin"


Report = CommunityReport | Bulletin


@dataclass(frozen=True)
class ReportSource:
    """Everything the reports of one subtree need for one period, read from the store once.

    scores: every unit level in scope, every period up to the report's, plus the score rows
    of the scope's ancestors for the report's period (the benchmarks of a community report);
    indicators: community indicator scores of the previous and the report's period;
    values: community_code, period, indicator of every value in the report's months.
    """

    catalog: Catalog
    meta: ReportMeta
    scope: str
    units: pd.DataFrame
    scores: pd.DataFrame
    indicators: pd.DataFrame
    escalations: pd.DataFrame
    jumps: pd.DataFrame
    values: pd.DataFrame
    level_counts: dict[str, dict[str, int]]
    expected_months: tuple[str, ...]
    today: dt.date

    # Per-unit lookups, grouped once: a source serves every report of its subtree, and
    # filtering the whole frames for each unit would cost more than reading them.

    @cached_property
    def scores_by_code(self) -> dict[str, pd.DataFrame]:
        return _grouped(self.scores.sort_values("period"), "code")

    @cached_property
    def indicators_by_code(self) -> dict[str, pd.DataFrame]:
        return _grouped(self.indicators, "code")

    @cached_property
    def values_by_code(self) -> dict[str, pd.DataFrame]:
        return _grouped(self.values, "community_code")

    @cached_property
    def escalations_by_code(self) -> dict[str, pd.DataFrame]:
        return _grouped(self.escalations, "code")

    @cached_property
    def jumps_by_code(self) -> dict[str, pd.DataFrame]:
        return _grouped(self.jumps, "code")

    @cached_property
    def contributions(self) -> pd.DataFrame:
        """Every community's indicator contributions from the previous period to this one."""
        if self.meta.previous_period is None:
            return pd.DataFrame(columns=["community_code", "indicator", "contribution"])
        return attribute_change(
            self.indicators.rename(columns={"code": "community_code"}),
            self.meta.previous_period,
            self.meta.period,
        )

    @cached_property
    def contributions_by_code(self) -> dict[str, pd.DataFrame]:
        return _grouped(self.contributions, "community_code")

    @cached_property
    def missing_months(self) -> pd.DataFrame:
        """community_code, period, deadline of every overdue month without any value."""
        communities = self.units.loc[self.units["level"] == "community", "code"]
        communities = communities[communities.str.startswith(prefix_of_scope(self.scope))]
        reported = self.values[["community_code", "period"]].drop_duplicates()
        return not_reported(
            communities, reported, list(self.expected_months), self.today, self.catalog
        )

    @cached_property
    def recent(self) -> pd.DataFrame:
        """The score rows of the report's period and the previous one."""
        return self.scores[
            self.scores["period"].isin([self.meta.period, self.meta.previous_period])
        ]

    @cached_property
    def records(self) -> dict[tuple[str, str], dict]:
        """(code, period) → score row as a dict, for the report's and the previous period."""
        return {(row["code"], row["period"]): row for row in self.recent.to_dict("records")}

    def record(self, code: str | None, period: str | None) -> dict | None:
        return self.records.get((code or "", period or ""))

    @cached_property
    def names(self) -> dict[str, str]:
        return dict(zip(self.units["code"], self.units["name"], strict=False))

    def rows_of(self, code: str) -> pd.DataFrame:
        """The score rows of one unit, oldest first."""
        return self.scores_by_code.get(code, self.scores.iloc[0:0])


def _grouped(frame: pd.DataFrame, column: str) -> dict[str, pd.DataFrame]:
    return {str(key): part for key, part in frame.groupby(column, sort=False)}


# ---- reading --------------------------------------------------------------------------------


def build_report(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    code: str,
    period: str,
    principal: Principal,
    today: dt.date | None = None,
) -> Report:
    """The health report of a community, or the bulletin of a street or district.

    Raises AccessDenied outside the principal's subtree or without export rights, and
    ReportError for an unknown unit or a period without scores.
    """
    source = load_source(con, catalog, code, period, principal, today)
    return report_from(source, code)


def build_reports(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    scope: str,
    period: str,
    principal: Principal,
    today: dt.date | None = None,
) -> list[Report]:
    """The report or bulletin of every unit in the subtree of `scope`, reading the store once."""
    source = load_source(con, catalog, scope, period, principal, today)
    inside = source.units["code"].str.startswith(prefix_of_scope(scope))
    return [report_from(source, code) for code in source.units.loc[inside, "code"]]


def report_from(source: ReportSource, code: str) -> Report:
    """The report of `code` (a unit inside the source's subtree)."""
    if level_of(code) == "community":
        return community_report(source, code)
    return bulletin(source, code)


def load_source(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    scope: str,
    period: str,
    principal: Principal,
    today: dt.date | None = None,
) -> ReportSource:
    """Reads the tables of the subtree of `scope` for `period` (see ReportSource)."""
    access.require_unit(principal, "export", scope)
    units = _checked_units(con, scope)
    granularity = _checked_granularity(period)
    periods = store.scored_periods(con, catalog, granularity)
    if period not in periods:
        raise _unknown_period(period, periods)
    upto = periods[: periods.index(period) + 1]
    previous = upto[-2] if len(upto) > 1 else None
    levels = UNIT_LEVELS[UNIT_LEVELS.index(level_of(scope)) :]
    parts = [
        store.scores(con, catalog, granularity=granularity, unit_level=level, scope=scope)
        for level in levels
    ]
    # A community's report compares it with its street and district: their own score rows
    # (aggregates) for the period, read with the ancestor as the scope.
    for ancestor in store.ancestors(scope):
        rows = store.scores(
            con,
            catalog,
            granularity=granularity,
            unit_level=level_of(ancestor),
            period=period,
            scope=ancestor,
        )
        parts.append(rows[rows["code"] == ancestor])
    scores = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else parts[0]
    )
    scores = scores[scores["period"].isin(upto)].reset_index(drop=True)
    pair = [previous or period, period]
    indicators = store.indicator_scores_pair(con, catalog, *pair, granularity, scope=scope)
    months = periods if granularity == "month" else store.scored_periods(con, catalog, "month")
    expected = tuple(m for m in months_in(period) if m <= months[-1])
    values = pd.concat(
        [store.current_values(con, month, scope=scope) for month in expected], ignore_index=True
    )
    inside = units["code"].str.startswith(prefix_of_scope(scope))
    counts = {
        code: store.level_counts(con, catalog, code, period, granularity, scope=scope)
        for code in units.loc[inside & (units["level"] != "community"), "code"]
    }
    meta = ReportMeta(
        period=period,
        granularity=granularity,
        previous_period=previous,
        methodology_version=catalog.version,
        generated_at=store.utc_now(),
        demo=store.is_demo(con),
    )
    return ReportSource(
        catalog=catalog,
        meta=meta,
        scope=scope,
        units=units,
        scores=scores,
        indicators=indicators,
        escalations=store.escalations(con, catalog, scope=scope),
        jumps=store.jumps(con, catalog, scope=scope),
        values=values[["community_code", "period", "indicator"]],
        level_counts=counts,
        expected_months=expected,
        today=today or dt.date.today(),
    )


def _checked_units(con: duckdb.DuckDBPyConnection, code: str) -> pd.DataFrame:
    if not is_valid_code(code):
        raise ReportError(
            "report.unit_code",
            f"“{code}”不是有效的12位统计用区划代码。",
            f"'{code}' is not a valid 12-digit division code.",
        )
    units = store.registry(con, scope=code, with_ancestors=True)
    if code not in set(units["code"]):
        raise ReportError(
            "report.unit_unknown",
            f"组织机构名录中没有代码为 {code} 的单位。",
            f"There is no unit with the code {code} in the org registry.",
        )
    return units


def _checked_granularity(period: str) -> str:
    try:
        return granularity_of(period)
    except ValueError:
        raise ReportError(
            "report.period_format",
            f"无法识别的统计期“{period}”：应为 YYYY-MM、YYYY-Qn 或 YYYY。",
            f"Unknown period '{period}': use YYYY-MM, YYYY-Qn or YYYY.",
        ) from None


def _unknown_period(period: str, periods: list[str]) -> ReportError:
    if not periods:
        return ReportError(
            "report.period_unknown",
            f"统计期 {period} 没有指数数据：数据库中还没有任何得分。",
            f"No scores for {period}: the database holds no scores yet.",
        )
    span = f"{periods[0]} — {periods[-1]}"
    return ReportError(
        "report.period_unknown",
        f"统计期 {period} 没有指数数据；已有数据的统计期为 {span}。",
        f"No scores for the period {period}; scored periods run {span}.",
    )


# ---- shared pieces --------------------------------------------------------------------------


def _unit(source: ReportSource, code: str | None) -> Unit | None:
    if code is None:
        return None
    return Unit(code, source.names.get(code, code), level_of(code))


def _headline(source: ReportSource, code: str, state_if_absent: str) -> Headline:
    meta = source.meta
    row, previous = source.record(code, meta.period), source.record(code, meta.previous_period)
    previous_index = float(previous["index"]) if previous else float("nan")
    if row is None:
        return Headline(state_if_absent, float("nan"), None, 0.0, None, previous_index, "", "")

    def text(column: str) -> str:
        return row[column] if pd.notna(row[column]) else ""

    level = row["level"] if pd.notna(row["level"]) else None
    return Headline(
        state=level or "withheld",
        index=float(row["index"]),
        level=level,
        coverage=float(row["coverage"]) if pd.notna(row["coverage"]) else 0.0,
        trend=text("trend") or None,
        previous_index=previous_index,
        reason_zh=text("reason_zh"),
        reason_en=text("reason_en"),
    )


def _series(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[["period", "index", "level"]].tail(TREND_PERIODS).reset_index(drop=True)


# ---- the community report -------------------------------------------------------------------


def community_report(source: ReportSource, code: str) -> CommunityReport:
    """The health report of one community from a source that covers it."""
    catalog, meta = source.catalog, source.meta
    rows = source.rows_of(code)
    missing = source.missing_months[source.missing_months["community_code"] == code]
    absent = (
        "not_reported"
        if meta.period in set(missing["period"])
        or (meta.granularity != "month" and len(missing) == len(source.expected_months))
        else "no_data"
    )
    headline = _headline(source, code, absent)
    street = parent_of(code)
    district = parent_of(street) if street else None

    def dimension_scores(unit_code: str | None) -> dict[str, float]:
        return source.record(unit_code, meta.period) or {}

    own, street_scores, district_scores = (dimension_scores(c) for c in (code, street, district))
    dimensions = pd.DataFrame(
        {
            "dimension": [d.id for d in catalog.weighted_dimensions],
            "score": [own.get(d.id, float("nan")) for d in catalog.weighted_dimensions],
            "street": [street_scores.get(d.id, float("nan")) for d in catalog.weighted_dimensions],
            "district": [
                district_scores.get(d.id, float("nan")) for d in catalog.weighted_dimensions
            ],
        }
    ).astype({"score": float, "street": float, "district": float})

    mine = source.indicators_by_code.get(code, source.indicators.iloc[0:0])
    now = mine[mine["period"] == meta.period].set_index("indicator")
    indicators = pd.DataFrame(
        {
            "indicator": [i.id for i in catalog.indicators],
            "best": [i.best for i in catalog.indicators],
            "worst": [i.worst for i in catalog.indicators],
        }
    )
    for column in ("value", "score", "level", "effective_weight"):
        indicators[column] = indicators["indicator"].map(now[column]) if len(now) else float("nan")
    indicators = indicators[
        ["indicator", "value", "score", "level", "effective_weight", "best", "worst"]
    ]

    assessment = views.last_complete_assessment(meta.period, catalog)
    escalations = source.escalations_by_code.get(code, source.escalations.iloc[0:0])
    escalations = escalations[
        (escalations["streak"] > 0) & (escalations["period"] <= (assessment or ""))
    ]
    last_month = months_in(meta.period)[-1]
    jumps = source.jumps_by_code.get(code, source.jumps.iloc[0:0])
    jumps = jumps[jumps["period"] <= last_month]
    changes = rows[rows["level_changed"].fillna(False).astype(bool)]

    own_values = source.values_by_code.get(code, source.values.iloc[0:0])
    reported_months = own_values["period"].nunique()
    return CommunityReport(
        meta=meta,
        unit=_unit(source, code),
        street=_unit(source, street),
        district=_unit(source, district),
        headline=headline,
        series=_series(rows),
        dimensions=dimensions,
        indicators=indicators,
        level_changes=changes[["period", "index", "level", "reason_zh", "reason_en"]]
        .iloc[::-1]
        .reset_index(drop=True),
        escalations=escalations[
            ["period", "level", "streak", "escalated", "reason_zh", "reason_en"]
        ]
        .iloc[::-1]
        .reset_index(drop=True),
        jumps=jumps[
            ["period", "indicator", "value", "median", "robust_z", "reason_zh", "reason_en"]
        ].reset_index(drop=True),
        attribution=_attribution(source, code, headline),
        completeness=_completeness(own_values, source),
        months_reported=int(reported_months),
        months_expected=len(source.expected_months),
    )


def _attribution(source: ReportSource, code: str, headline: Headline) -> pd.DataFrame:
    columns = ["indicator", "value_from", "value_to", "score_from", "score_to", "contribution"]
    parts = source.contributions_by_code.get(code)
    if parts is None or pd.isna(headline.change):
        return pd.DataFrame(columns=columns).astype({"indicator": "str", "contribution": float})
    ordered = parts.reindex(parts["contribution"].abs().sort_values(ascending=False).index)
    return ordered[columns].reset_index(drop=True)


def _completeness(own: pd.DataFrame, source: ReportSource) -> pd.DataFrame:
    months = own.groupby("indicator")["period"].nunique()
    ids = [i.id for i in source.catalog.indicators]
    return pd.DataFrame(
        {
            "indicator": ids,
            "months_reported": [int(months.get(i, 0)) for i in ids],
            "months_expected": len(source.expected_months),
        }
    )


# ---- the bulletin ---------------------------------------------------------------------------


def bulletin(source: ReportSource, code: str) -> Bulletin:
    """The bulletin of a street or district from a source that covers it."""
    catalog, meta = source.catalog, source.meta
    prefix = prefix_of_scope(code)
    rows = source.rows_of(code)
    headline = _headline(source, code, "no_data")
    in_area = source.recent[source.recent["code"].str.startswith(prefix)]
    communities = _community_table(source, in_area)
    missing = source.missing_months[source.missing_months["community_code"].str.startswith(prefix)]
    not_reported_rows = _not_reported_table(missing, source)
    escalations = _escalation_table(source, prefix)

    counts = dict(source.level_counts.get(code, {}))
    counts["escalated"] = len(escalations)
    counts["not_reported"] = (
        int(
            missing.loc[missing["period"] == months_in(meta.period)[-1], "community_code"].nunique()
        )
        if meta.granularity == "month"
        else len(not_reported_rows)
    )

    best = catalog.level_ids[0]
    ranks = {level: rank for rank, level in enumerate(catalog.level_ids)}
    flagged = communities[communities["level"].notna() & (communities["level"] != best)]
    flagged = (
        flagged.assign(_rank=flagged["level"].map(ranks))
        .sort_values(["_rank", "index"], ascending=[False, True])
        .drop(columns="_rank")
    )
    withheld = communities[communities["index"].isna()]

    indicators = source.indicators[source.indicators["code"].str.startswith(prefix)]
    return Bulletin(
        meta=meta,
        unit=_unit(source, code),
        headline=headline,
        counts=counts,
        registered=int(
            source.units.loc[source.units["level"] == "community", "code"]
            .str.startswith(prefix)
            .sum()
        ),
        series=_series(rows),
        children=_children_table(source, code, in_area, communities),
        communities=communities,
        flagged=flagged.reset_index(drop=True),
        withheld=withheld.reset_index(drop=True),
        escalations=escalations,
        not_reported=not_reported_rows,
        movers=_movers(source, communities),
        indicator_averages=_indicator_averages(indicators, catalog, meta.period),
    )


def _community_table(source: ReportSource, in_area: pd.DataFrame) -> pd.DataFrame:
    meta = source.meta
    community = in_area[in_area["unit_level"] == "community"]
    current = community[community["period"] == meta.period]
    previous = community.loc[community["period"] == meta.previous_period, ["code", "index"]]
    table = current.merge(
        previous.rename(columns={"index": "previous_index"}), on="code", how="left"
    )
    table["change"] = table["index"] - table["previous_index"]
    names = source.names
    table["street"] = table["code"].map(lambda c: names.get(parent_of(c), parent_of(c)))
    columns = [
        "code",
        "name",
        "street",
        "index",
        "level",
        "change",
        "trend",
        "coverage",
        "reason_zh",
        "reason_en",
    ]
    return table[columns].sort_values("code").reset_index(drop=True)


def _children_table(
    source: ReportSource, code: str, in_area: pd.DataFrame, communities: pd.DataFrame
) -> pd.DataFrame:
    """The unit's direct children (streets of a district, communities of a street)."""
    catalog, meta = source.catalog, source.meta
    child_level = UNIT_LEVELS[UNIT_LEVELS.index(level_of(code)) + 1]
    if child_level == "community":
        table = communities.copy()
    else:
        scored = in_area[in_area["unit_level"] == child_level]
        current = scored[scored["period"] == meta.period]
        previous = scored.loc[scored["period"] == meta.previous_period, ["code", "index"]]
        table = current.merge(
            previous.rename(columns={"index": "previous_index"}), on="code", how="left"
        )
        table["change"] = table["index"] - table["previous_index"]
    parent = (
        communities["code"].str.slice(0, 9) + "000"
        if child_level == "street"
        else communities["code"]
    )
    for level in catalog.level_ids:
        at_level = communities["level"] == level
        table[level] = table["code"].map(at_level.groupby(parent).sum()).fillna(0).astype(int)
    columns = ["code", "name", "index", "level", "change", "trend", "coverage", *catalog.level_ids]
    return (
        table[columns]
        .sort_values("index", ascending=False, na_position="last")
        .reset_index(drop=True)
    )


def _not_reported_table(missing: pd.DataFrame, source: ReportSource) -> pd.DataFrame:
    columns = ["code", "name", "street", "months", "deadline"]
    if missing.empty:
        return pd.DataFrame(columns=columns)
    names = source.names
    grouped = (
        missing.groupby("community_code")
        .agg(months=("period", lambda p: ", ".join(sorted(p))), deadline=("deadline", "max"))
        .reset_index()
    )
    grouped = grouped.rename(columns={"community_code": "code"})
    grouped["name"] = grouped["code"].map(names)
    grouped["street"] = grouped["code"].map(lambda c: names.get(parent_of(c), parent_of(c)))
    return grouped[columns].sort_values("code").reset_index(drop=True)


def _escalation_table(source: ReportSource, prefix: str) -> pd.DataFrame:
    """Units escalated at the last complete assessment period, with how long each has been at
    the escalation level or worse (periods of the report's granularity, up to its period)."""
    catalog, meta = source.catalog, source.meta
    columns = [
        "code",
        "name",
        "street",
        "level",
        "streak",
        "since",
        "periods",
        "reason_zh",
        "reason_en",
    ]
    assessment = views.last_complete_assessment(meta.period, catalog)
    escalated = source.escalations[
        source.escalations["escalated"]
        & (source.escalations["period"] == assessment)
        & source.escalations["code"].str.startswith(prefix)
    ]
    if escalated.empty:
        return pd.DataFrame(columns=columns)
    threshold = catalog.level_rank(catalog.alerts.escalation.level)
    names = source.names
    history = source.scores.loc[
        source.scores["code"].isin(set(escalated["code"])), ["code", "period", "carried_level"]
    ]
    levels: dict[str, list[tuple[str, object]]] = {}
    for code, period, level in sorted(
        zip(history["code"], history["period"], history["carried_level"], strict=True),
        key=lambda row: (row[0], row[1]),
    ):
        levels.setdefault(code, []).append((period, level))
    since, periods = [], []
    for code in escalated["code"]:
        run: list[str] = []
        for period, level in reversed(levels.get(code, [])):
            if pd.isna(level) or catalog.level_rank(str(level)) < threshold:
                break
            run.append(period)
        since.append(run[-1] if run else None)
        periods.append(len(run))
    table = escalated.assign(since=since, periods=periods)
    table["street"] = table["code"].map(lambda c: names.get(parent_of(c) or "", ""))
    table["name"] = table["code"].map(names).fillna(table["name"])
    return (
        table[columns]
        .sort_values(["periods", "code"], ascending=[False, True])
        .reset_index(drop=True)
    )


def _movers(source: ReportSource, communities: pd.DataFrame) -> pd.DataFrame:
    changes = communities.dropna(subset=["change"])
    changes = changes.assign(
        index_from=changes["index"] - changes["change"], index_to=changes["index"]
    )
    table = biggest_movers(changes, MOVERS_SHOWN)
    table["drivers"] = drivers_of(table, source.contributions, DRIVERS_NAMED)
    return table[["code", "name", "index_from", "index_to", "change", "direction", "drivers"]]


def _indicator_averages(indicators: pd.DataFrame, catalog: Catalog, period: str) -> pd.DataFrame:
    current = indicators[indicators["period"] == period]
    grouped = current.groupby("indicator").agg(
        mean_value=("value", "mean"), mean_score=("score", "mean"), reporting=("value", "count")
    )
    ids = [i.id for i in catalog.indicators]
    table = grouped.reindex(ids).rename_axis("indicator").reset_index()
    table["reporting"] = table["reporting"].fillna(0).astype(int)
    table["level"] = [catalog.level_of(score) for score in table["mean_score"]]
    table["best"] = [catalog.indicator_by_id[i].best for i in table["indicator"]]
    table["worst"] = [catalog.indicator_by_id[i].worst for i in table["indicator"]]
    return table[["indicator", "mean_value", "mean_score", "level", "reporting", "best", "worst"]]


# ---- data exports ---------------------------------------------------------------------------


def values_export(
    con: duckdb.DuckDBPyConnection, period: str, principal: Principal, area: str | None
) -> pd.DataFrame:
    """Current values (community_code, period, indicator, value) of the months of `period`
    in the area, narrowed to what the principal may see."""
    access.require(principal, "export")
    scope = access.effective_scope(principal, area)
    frames = [store.current_values(con, month, scope=scope) for month in months_in(period)]
    return pd.concat(frames, ignore_index=True)[["community_code", "period", "indicator", "value"]]


def scores_export(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    period: str,
    principal: Principal,
    area: str | None,
) -> pd.DataFrame:
    """Index, level, coverage, dimension scores and trend of every unit in the area for one
    period (districts, streets, then communities), narrowed to what the principal may see."""
    access.require(principal, "export")
    scope = access.effective_scope(principal, area)
    granularity = _checked_granularity(period)
    frames = [
        store.scores(
            con, catalog, granularity=granularity, unit_level=level, period=period, scope=scope
        )
        for level in UNIT_LEVELS
    ]
    columns = [
        "code",
        "name",
        "unit_level",
        "period",
        "index",
        "level",
        "coverage",
        *[d.id for d in catalog.weighted_dimensions],
        "trend",
    ]
    return pd.concat([f[columns] for f in frames], ignore_index=True)
