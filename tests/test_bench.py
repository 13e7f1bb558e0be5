"""The scale benchmark's generator and the engine shortcuts it measures: same results, less work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import first_call, report, steps, tiers
from bench.generate import generate
from indicators import alerts, operations, recompute, store
from indicators.demo import build_city
from indicators.ingest import parse_upload
from indicators.templates import template_headers

SCORE_TABLES = {
    "unit_scores": ["granularity", "unit_level", "code", "period"],
    "dimension_scores": ["granularity", "code", "period", "dimension"],
    "indicator_scores": ["granularity", "code", "period", "indicator"],
    "level_counts": ["granularity", "code", "period", "state"],
    "escalations": ["unit_level", "code", "period"],
    "jumps": ["code", "period", "indicator"],
}


def test_the_generated_upload_is_reproducible_and_accepted_as_staff_would_send_it(
    tmp_path, monkeypatch, catalog
):
    monkeypatch.setattr(tiers, "DATA_ROOT", tmp_path)
    tiny = tiers.Tier("tiny", 2, 2, 3)
    first = generate(tiny, catalog)
    second = generate(tiny, catalog)
    assert first["files"] == second["files"]
    assert first["communities"] == 12

    data = tiny.wide_file.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == template_headers(catalog)
    registry = operations.read_registry(tiny.registry_file.name, tiny.registry_file.read_bytes())
    parsed = parse_upload(
        tiny.wide_file.name, data, catalog, registry_codes=set(registry.units["code"])
    )
    assert parsed.errors == []
    assert len(parsed.values) == first["wide_values"]
    assert parsed.values["community_code"].str.fullmatch(r"\d{12}").all()
    assert set(parsed.values["period"]) == set(
        pd.read_csv(tiny.wide_file, dtype=str, encoding="utf-8-sig")["统计期"]
    )


def test_levels_continued_from_the_last_known_level_equal_levels_over_the_whole_history(catalog):
    rng = np.random.default_rng(5)
    periods = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    rows = []
    for unit in ("a", "b", "c", "d"):
        walk = 70 + np.cumsum(rng.normal(0, 4, len(periods)))
        for period, index in zip(periods, walk, strict=True):
            rows.append((unit, period, np.nan if rng.random() < 0.2 else float(index)))
    rows = [r for r in rows if not (r[0] == "d" and r[1] < "2025-03")]  # "d" has no history
    scores = pd.DataFrame(rows, columns=["code", "period", "index"])
    whole = alerts.assign_levels(scores, catalog, key="code")

    split = "2025-03"
    before = whole[whole["period"] < split]
    last_known = before.groupby("code")["carried_level"].last()
    continued = alerts.assign_levels(
        scores[scores["period"] >= split], catalog, key="code", initial=last_known
    )
    expected = whole[whole["period"] >= split].reset_index(drop=True)
    columns = ["code", "period", *alerts.LEVEL_COLUMNS]
    pd.testing.assert_frame_equal(continued[columns].reset_index(drop=True), expected[columns])


def _scored_tables(con) -> dict[str, pd.DataFrame]:
    return {
        name: con.execute(f"SELECT * FROM {name}").df().sort_values(keys).reset_index(drop=True)
        for name, keys in SCORE_TABLES.items()
    }


def test_a_full_recompute_by_district_chunks_equals_one_pass(tmp_path, monkeypatch, catalog):
    city = build_city(catalog, 3, (2, 2), (2, 3), 14, "2025-12", seed=11)
    con = operations.open_store(tmp_path / "chunks.duckdb", catalog)
    operations.import_registry(con, catalog, city.registry, user="test")
    with store.transaction(con) as cursor:
        store.write_values(
            cursor,
            city.values,
            user="test",
            file_name="city.csv",
            sha256=None,
            rows_total=len(city.values),
            rows_accepted=len(city.values),
            rows_rejected=0,
        )
    with store.transaction(con) as cursor:
        recompute.recompute_all(cursor, catalog)
    one_pass = _scored_tables(con)

    monkeypatch.setattr(recompute, "FULL_RECOMPUTE_CHUNK", 1)  # one district at a time
    with store.transaction(con) as cursor:
        recompute.recompute_all(cursor, catalog)
    chunked = _scored_tables(con)
    con.close()
    for name in SCORE_TABLES:
        assert len(one_pass[name]) == len(chunked[name]), name
        pd.testing.assert_frame_equal(
            chunked[name], one_pass[name], check_exact=False, rtol=1e-12, obj=name
        )


@pytest.mark.parametrize("size, expected", [(1, [2, 1, 3]), (3, [3, 3]), (100, [6])])
def test_district_chunks_keep_districts_whole(size, expected):
    codes = [
        "990101001001",
        "990101001002",
        "990102001001",
        "990103001001",
        "990103001002",
        "990103002001",
    ]
    chunks = recompute._district_chunks(codes, size)
    assert [len(chunk) for chunk in chunks] == expected
    assert [code for chunk in chunks for code in chunk] == codes


def test_the_report_renders_every_tier_that_has_results(tmp_path, monkeypatch):
    document = tmp_path / "performance.md"
    document.write_text(
        f"# title\n\nprose\n\n{report.START}\nold\n{report.END}\n\nmore prose\n", encoding="utf-8"
    )
    monkeypatch.setattr(report, "DOC", document)
    report.render()
    text = document.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nprose\n\n") and text.endswith("\n\nmore prose\n")
    assert "old" not in text
    assert "| Goal | district | city | province |" in text
    for name in report.load_results():
        assert f"- **{name}**" in text


def test_the_first_call_probe_measures_the_jump_check_and_an_incremental_recompute(
    tmp_path, monkeypatch, catalog
):
    monkeypatch.setattr(tiers, "DATA_ROOT", tmp_path)
    tiny = tiers.Tier("tiny", 2, 2, 3)
    generate(tiny, catalog)
    steps.step_import(tiny, repeat=1)
    steps.step_recompute(tiny, repeat=1)

    calls = first_call.measure_calls(tiny)
    assert len(calls) == first_call.CALLS_PER_PROCESS
    assert all(call["seconds"] >= 0 and call["minor_faults"] >= 0 for call in calls)

    incremental = first_call.measure_incremental(tiny)
    assert incremental["seconds"] == pytest.approx(
        incremental["jumps"] + incremental["rest"], abs=0.02
    )
    assert not tiny.database("first_call").exists()  # the copy is removed afterwards
