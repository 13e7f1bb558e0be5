"""Dashboard entry point: page config, the gate, navigation and the shared sidebar."""

import streamlit as st

from ui import data
from ui.guard import mark_gate_passed
from ui.i18n import t
from ui.state import language, sidebar

st.set_page_config(page_title="社区治理健康指数", page_icon="📊", layout="wide",
                   initial_sidebar_state="auto")

lang = language()
pages = [
    st.Page("app_pages/overview.py", title=t("page.overview", lang), icon="📊", url_path="overview",
            default=True),
    st.Page("app_pages/community.py", title=t("page.community", lang), icon="🏘️", url_path="community"),
    st.Page("app_pages/alerts.py", title=t("page.alerts", lang), icon="🚨", url_path="alerts"),
    st.Page("app_pages/methodology.py", title=t("page.methodology", lang), icon="📐",
            url_path="methodology"),
]
navigation = st.navigation(pages)
selection = sidebar()
st.session_state["selection"] = selection
if data.is_demo():
    st.sidebar.caption(t("demo.notice", selection.language))
mark_gate_passed()
navigation.run()
