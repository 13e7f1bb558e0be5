"""Accounts: hashing, the rules for names, roles and units, lock-out, single sign-on mapping, the `users` command."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil

import pytest

from indicators import accounts, audit, store
from indicators.__main__ import main
from indicators.access import SYSTEM, AccessDenied, Principal
from indicators.accounts import AccountError, LoginFailed
from tests import accounts_fixtures as fx


@pytest.fixture(scope="module")
def template(tmp_path_factory, catalog):
    return fx.build(tmp_path_factory.mktemp("accounts") / "accounts.duckdb", catalog)


@pytest.fixture
def con(template, tmp_path):
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(template, target)
    connection = store.connect(target)
    yield connection
    connection.close()


def test_passwords_are_stored_as_salted_argon2id_hashes(con):
    stored = store.scalar(con, "SELECT password_hash FROM users WHERE name = 'jiedao'")
    assert stored.startswith("$argon2id$") and fx.PASSWORD not in stored
    again = accounts.hash_password(fx.PASSWORD)
    assert again != stored, "every hash has its own salt"
    assert accounts.password_matches(stored, fx.PASSWORD)
    assert not accounts.password_matches(stored, fx.PASSWORD + "x")
    assert not accounts.password_matches(accounts.SSO_ONLY_HASH, "")


@pytest.mark.parametrize(
    ("name", "role", "unit", "password", "code"),
    [
        ("zhang san", "staff", fx.STREET_1, fx.PASSWORD, "account.name"),
        ("", "staff", fx.STREET_1, fx.PASSWORD, "account.name"),
        ("cli", "admin", None, fx.PASSWORD, "account.reserved"),
        ("jiedao", "staff", fx.STREET_1, fx.PASSWORD, "account.exists"),
        ("wang", "boss", None, fx.PASSWORD, "account.role"),
        ("wang", "leader", None, fx.PASSWORD, "account.unit_required"),
        ("wang", "staff", fx.IN_STREET_1, fx.PASSWORD, "account.unit_level"),
        ("wang", "staff", "12345", fx.PASSWORD, "account.unit_level"),
        ("wang", "staff", "990109001000", fx.PASSWORD, "account.unit_unknown"),
        ("wang", "staff", fx.STREET_1, "short", "account.password_short"),
    ],
)
def test_account_rules(con, name, role, unit, password, code):
    with pytest.raises(AccountError) as refused:
        accounts.create_account(con, name, role, unit, password, actor=SYSTEM, source=fx.SOURCE)
    assert refused.value.code == code
    assert refused.value.message("zh") and refused.value.message("en")


def test_a_valid_account_is_created_and_audited(con):
    account = accounts.create_account(
        con,
        "王五",
        "staff",
        fx.STREET_2,
        fx.PASSWORD,
        actor=SYSTEM,
        source=fx.SOURCE,
        display_name="王五",
    )
    assert account.principal == Principal("王五", "staff", fx.STREET_2)
    entry = audit.entries(con, action="account.create", limit=1).iloc[0]
    assert (entry["actor"], entry["target"], entry["source"]) == ("system", "王五", fx.SOURCE)


def test_lockout_after_repeated_failures_then_unlock_or_expiry(con):
    now = dt.datetime(2026, 1, 5, 9, 0)
    for attempt in range(1, accounts.MAX_FAILED_ATTEMPTS + 1):
        with pytest.raises(LoginFailed) as failed:
            accounts.authenticate(con, "jiedao", "wrong password", source="web:10.0.0.7", now=now)
        expected = "login.locked" if attempt == accounts.MAX_FAILED_ATTEMPTS else "login.invalid"
        assert failed.value.code == expected
    with pytest.raises(LoginFailed, match="锁定") as locked:
        accounts.authenticate(con, "jiedao", fx.PASSWORD, source="web:10.0.0.7", now=now)
    assert "locked" in locked.value.message("en")
    logged = audit.entries(con, actor="jiedao", action="login")
    assert logged["outcome"].tolist() == ["refused", *["failed"] * accounts.MAX_FAILED_ATTEMPTS]
    assert set(logged["source"]) == {"web:10.0.0.7"}
    assert "locked for" in logged["detail"].iloc[1]

    after_lock = now + dt.timedelta(minutes=accounts.LOCK_MINUTES, seconds=1)
    assert accounts.authenticate(
        con, "jiedao", fx.PASSWORD, source="web", now=after_lock
    ) == fx.principal("jiedao")

    for _ in range(accounts.MAX_FAILED_ATTEMPTS):
        with pytest.raises(LoginFailed):
            accounts.authenticate(con, "jiedao", "wrong password", source="web", now=after_lock)
    accounts.unlock(con, "jiedao", actor=fx.principal("root"), source="web")
    assert accounts.get_account(con, "jiedao").failed_attempts == 0
    assert (
        accounts.authenticate(con, "jiedao", fx.PASSWORD, source="web", now=after_lock).role
        == "staff"
    )
    assert audit.entries(con, action="account.unlock")["actor"].tolist() == ["root"]


def test_unknown_names_and_wrong_passwords_get_the_same_answer(con):
    messages = set()
    for name, password in (("nobody", fx.PASSWORD), ("jiedao", "wrong password")):
        with pytest.raises(LoginFailed) as failed:
            accounts.authenticate(con, name, password, source="web")
        messages.add(failed.value.message("en"))
    assert messages == {"Wrong account name or password."}
    assert audit.entries(con, actor="nobody")["detail"].tolist() == ["unknown account"]


def test_a_disabled_account_cannot_sign_in_and_can_be_enabled(con):
    root = fx.principal("root")
    accounts.set_active(con, "quzhang", False, actor=root, source="web")
    with pytest.raises(LoginFailed) as refused:
        accounts.authenticate(con, "quzhang", fx.PASSWORD, source="web")
    assert refused.value.code == "login.disabled"
    accounts.set_active(con, "quzhang", True, actor=root, source="web")
    assert (
        accounts.authenticate(con, "quzhang", fx.PASSWORD, source="web").org_code == fx.DISTRICT_1
    )


def test_only_admins_manage_accounts_and_a_bound_admin_only_its_subtree(con):
    with pytest.raises(AccessDenied):
        accounts.unlock(con, "jiedao", actor=fx.principal("quzhang"), source="web")
    district_admin = Principal("district_admin", "admin", fx.DISTRICT_1)
    accounts.create_account(
        con, "new_staff", "staff", fx.STREET_2, fx.PASSWORD, actor=district_admin, source="web"
    )
    for role, unit in (("staff", fx.STREET_3), ("admin", None)):
        with pytest.raises(AccessDenied):
            accounts.create_account(
                con, "outsider", role, unit, fx.PASSWORD, actor=district_admin, source="web"
            )
    assert set(accounts.list_accounts(con, scope=fx.DISTRICT_1)["name"]) == {
        "quzhang",
        "jiedao",
        "new_staff",
    }


def test_the_last_admin_stays(con):
    root = fx.principal("root")
    with pytest.raises(AccountError) as own:
        accounts.set_active(con, "root", False, actor=root, source="web")
    assert own.value.code == "account.self"
    for change in (
        lambda: accounts.set_active(con, "root", False, actor=SYSTEM, source="cli"),
        lambda: accounts.update_account(
            con,
            "root",
            role="leader",
            org_code=fx.DISTRICT_1,
            display_name=None,
            actor=SYSTEM,
            source="cli",
        ),
    ):
        with pytest.raises(AccountError) as refused:
            change()
        assert refused.value.code == "account.last_admin"
    accounts.create_account(con, "root2", "admin", None, fx.PASSWORD, actor=SYSTEM, source="cli")
    moved = accounts.update_account(
        con,
        "root",
        role="leader",
        org_code=fx.DISTRICT_1,
        display_name="老王",
        actor=SYSTEM,
        source="cli",
    )
    assert (moved.role, moved.org_code, moved.display_name) == ("leader", fx.DISTRICT_1, "老王")


def test_single_sign_on_maps_an_email_onto_an_account(con):
    accounts.create_account(
        con, "li@example.gov.cn", "leader", fx.DISTRICT_1, None, actor=SYSTEM, source="cli"
    )
    mapped = accounts.account_for_email(con, "LI@Example.gov.cn ")
    assert mapped is not None and mapped.sso_only and mapped.principal.org_code == fx.DISTRICT_1
    assert accounts.account_for_email(con, "someone@example.gov.cn") is None
    assert accounts.account_for_email(con, None) is None
    assert accounts.account_for_email(con, "jiedao") is None, "only an e-mail address maps"
    assert accounts.sso_sign_in(con, "li@example.gov.cn", source="web sso").role == "leader"
    with pytest.raises(LoginFailed) as refused:
        accounts.sso_sign_in(con, "someone@example.gov.cn", source="web sso")
    assert refused.value.code == "login.sso_unknown"
    with pytest.raises(LoginFailed):
        accounts.authenticate(con, "li@example.gov.cn", "", source="web")
    accounts.set_active(con, "li@example.gov.cn", False, actor=SYSTEM, source="cli")
    assert accounts.account_for_email(con, "li@example.gov.cn") is None
    assert audit.entries(con, action="login", outcome="refused")["source"].tolist() == ["web sso"]


def test_demo_accounts_are_bound_to_the_first_district_and_street(con):
    accounts.add_demo_accounts(con, fx.registry())
    shown = {c.name: (c.role, c.org_code, c.password) for c in accounts.demo_credentials(con)}
    assert shown == {
        "admin": ("admin", None, "admin-demo"),
        "leader": ("leader", fx.DISTRICT_1, "leader-demo"),
        "staff": ("staff", fx.STREET_1, "staff-demo"),
    }
    for name, (_, _, password) in shown.items():
        assert accounts.authenticate(con, name, password, source="web").name == name


# ---- the `users` command --------------------------------------------------------------------------


def users(capsys, monkeypatch, db, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["users", *args, "--db", str(db)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_users_command(capsys, monkeypatch, template, tmp_path):
    db = tmp_path / "cli.duckdb"
    shutil.copyfile(template, db)
    code, out, _ = users(
        capsys,
        monkeypatch,
        db,
        "add",
        "zhao",
        "--role",
        "staff",
        "--unit",
        fx.STREET_2,
        "--password-stdin",
        stdin="s3cret-password\n",
    )
    assert code == 0 and "zhao" in out and "s3cret-password" not in out

    code, out, _ = users(capsys, monkeypatch, db, "list", "--json")
    listed = {row["name"]: row for row in json.loads(out)}
    assert set(listed) == {*fx.ACCOUNTS, "zhao"}
    assert listed["zhao"]["org_code"] == fx.STREET_2 and listed["zhao"]["active"] is True
    assert not any("hash" in key for key in listed["zhao"])

    for action in ("disable", "enable", "unlock"):
        assert users(capsys, monkeypatch, db, action, "zhao")[0] == 0
    assert (
        users(
            capsys,
            monkeypatch,
            db,
            "set-password",
            "zhao",
            "--password-stdin",
            stdin="another-password\n",
        )[0]
        == 0
    )

    code, _, err = users(capsys, monkeypatch, db, "add", "qian", "--role", "leader")
    assert code == 1 and "district or street" not in err and "区或街道" in err, (
        "refused before any password is asked"
    )
    code, _, err = users(capsys, monkeypatch, db, "add", "qian", "--role", "admin")
    assert code == 2 and "--password-stdin" in err, "no terminal and no --password-stdin"
    code, _, err = users(capsys, monkeypatch, db, "disable", "nobody", "--lang", "en")
    assert code == 1 and "nobody" in err

    con = store.connect(db)
    try:
        logged = audit.entries(con, actor="cli")
        assert (
            accounts.authenticate(con, "zhao", "another-password", source="test").org_code
            == fx.STREET_2
        )
    finally:
        con.close()
    assert logged["action"].tolist()[::-1] == [
        "account.create",
        "account.disable",
        "account.enable",
        "account.unlock",
        "account.password",
    ]
    assert all(source.startswith("cli:") for source in logged["source"])
