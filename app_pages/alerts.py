"""预警 Alerts: red, yellow, blue, not reported and escalated units with their reasons."""

import datetime as dt

import pandas as pd
import streamlit as st

from indicators.operations import csv_bytes
from ui import data, db
from ui.components import empty_state, page_header, unit_name
from ui.guard import enter_page
from ui.i18n import level_name, state_name, t

selection = enter_page()
lang = selection.language
catalog = db.catalog()
generation = data.generation()
units = data.registry(generation)
page_header(t("page.alerts", lang), selection,
            f"{unit_name(units, selection.scope, lang)} · {selection.period or '—'}")
if selection.period is None:
    empty_state("empty.period", lang)
    st.stop()

rows = data.alerts(generation, selection.period, selection.scope, dt.date.today())
states = [*reversed(catalog.level_ids[1:]), "not_reported", "escalated"]


def state_label(state: str) -> str:
    return level_name(state, catalog, lang) if state in catalog.level_ids else state_name(state, lang)


chosen = st.multiselect(t("alerts.states", lang), states, default=states, key="al_states",
                        format_func=state_label)
shown = rows[rows["state"].isin(chosen)]
if shown.empty:
    empty_state("empty.no_alerts", lang)
    st.stop()
reason = "reason_en" if lang == "en" else "reason_zh"
table = shown.assign(state=shown["state"].map(state_label), index=pd.to_numeric(shown["index"], errors="coerce").round(1))[
    ["code", "name", "period", "state", "index", "streak", reason]
].set_axis([t("column.code", lang), t("column.name", lang), t("column.period", lang),
            t("column.level", lang), t("column.index", lang), t("alerts.streak", lang),
            t("column.reason", lang)], axis=1)
st.dataframe(table, key="al_table", hide_index=True, width="stretch")
st.download_button(t("alerts.download", lang), csv_bytes(table),
                   file_name=f"alerts-{selection.period}.csv", mime="text/csv", key="al_download")
