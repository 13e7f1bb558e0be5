"""The login page: password form, single sign-on button, demo accounts, first-admin instructions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import accounts, store
from ui import auth, db
from ui.i18n import t
from ui.pages import LOGIN_PAGE, PAGES
from ui.state import language_switch

FIRST_ADMIN_COMMAND = "python -m indicators users add NAME --role admin"
FIRST_ADMIN_SCRIPT = "printf '%s\\n' \"$PASSWORD\" | python -m indicators users add NAME --role admin --password-stdin"


def signed_out_pages(lang: str) -> list[st.Page]:
    """The navigation before signing in: the login page, also answering (hidden) at every
    page's address, so a shared link such as /community?c=… opens the login instead of
    "page not found" and, once signed in, the page it named."""
    login = LOGIN_PAGE
    title = t(login.title_key, lang)
    return [
        st.Page(login.path, title=title, icon=login.icon, url_path=login.url_path, default=True),
        *(
            st.Page(
                login.path,
                title=title,
                icon=login.icon,
                url_path=spec.url_path,
                visibility="hidden",
            )
            for spec in PAGES
        ),
    ]


def login_page() -> None:
    """Renders the whole login page; a successful sign-in reruns the app as that account."""
    lang = language_switch()
    st.title(t("app.title", lang))
    st.caption(t("app.caption", lang))
    _notice(lang)
    with st.form("lg_form"):
        name = st.text_input(t("login.username", lang), key="lg_name")
        password = st.text_input(t("login.password", lang), type="password", key="lg_password")
        submitted = st.form_submit_button(t("login.submit", lang), type="primary", key="lg_submit")
    if submitted:
        _try_sign_in(name, password, lang)
    if auth.sso_configured():
        _sso_buttons(lang)
    demo, credentials, count = _database_facts()
    if demo and credentials:
        _demo_accounts(credentials, lang)
    elif count == 0:
        st.warning(t("login.no_accounts", lang))
        st.code(FIRST_ADMIN_COMMAND, language="bash")
        st.caption(t("login.no_accounts_script", lang))
        st.code(FIRST_ADMIN_SCRIPT, language="bash")


def _notice(lang: str) -> None:
    notice = st.session_state.get(auth.NOTICE_KEY)
    if isinstance(notice, store.StoreError):
        st.error(notice.message(lang))
    elif notice == "login.expired":
        st.warning(t(notice, lang, minutes=accounts.IDLE_TIMEOUT_MINUTES))
    elif notice:
        st.info(t(notice, lang))


def _try_sign_in(name: str, password: str, lang: str) -> None:
    if not name.strip() or not password:
        st.error(t("login.missing", lang))
        return
    try:
        auth.sign_in(name.strip(), password)
    except accounts.LoginFailed as failure:
        st.error(failure.message(lang))
        return
    st.rerun()


def _sso_buttons(lang: str) -> None:
    if st.session_state.get(auth.SSO_REFUSED_KEY):
        st.button(t("login.sso_leave", lang), key="lg_sso_leave", on_click=auth.leave_sso)
    else:
        st.button(t("login.sso", lang), key="lg_sso", on_click=auth.start_sso)


def _database_facts() -> tuple[bool, list[accounts.DemoCredential], int]:
    """(demo database?, its demo accounts, how many accounts exist)."""
    cursor = db.cursor()
    try:
        demo = store.is_demo(cursor)
        return (
            demo,
            accounts.demo_credentials(cursor) if demo else [],
            accounts.account_count(cursor),
        )
    finally:
        cursor.close()


def _demo_accounts(credentials: list[accounts.DemoCredential], lang: str) -> None:
    st.info(t("login.demo_title", lang) + " · " + t("demo.label", lang))
    # A static table: three rows a visitor copies from, readable as text (and by screen readers).
    st.table(
        pd.DataFrame(
            {
                t("login.username", lang): [c.name for c in credentials],
                t("login.password", lang): [c.password for c in credentials],
                t("accounts.role", lang): [t(f"role.{c.role}", lang) for c in credentials],
                t("accounts.unit", lang): [
                    c.org_name or c.org_code or t("login.whole_registry", lang) for c in credentials
                ],
            }
        ),
        hide_index=True,
    )
