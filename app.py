"""Dashboard entry point: page config, the gate, navigation and the shared sidebar."""

import streamlit as st

from ui import data
from ui.auth import current_principal
from ui.guard import mark_gate_passed
from ui.i18n import t
from ui.pages import pages_for, st_pages
from ui.state import language, sidebar

st.set_page_config(page_title="社区治理健康指数", page_icon="📊", layout="wide",
                   initial_sidebar_state="auto")

lang = language()
pages = st_pages(pages_for(current_principal().role), lang)
navigation = st.navigation(pages)
selection = sidebar()
st.session_state["selection"] = selection
if data.is_demo():
    st.sidebar.caption(t("demo.notice", selection.language))
mark_gate_passed()
navigation.run()
