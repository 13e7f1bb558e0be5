"""The DuckDB store on real database files: migrations, revisions, rollback, as-of, scores."""

from __future__ import annotations

import datetime as dt
import threading

import duckdb
import pandas as pd
import pytest
from conftest import COMMUNITIES, STREETS, noisy_values, small_registry, values_at, write

from indicators import store
from indicators.access import Principal
from indicators.catalog import parse_catalog
from indicators.operations import import_registry, open_store, recompute, rollback_batch
from indicators.periods import month_range
from indicators.recompute import recompute_all

MONTHS = month_range("2024-01", "2025-12")

TABLES_COMPARED = {
    "unit_scores": ["version", "granularity", "unit_level", "code", "period"],
    "dimension_scores": ["version", "granularity", "code", "period", "dimension"],
    "indicator_scores": ["version", "granularity", "code", "period", "indicator"],
    "level_counts": ["version", "granularity", "code", "period", "state"],
    "escalations": ["version", "unit_level", "code", "period"],
    "jumps": ["version", "code", "period", "indicator"],
}

ADMIN = Principal("admin", "admin", None)


def table(con, name: str) -> pd.DataFrame:
    frame = con.execute(f"SELECT * FROM {name}").df()
    return frame.sort_values(TABLES_COMPARED[name]).reset_index(drop=True)


def test_new_database_has_every_migration(empty_db):
    assert store.schema_version(empty_db) == store.MIGRATIONS[-1].number


def test_database_from_an_earlier_schema_is_upgraded_in_place(db_path, catalog):
    old = duckdb.connect(str(db_path))
    old.execute(store.SQL_CREATE_MIGRATIONS)
    old.execute(store.MIGRATION_1_INITIAL)
    old.execute(store.SQL_RECORD_MIGRATION, [1, "initial", store.utc_now()])
    old.execute(
        "INSERT INTO current_values VALUES ('990101001001', '2025-01', 'satisfaction', 70.5, 1, 1)"
    )
    old.close()

    con = store.connect(db_path)
    assert store.schema_version(con) == store.MIGRATIONS[-1].number
    assert store.current_values(con, scope=None)["value"].tolist() == [70.5]
    assert con.execute("SELECT count(*) FROM unit_scores").fetchall() == [(0,)]
    con.close()


def test_write_counts_new_changed_unchanged_and_keeps_revisions(small_db, catalog):
    first = values_at(catalog, list(COMMUNITIES[:2]), ["2025-01"], 0.5)
    outcome = write(small_db, catalog, first)
    assert (outcome.status, outcome.values_new, outcome.values_changed) == ("committed", 26, 0)

    again = write(small_db, catalog, first)
    assert (again.status, again.batch_id, again.values_unchanged) == ("unchanged", None, 26)
    assert len(store.batches(small_db, scope=None).query("kind == 'import'")) == 1

    changed = first.copy()
    changed.loc[changed["indicator"] == "satisfaction", "value"] = 88.0
    third = write(small_db, catalog, changed, user="王芳")
    assert (third.values_new, third.values_changed, third.values_unchanged) == (0, 2, 24)

    history = store.cell_history(small_db, COMMUNITIES[0], "satisfaction", scope=None)
    assert history["revision"].tolist() == [1, 2]
    assert history["previous_value"].isna().tolist() == [True, False]
    assert history["value"].tolist() == [72.5, 88.0]
    assert history["user_name"].tolist() == ["test", "王芳"]


def test_rollback_restores_previous_revision_and_is_recorded(small_db, catalog):
    base = values_at(catalog, list(COMMUNITIES[:1]), ["2025-01"], 0.5)
    write(small_db, catalog, base)
    update = base.copy()
    update["value"] = update["value"] + 1
    extra = values_at(catalog, list(COMMUNITIES[:1]), ["2025-02"], 0.9)
    batch = write(small_db, catalog, pd.concat([update, extra]))
    before = store.scores(small_db, catalog, period="2025-01", scope=None)

    rolled = rollback_batch(small_db, catalog, batch.batch_id, ADMIN)
    assert rolled.values_changed == len(update) + len(extra)
    current = store.current_values(small_db, scope=None)
    assert sorted(current["period"].unique()) == ["2025-01"]
    pd.testing.assert_series_equal(
        current.sort_values("indicator")["value"].reset_index(drop=True),
        base.sort_values("indicator")["value"].reset_index(drop=True),
        check_names=False,
    )
    info = store.batch(small_db, batch.batch_id)
    assert (info["status"], info["rolled_back_by"]) == ("rolled_back", rolled.batch_id)
    assert store.batch(small_db, rolled.batch_id)["kind"] == "rollback"
    assert store.scores(small_db, catalog, period="2025-02", scope=None).empty
    after = store.scores(small_db, catalog, period="2025-01", scope=None)
    assert after["index"].iloc[0] != pytest.approx(before["index"].iloc[0])
    assert after["index"].iloc[0] == pytest.approx(50.0)

    with pytest.raises(store.StoreError) as refused:
        rollback_batch(small_db, catalog, batch.batch_id, ADMIN)
    assert refused.value.code == "batch_rolled_back"


def test_rollback_refused_when_a_later_batch_changed_the_cells(small_db, catalog):
    first = write(small_db, catalog, values_at(catalog, [COMMUNITIES[0]], ["2025-01"], 0.5))
    write(small_db, catalog, values_at(catalog, [COMMUNITIES[0]], ["2025-01"], 0.6))
    with pytest.raises(store.StoreError) as refused:
        rollback_batch(small_db, catalog, first.batch_id, ADMIN)
    assert refused.value.code == "batch_superseded"
    assert "先回滚" in refused.value.message_zh


def test_values_as_of_rebuild_the_past(small_db, catalog):
    write(small_db, catalog, values_at(catalog, [COMMUNITIES[0]], ["2025-01"], 0.5))
    moment = store.utc_now()
    write(small_db, catalog, values_at(catalog, [COMMUNITIES[0]], ["2025-01"], 0.8))
    then = store.values_as_of(small_db, moment, scope=None)
    now = store.current_values(small_db, scope=None)
    expected = values_at(catalog, [COMMUNITIES[0]], ["2025-01"], 0.5)
    assert sorted(then["value"]) == sorted(expected["value"])
    assert sorted(now["value"]) != sorted(then["value"])
    assert store.values_as_of(small_db, moment - dt.timedelta(days=1), scope=None).empty


def test_incremental_recompute_equals_full_recompute(small_db, catalog, tmp_path):
    history = noisy_values(catalog, list(COMMUNITIES), MONTHS[:-1], seed=3)
    write(small_db, catalog, history)
    new_month = noisy_values(catalog, list(COMMUNITIES[:4]), MONTHS[-1:], seed=4)
    revised = noisy_values(catalog, [COMMUNITIES[1]], ["2025-03"], seed=5)
    write(small_db, catalog, pd.concat([new_month, revised]))
    incremental = {name: table(small_db, name) for name in TABLES_COMPARED}

    with store.transaction(small_db) as cursor:
        recompute_all(cursor, catalog)
    for name in TABLES_COMPARED:
        full = table(small_db, name)
        assert len(full) == len(incremental[name]), name
        pd.testing.assert_frame_equal(full, incremental[name], check_dtype=False, obj=name)


def test_street_rollup_is_the_mean_of_its_communities(small_db, catalog):
    write(small_db, catalog, noisy_values(catalog, list(COMMUNITIES), ["2025-06"]))
    communities = store.scores(small_db, catalog, period="2025-06", scope=None)
    streets = store.scores(small_db, catalog, unit_level="street", period="2025-06", scope=None)
    for street in STREETS:
        members = communities[communities["code"].str.startswith(street[:9])]
        row = streets[streets["code"] == street].iloc[0]
        assert row["index"] == pytest.approx(members["index"].mean())
        assert row["coverage"] == pytest.approx(1.0)
    counts = store.level_counts(small_db, catalog, STREETS[0], "2025-06", scope=None)
    assert sum(counts[level] for level in catalog.level_ids) == 3
    assert counts["missing"] == 0


def test_a_new_catalog_version_recomputes_and_keeps_the_old(small_db, catalog, db_path):
    write(small_db, catalog, values_at(catalog, list(COMMUNITIES), ["2025-01"], 0.5))
    small_db.close()
    raw = catalog.model_dump(mode="json")
    raw["version"] = "2026.2"
    for indicator in raw["indicators"]:
        if indicator["id"] == "satisfaction":
            indicator["best"] = 100.0
    newer = parse_catalog(raw)
    con = open_store(db_path, newer)
    old = store.scores(con, catalog, period="2025-01", scope=None)
    new = store.scores(con, newer, period="2025-01", scope=None)
    assert len(old) == len(new) == len(COMMUNITIES)
    assert (new["index"] < old["index"]).all()
    assert set(store.catalog_versions(con)["version"]) == {catalog.version, "2026.2"}

    raw["indicators"][0]["worst"] = 40.0
    with pytest.raises(store.StoreError) as refused:
        open_store(db_path, parse_catalog(raw))
    assert refused.value.code == "catalog_version_reused"
    con.close()


def test_registry_keeps_the_history_of_renames(small_db, catalog):
    renamed = small_registry()
    renamed.loc[renamed["code"] == COMMUNITIES[0], "name"] = "新名字社区"
    assert import_registry(small_db, catalog, renamed, user="admin") == 1
    history = store.org_history(small_db, COMMUNITIES[0], scope=None)
    assert history["name"].tolist() == ["测试社区001", "新名字社区"]
    assert store.registry(small_db, scope=COMMUNITIES[0])["name"].tolist() == ["新名字社区"]


def test_imports_from_threads_are_serialised_without_loss(small_db, catalog):
    errors: list[BaseException] = []

    def worker(month: str) -> None:
        try:
            write(small_db, catalog, values_at(catalog, list(COMMUNITIES), [month], 0.6))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(m,)) for m in MONTHS[:8]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.value_count(small_db) == 8 * len(COMMUNITIES) * len(catalog.indicators)
    assert len(store.batches(small_db, scope=None).query("kind == 'import'")) == 8
    assert len(store.scores(small_db, catalog, scope=None)) == 8 * len(COMMUNITIES)


def test_second_process_gets_a_plain_busy_error(empty_db, db_path):
    import subprocess
    import sys

    code = (
        "from indicators import store\n"
        f"try:\n    store.connect({str(db_path)!r})\n"
        "except store.DatabaseBusyError as e:\n    print(e.code); print(e.message_en)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("database_busy")
    assert "inbox" in done.stdout
    assert "Traceback" not in done.stderr


def test_recompute_command_is_idempotent(small_db, catalog):
    write(small_db, catalog, noisy_values(catalog, list(COMMUNITIES), MONTHS[:3]))
    before = table(small_db, "unit_scores")
    recompute(small_db, catalog)
    pd.testing.assert_frame_equal(before, table(small_db, "unit_scores"), check_dtype=False)


def only(catalog, code: str, month: str, fraction: float, indicator: str) -> pd.DataFrame:
    return values_at(catalog, [code], [month], fraction, [indicator])


def test_rollback_after_a_later_batch_was_itself_rolled_back(small_db, catalog):
    """A; B changes one of A's cells; B rolled back (batch C): A can still be rolled back."""
    code = COMMUNITIES[0]
    base = write(small_db, catalog, values_at(catalog, [code], ["2025-01"], 0.3))
    first = write(small_db, catalog, values_at(catalog, [code], ["2025-01"], 0.5))
    second = write(small_db, catalog, only(catalog, code, "2025-01", 0.6, "satisfaction"))
    undo_second = rollback_batch(small_db, catalog, second.batch_id, ADMIN)

    undo_first = rollback_batch(small_db, catalog, first.batch_id, ADMIN)

    assert undo_first.values_changed == len(catalog.indicators)
    expected = sorted(values_at(catalog, [code], ["2025-01"], 0.3)["value"])
    assert sorted(store.current_values(small_db, scope=None)["value"]) == expected
    assert sorted(store.values_as_of(small_db, store.utc_now(), scope=None)["value"]) == expected
    history = store.cell_history(small_db, code, "satisfaction", scope=None)
    assert history["revision"].tolist() == [1, 2, 3, 4, 5]
    batches = [base, first, second, undo_second, undo_first]
    assert history["batch_id"].tolist() == [b.batch_id for b in batches]
    value = {
        f: only(catalog, code, "2025-01", f, "satisfaction")["value"].iat[0]
        for f in (0.3, 0.5, 0.6)
    }
    assert history["value"].tolist() == [value[f] for f in (0.3, 0.5, 0.6, 0.5, 0.3)]
    assert history["previous_value"].tolist()[1:] == [value[f] for f in (0.3, 0.5, 0.6, 0.5)]
    assert store.cell_history(small_db, code, "response_hours", scope=None)[
        "revision"
    ].tolist() == [1, 2, 3]
    assert store.batch(small_db, first.batch_id)["status"] == "rolled_back"
    assert store.batch(small_db, undo_first.batch_id)["rollback_of"] == first.batch_id


def test_rollback_of_a_first_import_removes_its_cells_after_a_rolled_back_correction(
    small_db, catalog
):
    code = COMMUNITIES[1]
    write(small_db, catalog, values_at(catalog, [code], ["2025-01"], 0.4))
    first = write(small_db, catalog, values_at(catalog, [code], ["2025-02"], 0.5))
    second = write(small_db, catalog, only(catalog, code, "2025-02", 0.9, "satisfaction"))
    rollback_batch(small_db, catalog, second.batch_id, ADMIN)
    rollback_batch(small_db, catalog, first.batch_id, ADMIN)
    assert set(store.current_values(small_db, scope=None)["period"]) == {"2025-01"}
    assert store.scores(small_db, catalog, period="2025-02", scope=None).empty
    history = store.cell_history(small_db, code, "satisfaction", scope=None)
    history = history[history["period"] == "2025-02"]
    assert history["revision"].tolist() == [1, 2, 3, 4]
    assert history["value"].isna().tolist() == [False, False, False, True]


def test_rollback_still_refused_while_a_later_value_stands(small_db, catalog):
    code = COMMUNITIES[2]
    first = write(small_db, catalog, values_at(catalog, [code], ["2025-03"], 0.5))
    second = write(small_db, catalog, only(catalog, code, "2025-03", 0.6, "satisfaction"))
    third = write(small_db, catalog, only(catalog, code, "2025-03", 0.7, "response_hours"))
    rollback_batch(small_db, catalog, third.batch_id, ADMIN)
    with pytest.raises(store.StoreError) as refused:
        rollback_batch(small_db, catalog, first.batch_id, ADMIN)
    assert refused.value.code == "batch_superseded"
    assert f"batch(es) {second.batch_id} " in refused.value.message_en
    assert "satisfaction" in refused.value.message_en
    assert store.batch(small_db, first.batch_id)["status"] == "committed"


@pytest.mark.parametrize("others_have_data", [True, False], ids=["others", "alone"])
def test_rolling_back_a_communitys_only_data_removes_its_scores(
    small_db, catalog, others_have_data
):
    code = COMMUNITIES[3]
    if others_have_data:
        write(
            small_db, catalog, noisy_values(catalog, list(COMMUNITIES[:3]), ["2025-01", "2025-02"])
        )
    only_data = write(small_db, catalog, values_at(catalog, [code], ["2025-02"], 0.6))

    rolled = rollback_batch(small_db, catalog, only_data.batch_id, ADMIN)

    assert rolled.values_changed == len(catalog.indicators)
    assert code not in set(store.current_values(small_db, scope=None)["community_code"])
    assert code not in set(store.scores(small_db, catalog, period="2025-02", scope=None)["code"])
    incremental = {name: table(small_db, name) for name in TABLES_COMPARED}
    with store.transaction(small_db) as cursor:
        recompute_all(cursor, catalog)
    for name in TABLES_COMPARED:
        pd.testing.assert_frame_equal(
            table(small_db, name), incremental[name], check_dtype=False, obj=name
        )


def test_a_cell_removed_by_a_rollback_continues_its_revisions_when_imported_again(
    small_db, catalog
):
    code = COMMUNITIES[4]
    write(small_db, catalog, values_at(catalog, [code], ["2025-01"], 0.4))
    first = write(small_db, catalog, only(catalog, code, "2025-02", 0.5, "satisfaction"))
    after_first = store.utc_now()
    rollback_batch(small_db, catalog, first.batch_id, ADMIN)
    after_rollback = store.utc_now()
    again = write(small_db, catalog, only(catalog, code, "2025-02", 0.7, "satisfaction"))

    history = store.cell_history(small_db, code, "satisfaction", scope=None)
    history = history[history["period"] == "2025-02"]
    assert history["revision"].tolist() == [1, 2, 3]
    assert history["batch_id"].tolist()[::2] == [first.batch_id, again.batch_id]
    value = {
        f: only(catalog, code, "2025-02", f, "satisfaction")["value"].iat[0] for f in (0.5, 0.7)
    }
    assert history["value"].tolist()[::2] == [value[0.5], value[0.7]]
    assert history["value"].isna().tolist() == [False, True, False]

    def as_of(moment: dt.datetime) -> list[float]:
        cells = store.values_as_of(small_db, moment, "2025-02", scope=None)
        return cells[cells["indicator"] == "satisfaction"]["value"].tolist()

    assert as_of(after_first) == [value[0.5]]
    assert as_of(after_rollback) == []
    assert as_of(store.utc_now()) == [value[0.7]]
    current = store.current_values(small_db, "2025-02", scope=None)
    assert current["value"].tolist() == [value[0.7]]

    rollback_batch(small_db, catalog, again.batch_id, ADMIN)
    history = store.cell_history(small_db, code, "satisfaction", scope=None)
    assert history[history["period"] == "2025-02"]["revision"].tolist() == [1, 2, 3, 4]
    assert store.current_values(small_db, "2025-02", scope=None).empty


@pytest.mark.parametrize("unit_level", ["district", "street", "community"])
def test_scores_carry_the_dimension_scores_of_their_own_units(small_db, catalog, unit_level):
    """The dimension columns of a level's scores come from that level's own rows (the
    dimension table has no level column, so the read filters on the code)."""
    write(small_db, catalog, noisy_values(catalog, list(COMMUNITIES), MONTHS[:3], seed=7))
    frame = store.scores(small_db, catalog, unit_level=unit_level, scope=None)
    stored = small_db.execute(
        "SELECT code, period, dimension, score FROM dimension_scores "
        "WHERE version = ? AND granularity = 'month'",
        [catalog.version],
    ).df()
    stored = stored[stored["code"].isin(set(frame["code"]))]
    assert len(frame) and len(stored)
    dimension = catalog.weighted_dimensions[0].id
    expected = stored[stored["dimension"] == dimension].set_index(["code", "period"])["score"]
    shown = frame.set_index(["code", "period"])[dimension].dropna()
    assert len(shown) == len(expected.dropna())
    assert (shown - expected.reindex(shown.index)).abs().max() < 1e-9
