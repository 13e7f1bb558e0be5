"""The shared sidebar: area (district → street → community), period and language, kept in the URL."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from indicators.orgs import is_valid_code
from ui import data
from ui.i18n import LANGUAGES, t

# Widget keys (page prefix "sb_" for the shared sidebar) and their URL parameter names.
QUERY_KEYS = {"sb_district": "d", "sb_street": "s", "sb_community": "c",
              "sb_granularity": "g", "sb_period": "p", "sb_lang": "lang"}
GRANULARITIES = ("month", "quarter", "year")
ALL = ""


@dataclass(frozen=True)
class Selection:
    """What the leader is looking at."""

    district: str | None
    street: str | None
    community: str | None
    granularity: str
    period: str | None
    language: str

    @property
    def scope(self) -> str | None:
        """The selected unit whose subtree the pages show (None = everything)."""
        return self.community or self.street or self.district

    @property
    def area(self) -> str | None:
        """The selected district or street (the community's street when one is chosen)."""
        return self.street or self.district

    @property
    def area_level(self) -> str:
        if self.street:
            return "street"
        if self.district:
            return "district"
        return "all"


def language() -> str:
    value = st.session_state.get("sb_lang") or st.query_params.get("lang") or "zh"
    return value if value in LANGUAGES else "zh"


def restore_from_url() -> None:
    """Seeds the sidebar widgets from the URL once per session, so shared links open as sent."""
    if st.session_state.get("_restored_from_url"):
        return
    for key, parameter in QUERY_KEYS.items():
        value = st.query_params.get(parameter)
        if value is not None and key not in st.session_state:
            st.session_state[key] = value
    st.session_state["_restored_from_url"] = True


def write_to_url(selection: Selection) -> None:
    """Mirrors the selection into the URL so a leader can send the link to a colleague."""
    wanted = {"d": selection.district, "s": selection.street, "c": selection.community,
              "g": selection.granularity, "p": selection.period, "lang": selection.language}
    for parameter, value in wanted.items():
        if value:
            if st.query_params.get(parameter) != value:
                st.query_params[parameter] = value
        elif parameter in st.query_params:
            del st.query_params[parameter]


def _clean(key: str, options: list[str]) -> None:
    """Drops a remembered choice that is no longer offered (e.g. after changing district)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0] if options else ALL


def _names(units: pd.DataFrame) -> dict[str, str]:
    return dict(zip(units["code"], units["name"], strict=False))


def sidebar(restrict_to: str | None = None) -> Selection:
    """Draws the shared filters and returns the selection. `restrict_to` limits the choices
    to one unit's subtree (an account's scope)."""
    restore_from_url()
    st.sidebar.radio(
        t("sidebar.language", language()), LANGUAGES, key="sb_lang", horizontal=True,
        format_func=lambda code: t(f"language.{code}", code),
    )
    lang = language()
    generation = data.generation()
    units = data.registry(generation)
    if restrict_to and is_valid_code(restrict_to):
        units = units[units["code"].str.startswith(_prefix(restrict_to)) | units["code"].isin(_ancestors(restrict_to))]
    names = _names(units)

    def label(code: str) -> str:
        return t("sidebar.all", lang) if code == ALL else names.get(code, code)

    districts = units.loc[units["level"] == "district", "code"].tolist()
    options = ([ALL] if len(districts) != 1 else []) + districts
    _clean("sb_district", options)
    district = st.sidebar.selectbox(t("sidebar.district", lang), options, key="sb_district",
                                    format_func=label) or None

    streets = units.loc[(units["level"] == "street") & (units["parent_code"] == district), "code"].tolist() \
        if district else []
    options = [ALL, *streets]
    _clean("sb_street", options)
    street = st.sidebar.selectbox(t("sidebar.street", lang), options, key="sb_street",
                                  format_func=label, disabled=not district) or None

    communities = units.loc[(units["level"] == "community") & (units["parent_code"] == street), "code"].tolist() \
        if street else []
    options = [ALL, *communities]
    _clean("sb_community", options)
    community = st.sidebar.selectbox(t("sidebar.community", lang), options, key="sb_community",
                                     format_func=label, disabled=not street) or None

    _clean("sb_granularity", list(GRANULARITIES))
    granularity = st.sidebar.segmented_control(
        t("sidebar.granularity", lang), GRANULARITIES, key="sb_granularity",
        format_func=lambda g: t(f"granularity.{g}", lang),
    ) or "month"
    periods = list(reversed(data.periods(generation, granularity)))
    if st.session_state.get("sb_period") not in periods:
        st.session_state["sb_period"] = periods[0] if periods else None
    period = st.sidebar.selectbox(t("sidebar.period", lang), periods, key="sb_period",
                                  disabled=not periods) if periods else None

    selection = Selection(district, street, community, granularity, period, lang)
    write_to_url(selection)
    return selection


def _prefix(code: str) -> str:
    from indicators.orgs import scope_prefix

    return scope_prefix(code)


def _ancestors(code: str) -> list[str]:
    from indicators.orgs import parent_of

    chain = []
    parent = parent_of(code)
    while parent:
        chain.append(parent)
        parent = parent_of(parent)
    return chain


def previous_period(periods: list[str], period: str) -> str | None:
    """The period before `period` among the scored ones."""
    ordered = sorted(periods)
    position = ordered.index(period) if period in ordered else -1
    return ordered[position - 1] if position > 0 else None
