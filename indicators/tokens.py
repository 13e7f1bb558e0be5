"""Read-only device tokens for wall screens: issued, listed, revoked and verified, stored hashed."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

import duckdb
import pandas as pd

from indicators import audit, store
from indicators.access import AccessDenied, Principal, require, require_unit
from indicators.orgs import is_valid_code

# A token is 32 random bytes (256 bits) from the OS; only its SHA-256 is stored. A fast hash is
# enough here: slow, salted password hashes exist to stop dictionary attacks on guessable
# human passwords, and nobody can enumerate 2^256 tokens. A plain digest can also be looked up
# directly, and verifying it on every refresh of every screen costs microseconds.
TOKEN_BYTES = 32
# The public handle shown in lists, the audit log and `tokens revoke ID`; it reveals nothing.
TOKEN_ID_BYTES = 4
# Every token expires: a screen link forgotten in a browser history or a slide deck stops
# working by itself. The default and the longest allowed lifetime, in days.
DEFAULT_DAYS = 90
MAX_DAYS = 366
# last_seen_at is written at most this often per token, so a screen refreshing every few
# seconds does not turn into a stream of writes.
SEEN_EVERY = dt.timedelta(minutes=1)
DEVICE_PREFIX = "device:"
SOURCE_SCREEN = "screen"

log = logging.getLogger(__name__)

SQL_INSERT = """
INSERT INTO device_tokens (token_id, token_hash, label, org_code, created_by, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
SQL_BY_HASH = """
SELECT token_id, label, org_code, expires_at, revoked_at FROM device_tokens WHERE token_hash = ?
"""
SQL_BY_ID = "SELECT token_id, org_code, revoked_at FROM device_tokens WHERE token_id = ?"
SQL_ID_TAKEN = "SELECT count(*) FROM device_tokens WHERE token_id = ?"
SQL_LIST = """
SELECT t.token_id, t.label, t.org_code, o.name AS org_name, t.created_by, t.created_at,
       t.expires_at, t.revoked_at, t.revoked_by, t.last_seen_at
FROM device_tokens t LEFT JOIN orgs o ON o.code = t.org_code
WHERE starts_with(coalesce(t.org_code, ''), ?)
ORDER BY t.created_at DESC, t.token_id
"""
SQL_REVOKE = "UPDATE device_tokens SET revoked_at = ?, revoked_by = ? WHERE token_id = ?"
SQL_TOUCH = """
UPDATE device_tokens SET last_seen_at = ?
WHERE token_id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)
"""
SQL_UNIT_EXISTS = "SELECT count(*) FROM orgs WHERE code = ?"
LIST_COLUMNS = [
    "token_id",
    "label",
    "org_code",
    "org_name",
    "created_by",
    "created_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "last_seen_at",
    "status",
]


class TokenRefused(AccessDenied):
    """A screen's token is missing, unknown, revoked or expired; `reason` says which."""

    def __init__(self, reason: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"token.{reason}", message_zh, message_en)
        self.reason = reason


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the secret is returned once, here, and never stored."""

    token_id: str
    token: str
    org_code: str
    label: str
    expires_at: dt.datetime


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def device_principal(token_id: str, org_code: str | None) -> Principal:
    """The principal a verified screen acts as: read-only aggregates inside the token's unit."""
    return Principal(f"{DEVICE_PREFIX}{token_id}", "device", org_code)


def issue(
    con: duckdb.DuckDBPyConnection,
    principal: Principal,
    unit: str,
    days: int = DEFAULT_DAYS,
    label: str | None = None,
    now: dt.datetime | None = None,
) -> IssuedToken:
    """Creates a token for the subtree of `unit`, valid for `days`; audited."""
    require_unit(principal, "manage_tokens", unit)
    if not 1 <= days <= MAX_DAYS:
        raise store.StoreError(
            "token.days",
            f"有效期须为 1 到 {MAX_DAYS} 天，收到 {days}",
            f"The lifetime must be 1 to {MAX_DAYS} days, got {days}",
        )
    now = now or store.utc_now()
    expires_at = now + dt.timedelta(days=days)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    label = (label or "").strip() or unit
    with store.transaction(con) as cursor:
        if not is_valid_code(unit) or not store.scalar(cursor, SQL_UNIT_EXISTS, [unit]):
            raise store.StoreError(
                "token.unit",
                f"组织机构名录中没有单位 {unit}",
                f"There is no unit {unit} in the org registry",
            )
        token_id = _new_token_id(cursor)
        cursor.execute(
            SQL_INSERT, [token_id, hash_token(token), label, unit, principal.name, now, expires_at]
        )
        audit.record(
            cursor,
            actor=principal.name,
            action="token.issue",
            target=token_id,
            detail=f"unit={unit} expires={expires_at:%Y-%m-%d %H:%M} label={label}",
        )
    return IssuedToken(token_id, token, unit, label, expires_at)


def _new_token_id(con: duckdb.DuckDBPyConnection) -> str:
    while True:
        token_id = secrets.token_hex(TOKEN_ID_BYTES)
        if not store.scalar(con, SQL_ID_TAKEN, [token_id]):
            return token_id


def token_list(
    con: duckdb.DuckDBPyConnection, principal: Principal, now: dt.datetime | None = None
) -> pd.DataFrame:
    """Tokens inside the principal's subtree, newest first, with status active/revoked/expired."""
    require(principal, "manage_tokens")
    frame = con.execute(SQL_LIST, [principal.scope_prefix]).df()
    now = now or store.utc_now()
    frame["status"] = [
        "revoked" if not pd.isna(revoked) else "expired" if expires <= now else "active"
        for revoked, expires in zip(frame["revoked_at"], frame["expires_at"], strict=True)
    ]
    return frame.reindex(columns=LIST_COLUMNS)


def revoke(
    con: duckdb.DuckDBPyConnection,
    principal: Principal,
    token_id: str,
    now: dt.datetime | None = None,
) -> None:
    """Revokes a token at once (screens using it stop showing data at their next refresh)."""
    require(principal, "manage_tokens")
    with store.transaction(con) as cursor:
        row = store.first_row(cursor, SQL_BY_ID, [token_id])
        if row is None:
            raise store.StoreError(
                "token.unknown_id",
                f"没有编号为 {token_id} 的令牌",
                f"There is no token with id {token_id}",
            )
        _, org_code, revoked_at = row
        _require_token_scope(principal, org_code)
        if revoked_at is not None:
            raise store.StoreError(
                "token.already_revoked",
                f"令牌 {token_id} 已于 {revoked_at:%Y-%m-%d %H:%M} 撤销",
                f"Token {token_id} was revoked on {revoked_at:%Y-%m-%d %H:%M}",
            )
        cursor.execute(SQL_REVOKE, [now or store.utc_now(), principal.name, token_id])
        audit.record(
            cursor,
            actor=principal.name,
            action="token.revoke",
            target=token_id,
            detail=f"unit={org_code}",
        )


def missing_token() -> TokenRefused:
    """The refusal of a screen link without a token (nothing to look up, nothing to audit)."""
    return TokenRefused(
        "missing",
        "大屏链接缺少令牌（token 参数）。请使用管理员生成的完整链接。",
        "The wall-screen link has no token (token parameter). Use the full link "
        "an administrator generated.",
    )


def _require_token_scope(principal: Principal, org_code: str | None) -> None:
    """A token for a unit needs that unit in the principal's subtree; a registry-wide token
    (none are issued, but the column allows it) needs a registry-wide principal."""
    if org_code is not None:
        require_unit(principal, "manage_tokens", org_code)
    elif principal.org_code is not None:
        raise AccessDenied(
            "access.scope",
            "只有全域管理员可以管理全域令牌",
            "Only an administrator of the whole registry may manage a registry-wide token",
        )


def verify(
    con: duckdb.DuckDBPyConnection, token: str | None, now: dt.datetime | None = None
) -> Principal:
    """The device principal of a valid token; TokenRefused (audited unless no token was given)
    for a missing, unknown, revoked or expired one. Notes last_seen_at at most once a minute."""
    if not token:
        raise missing_token()
    now = now or store.utc_now()
    row = store.first_row(con, SQL_BY_HASH, [hash_token(token)])
    if row is None:
        _refuse_audited(con, DEVICE_PREFIX + "?", None, "unknown")
        raise TokenRefused(
            "unknown",
            "大屏令牌无效，请联系管理员重新生成链接。",
            "The wall-screen token is not valid; ask an administrator for a new link.",
        )
    token_id, _label, org_code, expires_at, revoked_at = row
    if revoked_at is not None:
        _refuse_audited(con, DEVICE_PREFIX + token_id, token_id, "revoked")
        raise TokenRefused(
            "revoked",
            f"此大屏令牌（{token_id}）已于 {revoked_at:%Y-%m-%d %H:%M} UTC 被撤销。",
            f"This wall-screen token ({token_id}) was revoked on {revoked_at:%Y-%m-%d %H:%M} UTC.",
        )
    if expires_at <= now:
        _refuse_audited(con, DEVICE_PREFIX + token_id, token_id, "expired")
        raise TokenRefused(
            "expired",
            f"此大屏令牌（{token_id}）已于 {expires_at:%Y-%m-%d %H:%M} UTC 过期，请联系管理员续发。",
            f"This wall-screen token ({token_id}) expired on {expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask an administrator for a new one.",
        )
    _note_seen(con, token_id, now)
    return device_principal(token_id, org_code)


def _refuse_audited(
    con: duckdb.DuckDBPyConnection, actor: str, token_id: str | None, reason: str
) -> None:
    """Records a refused use; a database that cannot take the entry must not turn the refusal
    into an error page, so the failure is logged and the refusal stands."""
    try:
        audit.record(
            con,
            actor=actor,
            action="token.use",
            outcome="refused",
            target=token_id,
            source=SOURCE_SCREEN,
            detail=reason,
        )
    except duckdb.Error:
        log.exception("audit: could not record a refused token (%s)", reason)


def _note_seen(con: duckdb.DuckDBPyConnection, token_id: str, now: dt.datetime) -> None:
    """Writes last_seen_at when it is older than SEEN_EVERY. Skipped, not waited for, while an
    import holds the write lock: a screen's refresh must never stall behind a long write."""
    lock = store.write_lock()
    if not lock.acquire(blocking=False):
        return
    try:
        con.execute(SQL_TOUCH, [now, token_id, now - SEEN_EVERY])
    finally:
        lock.release()
