"""Device tokens: stored hashed, scoped to a unit, expiring, revocable, audited; and the CLI."""

from __future__ import annotations

import datetime as dt

import pytest

from indicators import audit, store, tokens
from indicators.__main__ import main
from indicators.access import SYSTEM, AccessDenied, Principal
from tests.conftest import COMMUNITIES, DISTRICT, STREETS

NOW = dt.datetime(2026, 11, 20, 9, 0)
STREET_ADMIN = Principal("street-admin", "admin", STREETS[0])


def stored_rows(con) -> list[tuple]:
    return con.execute(
        "SELECT token_id, token_hash, label, org_code, expires_at FROM device_tokens"
    ).fetchall()


def test_only_the_hash_is_stored_and_the_token_verifies(small_db):
    issued = tokens.issue(small_db, SYSTEM, STREETS[0], days=30, label="三楼会议室", now=NOW)
    [(token_id, token_hash, label, org_code, expires_at)] = stored_rows(small_db)
    assert token_id == issued.token_id and len(token_id) == 2 * tokens.TOKEN_ID_BYTES
    assert token_hash == tokens.hash_token(issued.token) != issued.token
    assert issued.token not in str(small_db.execute("SELECT * FROM device_tokens").fetchall())
    assert len(issued.token) >= 43, "32 random bytes, URL-safe"
    assert (label, org_code, expires_at) == ("三楼会议室", STREETS[0], NOW + dt.timedelta(days=30))

    device = tokens.verify(small_db, issued.token, now=NOW + dt.timedelta(days=29))
    assert (device.role, device.org_code, device.name) == (
        "device",
        STREETS[0],
        f"device:{token_id}",
    )
    assert device.may("view_aggregates") and not device.may("view") and not device.may("upload")


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("not-a-token", "unknown"),
    ],
)
def test_a_missing_or_wrong_token_is_refused(small_db, given, reason):
    tokens.issue(small_db, SYSTEM, DISTRICT, now=NOW)
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.verify(small_db, given, now=NOW)
    assert refused.value.reason == reason
    assert refused.value.message("zh") and refused.value.message("en")


def test_a_token_expires(small_db):
    issued = tokens.issue(small_db, SYSTEM, DISTRICT, days=1, now=NOW)
    tokens.verify(small_db, issued.token, now=NOW + dt.timedelta(hours=23, minutes=59))
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.verify(small_db, issued.token, now=NOW + dt.timedelta(days=1))
    assert refused.value.reason == "expired"
    assert "2026-11-21 09:00" in refused.value.message("en")


@pytest.mark.parametrize("days", [0, -3, tokens.MAX_DAYS + 1])
def test_every_token_has_a_bounded_lifetime(small_db, days):
    with pytest.raises(store.StoreError, match="1"):
        tokens.issue(small_db, SYSTEM, DISTRICT, days=days, now=NOW)
    assert stored_rows(small_db) == []


def test_a_revoked_token_is_refused_and_the_refusal_is_audited(small_db):
    issued = tokens.issue(small_db, SYSTEM, STREETS[1], now=NOW)
    tokens.revoke(small_db, SYSTEM, issued.token_id, now=NOW)
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.verify(small_db, issued.token, now=NOW)
    assert refused.value.reason == "revoked"
    with pytest.raises(store.StoreError, match="已于"):
        tokens.revoke(small_db, SYSTEM, issued.token_id, now=NOW)

    log = audit.entries(small_db)
    by_action = {
        (a, o): (actor, target, detail)
        for a, o, actor, target, detail in zip(
            log["action"], log["outcome"], log["actor"], log["target"], log["detail"], strict=True
        )
    }
    assert by_action[("token.issue", "ok")][1] == issued.token_id
    assert by_action[("token.revoke", "ok")][:2] == ("system", issued.token_id)
    assert by_action[("token.use", "refused")] == (
        f"device:{issued.token_id}",
        issued.token_id,
        "revoked",
    )
    assert issued.token not in log.to_string(), "the audit log never holds a token"


def test_scope_an_admin_issues_lists_and_revokes_only_inside_its_subtree(small_db):
    inside = tokens.issue(small_db, STREET_ADMIN, COMMUNITIES[0], now=NOW)
    outside = tokens.issue(small_db, SYSTEM, STREETS[1], now=NOW)
    with pytest.raises(AccessDenied):
        tokens.issue(small_db, STREET_ADMIN, STREETS[1], now=NOW)
    with pytest.raises(AccessDenied):
        tokens.revoke(small_db, STREET_ADMIN, outside.token_id, now=NOW)
    with pytest.raises(AccessDenied):
        tokens.token_list(small_db, Principal("leader", "leader", None))
    assert tokens.token_list(small_db, STREET_ADMIN, now=NOW)["token_id"].tolist() == [
        inside.token_id
    ]
    assert set(tokens.token_list(small_db, SYSTEM, now=NOW)["token_id"]) == {
        inside.token_id,
        outside.token_id,
    }

    device = tokens.verify(small_db, inside.token, now=NOW)
    assert device.covers(COMMUNITIES[0]) and not device.covers(COMMUNITIES[1])


def test_a_unit_must_exist_in_the_registry(small_db):
    with pytest.raises(store.StoreError, match="990101009000"):
        tokens.issue(small_db, SYSTEM, "990101009000", now=NOW)
    assert stored_rows(small_db) == []


def test_list_status_and_last_seen_written_at_most_once_a_minute(small_db):
    issued = tokens.issue(small_db, SYSTEM, DISTRICT, days=2, now=NOW)
    tokens.verify(small_db, issued.token, now=NOW)
    tokens.verify(small_db, issued.token, now=NOW + dt.timedelta(seconds=50))
    seen = store.scalar(small_db, "SELECT last_seen_at FROM device_tokens")
    assert seen == NOW, "a second use within a minute does not write"
    tokens.verify(small_db, issued.token, now=NOW + dt.timedelta(seconds=61))
    assert store.scalar(small_db, "SELECT last_seen_at FROM device_tokens") == NOW + dt.timedelta(
        seconds=61
    )

    listed = tokens.token_list(small_db, SYSTEM, now=NOW + dt.timedelta(days=3))
    assert listed["status"].tolist() == ["expired"]
    assert "token_hash" not in listed.columns


def test_the_command_line_prints_the_token_once_and_revokes(small_db, db_path, capsys):
    small_db.close()
    assert (
        main(
            [
                "tokens",
                "add",
                "--unit",
                STREETS[0],
                "--days",
                "7",
                "--label",
                "大厅",
                "--db",
                str(db_path),
                "--base-url",
                "http://screen.example:8501/health/",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    token = next(line.split("token: ", 1)[1] for line in printed.splitlines() if "token: " in line)
    assert (
        f"http://screen.example:8501/health/?view=screen&token={token}&unit={STREETS[0]}" in printed
    )

    assert main(["tokens", "list", "--json", "--db", str(db_path)]) == 0
    listed = capsys.readouterr().out
    assert token not in listed and '"status": "active"' in listed and "大厅" in listed
    token_id = next(
        line.split("token ", 1)[1].split()[0]
        for line in printed.splitlines()
        if line.startswith("令牌 / token ")
    )

    assert main(["tokens", "revoke", token_id, "--db", str(db_path)]) == 0
    assert main(["tokens", "revoke", token_id, "--db", str(db_path)]) == 1
    assert main(["tokens", "add", "--unit", STREETS[0], "--days", "0", "--db", str(db_path)]) == 1
    assert "Traceback" not in capsys.readouterr().err
