"""Signing in through AppTest: navigation per role, sign-out, lock-out, idle expiry, URL scope, admin pages."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from indicators import accounts, audit, operations, store
from tests import accounts_fixtures as fx
from ui.state import area_labels

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 90
LOGIN = {"login.py"}
DASHBOARD = {"overview.py", "community.py", "alerts.py", "methodology.py"}
ADMIN_ONLY = {"admin_users.py", "audit_log.py"}


@pytest.fixture(scope="module")
def template(tmp_path_factory, catalog):
    return fx.build(tmp_path_factory.mktemp("auth") / "auth.duckdb", catalog)


@pytest.fixture
def db(template, tmp_path):
    """A private copy: sign-ins write failure counts and the audit log."""
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(template, target)
    return target


def app(
    monkeypatch, db: Path, principal: str | None = None, query: dict[str, str] | None = None
) -> AppTest:
    monkeypatch.setenv("HEALTH_DB", str(db))
    monkeypatch.setenv("HEALTH_DEMO", "0")
    monkeypatch.setenv("HEALTH_INBOX", str(db.parent / "inbox"))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if principal is not None:
        test.session_state["principal"] = fx.principal(principal)
    for key, value in (query or {}).items():
        test.query_params[key] = value
    test.run()
    assert [e.value for e in test.exception] == []
    return test


def navigation(test: AppTest) -> set[str]:
    """The page files the app's st.navigation offered in the last run."""
    return {Path(str(info["script_path"])).name for info in test._registered_pages.values()}


def sign_in(test: AppTest, name: str, password: str) -> AppTest:
    test.text_input(key="lg_name").input(name)
    test.text_input(key="lg_password").input(password)
    test.button(key="lg_submit").click().run()
    assert [e.value for e in test.exception] == []
    return test


def audit_log(db: Path, **filters: str):
    con = store.connect(db)
    try:
        return audit.entries(con, **filters)
    finally:
        con.close()


def test_signed_out_sees_only_the_login_page(monkeypatch, db):
    test = app(monkeypatch, db)
    assert navigation(test) == LOGIN
    assert test.title[0].value == "社区治理健康指数"
    assert not test.sidebar.selectbox, "no area filters and no data before signing in"
    assert not test.dataframe and not test.warning, (
        "no demo accounts, no first-admin hint: accounts exist"
    )
    with pytest.raises(ValueError, match="overview"):
        test.switch_page("app_pages/overview.py")


@pytest.mark.parametrize(
    ("name", "has", "lacks", "district", "street"),
    [
        # district / street: the value the sidebar fixes, or None where the account may choose
        ("root", DASHBOARD | ADMIN_ONLY | {"upload.py"}, set(), None, None),
        ("quzhang", DASHBOARD, ADMIN_ONLY | {"upload.py"}, fx.DISTRICT_1, None),
        ("jiedao", DASHBOARD | {"upload.py"}, ADMIN_ONLY, fx.DISTRICT_1, fx.STREET_1),
    ],
)
def test_each_role_signs_in_sees_its_pages_and_signs_out(
    monkeypatch, db, name, has, lacks, district, street
):
    test = sign_in(app(monkeypatch, db), name, fx.PASSWORD)
    pages = navigation(test)
    assert has <= pages and not lacks & pages and "login.py" not in pages
    assert test.title[0].value == "总览"
    for key, fixed in (("sb_district", district), ("sb_street", street)):
        box = test.selectbox(key=key)
        if fixed is None:
            assert "全部" in box.options
        else:
            assert (box.value, box.disabled, box.options) == (fixed, True, [box.format_func(fixed)])
    assert any(f"当前用户：{name}" in caption.value for caption in test.sidebar.caption)
    for page in lacks:
        with pytest.raises(ValueError):
            test.switch_page(f"app_pages/{page}")

    test.button(key="sb_logout").click().run()
    assert navigation(test) == LOGIN
    assert "您已退出登录" in test.info[0].value
    logged = audit_log(db, actor=name)
    assert logged["action"].tolist() == ["logout", "login"]
    assert set(logged["source"]) == {"web:localhost"}


def test_lockout_through_the_login_form(monkeypatch, db):
    test = app(monkeypatch, db)
    for _ in range(accounts.MAX_FAILED_ATTEMPTS - 1):
        sign_in(test, "jiedao", "wrong password")
        assert test.error[0].value == "账号或密码不正确。"
    sign_in(test, "jiedao", "wrong password")
    assert "已锁定" in test.error[0].value
    sign_in(test, "jiedao", fx.PASSWORD)
    assert "已锁定" in test.error[0].value and navigation(test) == LOGIN
    assert audit_log(db, actor="jiedao")["outcome"].tolist() == [
        "refused",
        *["failed"] * accounts.MAX_FAILED_ATTEMPTS,
    ]


def test_url_parameters_outside_the_scope_are_refused(monkeypatch, db):
    test = app(
        monkeypatch, db, "jiedao", {"d": fx.DISTRICT_2, "s": fx.STREET_2, "c": fx.IN_DISTRICT_2}
    )
    refusals = " ".join(error.value for error in test.error)
    for unit in (fx.DISTRICT_2, fx.STREET_2, fx.IN_DISTRICT_2):
        assert unit in refusals and "不在" in refusals
    assert test.selectbox(key="sb_district").value == fx.DISTRICT_1
    assert test.selectbox(key="sb_street").value == fx.STREET_1
    assert not test.selectbox(key="sb_community").value, "the refused community is not chosen"
    assert (test.query_params.get("d"), test.query_params.get("s")) == (fx.DISTRICT_1, fx.STREET_1)
    assert "c" not in test.query_params

    inside = app(monkeypatch, db, "quzhang", {"s": fx.STREET_2})
    assert not inside.error
    assert inside.selectbox(key="sb_street").value == fx.STREET_2


def test_an_idle_session_expires(monkeypatch, db):
    monkeypatch.setenv("HEALTH_DB", str(db))
    monkeypatch.setenv("HEALTH_DEMO", "0")
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    test.session_state["principal"] = fx.principal("quzhang")
    test.session_state["auth_last_seen"] = time.time() - (accounts.IDLE_TIMEOUT_MINUTES * 60 + 5)
    test.run()
    assert navigation(test) == LOGIN
    assert f"{accounts.IDLE_TIMEOUT_MINUTES} 分钟无操作" in test.warning[0].value
    assert audit_log(db, actor="quzhang")["detail"].tolist() == ["idle timeout"]


def test_a_database_without_accounts_says_how_to_create_the_first_admin(
    monkeypatch, tmp_path, catalog
):
    operations.open_store(tmp_path / "fresh.duckdb", catalog).close()
    test = app(monkeypatch, tmp_path / "fresh.duckdb")
    assert "还没有账号" in test.warning[0].value
    assert any("users add NAME --role admin" in block.value for block in test.code)


def test_admin_creates_an_account_and_finds_it_in_the_audit_log(monkeypatch, db):
    test = app(monkeypatch, db, "root")
    test.switch_page("app_pages/admin_users.py").run()
    assert test.title[0].value == "账号管理"
    test.text_input(key="au_new_name").input("sun")
    test.selectbox(key="au_new_role").set_value("staff")
    test.selectbox(key="au_new_unit").set_value(fx.STREET_2)
    test.text_input(key="au_new_password").input("short")
    test.button(key="FormSubmitter:au_create-创建账号").click().run()
    assert "至少需要" in test.error[0].value
    test.text_input(key="au_new_name").input("sun")
    test.selectbox(key="au_new_role").set_value("staff")
    test.selectbox(key="au_new_unit").set_value(fx.STREET_2)
    test.text_input(key="au_new_password").input(fx.PASSWORD)
    test.button(key="FormSubmitter:au_create-创建账号").click().run()
    assert [e.value for e in test.exception] == []
    assert "sun" in test.success[0].value
    con = store.connect(db)
    try:
        assert accounts.get_account(con, "sun").principal.org_code == fx.STREET_2
    finally:
        con.close()

    test.switch_page("app_pages/audit_log.py").run()
    test.selectbox(key="lo_action").set_value("account.create").run()
    shown = test.dataframe[0].value
    assert "sun" in shown["对象"].tolist() and set(shown["操作"]) == {"新建账号"}
    assert shown["来源"].iloc[0] == "web:localhost"


def test_area_labels_tell_units_with_the_same_name_apart():
    names = {"130105000000": "新华区", "130902000000": "新华区", "130104000000": "桥西区"}
    label = area_labels(["", *names], names, "全部")
    assert [label(code) for code in ["", *names]] == [
        "全部",
        "新华区（130105000000）",
        "新华区（130902000000）",
        "桥西区",
    ]


def test_a_disabled_account_is_signed_out_and_a_changed_unit_applies_at_once(monkeypatch, db):
    staff = app(monkeypatch, db, "jiedao")
    leader = app(monkeypatch, db, "quzhang")
    con = store.connect(db)
    try:
        accounts.set_active(con, "jiedao", False, actor=fx.principal("root"), source="test")
        accounts.update_account(
            con,
            "quzhang",
            role="leader",
            org_code=fx.STREET_2,
            display_name=None,
            actor=fx.principal("root"),
            source="test",
        )
    finally:
        con.close()
    staff.run()
    assert navigation(staff) == LOGIN and "停用" in staff.info[0].value
    leader.run()
    street = leader.selectbox(key="sb_street")
    assert (street.value, street.disabled) == (fx.STREET_2, True)
