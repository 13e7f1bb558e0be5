"""审计日志 Audit log: who did what, when, from where, and whether it was allowed (admins only)."""

import streamlit as st

from ui.admin import audit_page, require_action
from ui.guard import enter_page
from ui.i18n import t

selection = enter_page()
require_action("read_audit")
st.title(t("page.audit_log", selection.language))
audit_page(selection.language)
