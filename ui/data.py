"""Cached reads for the pages: thin wrappers over store and views, keyed on the data generation."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from indicators import store, views
from indicators.orgs import prefix_of_scope
from indicators.periods import granularity_of
from indicators.scoring import attribute_change
from ui import db

Generation = tuple[str, int]
CACHE = {"ttl": 3600, "max_entries": 512, "show_spinner": False}


def generation() -> Generation:
    """Identifies the data a page sees: the database file and its newest batch. Every cached
    read takes it as its first argument, so a write (or another database) refreshes them."""
    return (str(db.database_path()), db.data_generation())


@st.cache_data(**CACHE)
def registry(generation: Generation, scope_prefix: str = "") -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.registry(cur, scope_prefix)
    finally:
        cur.close()


@st.cache_data(**CACHE)
def periods(generation: Generation, granularity: str) -> list[str]:
    cur = db.cursor()
    try:
        return store.scored_periods(cur, db.catalog(), granularity)
    finally:
        cur.close()


@st.cache_data(**CACHE)
def scores(generation: Generation, unit_level: str, period: str | None, scope: str | None) -> pd.DataFrame:
    """Scores of every unit of a level in scope, for one period (or all when None)."""
    cur = db.cursor()
    try:
        granularity = granularity_of(period) if period else "month"
        return store.scores(cur, db.catalog(), granularity=granularity, unit_level=unit_level,
                            period=period, scope=scope)
    finally:
        cur.close()


@st.cache_data(**CACHE)
def series(generation: Generation, code: str, unit_level: str, granularity: str) -> pd.DataFrame:
    """All periods of one unit: index, level, reasons, trend, dimensions."""
    cur = db.cursor()
    try:
        return store.scores(cur, db.catalog(), granularity=granularity, unit_level=unit_level,
                            scope=code).query("code == @code")
    finally:
        cur.close()


@st.cache_data(**CACHE)
def unit_series_in_scope(generation: Generation, unit_level: str, granularity: str, scope: str | None,
                         last_periods: int) -> pd.DataFrame:
    """The last few periods of every unit of a level in scope (sparklines and movers)."""
    cur = db.cursor()
    try:
        frame = store.scores(cur, db.catalog(), granularity=granularity, unit_level=unit_level,
                             scope=scope)
    finally:
        cur.close()
    if frame.empty:
        return frame
    keep = sorted(frame["period"].unique())[-last_periods:]
    return frame[frame["period"].isin(keep)][["code", "period", "index", "level"]]


@st.cache_data(**CACHE)
def level_counts(generation: Generation, code: str, period: str) -> dict[str, int]:
    cur = db.cursor()
    try:
        return store.level_counts(cur, db.catalog(), code, period, granularity_of(period))
    finally:
        cur.close()


@st.cache_data(ttl=300, max_entries=128, show_spinner=False)
def alerts(generation: Generation, period: str | None, scope: str | None, today: dt.date) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return views.alert_list(cur, db.catalog(), period=period, scope=scope, today=today)
    finally:
        cur.close()


@st.cache_data(**CACHE)
def indicator_scores(generation: Generation, code: str, granularity: str) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.indicator_scores(cur, db.catalog(), code, granularity)
    finally:
        cur.close()


@st.cache_data(**CACHE)
def attribution(generation: Generation, code: str, period_from: str, period_to: str) -> pd.DataFrame:
    """Indicator contributions to one community's index change between two periods."""
    frame = indicator_scores(generation, code, granularity_of(period_to))
    frame = frame.rename(columns={"code": "community_code"})
    return attribute_change(frame, period_from, period_to)


@st.cache_data(**CACHE)
def movers(generation: Generation, period_from: str, period_to: str, scope: str | None) -> pd.DataFrame:
    """Every community's contributions between two periods, for the biggest movers."""
    cur = db.cursor()
    try:
        granularity = granularity_of(period_to)
        frame = cur.execute(
            store.SQL_INDICATOR_SCORES_PAIR,
            [db.catalog().version, granularity, period_from, period_to, prefix_of_scope(scope)],
        ).df()
    finally:
        cur.close()
    frame = frame.rename(columns={"code": "community_code"})
    return attribute_change(frame, period_from, period_to)


@st.cache_data(**CACHE)
def escalations(generation: Generation, scope: str | None) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.escalations(cur, db.catalog(), scope=scope)
    finally:
        cur.close()


@st.cache_data(**CACHE)
def history(generation: Generation, code: str) -> pd.DataFrame:
    cur = db.cursor()
    try:
        return store.cell_history(cur, code)
    finally:
        cur.close()


@st.cache_data(**CACHE)
def jumps(generation: Generation, scope: str | None) -> pd.DataFrame:
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

