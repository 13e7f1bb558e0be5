"""The screen-tokens admin page's parts: create (shown once), list with status, revoke."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pandas as pd
import streamlit as st

from indicators import tokens
from indicators.access import Principal
from indicators.orgs import LEVELS
from indicators.store import StoreError
from ui import data, db
from ui.i18n import t
from ui.screen import SCREEN_VIEW

PAGE_URL_PATH = "tokens"


def screen_urls(page_url: str, token: str, unit: str) -> tuple[str, str]:
    """The wall-screen address and the iframe address for a token, on the server the admin
    is using (its base URL path kept, this page's own path dropped)."""
    parts = urlsplit(page_url)
    path = parts.path.rstrip("/")
    if path.endswith("/" + PAGE_URL_PATH):
        path = path[: -len(PAGE_URL_PATH) - 1]
    base = f"{parts.scheme}://{parts.netloc}{path}/?"
    query = {"view": SCREEN_VIEW, "token": token, "unit": unit}
    return base + urlencode(query), base + urlencode({**query, "embed": "true"})


def unit_options(units: pd.DataFrame, principal: Principal) -> dict[str, str]:
    """code → "name（code）" of the units a principal may issue tokens for: districts and
    streets first, then communities, each in code order."""
    inside = units[[principal.covers(code) for code in units["code"]]]
    rank = inside["level"].map({level: i for i, level in enumerate(LEVELS)})
    ordered = inside.assign(rank=rank).sort_values(["rank", "code"])
    return {
        code: f"{name}（{code}）"
        for code, name in zip(ordered["code"], ordered["name"], strict=True)
    }


def create_form(principal: Principal, language: str) -> None:
    """The form that issues a token; the secret and its addresses are shown once, right here."""
    options = unit_options(data.registry(data.generation()), principal)
    with st.form("tk_create"):
        st.subheader(t("tokens.create", language))
        unit = st.selectbox(
            t("tokens.unit", language), list(options), key="tk_unit", format_func=options.get
        )
        days = st.number_input(
            t("tokens.days", language),
            min_value=1,
            max_value=tokens.MAX_DAYS,
            value=tokens.DEFAULT_DAYS,
            step=1,
            key="tk_days",
        )
        label = st.text_input(t("tokens.label", language), key="tk_label")
        submitted = st.form_submit_button(t("tokens.submit", language))
    if not submitted or unit is None:
        return
    try:
        issued = tokens.issue(db.connection(), principal, unit, days=int(days), label=label)
    except StoreError as error:
        st.error(error.message(language))
        return
    screen_url, embed_url = screen_urls(
        st.context.url or "http://localhost:8501", issued.token, issued.org_code
    )
    st.success(
        t(
            "tokens.created",
            language,
            token_id=issued.token_id,
            expires=f"{issued.expires_at:%Y-%m-%d %H:%M} UTC",
        )
    )
    st.caption(t("tokens.url", language))
    st.code(screen_url, language=None)
    st.caption(t("tokens.embed_url", language))
    st.code(embed_url, language=None)


def token_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The token list for display: translated status and column names, no secrets (none are stored)."""
    status = frame["status"].map(lambda s: t(f"tokens.status_{s}", language))
    unit = [
        f"{name}（{code}）" if isinstance(name, str) else str(code)
        for code, name in zip(frame["org_code"], frame["org_name"], strict=True)
    ]
    return pd.DataFrame(
        {
            t("tokens.column_id", language): frame["token_id"],
            t("tokens.column_label", language): frame["label"],
            t("tokens.column_unit", language): unit,
            t("tokens.column_status", language): status,
            t("tokens.column_created", language): frame["created_at"],
            t("tokens.column_created_by", language): frame["created_by"],
            t("tokens.column_expires", language): frame["expires_at"],
            t("tokens.column_last_seen", language): frame["last_seen_at"],
        }
    )


def list_and_revoke(principal: Principal, language: str) -> None:
    """Every token in the principal's subtree with its status, and the revoke form."""
    cursor = db.cursor()
    try:
        frame = tokens.token_list(cursor, principal)
    finally:
        cursor.close()
    st.subheader(t("tokens.list", language))
    if frame.empty:
        st.info(t("tokens.none", language))
        return
    st.dataframe(token_table(frame, language), key="tk_list", hide_index=True, width="stretch")
    active = frame[frame["status"] == "active"]
    st.subheader(t("tokens.revoke", language))
    if active.empty:
        st.info(t("tokens.no_active", language))
        return
    labels = {
        row.token_id: f"{row.token_id} · {row.label} · {row.org_code}"
        for row in active.itertuples()
    }
    with st.form("tk_revoke"):
        token_id = st.selectbox(
            t("tokens.revoke_pick", language),
            list(labels),
            key="tk_revoke_id",
            format_func=labels.get,
        )
        submitted = st.form_submit_button(t("tokens.revoke_submit", language))
    if submitted and token_id is not None:
        try:
            tokens.revoke(db.connection(), principal, token_id)
        except StoreError as error:
            st.error(error.message(language))
            return
        st.session_state["tk_revoked"] = token_id
        st.rerun()


def revoked_notice(language: str) -> None:
    """Confirms the revocation made on the previous run (the list above is already updated)."""
    token_id = st.session_state.pop("tk_revoked", None)
    if token_id:
        st.success(t("tokens.revoked", language, token_id=token_id))
