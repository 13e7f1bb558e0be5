"""Dashboard entry point: page config, the login gate, navigation by role and the shared sidebar."""

import streamlit as st

from ui import data, db, screen
from ui.auth import session_principal
from ui.guard import mark_gate_passed
from ui.i18n import t
from ui.login import signed_out_pages
from ui.pages import pages_for, st_pages
from ui.state import account_box, language, sidebar

st.set_page_config(
    page_title="社区治理健康指数", page_icon="📊", layout="wide", initial_sidebar_state="auto"
)

# The wall screen (?view=screen) has no login and no sidebar: its page checks its device token.
if screen.requested():
    st.navigation(screen.pages(), position="hidden").run()
    st.stop()

lang = language()
problem = db.database_problem()
if problem is not None:  # a plain message instead of a traceback; the next visit retries
    st.error(problem.message(lang))
    st.stop()
principal = session_principal()  # ends idle sessions; maps a single-sign-on identity
if principal is None:
    st.navigation(signed_out_pages(lang), position="hidden").run()
    st.stop()

navigation = st.navigation(st_pages(pages_for(principal.role), lang))
selection = sidebar(principal)
st.session_state["selection"] = selection
account_box(principal, selection.language)
if data.is_demo():
    st.sidebar.caption(t("demo.notice", selection.language))
mark_gate_passed()
navigation.run()
