"""Who is acting and what they may touch: a role plus an org-unit subtree, checked in the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from indicators.orgs import in_scope, prefix_of_scope
from indicators.store import StoreError

ROLES = ("admin", "leader", "staff")
# What each role may do; "device" is a wall-screen token (read-only aggregates).
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "view",
            "upload",
            "rollback",
            "export",
            "manage_users",
            "manage_tokens",
            "read_audit",
            "import_orgs",
            "recompute",
        }
    ),
    "leader": frozenset({"view", "export"}),
    "staff": frozenset({"view", "upload", "rollback", "export"}),
    "device": frozenset({"view_aggregates"}),
}


class AccessDenied(StoreError):
    """An action outside the actor's role or org-unit subtree."""


@dataclass(frozen=True)
class Principal:
    """The acting account (or device): name, role and the org unit whose subtree it may use."""

    name: str
    role: str
    org_code: str | None  # None = the whole registry

    @property
    def scope_prefix(self) -> str:
        """Code prefix for SQL `starts_with` ("" = everything)."""
        return prefix_of_scope(self.org_code)

    def may(self, action: str) -> bool:
        return action in ROLE_ACTIONS.get(self.role, frozenset())

    def covers(self, code: str) -> bool:
        """True when `code` lies inside this principal's subtree."""
        return in_scope(code, self.org_code)


# The command line run by the server's operator acts as this unless --user names an account.
SYSTEM = Principal("system", "admin", None)


def require(principal: Principal, action: str) -> None:
    """Raises AccessDenied unless the role allows `action`."""
    if not principal.may(action):
        raise AccessDenied(
            "access.role",
            f"账号“{principal.name}”（角色 {principal.role}）无权执行此操作：{action}",
            f"Account '{principal.name}' (role {principal.role}) may not do this: {action}",
        )


def require_unit(principal: Principal, action: str, code: str) -> None:
    """Raises AccessDenied unless the role allows `action` and `code` is inside the subtree."""
    require(principal, action)
    if not principal.covers(code):
        raise AccessDenied(
            "access.scope",
            f"单位 {code} 不在账号“{principal.name}”的管辖范围（{principal.org_code}）内",
            f"Unit {code} is outside the scope of account '{principal.name}' ({principal.org_code})",
        )


def outside(principal: Principal, codes: Iterable[str]) -> list[str]:
    """The codes among `codes` outside the principal's subtree, sorted and unique."""
    return sorted({code for code in codes if not principal.covers(code)})


def effective_scope(principal: Principal, requested: str | None) -> str | None:
    """The subtree to read for a request: the requested unit when it lies inside the
    principal's subtree, the principal's own unit when nothing narrower was asked for."""
    if requested is None:
        return principal.org_code
    if not principal.covers(requested):
        raise AccessDenied(
            "access.scope",
            f"单位 {requested} 不在账号“{principal.name}”的管辖范围（{principal.org_code}）内",
            f"Unit {requested} is outside the scope of account '{principal.name}' ({principal.org_code})",
        )
    return requested
