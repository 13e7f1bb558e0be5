"""Cached reads for the pages: scope-checked wrappers over store and views, keyed on the data generation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from indicators import store, views
from indicators.access import AccessDenied, effective_scope, require
from indicators.periods import granularity_of
from indicators.scoring import attribute_change
from ui import db, figures
from ui.auth import current_principal

Generation = tuple[str, int]
CACHE = {"ttl": 3600, "max_entries": 512, "show_spinner": False}

# Every public read below first resolves the scope it may use against the session's
# principal (outside the cache, so a cached result is never handed to someone outside its
# scope), then calls a cached function keyed on that resolved scope.


def generation() -> Generation:
    """Identifies the data a page sees: the database file and its newest batch. Every cached
    read takes it as its first argument, so a write (or another database) refreshes them."""
    return (str(db.database_path()), db.data_generation())


def allowed_scope(scope: str | None, *, details: bool = False) -> str | None:
    """The subtree a read may use: `scope` when it lies inside the session principal's
    subtree, the principal's own subtree when `scope` is None. Raises AccessDenied outside it,
    when nobody is signed in, or (for `details`: raw values, revisions) for a read-only device."""
    principal = current_principal()
    if principal is None:
        raise AccessDenied("access.signed_out", "请先登录。", "Please sign in first.")
    if details or not principal.may("view_aggregates"):
        require(principal, "view")
    return effective_scope(principal, scope)


def registry(generation: Generation, scope: str | None = None) -> pd.DataFrame:
    """The units the principal may see (its subtree, narrowed to `scope`) plus the street and
    district above them, for names."""
    return _registry(generation, allowed_scope(scope))


@st.cache_data(**CACHE)
def _registry(generation: Generation, scope: str | None) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.registry(cur, scope=scope, with_ancestors=True)
    finally:
        cur.close()


@dataclass(frozen=True)
class RegistryIndex:
    """The registry the principal may see, as lookups for the sidebar: names by code, and
    the child codes of each unit in registry order (districts under "")."""

    names: dict[str, str]
    children: dict[str, list[str]]

    def children_of(self, code: str | None) -> list[str]:
        return self.children.get(code or "", [])


def registry_index(generation: Generation) -> RegistryIndex:
    """Names and children of the units the principal may see, built once per generation and
    scope (a province registry has tens of thousands of units; a dict per rerun cost 0.2 s)."""
    return _registry_index(generation, allowed_scope(None))


@st.cache_resource(ttl=3600, max_entries=64, show_spinner=False)
def _registry_index(generation: Generation, scope: str | None) -> RegistryIndex:
    units = _registry(generation, scope)
    codes = units["code"].tolist()
    children: dict[str, list[str]] = {}
    parents = [
        "" if level == "district" else (parent or "")
        for level, parent in zip(units["level"], units["parent_code"].fillna(""), strict=True)
    ]
    for code, parent in zip(codes, parents, strict=True):
        children.setdefault(parent, []).append(code)
    return RegistryIndex(dict(zip(codes, units["name"].tolist(), strict=True)), children)


@st.cache_data(**CACHE)
def periods(generation: Generation, granularity: str) -> list[str]:
    cur = db.cursor()
    try:
        return store.scored_periods(cur, db.catalog(), granularity)
    finally:
        cur.close()


def scores(
    generation: Generation, unit_level: str, period: str | None, scope: str | None
) -> pd.DataFrame:
    """Scores of every unit of a level in scope, for one period (or all when None)."""
    return _scores(generation, unit_level, period, allowed_scope(scope))


@st.cache_data(**CACHE)
def _scores(
    generation: Generation, unit_level: str, period: str | None, scope: str | None
) -> pd.DataFrame:
    cur = db.cursor()
    try:
        granularity = granularity_of(period) if period else "month"
        return store.scores(
            cur,
            db.catalog(),
            granularity=granularity,
            unit_level=unit_level,
            period=period,
            scope=scope,
        )
    finally:
        cur.close()


def series(generation: Generation, code: str, unit_level: str, granularity: str) -> pd.DataFrame:
    """All periods of one unit: index, level, reasons, trend, dimensions."""
    return _series(generation, allowed_scope(code), unit_level, granularity)


@st.cache_data(**CACHE)
def _series(generation: Generation, code: str, unit_level: str, granularity: str) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.scores(
            cur, db.catalog(), granularity=granularity, unit_level=unit_level, scope=code
        ).query("code == @code")
    finally:
        cur.close()


def unit_series_in_scope(
    generation: Generation, unit_level: str, granularity: str, scope: str | None, last_periods: int
) -> pd.DataFrame:
    """The last few periods of every unit of a level in scope (sparklines and movers)."""
    return _unit_series(generation, unit_level, granularity, allowed_scope(scope), last_periods)


@st.cache_data(**CACHE)
def _unit_series(
    generation: Generation, unit_level: str, granularity: str, scope: str | None, last_periods: int
) -> pd.DataFrame:
    cur = db.cursor()
    try:
        frame = store.scores(
            cur, db.catalog(), granularity=granularity, unit_level=unit_level, scope=scope
        )
    finally:
        cur.close()
    if frame.empty:
        return frame
    keep = sorted(frame["period"].unique())[-last_periods:]
    return frame[frame["period"].isin(keep)][["code", "period", "index", "level"]]


def level_counts(generation: Generation, code: str, period: str) -> dict[str, int]:
    return _level_counts(generation, allowed_scope(code), period)


@st.cache_data(**CACHE)
def _level_counts(generation: Generation, code: str, period: str) -> dict[str, int]:
    cur = db.cursor()
    try:
        return store.level_counts(
            cur, db.catalog(), code, period, granularity_of(period), scope=code
        )
    finally:
        cur.close()


def alerts(
    generation: Generation, period: str | None, scope: str | None, today: dt.date
) -> pd.DataFrame:
    return _alerts(generation, period, allowed_scope(scope), today)


@st.cache_data(ttl=300, max_entries=128, show_spinner=False)
def _alerts(
    generation: Generation, period: str | None, scope: str | None, today: dt.date
) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return views.alert_list(cur, db.catalog(), period=period, scope=scope, today=today)
    finally:
        cur.close()


def indicator_scores(generation: Generation, code: str, granularity: str) -> pd.DataFrame:
    return _indicator_scores(generation, allowed_scope(code, details=True), granularity)


@st.cache_data(**CACHE)
def _indicator_scores(generation: Generation, code: str, granularity: str) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.indicator_scores(cur, db.catalog(), code, granularity, scope=code)
    finally:
        cur.close()


def indicator_panels(
    generation: Generation, code: str, granularity: str, language: str
) -> go.Figure:
    """The 12 indicator small multiples of one community, built once per data generation
    (building them costs ~0.8 s; a cached copy ~10 ms)."""
    return _indicator_panels(generation, allowed_scope(code, details=True), granularity, language)


@st.cache_data(**CACHE)
def _indicator_panels(
    generation: Generation, code: str, granularity: str, language: str
) -> go.Figure:
    rows = _indicator_scores(generation, code, granularity)
    return figures.indicator_small_multiples(rows, db.catalog(), language)


def attribution(
    generation: Generation, code: str, period_from: str, period_to: str
) -> pd.DataFrame:
    """Indicator contributions to one community's index change between two periods."""
    frame = indicator_scores(generation, code, granularity_of(period_to))
    frame = frame.rename(columns={"code": "community_code"})
    return attribute_change(frame, period_from, period_to)


def escalations(generation: Generation, scope: str | None) -> pd.DataFrame:
    return _escalations(generation, allowed_scope(scope))


@st.cache_data(**CACHE)
def _escalations(generation: Generation, scope: str | None) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.escalations(cur, db.catalog(), scope=scope)
    finally:
        cur.close()


def history(generation: Generation, code: str) -> pd.DataFrame:
    return _history(generation, allowed_scope(code, details=True))


@st.cache_data(**CACHE)
def _history(generation: Generation, code: str) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.cell_history(cur, code, scope=code)
    finally:
        cur.close()


def jumps(generation: Generation, scope: str | None) -> pd.DataFrame:
    return _jumps(generation, allowed_scope(scope, details=True))


@st.cache_data(**CACHE)
def _jumps(generation: Generation, scope: str | None) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.jumps(cur, db.catalog(), scope=scope)
    finally:
        cur.close()


def is_demo() -> bool:
    return _is_demo(generation())


@st.cache_data(**CACHE)
def _is_demo(generation: Generation) -> bool:
    cur = db.cursor()
    try:
        return store.is_demo(cur)
    finally:
        cur.close()
