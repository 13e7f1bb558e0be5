"""账号管理 Accounts: create, change, disable, unlock and reset accounts (admins only)."""

import streamlit as st

from ui.admin import accounts_page, require_action
from ui.guard import enter_page
from ui.i18n import t

selection = enter_page()
principal = require_action("manage_users")
st.title(t("page.admin_users", selection.language))
accounts_page(principal, selection.language)
