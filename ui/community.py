"""The Community page's content, built once per data generation and community and shared by sessions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from indicators.orgs import prefix_of_scope, street_of
from ui import compose, data, db, figures
from ui.i18n import t
from ui.state import Selection, previous_period

# The picker offers at most this many communities at once; a search box narrows a larger area
# (a province's 20,000 names were 600 kB sent to the browser on every rerun).
PICKER_OPTIONS = 200
# Community contents kept in memory at once (each a few hundred kB of figures and tables).
VIEW_CACHE = {"max_entries": 64, "ttl": 3600, "show_spinner": False}


@dataclass(frozen=True)
class CommunityContent:
    """Everything the Community page draws for one community and period, ready to render."""

    current: pd.Series | None  # the community's score row for the period; None if it has none
    reason: str
    trend: go.Figure
    dimensions: go.Figure | None
    waterfall: go.Figure | None
    indicators: go.Figure
    timeline: go.Figure
    level_changes: pd.DataFrame
    jumps: pd.DataFrame
    revisions: pd.DataFrame


@dataclass(frozen=True)
class CommunityChoices:
    """The communities of an area, for the page's picker: codes and their labels."""

    codes: list[str]
    labels: dict[str, str]

    def matching(self, text: str, limit: int) -> list[str]:
        """The first `limit` communities whose name or code contains `text` (all when empty)."""
        needle = text.strip()
        found = (
            (code for code in self.codes if needle in self.labels[code])
            if needle
            else iter(self.codes)
        )
        return [code for _, code in zip(range(limit), found, strict=False)]


def community_choices(selection: Selection, generation: data.Generation) -> CommunityChoices:
    """The communities in the selected area (or everything the account may see)."""
    return _community_choices(generation, data.allowed_scope(selection.area))


@st.cache_resource(**VIEW_CACHE)
def _community_choices(generation: data.Generation, scope: str | None) -> CommunityChoices:
    units = data.registry(generation, scope)
    inside = units[
        (units["level"] == "community") & units["code"].str.startswith(prefix_of_scope(scope))
    ]
    codes = inside["code"].tolist()
    labels = {code: f"{name}（{code}）" for code, name in zip(codes, inside["name"], strict=True)}
    return CommunityChoices(codes, labels)


def has_scores(generation: data.Generation, code: str, granularity: str) -> bool:
    """True when the community has any scored period at this granularity."""
    return not data.series(generation, code, "community", granularity).empty


def community_content(
    generation: data.Generation, code: str, period: str, granularity: str, language: str
) -> CommunityContent:
    """The content for one community (checked against the session's account here)."""
    data.allowed_scope(code, details=True)
    return _community_content(generation, code, period, granularity, language)


@st.cache_resource(**VIEW_CACHE)
def _community_content(
    generation: data.Generation, code: str, period: str, granularity: str, language: str
) -> CommunityContent:
    catalog = db.catalog()
    series = data.series(generation, code, "community", granularity)
    own = series[series["period"] == period]
    current = own.iloc[0] if len(own) else None
    reason_column = "reason_en" if language == "en" else "reason_zh"

    dimensions = None
    if current is not None:
        peers = data.scores(generation, "community", period, street_of(code))
        reference = compose.dimension_reference(current, peers, catalog)
        dimensions = figures.dimension_comparison_figure(
            reference, catalog, language, t("figure.street_median", language)
        )

    history = series[["period", "level", reason_column]].set_axis(
        ["period", "level", "reason"], axis=1
    )
    changed = series[series["level_changed"].fillna(False).astype(bool)]
    level_changes = changed[["period", "level", reason_column]].set_axis(
        [t("column.period", language), t("column.level", language), t("column.reason", language)],
        axis=1,
    )
    jumps = data.jumps(generation, code)
    if len(jumps):
        jumps = jumps[["period", "indicator", "value", "median", reason_column]]
    return CommunityContent(
        current=current,
        reason=_text(current[reason_column]) if current is not None else "",
        trend=figures.index_trend_figure(series, catalog, language),
        dimensions=dimensions,
        waterfall=_waterfall(generation, code, series, current, period, language),
        indicators=data.indicator_panels(generation, code, granularity, language),
        timeline=figures.alert_timeline_figure(history, catalog, language),
        level_changes=level_changes.reset_index(drop=True),
        jumps=jumps,
        revisions=data.history(generation, code),
    )


def _waterfall(
    generation: data.Generation,
    code: str,
    series: pd.DataFrame,
    current: pd.Series | None,
    period: str,
    language: str,
) -> go.Figure | None:
    """What moved the index since the period before, when both periods have an index."""
    before = previous_period(series["period"].tolist(), period)
    if before is None or current is None or pd.isna(current["index"]):
        return None
    previous_row = series[series["period"] == before]
    if previous_row.empty or previous_row["index"].isna().any():
        return None
    contributions = data.attribution(generation, code, before, period)
    return figures.attribution_waterfall(
        contributions,
        float(previous_row["index"].iloc[0]),
        float(current["index"]),
        before,
        period,
        db.catalog(),
        language,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
