"""预警 Alerts: red, yellow, blue, not reported and escalated units with their reasons."""

from functools import partial

import streamlit as st

from indicators.operations import csv_bytes
from ui import data
from ui.alerts import alert_states, alert_table, state_label
from ui.components import empty_state, page_header, unit_name
from ui.guard import enter_page
from ui.i18n import t

selection = enter_page()
lang = selection.language
generation = data.generation()
units = data.registry(generation)
page_header(
    t("page.alerts", lang),
    selection,
    f"{unit_name(units, selection.scope, lang)} · {selection.period or '—'}",
)
if selection.period is None:
    empty_state("empty.period", lang)
    st.stop()

states = alert_states()
chosen = st.multiselect(
    t("alerts.states", lang),
    states,
    default=states,
    key="al_states",
    format_func=partial(state_label, language=lang),
)
table = alert_table(selection, generation, chosen)
if table.empty:
    empty_state("empty.no_alerts", lang)
    st.stop()
st.dataframe(table, key="al_table", hide_index=True, width="stretch")
st.download_button(
    t("alerts.download", lang),
    partial(csv_bytes, table),
    file_name=f"alerts-{selection.period}.csv",
    mime="text/csv",
    key="al_download",
    on_click="ignore",
)
