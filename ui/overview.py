"""The Overview page's content, built once per data generation and selection and shared by sessions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from indicators.orgs import prefix_of_scope
from ui import compose, data, db, figures
from ui.i18n import t
from ui.state import Selection, previous_period

# Above this many communities in the area, the district → street → community chart stops at
# streets: tens of thousands of slivers cannot be read, and drawing them cost seconds per
# rerun at province scale. Choosing a district brings its communities back.
HIERARCHY_MAX_COMMUNITIES = 3_000
# How many recent periods the ranking's sparklines show.
SPARKLINE_PERIODS = 12
# Overview contents kept in memory at once (each a few hundred kB of figures and tables).
VIEW_CACHE = {"max_entries": 64, "ttl": 3600, "show_spinner": False}


@dataclass(frozen=True)
class Movers:
    """The communities whose index rose and fell most since the period before."""

    before_period: str | None
    up: pd.DataFrame
    down: pd.DataFrame


@dataclass(frozen=True)
class OverviewContent:
    """Everything the Overview draws for one selection, ready to render."""

    headline: pd.Series | None  # the area's own score row; None for the whole registry
    community_count: int
    community_median: float
    counts: go.Figure
    distribution: go.Figure
    trend: go.Figure | None
    child_level: str
    ranking: pd.DataFrame
    hierarchy: go.Figure
    hierarchy_stops_at_streets: bool
    movers: Movers
    not_reported: int


def overview_content(selection: Selection, generation: data.Generation) -> OverviewContent:
    """The Overview of the selection's area and period (the period must be set). The access
    check runs here, per session; the cached content depends only on the resolved scope."""
    scope = data.allowed_scope(selection.area)
    return _overview_content(
        generation,
        selection.area,
        selection.area_level,
        scope,
        selection.period,
        selection.granularity,
        selection.language,
        dt.date.today(),
    )


@st.cache_resource(**VIEW_CACHE)
def _overview_content(
    generation: data.Generation,
    area: str | None,
    area_level: str,
    scope: str | None,
    period: str,
    granularity: str,
    language: str,
    today: dt.date,
) -> OverviewContent:
    catalog = db.catalog()
    communities = data.scores(generation, "community", period, scope)
    headline = None
    trend = None
    if area is not None:
        own = data.scores(generation, area_level, period, area).query("code == @area")
        headline = own.iloc[0] if len(own) else None
        series = data.series(generation, area, area_level, granularity)
        if len(series):
            trend = figures.index_trend_figure(series, catalog, language)
    alert_rows = data.alerts(generation, period, scope, today)
    counts = compose.state_counts(communities, alert_rows, catalog)

    child_level = compose.CHILD_LEVEL[area_level]
    children = data.scores(generation, child_level, period, scope)
    if area is not None:
        children = children[children["code"] != area]
    recent = data.unit_series_in_scope(
        generation, child_level, granularity, scope, SPARKLINE_PERIODS
    )
    ranking = figures.ranking_table(compose.ranking_rows(children, recent), catalog, language)

    hierarchy, stops_at_streets = _hierarchy(generation, scope, period, len(communities), language)
    return OverviewContent(
        headline=headline,
        community_count=len(communities),
        community_median=float(communities["index"].median()) if len(communities) else float("nan"),
        counts=figures.level_counts_figure(counts, catalog, language),
        distribution=figures.distribution_figure(
            communities[["index", "level"]], catalog, language
        ),
        trend=trend,
        child_level=child_level,
        ranking=ranking,
        hierarchy=hierarchy,
        hierarchy_stops_at_streets=stops_at_streets,
        movers=_movers(generation, scope, period, granularity, communities, language),
        not_reported=int((alert_rows["state"] == "not_reported").sum()),
    )


def _hierarchy(
    generation: data.Generation, scope: str | None, period: str, communities: int, language: str
) -> tuple[go.Figure, bool]:
    """The sunburst of the area, and whether it stops at streets because the area is large."""
    stops_at_streets = communities > HIERARCHY_MAX_COMMUNITIES
    levels = ("district", "street") if stops_at_streets else ("district", "street", "community")
    units = data.registry(generation, scope)
    units = units[
        units["code"].str.startswith(prefix_of_scope(scope)) & units["level"].isin(levels)
    ]
    nodes = compose.hierarchy_nodes(
        units, [data.scores(generation, level, period, scope) for level in levels]
    )
    return figures.hierarchy_figure(nodes, db.catalog(), language), stops_at_streets


def _movers(
    generation: data.Generation,
    scope: str | None,
    period: str,
    granularity: str,
    communities: pd.DataFrame,
    language: str,
) -> Movers:
    before_period = previous_period(data.periods(generation, granularity), period)
    empty = pd.DataFrame()
    if before_period is None:
        return Movers(None, empty, empty)
    before = data.scores(generation, "community", before_period, scope)

    def contributions_of(codes: list[str]) -> pd.DataFrame:
        frames = [data.attribution(generation, code, before_period, period) for code in codes]
        return (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["community_code", "indicator", "contribution"])
        )

    moved = compose.movers(before, communities, contributions_of, db.catalog(), language)
    headers = {
        "code": t("column.code", language),
        "name": t("column.name", language),
        "index_from": before_period,
        "index_to": period,
        "change": t("metric.change", language),
        "drivers": t("overview.drivers", language),
    }
    parts = {
        direction: moved[moved["direction"] == direction]
        .drop(columns=["direction"])
        .rename(columns=headers)
        .round(1)
        .reset_index(drop=True)
        for direction in ("up", "down")
    }
    return Movers(before_period, parts["up"], parts["down"])
