"""The signed-in principal of this browser session: password sign-in, single sign-on, idle expiry."""

from __future__ import annotations

import time

import streamlit as st

from indicators import accounts, audit
from indicators.access import ROLES, Principal
from ui import db

PRINCIPAL_KEY = "principal"
LAST_SEEN_KEY = "auth_last_seen"
# A message for the login page after the session ended (expired, signed out, SSO refused).
NOTICE_KEY = "auth_notice"
# Set when the OIDC identity maps to no account, so the page does not retry on every rerun.
SSO_REFUSED_KEY = "auth_sso_refused"
# Session keys that survive signing out: the chosen language.
KEPT_ON_SIGN_OUT = ("sb_lang",)


def current_principal() -> Principal | None:
    """The session's signed-in principal; None when nobody is signed in or the session has
    been idle longer than accounts.IDLE_TIMEOUT_MINUTES."""
    principal = st.session_state.get(PRINCIPAL_KEY)
    if principal is None or _idle_expired():
        return None
    return principal


def session_principal() -> Principal | None:
    """Run by app.py on every run, before anything is shown: ends an idle session or one whose
    account was disabled, follows a changed role or unit, turns a single-sign-on identity into
    its account, and records activity. None = show the login page."""
    if st.session_state.get(PRINCIPAL_KEY) is not None and _idle_expired():
        sign_out(notice="login.expired")
    principal = _as_stored(st.session_state.get(PRINCIPAL_KEY))
    if (
        principal is None
        and sso_configured()
        and _sso_identity()
        and not st.session_state.get(SSO_REFUSED_KEY)
    ):
        principal = _sso_sign_in(_sso_identity())
    if principal is None or principal.role not in ROLES:
        return None
    st.session_state[LAST_SEEN_KEY] = time.time()
    return principal


def _as_stored(principal: Principal | None) -> Principal | None:
    """The session's principal as its account now stands: an admin's change of role or unit
    applies at the next run, a disabled account is signed out."""
    if principal is None or principal.role not in ROLES:
        return principal
    cursor = db.cursor()
    try:
        account = accounts.get_account(cursor, principal.name)
    finally:
        cursor.close()
    if account is None:  # a principal set up outside the accounts table (tests, tools)
        return principal
    if not account.active:
        sign_out(notice="login.disabled")
        return None
    if account.principal != principal:
        st.session_state[PRINCIPAL_KEY] = account.principal
    return account.principal


def _idle_expired() -> bool:
    last_seen = st.session_state.get(LAST_SEEN_KEY)
    return last_seen is not None and time.time() - last_seen > accounts.IDLE_TIMEOUT_MINUTES * 60


def client_source() -> str:
    """Where a web request comes from, for the audit log: "web:" and the client's address
    ("localhost" when Streamlit reports none), plus X-Forwarded-For when a proxy sets it."""
    address = st.context.ip_address
    forwarded = st.context.headers.get("X-Forwarded-For")
    # Outside a browser session (AppTest, bare mode) neither is a string.
    address = address if isinstance(address, str) and address else "localhost"
    return f"web:{address}" + (
        f" (X-Forwarded-For {forwarded})" if isinstance(forwarded, str) else ""
    )


def sign_in(name: str, password: str) -> Principal:
    """Checks the password (audited; raises accounts.LoginFailed) and starts the session."""
    cursor = db.cursor()
    try:
        principal = accounts.authenticate(cursor, name, password, source=client_source())
    finally:
        cursor.close()
    _start_session(principal)
    return principal


def _start_session(principal: Principal) -> None:
    _clear_session()
    st.session_state[PRINCIPAL_KEY] = principal
    st.session_state[LAST_SEEN_KEY] = time.time()


def sign_out(notice: str = "login.signed_out") -> None:
    """Ends the session (audited) and leaves a notice for the login page; also ends a
    single-sign-on identity, which would otherwise sign the browser straight back in."""
    principal = st.session_state.get(PRINCIPAL_KEY)
    if principal is not None:
        cursor = db.cursor()
        try:
            audit.record(
                cursor,
                actor=principal.name,
                action="logout",
                source=client_source(),
                detail="idle timeout" if notice == "login.expired" else None,
            )
        finally:
            cursor.close()
    _clear_session()
    st.session_state[NOTICE_KEY] = notice
    if sso_configured() and _sso_identity():
        st.logout()


def _clear_session() -> None:
    for key in list(st.session_state.keys()):
        if key not in KEPT_ON_SIGN_OUT:
            del st.session_state[key]


def sso_configured() -> bool:
    """True when an `[auth]` section for st.login (OIDC) is in the secrets."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # StreamlitSecretNotFoundError: no secrets file at all
        return False


def _sso_identity() -> str | None:
    """The e-mail address of the OIDC identity in this browser, if any."""
    if not st.user.get("is_logged_in"):
        return None
    return st.user.get("email") or ""


def _sso_sign_in(email: str) -> Principal | None:
    cursor = db.cursor()
    try:
        principal = accounts.sso_sign_in(cursor, email, source=client_source() + " sso")
    except accounts.LoginFailed as failure:
        st.session_state[SSO_REFUSED_KEY] = True
        st.session_state[NOTICE_KEY] = failure
        return None
    finally:
        cursor.close()
    _start_session(principal)
    return principal


def start_sso() -> None:
    """Sends the browser to the OIDC provider (st.login); it returns signed in to the app."""
    st.session_state.pop(SSO_REFUSED_KEY, None)
    st.login()


def leave_sso() -> None:
    """Forgets an OIDC identity that has no account here, so another one can be used."""
    st.session_state.pop(SSO_REFUSED_KEY, None)
    st.logout()
