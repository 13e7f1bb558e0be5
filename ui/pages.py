"""The page registry: every page of the dashboard, its title, URL and the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.i18n import t

ALL_ROLES = frozenset({"admin", "leader", "staff"})


@dataclass(frozen=True)
class PageSpec:
    """One page: its file under app_pages/, title key, icon, URL path and the roles that see it."""

    path: str
    title_key: str
    icon: str
    url_path: str
    roles: frozenset[str] = ALL_ROLES
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("app_pages/overview.py", "page.overview", "📊", "overview", default=True),
    PageSpec("app_pages/community.py", "page.community", "🏘️", "community"),
    PageSpec("app_pages/alerts.py", "page.alerts", "🚨", "alerts"),
    PageSpec("app_pages/methodology.py", "page.methodology", "📐", "methodology"),
    PageSpec("app_pages/tokens.py", "page.tokens", "🔑", "tokens", frozenset({"admin"})),
    PageSpec("app_pages/upload.py", "page.upload", "📤", "upload", frozenset({"admin", "staff"})),
    PageSpec(
        "app_pages/admin_users.py", "page.admin_users", "👥", "accounts", frozenset({"admin"})
    ),
    PageSpec("app_pages/audit_log.py", "page.audit_log", "📜", "audit", frozenset({"admin"})),
)
# The only page before signing in (no role sees it afterwards).
LOGIN_PAGE = PageSpec("app_pages/login.py", "page.login", "🔑", "login", frozenset(), default=True)


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages a role may open, in menu order (none for an unknown role)."""
    return [spec for spec in PAGES if role in spec.roles]


def st_pages(specs: list[PageSpec], language: str) -> list[st.Page]:
    """Streamlit page objects for `specs`, titled in `language`."""
    return [
        st.Page(
            spec.path,
            title=t(spec.title_key, language),
            icon=spec.icon,
            url_path=spec.url_path,
            default=spec.default,
        )
        for spec in specs
    ]
