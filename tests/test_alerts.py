"""Tests of alert levels, recovery margin, escalation, not reported, suspicious jumps and trends."""

from __future__ import annotations

import ast
import datetime as dt
import math
import statistics
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators import alerts
from indicators.catalog import DEFAULT_CATALOG_PATH, Catalog, load_catalog, parse_catalog
from indicators.periods import month_range

CATALOG = load_catalog()
COMMUNITY = "110101001001"
OTHER_COMMUNITY = "110101001002"


def catalog_with(levels: list[dict] | None = None, **alert_changes: object) -> Catalog:
    """The default catalog with some [alerts] entries (or the levels) replaced, validated."""
    raw = tomllib.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    for name, change in alert_changes.items():
        if isinstance(change, dict):
            raw["alerts"][name].update(change)
        else:
            raw["alerts"][name] = change
    if levels is not None:
        raw["levels"] = levels
    return parse_catalog(raw)


def monthly(
    indices: list[float], community: str = COMMUNITY, first: str = "2024-01"
) -> pd.DataFrame:
    months = month_range(first, "2099-12")[: len(indices)]
    return pd.DataFrame({"community_code": community, "period": months, "index": indices})


def yearly(indices: list[float], community: str = COMMUNITY) -> pd.DataFrame:
    years = [str(2020 + offset) for offset in range(len(indices))]
    return pd.DataFrame({"community_code": community, "period": years, "index": indices})


def index_inside(level_id: str, catalog: Catalog = CATALOG) -> float:
    """An index in the middle of a level's band (raw level = that level)."""
    rank = catalog.level_ids.index(level_id)
    low = catalog.levels[rank].min
    high = catalog.levels[rank - 1].min if rank > 0 else 100.0
    return (low + high) / 2


# ---- raw levels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (79.99, "blue"),
        (80.0, "normal"),
        (69.99, "yellow"),
        (70.0, "blue"),
        (59.99, "red"),
        (60.0, "yellow"),
        (0, "red"),
        (100, "normal"),
    ],
)
def test_raw_level_boundaries(index: float, expected: str) -> None:
    assert alerts.raw_levels(np.array([index]), CATALOG).tolist() == [expected]
    assert alerts.indicator_levels(pd.Series([index]), CATALOG).tolist() == [expected]


def test_raw_levels_give_none_for_a_missing_index_never_red() -> None:
    result = alerts.raw_levels(pd.Series([np.nan, 55.0, None]), CATALOG)
    assert result.tolist() == [None, "red", None]
    assert result.dtype == object


def test_raw_levels_read_the_bands_from_the_catalog() -> None:
    levels = [
        {**level.model_dump(), "min": new_min}
        for level, new_min in zip(CATALOG.levels, [90.0, 75.0, 50.0, 0.0], strict=True)
    ]
    catalog = catalog_with(levels=levels)
    assert alerts.raw_levels(np.array([89.99, 90.0, 74.99, 50.0, 49.99]), catalog).tolist() == [
        "blue",
        "normal",
        "yellow",
        "yellow",
        "red",
    ]


# ---- levels with the recovery margin --------------------------------------------------------


@pytest.mark.parametrize(
    ("last_level", "index", "expected", "reason"),
    [
        ("yellow", 71.0, "yellow", "held_by_margin"),
        ("yellow", 71.99, "yellow", "held_by_margin"),
        ("yellow", 72.0, "blue", "recovered"),
        ("yellow", 69.99, "yellow", "unchanged"),
        ("yellow", 59.99, "red", "worsened"),
        ("red", 61.99, "red", "held_by_margin"),
        ("red", 62.0, "yellow", "recovered"),
        ("red", 71.0, "yellow", "recovered"),
        ("red", 81.99, "blue", "recovered"),
        ("red", 82.0, "normal", "recovered"),
        ("blue", 81.99, "blue", "held_by_margin"),
        ("blue", 82.0, "normal", "recovered"),
        ("blue", 70.0, "blue", "unchanged"),
        ("blue", 69.99, "yellow", "worsened"),
        ("normal", 80.0, "normal", "unchanged"),
        ("normal", 79.99, "blue", "worsened"),
        ("normal", 59.99, "red", "worsened"),
    ],
)
def test_recovery_margin_edges(last_level: str, index: float, expected: str, reason: str) -> None:
    result = alerts.assign_levels(monthly([index_inside(last_level), index]), CATALOG)
    assert result["level"].tolist() == [last_level, expected]
    assert result["reason_code"].tolist() == ["first", reason]
    assert result["previous_level"].tolist() == [None, last_level]
    assert result["level_changed"].tolist() == [False, expected != last_level]


def test_reason_sentences_name_the_threshold_margin_and_level() -> None:
    result = alerts.assign_levels(monthly([65.0, 71.0, 72.0, 55.0, 71.0, np.nan]), CATALOG)
    assert result["reason_zh"].tolist() == [
        "指数65.0，处于黄色预警区间（不低于60.0且低于70.0），首次评定为黄色预警",
        "指数71.0，未超过蓝色提示线70.0加恢复余量2.0分，维持黄色预警",
        "指数72.0，达到蓝色提示线70.0加恢复余量2.0分（72.0），由黄色预警升为蓝色提示",
        "指数55.0，低于黄色预警线60.0，由蓝色提示降为红色预警",
        "指数71.0，达到黄色预警线60.0加恢复余量2.0分（62.0），由红色预警升为黄色预警；"
        "未超过蓝色提示线70.0加恢复余量2.0分，暂不升为蓝色提示",
        "本期无指数（数据不足），等级不变，仍为黄色预警",
    ]
    assert result["reason_en"].tolist()[1] == (
        "Index 71.0 does not clear the Blue notice threshold 70.0 plus the 2.0-point recovery "
        "margin; stays Yellow warning"
    )
    assert result["reason_en"].tolist()[3] == (
        "Index 55.0 is below the Yellow warning threshold 60.0; falls from Blue notice to Red warning"
    )


def test_shown_index_never_crosses_the_threshold_it_is_compared_with() -> None:
    result = alerts.assign_levels(monthly([65.0, 71.999]), CATALOG)
    assert result["reason_zh"].iloc[1].startswith("指数71.99，未超过蓝色提示线70.0")


def test_missing_index_keeps_the_last_known_level() -> None:
    result = alerts.assign_levels(monthly([65.0, np.nan, np.nan, 71.0, 72.0]), CATALOG)
    assert result["raw_level"].tolist() == ["yellow", None, None, "blue", "blue"]
    assert result["level"].tolist() == ["yellow", None, None, "yellow", "blue"]
    assert result["previous_level"].tolist() == [None, "yellow", "yellow", "yellow", "yellow"]
    assert result["carried_level"].tolist() == ["yellow"] * 4 + ["blue"]
    assert result["reason_code"].tolist() == [
        "first",
        "withheld",
        "withheld",
        "held_by_margin",
        "recovered",
    ]
    assert result["level_changed"].tolist() == [False, False, False, False, True]
    assert result.loc[1, "level"] is None  # None, not NaN: "withheld" is its own state


def test_missing_first_index_has_no_level_yet() -> None:
    result = alerts.assign_levels(monthly([np.nan, 75.0]), CATALOG)
    assert result["level"].tolist() == [None, "blue"]
    assert result["carried_level"].tolist() == [None, "blue"]
    assert result["reason_code"].tolist() == ["withheld", "first"]
    assert result.loc[0, "reason_zh"] == "本期无指数（数据不足），尚无等级"
    assert result.loc[0, "reason_en"] == "No index this period (insufficient data); no level yet"


def test_oscillation_around_the_yellow_blue_edge_does_not_flap() -> None:
    result = alerts.assign_levels(monthly([69.5, 70.5, 69.8, 71.5]), CATALOG)
    assert result["level"].tolist() == ["yellow"] * 4
    assert not result["level_changed"].any()


def test_recovery_margin_comes_from_the_catalog() -> None:
    catalog = catalog_with(recovery_margin=5.0)
    result = alerts.assign_levels(
        pd.concat([monthly([65.0, 74.99]), monthly([65.0, 75.0], community=OTHER_COMMUNITY)]),
        catalog,
    )
    assert result["level"].tolist() == ["yellow", "yellow", "yellow", "blue"]
    assert "加恢复余量5.0分" in result.loc[1, "reason_zh"]


def test_zero_margin_recovers_on_the_band_alone() -> None:
    result = alerts.assign_levels(monthly([50.0, 80.0]), catalog_with(recovery_margin=0.0))
    assert result["level"].tolist() == ["red", "normal"]


def test_assign_levels_sorts_keeps_extra_columns_and_units_apart() -> None:
    frame = pd.concat(
        [
            monthly([65.0, 71.0, 72.0]).assign(note=["a", "b", "c"]),
            monthly([85.0, 79.0, 81.0], community=OTHER_COMMUNITY).assign(note=["d", "e", "f"]),
        ]
    ).iloc[[5, 0, 3, 2, 4, 1]]
    result = alerts.assign_levels(frame, CATALOG)
    assert result["note"].tolist() == ["a", "b", "c", "d", "e", "f"]
    assert result["level"].tolist() == ["yellow", "yellow", "blue", "normal", "blue", "blue"]
    assert list(result.columns) == [
        "community_code",
        "period",
        "index",
        "note",
        *alerts.LEVEL_COLUMNS,
    ]
    assert result.index.tolist() == list(range(6))


def test_assign_levels_can_run_again_on_its_own_output() -> None:
    once = alerts.assign_levels(monthly([65.0, 71.0]), CATALOG)
    pd.testing.assert_frame_equal(alerts.assign_levels(once, CATALOG), once)


def test_assign_levels_takes_another_key_for_streets() -> None:
    frame = monthly([55.0, 61.0]).rename(columns={"community_code": "code"})
    result = alerts.assign_levels(frame, CATALOG, key="code")
    assert result["level"].tolist() == ["red", "red"]


def test_assign_levels_rejects_two_rows_for_one_period() -> None:
    frame = pd.concat([monthly([65.0]), monthly([75.0])])
    with pytest.raises(ValueError, match="two rows"):
        alerts.assign_levels(frame, CATALOG)


def test_assign_levels_of_nothing_is_empty() -> None:
    result = alerts.assign_levels(monthly([]), CATALOG)
    assert result.empty
    assert set(alerts.LEVEL_COLUMNS) <= set(result.columns)


MARGINS = (0.0, 0.5, 2.0, 7.5)
CATALOG_BY_MARGIN = {margin: catalog_with(recovery_margin=margin) for margin in MARGINS}
index_values = st.one_of(
    st.floats(min_value=0, max_value=100, allow_nan=False),
    st.sampled_from([59.99, 60.0, 61.99, 62.0, 69.99, 70.0, 71.99, 72.0, 79.99, 80.0, 81.99, 82.0]),
    st.just(math.nan),
)


@settings(max_examples=120, deadline=None)
@given(
    first=st.lists(index_values, min_size=1, max_size=15),
    second=st.lists(index_values, min_size=1, max_size=15),
    margin=st.sampled_from(MARGINS),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_level_properties(
    first: list[float], second: list[float], margin: float, seed: int
) -> None:
    catalog = CATALOG_BY_MARGIN[margin]
    frame = pd.concat([monthly(first), monthly(second, community=OTHER_COMMUNITY)])
    result = alerts.assign_levels(frame, catalog)

    shuffled = frame.sample(frac=1, random_state=seed % 2**31)
    pd.testing.assert_frame_equal(alerts.assign_levels(shuffled, catalog), result)

    rank = {level_id: position for position, level_id in enumerate(catalog.level_ids)}
    for _, rows in result.groupby("community_code"):
        carried_before = None
        for row in rows.to_dict("records"):
            if math.isnan(row["index"]):
                assert row["level"] is None and row["raw_level"] is None
                assert row["carried_level"] == carried_before  # a NaN never changes it
                assert row["reason_code"] == "withheld"
            else:
                level, raw = rank[row["level"]], rank[row["raw_level"]]
                relaxed = rank[alerts.raw_levels(np.array([row["index"] - margin]), catalog)[0]]
                if carried_before is None or raw >= rank[carried_before]:
                    assert level == raw  # first level, same band, or worsening at once
                else:
                    # Improves at most as far as raw_level(index − margin) allows.
                    assert level == min(rank[carried_before], relaxed)
                    assert raw <= level <= rank[carried_before]
                assert row["carried_level"] == row["level"]
            assert row["previous_level"] == carried_before
            carried_before = row["carried_level"]


# ---- escalation ----------------------------------------------------------------------------


def escalation_of(indices: list[float], catalog: Catalog = CATALOG) -> pd.DataFrame:
    return alerts.escalation_states(alerts.assign_levels(yearly(indices), catalog), catalog)


def test_two_yellow_years_escalate() -> None:
    result = escalation_of([65.0, 65.0])
    assert result["streak"].tolist() == [1, 2]
    assert result["escalated"].tolist() == [False, True]
    assert result["escalation_reason_zh"].tolist() == ["", "连续2年黄色预警或更差，触发整改约谈"]
    assert result["escalation_reason_en"].tolist() == [
        "",
        "Yellow warning or worse for 2 consecutive years: rectification talk",
    ]


def test_missing_year_neither_counts_nor_resets() -> None:
    result = escalation_of([65.0, np.nan, 65.0])
    assert result["level"].tolist() == ["yellow", None, "yellow"]
    assert result["streak"].tolist() == [1, 1, 2]
    assert result["escalated"].tolist() == [False, False, True]


def test_a_better_year_resets_the_streak() -> None:
    result = escalation_of([65.0, 75.0, 65.0])
    assert result["level"].tolist() == ["yellow", "blue", "yellow"]
    assert result["streak"].tolist() == [1, 0, 1]
    assert not result["escalated"].any()


def test_a_year_held_yellow_by_the_margin_counts() -> None:
    result = escalation_of([69.5, 71.5])
    assert result["level"].tolist() == ["yellow", "yellow"]
    assert result["escalated"].tolist() == [False, True]


def test_red_counts_as_yellow_or_worse() -> None:
    result = escalation_of([50.0, 65.0, 40.0])
    assert result["level"].tolist() == ["red", "yellow", "red"]
    assert result["streak"].tolist() == [1, 2, 3]
    assert result.loc[2, "escalation_reason_zh"] == "连续3年黄色预警或更差，触发整改约谈"


def test_escalation_granularity_count_and_level_come_from_the_catalog() -> None:
    catalog = catalog_with(escalation={"granularity": "month", "consecutive": 4})
    levels = alerts.assign_levels(monthly([69.5, 70.5, 69.8, 71.5]), catalog)
    result = alerts.escalation_states(levels, catalog)
    assert result["escalated"].tolist() == [False, False, False, True]
    assert result.loc[3, "escalation_reason_zh"] == "连续4个月黄色预警或更差，触发整改约谈"
    assert result.loc[3, "escalation_reason_en"] == (
        "Yellow warning or worse for 4 consecutive months: rectification talk"
    )

    catalog = catalog_with(escalation={"granularity": "quarter", "consecutive": 1, "level": "red"})
    quarters = pd.DataFrame(
        {
            "community_code": COMMUNITY,
            "period": ["2024-Q1", "2024-Q2"],
            "index": [65.0, 50.0],
        }
    )
    result = alerts.escalation_states(alerts.assign_levels(quarters, catalog), catalog)
    assert result["escalated"].tolist() == [False, True]
    assert result.loc[1, "escalation_reason_zh"] == "连续1个季度红色预警，触发整改约谈"
    assert result.loc[1, "escalation_reason_en"] == (
        "Red warning for 1 consecutive quarter: rectification talk"
    )


def test_escalation_rejects_periods_of_another_granularity() -> None:
    levels = alerts.assign_levels(monthly([65.0, 65.0]), CATALOG)
    with pytest.raises(ValueError, match="not a year"):
        alerts.escalation_states(levels, CATALOG)


def test_escalation_keeps_units_apart() -> None:
    frame = pd.concat([yearly([65.0, 65.0]), yearly([65.0, 85.0], community=OTHER_COMMUNITY)])
    result = alerts.escalation_states(alerts.assign_levels(frame, CATALOG), CATALOG)
    assert result["escalated"].tolist() == [False, True, False, False]


# ---- not reported --------------------------------------------------------------------------


def test_not_reported_only_after_the_deadline_day() -> None:
    registry = [OTHER_COMMUNITY, COMMUNITY]
    reported = pd.DataFrame({"community_code": [COMMUNITY], "period": ["2025-01"]})
    months = ["2025-01", "2025-02"]

    on_deadline = alerts.not_reported(registry, reported, months, dt.date(2025, 2, 10), CATALOG)
    assert on_deadline.empty
    assert list(on_deadline.columns) == alerts.NOT_REPORTED_COLUMNS

    day_after = alerts.not_reported(registry, reported, months, dt.date(2025, 2, 11), CATALOG)
    assert day_after.to_dict("records") == [
        {"community_code": OTHER_COMMUNITY, "period": "2025-01", "deadline": dt.date(2025, 2, 10)},
    ]

    later = alerts.not_reported(registry, reported, months, dt.date(2025, 3, 11), CATALOG)
    assert later[["community_code", "period"]].values.tolist() == [
        [COMMUNITY, "2025-02"],
        [OTHER_COMMUNITY, "2025-01"],
        [OTHER_COMMUNITY, "2025-02"],
    ]


def test_not_reported_deadline_day_comes_from_the_catalog() -> None:
    catalog = catalog_with(not_reported={"deadline_day": 15})
    empty = pd.DataFrame({"community_code": [], "period": []})
    assert alerts.not_reported([COMMUNITY], empty, ["2025-12"], dt.date(2026, 1, 15), catalog).empty
    late = alerts.not_reported([COMMUNITY], empty, ["2025-12"], dt.date(2026, 1, 16), catalog)
    assert late["deadline"].tolist() == [dt.date(2026, 1, 15)]


def test_not_reported_ignores_units_outside_the_registry() -> None:
    reported = pd.DataFrame({"community_code": ["999999999999"], "period": ["2025-01"]})
    result = alerts.not_reported([COMMUNITY], reported, ["2025-01"], dt.date(2025, 6, 1), CATALOG)
    assert result["community_code"].tolist() == [COMMUNITY]


# ---- suspicious jumps ----------------------------------------------------------------------


def long_values(
    series: list[float], indicator: str = "satisfaction", community: str = COMMUNITY
) -> pd.DataFrame:
    months = month_range("2023-01", "2099-12")[: len(series)]
    return pd.DataFrame(
        {
            "community_code": community,
            "period": months,
            "indicator": indicator,
            "value": series,
        }
    )


STEADY = [50.0, 51.0, 49.0, 50.5, 49.5, 50.0]  # median 50, MAD 0.5


def test_a_clear_outlier_is_flagged_with_its_statistics() -> None:
    result = alerts.suspicious_jumps(long_values([*STEADY, 80.0]), CATALOG)
    assert list(result.columns) == alerts.JUMP_COLUMNS
    assert len(result) == 1
    row = result.iloc[0]
    assert (row["community_code"], row["period"], row["indicator"]) == (
        COMMUNITY,
        "2023-07",
        "satisfaction",
    )
    assert row["value"] == 80.0 and row["median"] == 50.0 and row["mad"] == 0.5
    assert row["robust_z"] == pytest.approx(0.6745 * 30 / 0.5)
    assert row["reason_zh"] == (
        "群众满意度本期值80.0高于本社区此前6个值的中位数50.0，稳健z分数40.47，"
        "绝对值超过阈值3.5（中位绝对偏差0.5），请核实"
    )
    assert row["reason_en"].startswith("Resident satisfaction value 80.0 is above the median 50.0")


def test_normal_noise_is_not_flagged() -> None:
    assert alerts.suspicious_jumps(long_values([*STEADY, 51.0, 49.2, 50.8]), CATALOG).empty


def test_a_drop_is_flagged_with_a_negative_z() -> None:
    result = alerts.suspicious_jumps(long_values([*STEADY, 20.0]), CATALOG)
    assert result["robust_z"].iloc[0] < -CATALOG.alerts.jump.robust_z
    assert "低于本社区此前6个值的中位数50.0，稳健z分数-" in result["reason_zh"].iloc[0]


def test_fewer_than_min_history_values_are_not_assessed() -> None:
    history = STEADY[: CATALOG.alerts.jump.min_history]
    assert alerts.suspicious_jumps(long_values([*history[:-1], 90.0]), CATALOG).empty
    flagged = alerts.suspicious_jumps(long_values([*history, 90.0]), CATALOG)
    assert flagged["period"].tolist() == ["2023-05"]
    assert "此前4个值" in flagged["reason_zh"].iloc[0]


def test_missing_values_are_skipped_not_counted() -> None:
    values = long_values([50.0, np.nan, 51.0, 49.0, np.nan, 50.5, 90.0])
    result = alerts.suspicious_jumps(values, CATALOG)
    assert result["period"].tolist() == ["2023-07"]
    assert result["median"].tolist() == [50.25]
    gaps = long_values([50.0, 51.0, 49.0, 50.5, 90.0]).drop(index=[1])  # a month with no row
    assert alerts.suspicious_jumps(gaps, CATALOG).empty  # only 3 previous values remain


def test_only_the_previous_window_values_count() -> None:
    values = long_values([100.0, 100.0, 100.0, 100.0, *STEADY, 53.0])
    result = alerts.suspicious_jumps(values, CATALOG).set_index("period")
    # 53 is 4.05 robust z-scores from the last six values (median 50, MAD 0.5); with the four
    # older values of 100 in its history it would not be flagged at all.
    assert result.loc["2023-11", "median"] == 50.0
    assert result.loc["2023-11", "robust_z"] == pytest.approx(0.6745 * 3 / 0.5)


def test_mad_zero_falls_back_to_the_mean_absolute_deviation() -> None:
    history = [50.0, 52.0, 48.0, 50.0, 50.0, 50.0]  # MAD 0, mean absolute deviation 2/3
    result = alerts.suspicious_jumps(long_values([*history, 55.0]), CATALOG)
    assert result["mad"].tolist() == [0.0]
    assert result["robust_z"].iloc[0] == pytest.approx(5.0 / (1.253314 * 2 / 3))
    assert "中位绝对偏差为0，改用平均绝对偏差0.66×1.253314" in result["reason_zh"].iloc[0]
    assert alerts.suspicious_jumps(long_values([*history, 52.0]), CATALOG).empty


def test_a_flat_history_flags_nothing() -> None:
    assert alerts.suspicious_jumps(long_values([50.0] * 6 + [90.0]), CATALOG).empty


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), first=st.integers(0, 30), gaps=st.floats(0.0, 0.5))
def test_testing_from_a_month_gives_the_full_flags_from_that_month(
    seed: int, first: int, gaps: float
) -> None:
    """An incremental recompute tests only its new months; earlier values remain history."""
    rng = np.random.default_rng(seed)
    months = month_range("2023-01", "2025-12")
    frames = []
    for community in (COMMUNITY, OTHER_COMMUNITY):
        for indicator in ("satisfaction", "turnover"):
            values = rng.normal(50, 2, len(months))
            values[rng.random(len(months)) < 0.1] += 30  # some jumps
            keep = rng.random(len(months)) >= gaps
            frames.append(
                pd.DataFrame(
                    {
                        "community_code": community,
                        "period": months,
                        "indicator": indicator,
                        "value": values,
                    }
                )[keep]
            )
    values = pd.concat(frames, ignore_index=True)
    flag_from = months[first]
    everything = alerts.suspicious_jumps(values, CATALOG)
    expected = everything[everything["period"] >= flag_from].reset_index(drop=True)
    tested = alerts.suspicious_jumps(values, CATALOG, flag_from=flag_from)
    pd.testing.assert_frame_equal(tested, expected)
    in_blocks_of_one_series = alerts.suspicious_jumps(
        values, CATALOG, flag_from=flag_from, block_cells=1
    )
    pd.testing.assert_frame_equal(in_blocks_of_one_series, expected)
    assert alerts.suspicious_jumps(values, CATALOG, flag_from="2026-01").empty


def test_jumps_compare_each_community_and_indicator_with_itself_only() -> None:
    values = pd.concat(
        [
            long_values([*STEADY, 80.0]),
            long_values([80.0] * 3 + [81.0, 79.0, 80.5] + [50.0], community=OTHER_COMMUNITY),
            long_values([10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2], indicator="turnover"),
        ]
    ).sample(frac=1, random_state=3)
    result = alerts.suspicious_jumps(values, CATALOG)
    assert result[["community_code", "indicator", "period"]].values.tolist() == [
        [COMMUNITY, "satisfaction", "2023-07"],
        [OTHER_COMMUNITY, "satisfaction", "2023-07"],
    ]


def test_jump_threshold_and_window_come_from_the_catalog() -> None:
    values = long_values([*STEADY, 52.0])  # z = 0.6745 × 2 / 0.5 = 2.7
    assert alerts.suspicious_jumps(values, CATALOG).empty
    assert len(alerts.suspicious_jumps(values, catalog_with(jump={"robust_z": 2.5}))) == 1
    short = catalog_with(jump={"window": 2, "min_history": 2})
    assert alerts.suspicious_jumps(long_values([50.0, 51.0, 70.0]), short)["median"].tolist() == [
        50.5
    ]


def test_jumps_reject_two_values_for_one_cell() -> None:
    values = pd.concat([long_values([50.0]), long_values([51.0])])
    with pytest.raises(ValueError, match="two values"):
        alerts.suspicious_jumps(values, CATALOG)


def test_jumps_of_nothing_are_empty() -> None:
    result = alerts.suspicious_jumps(long_values([]), CATALOG)
    assert result.empty and list(result.columns) == alerts.JUMP_COLUMNS


def reference_jumps(values: pd.DataFrame, catalog: Catalog) -> list[tuple[str, str, str, float]]:
    """suspicious_jumps written plainly, one value at a time, to check the vectorised one."""
    rule = catalog.alerts.jump
    flags = []
    present = values.dropna(subset=["value"]).sort_values(["community_code", "indicator", "period"])
    for (code, indicator), rows in present.groupby(["community_code", "indicator"]):
        history: list[float] = []
        for period, value in zip(rows["period"], rows["value"], strict=True):
            window = history[-rule.window :]
            if len(window) >= rule.min_history:
                median = statistics.median(window)
                mad = statistics.median([abs(v - median) for v in window])
                mean_deviation = sum(abs(v - median) for v in window) / len(window)
                if mad > 0:
                    z = 0.6745 * (value - median) / mad
                elif mean_deviation > 0:
                    z = (value - median) / (1.253314 * mean_deviation)
                else:
                    z = 0.0
                if abs(z) > rule.robust_z:
                    flags.append((code, period, indicator, z))
            history.append(value)
    return flags


small_values = st.one_of(st.integers(min_value=0, max_value=12).map(float), st.just(math.nan))


@settings(max_examples=80, deadline=None)
@given(
    series=st.lists(st.lists(small_values, min_size=0, max_size=14), min_size=1, max_size=4),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    block_cells=st.sampled_from([1, 14, 30, alerts.JUMP_BLOCK_CELLS]),
)
def test_jumps_match_a_plain_reference(
    series: list[list[float]], seed: int, block_cells: int
) -> None:
    """Also in blocks as small as one series: the blocks split the work, not the answer."""
    parts = [
        long_values(
            values,
            indicator=["satisfaction", "turnover"][number % 2],
            community=[COMMUNITY, OTHER_COMMUNITY][number // 2],
        )
        for number, values in enumerate(series)
    ]
    values = pd.concat(parts).sample(frac=1, random_state=seed)
    result = alerts.suspicious_jumps(values, CATALOG, block_cells=block_cells)
    expected = reference_jumps(values, CATALOG)
    assert result[["community_code", "period", "indicator"]].values.tolist() == [
        list(flag[:3]) for flag in expected
    ]
    assert result["robust_z"].tolist() == pytest.approx([flag[3] for flag in expected])


# ---- trends --------------------------------------------------------------------------------


MONTHS = month_range("2024-01", "2024-12")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0.5, "improving"),
        (0.49, "stable"),
        (0.0, "stable"),
        (-0.49, "stable"),
        (-0.5, "declining"),
        (2.0, "improving"),
    ],
)
def test_trend_thresholds(step: float, expected: str) -> None:
    scores = monthly([70.0 + step * position for position in range(6)])
    result = alerts.trends(scores, CATALOG, MONTHS)
    last = result[result["period"] == "2024-06"].iloc[0]
    assert last["slope"] == pytest.approx(step)
    assert last["points"] == 6
    assert last["trend"] == expected


def test_trend_needs_min_points_in_the_window() -> None:
    result = alerts.trends(monthly([70.0, 71.0, 72.0]), CATALOG, MONTHS)
    assert result["points"].tolist()[:3] == [1, 2, 3]
    assert result["trend"].tolist()[:3] == ["not_assessable", "not_assessable", "improving"]
    assert np.isnan(result["slope"].iloc[1]) and result["slope"].iloc[2] == pytest.approx(1.0)


def test_trend_window_counts_calendar_periods_including_gaps() -> None:
    scores = monthly([70.0, np.nan, 71.0, np.nan, 72.0]).dropna()
    result = alerts.trends(scores, CATALOG, MONTHS).set_index("period")
    assert result.loc["2024-05", "points"] == 3
    assert result.loc["2024-05", "slope"] == pytest.approx(0.5)  # per period, not per point
    assert result.loc["2024-05", "trend"] == "improving"
    # Six months later only the value of 2024-05 is left in the window.
    assert result.loc["2024-10", "points"] == 1
    assert result.loc["2024-10", "trend"] == "not_assessable"
    assert result.loc["2024-12", "points"] == 0


def test_trends_start_at_the_first_row_of_each_key() -> None:
    scores = pd.concat(
        [
            monthly([80.0, 79.0, 78.0]),
            monthly([60.0, 60.2, 60.1], community=OTHER_COMMUNITY, first="2024-10"),
        ]
    )
    result = alerts.trends(scores, CATALOG, MONTHS)
    assert list(result.columns) == ["community_code", "period", *alerts.TREND_VALUE_COLUMNS]
    assert (result["community_code"] == COMMUNITY).sum() == 12
    other = result[result["community_code"] == OTHER_COMMUNITY]
    assert other["period"].tolist() == ["2024-10", "2024-11", "2024-12"]
    assert other["trend"].tolist()[-1] == "stable"
    assert result.set_index(["community_code", "period"]).loc[(COMMUNITY, "2024-03"), "trend"] == (
        "declining"
    )


def test_trend_thresholds_and_window_come_from_the_catalog() -> None:
    catalog = catalog_with(
        trend={"window": 3, "min_points": 2, "improving": 1.0, "declining": -1.0}
    )
    result = alerts.trends(monthly([70.0, 70.5, 71.0, 75.0]), catalog, MONTHS)
    assert result["trend"].tolist()[:4] == ["not_assessable", "stable", "stable", "improving"]
    assert result["points"].tolist()[:4] == [1, 2, 3, 3]


@settings(max_examples=60, deadline=None)
@given(
    indices=st.lists(
        st.one_of(st.floats(min_value=0, max_value=100), st.just(math.nan)), min_size=1, max_size=12
    )
)
def test_trend_slopes_match_numpy_polyfit(indices: list[float]) -> None:
    rule = CATALOG.alerts.trend
    result = alerts.trends(monthly(indices), CATALOG, MONTHS)
    for position, row in enumerate(result.to_dict("records")):
        start = max(0, position - rule.window + 1)
        window = [
            (p, indices[p])
            for p in range(start, position + 1)
            if p < len(indices) and not math.isnan(indices[p])
        ]
        assert row["points"] == len(window)
        if len(window) < rule.min_points:
            assert math.isnan(row["slope"]) and row["trend"] == "not_assessable"
        else:
            t, y = zip(*window, strict=True)
            assert row["slope"] == pytest.approx(np.polyfit(t, y, 1)[0], abs=1e-9)


def test_trends_reject_periods_outside_the_calendar() -> None:
    with pytest.raises(ValueError, match="2023-12"):
        alerts.trends(monthly([70.0], first="2023-12"), CATALOG, MONTHS)


# ---- house rules ---------------------------------------------------------------------------


def test_alerts_module_never_imports_streamlit() -> None:
    tree = ast.parse(Path(alerts.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "streamlit" not in imported
