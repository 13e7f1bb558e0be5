"""Accounts: argon2id-hashed passwords, a role and an org unit, lock-out, demo accounts, SSO mapping."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from indicators import audit, store
from indicators.access import ROLES, AccessDenied, Principal, require
from indicators.orgs import is_valid_code, level_of, prefix_of_scope

# ---- settings (documented in the README, "Accounts, sign-in and the audit log") -------------
# Consecutive failed sign-ins that lock an account, and for how long.
MAX_FAILED_ATTEMPTS = 5
LOCK_MINUTES = 15
# A signed-in browser session that sees no activity for this long must sign in again.
IDLE_TIMEOUT_MINUTES = 30
MIN_PASSWORD_LENGTH = 8
# Account names: letters (Chinese too), digits and . _ @ - so an e-mail address can be one.
NAME_PATTERN = re.compile(r"^[\w.@-]{1,64}$")
# Names the system itself records as actors: the shell operator, the inbox, the demo loader.
RESERVED_NAMES = frozenset({"cli", "system", "inbox", "demo"})
# Units an account may be bound to: the dashboard's views are built for districts and streets.
ACCOUNT_LEVELS = ("district", "street")
# The stored hash of an account that signs in only through single sign-on: it verifies nothing.
SSO_ONLY_HASH = "!sso-only"

# The demo city's accounts, shown with their passwords on the login page in demo mode only.
# The unit is the first district or street of the demo registry.
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "admin-demo", "admin", None),
    ("leader", "leader-demo", "leader", "district"),
    ("staff", "staff-demo", "staff", "street"),
)

SQL_ACCOUNT = """
SELECT name, display_name, role, org_code, password_hash, active, failed_attempts, locked_until,
       is_demo, created_at, updated_at, last_login_at FROM users WHERE name = ?
"""
SQL_ACCOUNT_BY_EMAIL = "SELECT name FROM users WHERE lower(name) = lower(?) AND active"
SQL_ACCOUNTS = """
SELECT u.name, u.display_name, u.role, u.org_code, o.name AS org_name, u.active,
       u.failed_attempts, u.locked_until, u.is_demo, u.password_hash = ? AS sso_only,
       u.created_at, u.updated_at, u.last_login_at
FROM users u LEFT JOIN orgs o ON o.code = u.org_code
WHERE ? IS NULL OR starts_with(u.org_code, ?)
ORDER BY u.name
"""
SQL_ACCOUNT_COUNT = "SELECT count(*) FROM users"
SQL_ACTIVE_ADMINS = "SELECT name FROM users WHERE role = 'admin' AND org_code IS NULL AND active"
SQL_INSERT_ACCOUNT = """
INSERT INTO users (name, display_name, role, org_code, password_hash, active, failed_attempts,
                   locked_until, is_demo, created_at, updated_at, last_login_at)
VALUES (?, ?, ?, ?, ?, TRUE, 0, NULL, ?, ?, ?, NULL)
"""
SQL_UPDATE_ACCOUNT = (
    "UPDATE users SET role = ?, org_code = ?, display_name = ?, updated_at = ? WHERE name = ?"
)
SQL_SET_ACTIVE = "UPDATE users SET active = ?, updated_at = ? WHERE name = ?"
SQL_SET_PASSWORD = """
UPDATE users SET password_hash = ?, failed_attempts = 0, locked_until = NULL, updated_at = ?
WHERE name = ?
"""
SQL_UNLOCK = (
    "UPDATE users SET failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE name = ?"
)
SQL_FAILED_LOGIN = "UPDATE users SET failed_attempts = ?, locked_until = ? WHERE name = ?"
SQL_GOOD_LOGIN = (
    "UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = ? WHERE name = ?"
)
SQL_REHASH = "UPDATE users SET password_hash = ? WHERE name = ?"
SQL_DEMO_ACCOUNTS = """
SELECT u.name, u.role, u.org_code, o.name FROM users u LEFT JOIN orgs o ON o.code = u.org_code
WHERE u.is_demo AND u.active ORDER BY u.created_at, u.name
"""
SQL_UNIT = "SELECT level, name FROM orgs WHERE code = ?"

# argon2id with the library's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes, 4 lanes);
# the parameters and the salt travel inside every hash string.
_HASHER = PasswordHasher()


class AccountError(store.StoreError):
    """An account change that cannot go ahead (bad name, role, unit or password)."""


class LoginFailed(store.StoreError):
    """A refused sign-in: unknown account or wrong password (one message for both), locked,
    disabled, or single sign-on only."""


@dataclass(frozen=True)
class Account:
    """One row of the users table, without the password hash."""

    name: str
    display_name: str | None
    role: str
    org_code: str | None
    active: bool
    failed_attempts: int
    locked_until: dt.datetime | None
    is_demo: bool
    sso_only: bool

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.role, self.org_code)

    def locked(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class DemoCredential:
    """A demo account as the login page shows it in demo mode."""

    name: str
    password: str
    role: str
    org_code: str | None
    org_name: str | None


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (salt and parameters included in the string)."""
    return _HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    """Constant-time check of `password` against a stored hash; False for an unusable hash."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against when the account does not exist, so that a wrong name takes
    as long as a wrong password and does not reveal which names exist."""
    return hash_password("decoy password for unknown accounts")


def get_account(con: duckdb.DuckDBPyConnection, name: str) -> Account | None:
    row = store.first_row(con, SQL_ACCOUNT, [name])
    return None if row is None else _account(row)


def _account_and_hash(con: duckdb.DuckDBPyConnection, name: str) -> tuple[Account | None, str]:
    row = store.first_row(con, SQL_ACCOUNT, [name])
    return (None, "") if row is None else (_account(row), row[4])


def _account(row: tuple) -> Account:
    name, display, role, org_code, password_hash, active, failed, locked_until, is_demo = row[:9]
    return Account(
        name,
        display,
        role,
        org_code,
        bool(active),
        int(failed),
        locked_until,
        bool(is_demo),
        password_hash == SSO_ONLY_HASH,
    )


def account_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(store.scalar(con, SQL_ACCOUNT_COUNT))


def list_accounts(con: duckdb.DuckDBPyConnection, *, scope: str | None) -> pd.DataFrame:
    """Accounts bound to units inside `scope` (None = every account), without password hashes."""
    prefix = prefix_of_scope(scope)
    return con.execute(SQL_ACCOUNTS, [SSO_ONLY_HASH, scope, prefix]).df()


# ---- changes: each one checks the actor's rights and is audited in the same transaction ------


def create_account(
    con: duckdb.DuckDBPyConnection,
    name: str,
    role: str,
    org_code: str | None,
    password: str | None,
    *,
    actor: Principal,
    source: str,
    display_name: str | None = None,
    is_demo: bool = False,
) -> Account:
    """Adds an account. `password` None makes a single-sign-on-only account."""
    check_new_account(con, name, role, org_code, actor=actor)
    password_hash = (
        SSO_ONLY_HASH if password is None else hash_password(_checked_password(password))
    )
    with store.transaction(con) as cursor:
        if get_account(cursor, name) is not None:
            raise AccountError(
                "account.exists",
                f"账号“{name}”已存在。",
                f"An account named '{name}' already exists.",
            )
        now = store.utc_now()
        cursor.execute(
            SQL_INSERT_ACCOUNT,
            [name, display_name, role, org_code, password_hash, is_demo, now, now],
        )
        audit.record(
            cursor,
            actor=actor.name,
            action="account.create",
            target=name,
            source=source,
            detail=f"role={role} unit={org_code or '*'}"
            + (" sso-only" if password is None else ""),
        )
    return get_account(con, name)


def check_new_account(
    con: duckdb.DuckDBPyConnection, name: str, role: str, org_code: str | None, *, actor: Principal
) -> None:
    """Raises AccountError or AccessDenied unless `actor` may create this account (checked
    before a password is asked for)."""
    _check_name(name)
    _check_binding(con, role, org_code)
    _require_manage(actor, org_code)
    if get_account(con, name) is not None:
        raise AccountError(
            "account.exists", f"账号“{name}”已存在。", f"An account named '{name}' already exists."
        )


def update_account(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    role: str,
    org_code: str | None,
    display_name: str | None,
    actor: Principal,
    source: str,
) -> Account:
    """Changes an account's role, unit and display name."""
    current = _existing(con, name)
    _check_binding(con, role, org_code)
    _require_manage(actor, current.org_code)
    _require_manage(actor, org_code)
    if (
        current.role == "admin"
        and current.org_code is None
        and (role != "admin" or org_code is not None)
    ):
        _keep_one_admin(con, name)
    with store.transaction(con) as cursor:
        cursor.execute(SQL_UPDATE_ACCOUNT, [role, org_code, display_name, store.utc_now(), name])
        audit.record(
            cursor,
            actor=actor.name,
            action="account.update",
            target=name,
            source=source,
            detail=f"role {current.role}→{role}, unit {current.org_code or '*'}→{org_code or '*'}",
        )
    return get_account(con, name)


def set_active(
    con: duckdb.DuckDBPyConnection, name: str, active: bool, *, actor: Principal, source: str
) -> Account:
    """Disables (keeps the record and its history, refuses sign-in) or re-enables an account."""
    current = _existing(con, name)
    _require_manage(actor, current.org_code)
    if not active:
        if name == actor.name:
            raise AccountError(
                "account.self",
                "不能停用自己正在使用的账号。",
                "You cannot disable the account you are using.",
            )
        if current.role == "admin" and current.org_code is None:
            _keep_one_admin(con, name)
    with store.transaction(con) as cursor:
        cursor.execute(SQL_SET_ACTIVE, [active, store.utc_now(), name])
        audit.record(
            cursor,
            actor=actor.name,
            action="account.enable" if active else "account.disable",
            target=name,
            source=source,
        )
    return get_account(con, name)


def set_password(
    con: duckdb.DuckDBPyConnection, name: str, password: str, *, actor: Principal, source: str
) -> Account:
    """Sets a new password (and lifts a lock): by an admin, or by the account itself."""
    current = _existing(con, name)
    if actor.name != name:
        _require_manage(actor, current.org_code)
    password_hash = hash_password(_checked_password(password))
    with store.transaction(con) as cursor:
        cursor.execute(SQL_SET_PASSWORD, [password_hash, store.utc_now(), name])
        audit.record(
            cursor, actor=actor.name, action="account.password", target=name, source=source
        )
    return get_account(con, name)


def unlock(con: duckdb.DuckDBPyConnection, name: str, *, actor: Principal, source: str) -> Account:
    """Lifts a lock after repeated failures and clears the failure count."""
    current = _existing(con, name)
    _require_manage(actor, current.org_code)
    with store.transaction(con) as cursor:
        cursor.execute(SQL_UNLOCK, [store.utc_now(), name])
        audit.record(
            cursor,
            actor=actor.name,
            action="account.unlock",
            target=name,
            source=source,
            detail=f"failed_attempts was {current.failed_attempts}",
        )
    return get_account(con, name)


def _existing(con: duckdb.DuckDBPyConnection, name: str) -> Account:
    account = get_account(con, name)
    if account is None:
        raise AccountError(
            "account.unknown", f"没有名为“{name}”的账号。", f"There is no account named '{name}'."
        )
    return account


def _check_name(name: str) -> None:
    if name in RESERVED_NAMES:
        raise AccountError(
            "account.reserved",
            f"账号名“{name}”由系统保留，请换一个。",
            f"The name '{name}' is reserved by the system; choose another.",
        )
    if not NAME_PATTERN.match(name or ""):
        raise AccountError(
            "account.name",
            f"账号名“{name}”无效：只能使用 1–64 个字母（含汉字）、数字或 . _ @ - 字符，不能有空格。",
            f"Invalid account name '{name}': use 1–64 letters (Chinese too), digits or . _ @ -, no spaces.",
        )


def _check_binding(con: duckdb.DuckDBPyConnection, role: str, org_code: str | None) -> None:
    """A role the system knows; a registered district or street for leaders and staff, and
    optionally for admins (an admin without a unit manages everything)."""
    if role not in ROLES:
        raise AccountError(
            "account.role",
            f"未知角色“{role}”，应为 {' / '.join(ROLES)}。",
            f"Unknown role '{role}'; expected one of {', '.join(ROLES)}.",
        )
    if org_code is None:
        if role != "admin":
            raise AccountError(
                "account.unit_required",
                f"角色 {role} 的账号必须绑定一个区或街道（--unit 代码）。",
                f"A {role} account must be bound to a district or street (--unit CODE).",
            )
        return
    if not is_valid_code(org_code) or level_of(org_code) not in ACCOUNT_LEVELS:
        raise AccountError(
            "account.unit_level",
            f"单位代码“{org_code}”无效：账号只能绑定到区或街道的 12 位代码。",
            f"Unit code '{org_code}' is invalid: an account is bound to a district's "
            "or a street's 12-digit code.",
        )
    if store.first_row(con, SQL_UNIT, [org_code]) is None:
        raise AccountError(
            "account.unit_unknown",
            f"单位 {org_code} 不在组织机构名录中；请先导入名录（import-orgs）。",
            f"Unit {org_code} is not in the org registry; load the registry first (import-orgs).",
        )


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "account.password_short",
            f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。",
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.",
        )
    return password


def _require_manage(actor: Principal, org_code: str | None) -> None:
    """Admins manage accounts; an admin bound to a unit only those inside its subtree."""
    require(actor, "manage_users")
    if actor.org_code is not None and (org_code is None or not actor.covers(org_code)):
        raise AccessDenied(
            "access.scope",
            f"账号“{actor.name}”只能管理 {actor.org_code} 范围内的账号。",
            f"Account '{actor.name}' may only manage accounts inside {actor.org_code}.",
        )


def _keep_one_admin(con: duckdb.DuckDBPyConnection, name: str) -> None:
    others = [row[0] for row in con.execute(SQL_ACTIVE_ADMINS).fetchall() if row[0] != name]
    if not others:
        raise AccountError(
            "account.last_admin",
            "至少要保留一个不限范围的有效管理员账号。",
            "At least one active admin account without a unit must remain.",
        )


# ---- sign-in ---------------------------------------------------------------------------------


def authenticate(
    con: duckdb.DuckDBPyConnection,
    name: str,
    password: str,
    *,
    source: str,
    now: dt.datetime | None = None,
) -> Principal:
    """Checks a name and password; returns the account's principal or raises LoginFailed.

    Every attempt is audited. After MAX_FAILED_ATTEMPTS consecutive failures the account is
    locked for LOCK_MINUTES; while locked even the right password is refused.
    """
    now = now or store.utc_now()
    actor = (name or "").strip()[:64] or "?"
    account, stored_hash = _account_and_hash(con, actor)
    if account is None:
        password_matches(_decoy_hash(), password)
        audit.record(
            con,
            actor=actor,
            action="login",
            outcome="failed",
            source=source,
            detail="unknown account",
        )
        raise _invalid()
    if account.locked(now):
        audit.record(
            con, actor=actor, action="login", outcome="refused", source=source, detail="locked"
        )
        raise _locked(max(1, int((account.locked_until - now).total_seconds() // 60) + 1))
    if not password_matches(stored_hash, password):
        if _record_failure(con, account, source, now):
            raise _locked(LOCK_MINUTES)
        raise _invalid()
    if not account.active:
        audit.record(
            con, actor=actor, action="login", outcome="refused", source=source, detail="disabled"
        )
        raise LoginFailed(
            "login.disabled",
            "此账号已停用，请联系管理员。",
            "This account is disabled; ask an admin.",
        )
    with store.transaction(con) as cursor:
        cursor.execute(SQL_GOOD_LOGIN, [now, actor])
        if _HASHER.check_needs_rehash(stored_hash):
            cursor.execute(SQL_REHASH, [hash_password(password), actor])
        audit.record(cursor, actor=actor, action="login", source=source)
    return account.principal


def _record_failure(
    con: duckdb.DuckDBPyConnection, account: Account, source: str, now: dt.datetime
) -> bool:
    """Counts a wrong password; True when this failure locked the account."""
    # A lock that has run out starts a fresh count.
    previous = 0 if account.locked_until is not None else account.failed_attempts
    failures = previous + 1
    locked_until = (
        now + dt.timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILED_ATTEMPTS else None
    )
    detail = f"wrong password ({failures}/{MAX_FAILED_ATTEMPTS})"
    if locked_until is not None:
        detail += f"; locked for {LOCK_MINUTES} minutes"
    with store.transaction(con) as cursor:
        cursor.execute(SQL_FAILED_LOGIN, [failures, locked_until, account.name])
        audit.record(
            cursor,
            actor=account.name,
            action="login",
            outcome="failed",
            source=source,
            detail=detail,
        )
    return locked_until is not None


def _locked(minutes: int) -> LoginFailed:
    return LoginFailed(
        "login.locked",
        f"连续登录失败次数过多，账号已锁定，请在 {minutes} 分钟后再试或联系管理员解锁。",
        f"Too many failed sign-ins: the account is locked. Try again in {minutes} "
        "minutes or ask an admin to unlock it.",
    )


def _invalid() -> LoginFailed:
    return LoginFailed("login.invalid", "账号或密码不正确。", "Wrong account name or password.")


def account_for_email(con: duckdb.DuckDBPyConnection, email: str | None) -> Account | None:
    """The active account a single-sign-on e-mail address maps to: the account whose name is
    that address (compared without case). None when there is none."""
    if not email or "@" not in email:
        return None
    name = store.scalar(con, SQL_ACCOUNT_BY_EMAIL, [email.strip()])
    return None if name is None else get_account(con, str(name))


def sso_sign_in(
    con: duckdb.DuckDBPyConnection,
    email: str | None,
    *,
    source: str,
    now: dt.datetime | None = None,
) -> Principal:
    """The principal for an identity the OIDC provider vouched for; audited; LoginFailed when
    no active, unlocked account carries that e-mail address as its name."""
    now = now or store.utc_now()
    account = account_for_email(con, email)
    actor = (email or "?")[:64]
    if account is None or account.locked(now):
        audit.record(
            con,
            actor=actor,
            action="login",
            outcome="refused",
            source=source,
            detail="sso: no active account" if account is None else "sso: locked",
        )
        raise LoginFailed(
            "login.sso_unknown",
            f"统一身份认证账号 {actor} 没有对应的有效账号，请联系管理员开通。",
            f"The single sign-on identity {actor} has no active account here; ask an admin.",
        )
    with store.transaction(con) as cursor:
        cursor.execute(SQL_GOOD_LOGIN, [now, account.name])
        audit.record(cursor, actor=account.name, action="login", source=source, detail="sso")
    return account.principal


# ---- demo accounts -----------------------------------------------------------------------------


def add_demo_accounts(con: duckdb.DuckDBPyConnection, registry: pd.DataFrame) -> None:
    """Adds the demo accounts inside the caller's transaction (the demo city's load)."""
    now = store.utc_now()
    for name, password, role, level in DEMO_ACCOUNTS:
        org_code = None if level is None else min(registry.loc[registry["level"] == level, "code"])
        con.execute(
            SQL_INSERT_ACCOUNT,
            [name, None, role, org_code, hash_password(password), True, now, now],
        )
        audit.record(
            con,
            actor="demo",
            action="account.create",
            target=name,
            source="demo",
            detail=f"role={role} unit={org_code or '*'}",
        )


def demo_credentials(con: duckdb.DuckDBPyConnection) -> list[DemoCredential]:
    """The demo accounts this database holds, with their published passwords."""
    passwords = {name: password for name, password, _, _ in DEMO_ACCOUNTS}
    return [
        DemoCredential(name, passwords[name], role, org_code, org_name)
        for name, role, org_code, org_name in con.execute(SQL_DEMO_ACCOUNTS).fetchall()
        if name in passwords
    ]
