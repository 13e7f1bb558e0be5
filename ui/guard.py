"""Page guard: every page checks that the app's gate ran in this session before showing data."""

from __future__ import annotations

import streamlit as st

from ui.i18n import t
from ui.state import Selection, language

APP_RAN_KEY = "_app_gate_passed"


def mark_gate_passed() -> None:
    """Called by app.py after its checks, on every run."""
    st.session_state[APP_RAN_KEY] = True


def enter_page() -> Selection:
    """The first statement of every page: stops with a plain message (and no data) when the
    page was reached without app.py, e.g. through a legacy deep link on a fresh server."""
    selection = st.session_state.get("selection")
    if not st.session_state.get(APP_RAN_KEY) or selection is None:
        lang = language()
        st.warning(t("guard.open_from_home", lang))
        st.link_button(t("guard.home", lang), "/")
        st.stop()
    return selection
