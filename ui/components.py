"""Small Streamlit render helpers shared by the pages: headers, badges, empty states."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from indicators.catalog import Catalog
from ui import data
from ui.i18n import t
from ui.state import Selection
from ui.theme import level_badge_html, plotly_config


def page_header(title: str, selection: Selection, subtitle: str | None = None) -> None:
    """The page title, the synthetic-data label when on demo data, and a subtitle."""
    st.title(title)
    if data.is_demo():
        st.caption(t("demo.label", selection.language))
    if subtitle:
        st.caption(subtitle)


def level_badge(level_id: str | None, catalog: Catalog, language: str) -> None:
    """A level pill: colour, symbol and name, so meaning is never colour alone (text escaped)."""
    st.markdown(level_badge_html(level_id, catalog, language), unsafe_allow_html=True)


def chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, config=plotly_config(), width="stretch")


def empty_state(key: str, language: str, **params: object) -> None:
    st.info(t(key, language, **params))


def unit_name(units: pd.DataFrame, code: str | None, language: str) -> str:
    if not code:
        return t("sidebar.all", language)
    match = units.loc[units["code"] == code, "name"]
    return str(match.iloc[0]) if len(match) else code
