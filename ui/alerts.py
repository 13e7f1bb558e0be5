"""The Alerts page's table, built once per data generation, area, period and chosen states."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from ui import data, db
from ui.i18n import level_name, state_name, t
from ui.state import Selection

# Alert tables kept in memory at once.
VIEW_CACHE = {"max_entries": 64, "ttl": 300, "show_spinner": False}


def alert_states() -> list[str]:
    """The states the page can show, worst first: levels below the best, then the others."""
    return [*reversed(db.catalog().level_ids[1:]), "not_reported", "escalated"]


def state_label(state: str, language: str) -> str:
    catalog = db.catalog()
    if state in catalog.level_ids:
        return level_name(state, catalog, language)
    return state_name(state, language)


def alert_table(
    selection: Selection, generation: data.Generation, states: list[str]
) -> pd.DataFrame:
    """The units of the selected area in the chosen states for the period, with localised
    headers (the period must be set)."""
    scope = data.allowed_scope(selection.scope)
    return _alert_table(
        generation, scope, selection.period, dt.date.today(), selection.language, tuple(states)
    )


@st.cache_resource(**VIEW_CACHE)
def _alert_table(
    generation: data.Generation,
    scope: str | None,
    period: str,
    today: dt.date,
    language: str,
    states: tuple[str, ...],
) -> pd.DataFrame:
    rows = data.alerts(generation, period, scope, today)
    shown = rows[rows["state"].isin(states)]
    reason = "reason_en" if language == "en" else "reason_zh"
    labels = {state: state_label(state, language) for state in alert_states()}
    table = shown.assign(
        state=shown["state"].map(labels),
        index=pd.to_numeric(shown["index"], errors="coerce").round(1),
    )[["code", "name", "period", "state", "index", "streak", reason]]
    headers = [
        "column.code",
        "column.name",
        "column.period",
        "column.level",
        "column.index",
        "alerts.streak",
        "column.reason",
    ]
    return table.set_axis([t(key, language) for key in headers], axis=1).reset_index(drop=True)
