"""The shared sidebar: area (district → street → community) within the account's subtree, period, language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from indicators.access import AccessDenied, Principal, effective_scope
from indicators.orgs import is_valid_code
from indicators.store import ancestors
from ui import auth, data
from ui.i18n import LANGUAGES, t

# Widget keys (page prefix "sb_" for the shared sidebar) and their URL parameter names.
AREA_KEYS = {"sb_district": "d", "sb_street": "s", "sb_community": "c"}
QUERY_KEYS = {
    "sb_district": "d",
    "sb_street": "s",
    "sb_community": "c",
    "sb_granularity": "g",
    "sb_period": "p",
    "sb_lang": "lang",
}
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


def restore_from_url(principal: Principal) -> None:
    """Seeds the sidebar widgets from the URL once per session, so shared links open as sent.

    An area (d, s, c) outside the principal's subtree is refused with a message and never
    used; the district and street above the principal's own unit are its fixed context.
    """
    if st.session_state.get("_restored_from_url"):
        return
    for key, parameter in QUERY_KEYS.items():
        value = st.query_params.get(parameter)
        if value is None or key in st.session_state:
            continue
        if key in AREA_KEYS and not _area_allowed(principal, value):
            continue
        st.session_state[key] = value
    st.session_state["_restored_from_url"] = True


def _area_allowed(principal: Principal, code: str) -> bool:
    """True for a unit the principal may open from a link; shows the refusal otherwise."""
    if not is_valid_code(code):
        return False
    if principal.org_code is not None and code in ancestors(principal.org_code):
        return True
    try:
        effective_scope(principal, code)
    except AccessDenied as refusal:
        st.error(refusal.message(language()))
        return False
    return True


def write_to_url(selection: Selection) -> None:
    """Mirrors the selection into the URL so a leader can send the link to a colleague."""
    wanted = {
        "d": selection.district,
        "s": selection.street,
        "c": selection.community,
        "g": selection.granularity,
        "p": selection.period,
        "lang": selection.language,
    }
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


def language_switch() -> str:
    """The language radio (zh / en); returns the language now in force."""
    st.sidebar.radio(
        t("sidebar.language", language()),
        LANGUAGES,
        key="sb_lang",
        horizontal=True,
        format_func=lambda code: t(f"language.{code}", code),
    )
    return language()


def sidebar(principal: Principal) -> Selection:
    """Draws the shared filters and returns the selection. Only units inside the principal's
    subtree are offered (with the district and street above it fixed), and "all" only where
    the principal may see all of it."""
    restore_from_url(principal)
    lang = language_switch()
    generation = data.generation()
    index = data.registry_index(generation)
    names = index.names
    everything = t("sidebar.all", lang)

    districts = index.children_of(None)
    options = ([ALL] if len(districts) != 1 and principal.org_code is None else []) + districts
    district = _area_box(
        "sb_district",
        "sidebar.district",
        options,
        area_labels(options, names, everything),
        lang,
        enabled=True,
    )

    streets = index.children_of(district) if district else []
    options = ([ALL] if district and principal.covers(district) else []) + streets
    street = _area_box(
        "sb_street",
        "sidebar.street",
        options,
        area_labels(options, names, everything),
        lang,
        enabled=bool(district),
    )

    communities = index.children_of(street) if street else []
    options = ([ALL] if street and principal.covers(street) else []) + communities
    community = _area_box(
        "sb_community",
        "sidebar.community",
        options,
        area_labels(options, names, everything),
        lang,
        enabled=bool(street),
    )

    _clean("sb_granularity", list(GRANULARITIES))
    granularity = (
        st.sidebar.segmented_control(
            t("sidebar.granularity", lang),
            GRANULARITIES,
            key="sb_granularity",
            format_func=lambda g: t(f"granularity.{g}", lang),
        )
        or "month"
    )
    periods = list(reversed(data.periods(generation, granularity)))
    if st.session_state.get("sb_period") not in periods:
        st.session_state["sb_period"] = periods[0] if periods else None
    period = (
        st.sidebar.selectbox(
            t("sidebar.period", lang), periods, key="sb_period", disabled=not periods
        )
        if periods
        else None
    )

    selection = Selection(district, street, community, granularity, period, lang)
    effective_scope(principal, selection.scope)  # the choices above make this hold; never show more
    write_to_url(selection)
    return selection


def area_labels(options: list[str], names: dict[str, str], everything: str) -> Callable[[str], str]:
    """Labels for an area filter: the unit's name, with its code where two options share a
    name (Streamlit tells options apart by their label, so a repeated one picks the wrong unit)."""
    shown = [names.get(code, code) for code in options if code != ALL]
    repeated = {name for name in shown if shown.count(name) > 1}

    def label(code: str) -> str:
        if code == ALL:
            return everything
        name = names.get(code, code)
        return f"{name}（{code}）" if name in repeated else name

    return label


def _area_box(
    key: str,
    label_key: str,
    options: list[str],
    label: Callable[[str], str],
    lang: str,
    enabled: bool,
) -> str | None:
    """One area filter; a single choice without "all" is shown but fixed."""
    _clean(key, options or [ALL])
    if not options:
        options = [ALL]
    fixed = len(options) == 1 and options[0] != ALL
    return (
        st.sidebar.selectbox(
            t(label_key, lang), options, key=key, format_func=label, disabled=not enabled or fixed
        )
        or None
    )


def account_box(principal: Principal, lang: str) -> None:
    """Who is signed in (role and unit) and the sign-out button, at the foot of the sidebar."""
    names = data.registry_index(data.generation()).names
    unit = (
        names.get(principal.org_code, principal.org_code)
        if principal.org_code
        else t("login.whole_registry", lang)
    )
    st.sidebar.divider()
    st.sidebar.caption(
        t("sidebar.user", lang, name=principal.name)
        + "\n\n"
        + t("sidebar.account", lang, role=t(f"role.{principal.role}", lang), unit=unit)
    )
    if st.sidebar.button(t("sidebar.logout", lang), key="sb_logout"):
        auth.sign_out()
        st.rerun()


def previous_period(periods: list[str], period: str) -> str | None:
    """The period before `period` among the scored ones."""
    ordered = sorted(periods)
    position = ordered.index(period) if period in ordered else -1
    return ordered[position - 1] if position > 0 else None
