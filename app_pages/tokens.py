"""大屏令牌 Screen tokens: admins create, list and revoke the read-only tokens of wall screens."""

import streamlit as st

from ui import device_tokens
from ui.auth import current_principal
from ui.components import page_header
from ui.guard import enter_page
from ui.i18n import t

selection = enter_page()

lang = selection.language
principal = current_principal()
page_header(t("page.tokens", lang), selection)
if principal is None or not principal.may("manage_tokens"):
    st.warning(t("tokens.admins_only", lang))
    st.stop()

st.caption(t("tokens.intro", lang))
device_tokens.revoked_notice(lang)
device_tokens.create_form(principal, lang)
device_tokens.list_and_revoke(principal, lang)
