"""The scope table: role × unit × action → allowed or refused, through the store and through the command line."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from indicators import accounts, audit, operations, store, views
from indicators.__main__ import main
from indicators.access import AccessDenied, effective_scope, require
from indicators.catalog import load_catalog
from indicators.orgs import in_scope
from tests import accounts_fixtures as fx
from tests.conftest import values_at

ACTIONS = ("view", "export", "upload", "rollback")
EVERYTHING = frozenset(ACTIONS)
# account → {unit → the actions allowed there}; everything else is refused.
TABLE: dict[str, dict[str, frozenset[str]]] = {
    "root": {fx.IN_STREET_1: EVERYTHING, fx.IN_STREET_2: EVERYTHING, fx.IN_DISTRICT_2: EVERYTHING},
    "quzhang": {
        fx.IN_STREET_1: frozenset({"view", "export"}),
        fx.IN_STREET_2: frozenset({"view", "export"}),
        fx.IN_DISTRICT_2: frozenset(),
    },
    "jiedao": {
        fx.IN_STREET_1: EVERYTHING,
        fx.IN_STREET_2: frozenset(),
        fx.IN_DISTRICT_2: frozenset(),
    },
}
UNIT_IDS = {
    fx.IN_STREET_1: "own_street",
    fx.IN_STREET_2: "sibling_street",
    fx.IN_DISTRICT_2: "other_district",
}
# An admin's writes do not depend on the unit: they are run (each commit costs a recompute)
# in the other district only, where every other account is refused.
WRITES = ("upload", "rollback")
CASES = [
    pytest.param(name, unit, action, action in allowed, id=f"{name}-{UNIT_IDS[unit]}-{action}")
    for name, units in TABLE.items()
    for unit, allowed in units.items()
    for action in ACTIONS
    if not (name == "root" and action in WRITES and unit != fx.IN_DISTRICT_2)
]


@pytest.fixture(scope="module")
def template(tmp_path_factory, catalog):
    return fx.build(tmp_path_factory.mktemp("access") / "scoped.duckdb", catalog)


@pytest.fixture
def db_file(template, tmp_path):
    """A private copy: the write actions change the data."""
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(template, target)
    return target


def _batch_of(con, name: str, unit: str) -> int:
    """A batch recorded under `name` for `unit` (as if uploaded before the account's unit
    changed), so that rollback is decided by the unit alone. Scores are left as they were:
    only the rollback is under test."""
    values = values_at(load_catalog(), [unit], ["2025-06"], 0.9)
    with store.transaction(con) as cursor:
        outcome = store.write_values(
            cursor,
            values,
            user=name,
            file_name="old.csv",
            sha256=None,
            rows_total=1,
            rows_accepted=1,
            rows_rejected=0,
        )
    return outcome.batch_id


# ---- through the store (and operations, which write through it) --------------------------------


def _store_reads(con, catalog, name: str, unit: str) -> list:
    """Reading `unit` as account `name`, each way a page or command does: the requested unit
    narrowed by access.effective_scope, or a unit addressed directly with the account's scope."""
    principal = fx.principal(name)
    return [
        lambda: store.scores(con, catalog, scope=effective_scope(principal, unit)),
        lambda: views.alert_list(
            con,
            catalog,
            period="2025-06",
            scope=effective_scope(principal, unit),
            today=dt.date(2025, 7, 20),
        ),
        lambda: store.cell_history(con, unit, scope=principal.org_code),
        lambda: store.indicator_scores(con, catalog, unit, scope=principal.org_code),
    ]


def _store_action(con, catalog, name: str, unit: str, action: str) -> None:
    """Performs a write or an export of `unit` as account `name`; raises AccessDenied when refused."""
    principal = fx.principal(name)
    if action == "export":
        require(principal, "export")
        values = store.current_values(con, scope=effective_scope(principal, unit))
        assert set(values["community_code"]) == {unit}
    elif action == "upload":
        report = operations.import_upload(
            con,
            catalog,
            "u.csv",
            fx.upload_csv(catalog, unit, "2025-06", 1.0),
            principal=principal,
            source=fx.SOURCE,
        )
        if report.status == "rejected":
            (problem,) = report.errors
            assert (problem.code, problem.row, problem.value) == ("row_out_of_scope", 2, unit)
            raise AccessDenied(problem.code, problem.message_zh, problem.message_en)
        assert report.status == "committed"
    else:
        batch_id = _batch_of(con, name, unit)
        operations.rollback_batch(con, catalog, batch_id, principal, source=fx.SOURCE)


@pytest.mark.parametrize(("name", "unit", "action", "allowed"), CASES)
def test_scope_table_through_the_store(template, tmp_path, catalog, name, unit, action, allowed):
    db_file = template
    if action in ("upload", "rollback"):
        db_file = tmp_path / "copy.duckdb"
        shutil.copyfile(template, db_file)
    con = operations.open_store(db_file, catalog)
    try:
        if action == "view":
            for read in _store_reads(con, catalog, name, unit):
                if allowed:
                    result = read()
                    codes = set(result["code"]) if "code" in result else {unit}
                    assert all(in_scope(code, unit) for code in codes), codes
                else:
                    with pytest.raises(AccessDenied):
                        read()
        elif allowed:
            _store_action(con, catalog, name, unit, action)
        else:
            with pytest.raises(AccessDenied):
                _store_action(con, catalog, name, unit, action)
        if action in ("upload", "rollback"):
            outcome = "ok" if allowed else "refused"
            logged = audit.entries(con, actor=name, action=action)
            assert logged["outcome"].tolist()[:1] == [outcome]
            assert logged["source"].tolist()[:1] == [fx.SOURCE]
    finally:
        con.close()


@pytest.mark.parametrize("name", list(fx.ACCOUNTS))
def test_every_store_read_returns_only_the_callers_subtree(template, catalog, name):
    principal = fx.principal(name)
    scope = principal.org_code
    con = store.connect(template)
    try:
        codes = {
            "registry": set(store.registry(con, scope=scope)["code"]),
            "scores": set(store.scores(con, catalog, scope=scope)["code"]),
            "street scores": set(
                store.scores(con, catalog, unit_level="street", scope=scope)["code"]
            ),
            "escalations": set(store.escalations(con, catalog, scope=scope)["code"]),
            "jumps": set(store.jumps(con, catalog, scope=scope)["code"]),
            "current values": set(store.current_values(con, scope=scope)["community_code"]),
            "values as of": set(
                store.values_as_of(con, store.utc_now(), scope=scope)["community_code"]
            ),
            "reported": store.reported_communities(con, "2025-06", scope=scope),
            "movers": set(
                store.indicator_scores_pair(con, catalog, *fx.MONTHS, scope=scope)["code"]
            ),
            "alerts": set(views.alert_list(con, catalog, period="2025-06", scope=scope)["code"]),
            "accounts": set(accounts.list_accounts(con, scope=scope)["org_code"].dropna()),
        }
        batches = store.batches(con, scope=scope)
    finally:
        con.close()
    expected = {code for code in fx.COMMUNITIES if in_scope(code, scope)}
    assert codes["current values"] == codes["values as of"] == codes["reported"] == expected
    for what, found in codes.items():
        assert all(in_scope(code, scope) for code in found), (what, found)
    # A subtree sees the value batches that touched it; only the whole registry sees org loads.
    assert set(batches["kind"]) == ({"import", "orgs"} if scope is None else {"import"})


@pytest.mark.parametrize("name", list(fx.ACCOUNTS))
def test_units_addressed_directly_are_refused_outside_the_subtree(template, catalog, name):
    scope = fx.principal(name).org_code
    con = store.connect(template)
    try:
        for unit in (fx.STREET_2, fx.DISTRICT_2, fx.IN_DISTRICT_2):
            reads = [
                (store.level_counts, (con, catalog, unit, "2025-06")),
                (store.org_history, (con, unit)),
                (store.cell_history, (con, unit)),
            ]
            for read, arguments in reads:
                if in_scope(unit, scope):
                    read(*arguments, scope=scope)
                else:
                    with pytest.raises(AccessDenied, match=unit):
                        read(*arguments, scope=scope)
    finally:
        con.close()


def test_a_forgotten_scope_is_a_type_error(template, catalog):
    con = store.connect(template)
    try:
        for read in (
            lambda: store.scores(con, catalog),
            lambda: store.current_values(con),
            lambda: store.registry(con),
            lambda: store.batches(con),
            lambda: views.alert_list(con, catalog),
            lambda: store.cell_history(con, fx.IN_STREET_1),
        ):
            with pytest.raises(TypeError, match="scope"):
                read()
    finally:
        con.close()


# ---- through the command line --------------------------------------------------------------------


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def _cli_action(
    capsys, db_file, catalog, tmp_path, name: str, unit: str, action: str
) -> list[tuple[int, str, str]]:
    db = ["--db", str(db_file), "--user", name]
    if action == "view":
        return [
            _cli(capsys, "history", "--community", unit, *db),
            _cli(capsys, "scores", "--unit", unit, "--format", "json", *db),
            _cli(capsys, "alerts", "--unit", unit, "--period", "2025-06", "--format", "json", *db),
        ]
    if action == "export":
        return [_cli(capsys, "export", "--unit", unit, "--format", "json", *db)]
    if action == "upload":
        # A dry run: the role and subtree are checked before it branches off (the store table
        # above commits); nothing needs recomputing.
        upload = tmp_path / "u.csv"
        upload.write_bytes(fx.upload_csv(catalog, unit, "2025-06", 1.5))
        return [_cli(capsys, "import", str(upload), "--dry-run", "--json", *db)]
    con = operations.open_store(db_file, catalog)
    try:
        batch_id = _batch_of(con, name, unit)
    finally:
        con.close()
    return [_cli(capsys, "rollback", str(batch_id), *db)]


@pytest.mark.parametrize(("name", "unit", "action", "allowed"), CASES)
def test_scope_table_through_the_command_line(
    capsys, template, tmp_path, catalog, name, unit, action, allowed
):
    db_file = template
    if action == "rollback":
        db_file = tmp_path / "copy.duckdb"
        shutil.copyfile(template, db_file)
    results = _cli_action(capsys, db_file, catalog, tmp_path, name, unit, action)
    for exit_code, out, err in results:
        assert exit_code == (0 if allowed else 1), (exit_code, out, err)
        if allowed and action in ("view", "export") and out.lstrip().startswith("["):
            rows = json.loads(out)
            codes = {row.get("code") or row.get("community_code") for row in rows}
            assert all(in_scope(code, unit) for code in codes), codes
        if action == "upload" and fx.ACCOUNTS[name][0] != "leader":
            report = json.loads(out)
            assert report["status"] == ("dry_run" if allowed else "rejected")
            if not allowed:  # the rows outside the subtree are named, with the reason
                assert [(e["code"], e["row"], e["value"]) for e in report["errors"]] == [
                    ("row_out_of_scope", 2, unit)
                ]
        elif not allowed:
            assert err.strip(), "a refusal says why"


def test_export_without_unit_is_the_accounts_subtree(capsys, template):
    code, out, _ = _cli(
        capsys, "export", "--format", "json", "--user", "jiedao", "--db", str(template)
    )
    assert code == 0
    assert {row["community_code"] for row in json.loads(out)} == {fx.IN_STREET_1, "990101001002"}


def test_an_unknown_or_disabled_account_is_a_usage_error(capsys, db_file, catalog):
    con = operations.open_store(db_file, catalog)
    try:
        accounts.set_active(con, "jiedao", False, actor=fx.principal("root"), source=fx.SOURCE)
    finally:
        con.close()
    for user in ("nobody", "jiedao"):
        code, _, err = _cli(capsys, "scores", "--user", user, "--db", str(db_file))
        assert code == 2 and user in err


# ---- exports neutralise spreadsheet formulas ----------------------------------------------------

FORMULAS = {
    fx.IN_STREET_1: '=HYPERLINK("http://x","点击")',
    fx.IN_STREET_2: "+1+1",
    "990101001002": "-2+3",
    fx.IN_DISTRICT_2: "@SUM(A1)",
}


def test_exports_neutralise_formulas(capsys, tmp_path, catalog):
    db_file = fx.build(tmp_path / "formulas.duckdb", catalog, names=FORMULAS, with_accounts=False)
    code, out, _ = _cli(capsys, "scores", "--period", "2025-06", "--db", str(db_file))
    assert code == 0
    names = {row.split(",")[0]: row for row in out.splitlines()[1:]}
    for unit, name in FORMULAS.items():
        assert "'" + name.split(",")[0].replace('"', '""') in names[unit]
    code, out, _ = _cli(
        capsys, "scores", "--period", "2025-06", "--format", "json", "--db", str(db_file)
    )
    assert {row["name"] for row in json.loads(out)} == set(FORMULAS.values()), (
        "JSON keeps the data as it is"
    )
    con = store.connect(db_file)
    try:
        text = operations.csv_bytes(store.registry(con, scope=None)).decode("utf-8-sig")
    finally:
        con.close()
    for name in FORMULAS.values():
        assert ("'" + name).replace('"', '""') in text
    assert operations.neutralise_formula("-3.5") == "-3.5", "a negative number stays a number"
