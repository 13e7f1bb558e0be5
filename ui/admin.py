"""Admin pages: manage accounts (create, change, disable, unlock, reset) and read the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb
import pandas as pd
import streamlit as st

from indicators import accounts, audit, store
from indicators.access import ROLES, Principal
from indicators.operations import csv_bytes
from ui import auth, data, db
from ui.i18n import STRINGS, t
from ui.state import language

FLASH_KEY = "au_flash"
AUDIT_LIMIT = 2000
NO_UNIT = ""


def require_action(action: str) -> Principal:
    """For pages with their own rights: the principal when its role allows `action`;
    otherwise an error and nothing else on the page."""
    principal = auth.current_principal()
    if principal is None or not principal.may(action):
        st.error(t("login.not_allowed", language()))
        st.stop()
    return principal


# ---- accounts --------------------------------------------------------------------------------


def accounts_page(principal: Principal, lang: str) -> None:
    """The account list, the form for a new account, and the actions on an existing one."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    units = _bindable_units(principal)
    frame = _accounts(principal)
    st.subheader(t("accounts.list", lang))
    st.dataframe(
        _account_table(frame, units, lang), key="au_table", hide_index=True, width="stretch"
    )
    left, right = st.columns(2)
    with left:
        _create_form(principal, units, lang)
    with right:
        _manage(principal, frame, units, lang)


def _accounts(principal: Principal) -> pd.DataFrame:
    cursor = db.cursor()
    try:
        return accounts.list_accounts(cursor, scope=principal.org_code)
    finally:
        cursor.close()


def _bindable_units(principal: Principal) -> dict[str, str]:
    """code → name of the districts and streets the admin may bind accounts to."""
    units = data.registry(data.generation())
    units = units[
        units["level"].isin(accounts.ACCOUNT_LEVELS) & units["code"].map(principal.covers)
    ]
    return dict(zip(units["code"], units["name"], strict=False))


def _unit_label(units: dict[str, str], lang: str) -> Callable[[str], str]:
    return lambda code: (
        t("login.whole_registry", lang) if code == NO_UNIT else f"{units.get(code, code)}（{code}）"
    )


def _account_table(frame: pd.DataFrame, units: dict[str, str], lang: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("login.username", lang): frame["name"],
            t("accounts.display_name", lang): frame["display_name"],
            t("accounts.role", lang): frame["role"].map(lambda role: t(f"role.{role}", lang)),
            t("accounts.unit", lang): frame["org_code"].map(
                lambda code: (
                    t("login.whole_registry", lang)
                    if pd.isna(code)
                    else f"{units.get(code, code)}（{code}）"
                )
            ),
            t("accounts.column.active", lang): frame["active"],
            t("accounts.column.failed", lang): frame["failed_attempts"],
            t("accounts.column.locked_until", lang): frame["locked_until"],
            t("accounts.column.last_login", lang): frame["last_login_at"],
            t("accounts.column.sso", lang): frame["sso_only"],
            t("accounts.column.demo", lang): frame["is_demo"],
        }
    )


def _create_form(principal: Principal, units: dict[str, str], lang: str) -> None:
    st.subheader(t("accounts.create", lang))
    unit_options = ([NO_UNIT] if principal.org_code is None else []) + list(units)
    with st.form("au_create", clear_on_submit=True):
        name = st.text_input(t("login.username", lang), key="au_new_name")
        display_name = st.text_input(t("accounts.display_name", lang), key="au_new_display")
        role = st.selectbox(
            t("accounts.role", lang),
            ROLES,
            key="au_new_role",
            format_func=lambda r: t(f"role.{r}", lang),
        )
        unit = st.selectbox(
            t("accounts.unit", lang),
            unit_options,
            key="au_new_unit",
            format_func=_unit_label(units, lang),
        )
        password = st.text_input(
            t("accounts.password", lang, n=accounts.MIN_PASSWORD_LENGTH),
            type="password",
            key="au_new_password",
        )
        sso_only = (
            st.checkbox(t("accounts.sso_only", lang), key="au_new_sso")
            if auth.sso_configured()
            else False
        )
        if st.form_submit_button(t("accounts.submit_create", lang), type="primary"):
            _act(
                lambda cursor: accounts.create_account(
                    cursor,
                    name.strip(),
                    role,
                    unit or None,
                    None if sso_only else password,
                    actor=principal,
                    source=auth.client_source(),
                    display_name=display_name.strip() or None,
                ),
                t("accounts.create", lang),
                name.strip(),
                lang,
            )


def _manage(principal: Principal, frame: pd.DataFrame, units: dict[str, str], lang: str) -> None:
    st.subheader(t("accounts.manage", lang))
    if frame.empty:
        return
    name = st.selectbox(t("accounts.pick", lang), frame["name"].tolist(), key="au_pick")
    row = frame[frame["name"] == name].iloc[0]
    source = auth.client_source()
    unit_options = ([NO_UNIT] if principal.org_code is None else []) + list(units)
    current_unit = NO_UNIT if pd.isna(row["org_code"]) else row["org_code"]
    with st.form("au_edit"):
        role = st.selectbox(
            t("accounts.role", lang),
            ROLES,
            index=ROLES.index(row["role"]),
            key="au_edit_role",
            format_func=lambda r: t(f"role.{r}", lang),
        )
        unit = st.selectbox(
            t("accounts.unit", lang),
            unit_options,
            index=unit_options.index(current_unit) if current_unit in unit_options else 0,
            key="au_edit_unit",
            format_func=_unit_label(units, lang),
        )
        display_name = st.text_input(
            t("accounts.display_name", lang),
            value="" if pd.isna(row["display_name"]) else row["display_name"],
            key="au_edit_display",
        )
        if st.form_submit_button(t("accounts.save", lang)):
            _act(
                lambda cursor: accounts.update_account(
                    cursor,
                    name,
                    role=role,
                    org_code=unit or None,
                    display_name=display_name.strip() or None,
                    actor=principal,
                    source=source,
                ),
                t("accounts.save", lang),
                name,
                lang,
            )
    buttons = st.columns(2)
    if row["active"]:
        if buttons[0].button(t("accounts.disable", lang), key="au_disable"):
            _act(
                lambda cursor: accounts.set_active(
                    cursor, name, False, actor=principal, source=source
                ),
                t("accounts.disable", lang),
                name,
                lang,
            )
    elif buttons[0].button(t("accounts.enable", lang), key="au_enable"):
        _act(
            lambda cursor: accounts.set_active(cursor, name, True, actor=principal, source=source),
            t("accounts.enable", lang),
            name,
            lang,
        )
    if buttons[1].button(
        t("accounts.unlock", lang),
        key="au_unlock",
        disabled=int(row["failed_attempts"]) == 0 and pd.isna(row["locked_until"]),
    ):
        _act(
            lambda cursor: accounts.unlock(cursor, name, actor=principal, source=source),
            t("accounts.unlock", lang),
            name,
            lang,
        )
    with st.form("au_reset", clear_on_submit=True):
        password = st.text_input(
            t("accounts.new_password", lang), type="password", key="au_reset_password"
        )
        if st.form_submit_button(t("accounts.reset_password", lang)):
            _act(
                lambda cursor: accounts.set_password(
                    cursor, name, password, actor=principal, source=source
                ),
                t("accounts.reset_password", lang),
                name,
                lang,
            )


def _act(
    change: Callable[[duckdb.DuckDBPyConnection], object], what: str, name: str, lang: str
) -> None:
    """Runs one account change; on success reruns with a confirmation, else shows why not."""
    cursor = db.cursor()
    try:
        change(cursor)
    except store.StoreError as refusal:
        st.error(refusal.message(lang))
        return
    finally:
        cursor.close()
    st.session_state[FLASH_KEY] = t("accounts.done", lang, what=what, name=name)
    st.rerun()


# ---- audit log -------------------------------------------------------------------------------


def audit_page(lang: str) -> None:
    """Filters, the newest matching entries and a CSV download (formulas neutralised)."""
    cursor = db.cursor()
    try:
        actors, actions = audit.actors(cursor), audit.actions(cursor)
    finally:
        cursor.close()
    any_label = t("audit.any", lang)
    columns = st.columns(3)
    actor = columns[0].selectbox(
        t("audit.actor", lang),
        [None, *actors],
        key="lo_actor",
        format_func=lambda a: any_label if a is None else a,
    )
    action = columns[1].selectbox(
        t("audit.action", lang),
        [None, *actions],
        key="lo_action",
        format_func=lambda a: any_label if a is None else action_label(a, lang),
    )
    outcome = columns[2].selectbox(
        t("audit.outcome", lang),
        [None, *audit.OUTCOMES],
        key="lo_outcome",
        format_func=lambda o: any_label if o is None else t(f"audit.outcome.{o}", lang),
    )
    columns = st.columns(3)
    since = columns[0].date_input(t("audit.since", lang), value=None, key="lo_since")
    until = columns[1].date_input(t("audit.until", lang), value=None, key="lo_until")
    text = columns[2].text_input(t("audit.text", lang), key="lo_text")
    cursor = db.cursor()
    try:
        frame = audit.entries(
            cursor,
            actor=actor,
            action=action,
            outcome=outcome,
            since=dt.datetime.combine(since, dt.time()) if since else None,
            until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time()) if until else None,
            text=text.strip() or None,
            limit=AUDIT_LIMIT,
        )
    finally:
        cursor.close()
    if frame.empty:
        st.info(t("audit.empty", lang))
        return
    st.caption(t("audit.shown", lang, n=len(frame), limit=AUDIT_LIMIT))
    table = audit_table(frame, lang)
    st.dataframe(table, key="lo_table", hide_index=True, width="stretch")
    st.download_button(
        t("audit.download", lang),
        csv_bytes(table),
        file_name="audit-log.csv",
        mime="text/csv",
        key="lo_download",
    )


def action_label(action: str, lang: str) -> str:
    """The action's name in `lang` when the string table has one, else the stored id."""
    key = f"audit.action.{action}"
    return t(key, lang) if key in STRINGS else action


def audit_table(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Audit entries with translated headers, actions and outcomes."""
    return pd.DataFrame(
        {
            t("audit.column.time", lang): frame["recorded_at"],
            t("audit.actor", lang): frame["actor"],
            t("audit.action", lang): frame["action"].map(lambda a: action_label(a, lang)),
            t("audit.column.target", lang): frame["target"],
            t("audit.outcome", lang): frame["outcome"].map(lambda o: t(f"audit.outcome.{o}", lang)),
            t("audit.column.source", lang): frame["source"],
            t("audit.column.detail", lang): frame["detail"],
        }
    )
