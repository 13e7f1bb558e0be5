"""The synthetic demo city: sizes, codes, determinism, valid values and every story, checked with the real engine."""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest

from indicators import alerts
from indicators.catalog import DEFAULT_CATALOG_PATH, Catalog, parse_catalog
from indicators.demo import (
    DEMO_SEED,
    STORY_DECLINING,
    STORY_GAPS,
    STORY_IDS,
    STORY_IMPROVING,
    STORY_JUMP,
    STORY_NOT_REPORTED,
    STORY_RED,
    STORY_STEADY,
    STORY_STUCK_YELLOW,
    DemoCity,
    build_city,
    build_demo,
)
from indicators.orgs import is_valid_code, level_of, parent_of
from indicators.periods import latest_closed_month, month_range, reporting_deadline, shift_month
from indicators.scoring import aggregate_months, score_values

LAST_MONTH = "2025-10"
# One last month in each calendar month: the stories must hold however the years fall.
LAST_MONTHS_OF_A_YEAR = [f"2026-{month:02d}" for month in range(1, 13)]


@pytest.fixture(scope="module")
def city(catalog: Catalog) -> DemoCity:
    return build_demo(catalog, last_month=LAST_MONTH)


@pytest.fixture(scope="module")
def levels(city: DemoCity, catalog: Catalog) -> pd.DataFrame:
    """Monthly unit scores with alert levels (recovery margin applied), one row per reported month."""
    return alerts.assign_levels(score_values(city.values, catalog).unit_scores, catalog)


def index_matrix(levels: pd.DataFrame, codes: list[str], city: DemoCity) -> pd.DataFrame:
    """Community × month of the index (NaN where withheld or not reported)."""
    months = month_range(city.first_month, city.last_month)
    table = levels[levels["community_code"].isin(codes)].pivot(
        index="community_code", columns="period", values="index"
    )
    return table.reindex(index=codes, columns=months)


def level_matrix(levels: pd.DataFrame, codes: list[str], city: DemoCity) -> pd.DataFrame:
    months = month_range(city.first_month, city.last_month)
    table = levels[levels["community_code"].isin(codes)].pivot(
        index="community_code", columns="period", values="level"
    )
    return table.reindex(index=codes, columns=months)


def escalated_at_last_complete_year(city: DemoCity, catalog: Catalog) -> pd.DataFrame:
    """Yearly levels and escalation over the two complete calendar years before last_month's year."""
    year = int(city.last_month[:4])
    complete_years = [str(year - 2), str(year - 1)]
    in_years = city.values[city.values["period"].str.slice(0, 4).isin(complete_years)]
    yearly = score_values(aggregate_months(in_years, "year"), catalog).unit_scores
    states = alerts.escalation_states(alerts.assign_levels(yearly, catalog), catalog)
    return states[states["period"] == complete_years[-1]].set_index("community_code")


# ---- sizes, codes, names -------------------------------------------------------------------


def test_sizes(city: DemoCity) -> None:
    registry = city.registry
    assert list(registry.columns) == ["code", "name", "population", "level", "parent_code"]
    districts = registry[registry["level"] == "district"]
    streets = registry[registry["level"] == "street"]
    communities = registry[registry["level"] == "community"]
    assert len(districts) == 3
    assert streets.groupby("parent_code").size().between(5, 8).all()
    assert set(streets["parent_code"]) == set(districts["code"])
    assert communities.groupby("parent_code").size().between(8, 15).all()
    assert set(communities["parent_code"]) == set(streets["code"])
    assert city.last_month == LAST_MONTH
    assert city.first_month == shift_month(LAST_MONTH, -35)
    assert sorted(city.values["period"].unique()) == month_range(city.first_month, city.last_month)


def test_codes_are_valid_and_parents_follow_from_them(city: DemoCity) -> None:
    registry = city.registry
    assert registry["code"].is_unique
    assert registry["code"].str.fullmatch(r"99\d{10}").all()
    assert registry["code"].map(is_valid_code).all()
    assert (registry["code"].map(level_of) == registry["level"]).all()
    assert registry["parent_code"].tolist() == [parent_of(code) for code in registry["code"]]
    assert (
        registry.loc[registry["level"] == "district", "parent_code"].map(lambda p: p is None).all()
    )
    assert sorted(registry.loc[registry["level"] == "district", "code"]) == [
        "990101000000",
        "990102000000",
        "990103000000",
    ]
    assert set(city.values["community_code"]) <= set(
        registry.loc[registry["level"] == "community", "code"]
    )


def test_names_are_synthetic_and_unique_within_their_parent(city: DemoCity) -> None:
    registry = city.registry
    districts = registry[registry["level"] == "district"]
    assert districts["name"].tolist() == ["示例一区", "示例二区", "示例三区"]
    streets = registry[registry["level"] == "street"]
    communities = registry[registry["level"] == "community"]
    assert streets["name"].str.endswith("街道").all()
    assert communities["name"].str.endswith("社区").all()
    assert not streets.duplicated(["parent_code", "name"]).any()
    assert not communities.duplicated(["parent_code", "name"]).any()


def test_populations_add_up(city: DemoCity) -> None:
    registry = city.registry.set_index("code")
    communities = registry[registry["level"] == "community"]
    assert communities["population"].between(3_000, 15_000).all()
    for level in ("street", "district"):
        units = registry[registry["level"] == level]
        prefix = 9 if level == "street" else 6
        sums = communities.groupby(communities.index.str.slice(0, prefix))["population"].sum()
        assert (
            units["population"].to_numpy()
            == sums.reindex(units.index.str.slice(0, prefix)).to_numpy()
        ).all()


# ---- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(city: DemoCity, catalog: Catalog) -> None:
    again = build_demo(catalog, seed=DEMO_SEED, last_month=LAST_MONTH)
    pd.testing.assert_frame_equal(city.registry, again.registry)
    pd.testing.assert_frame_equal(city.values, again.values)
    assert city.stories == again.stories


def test_another_seed_gives_another_city(city: DemoCity, catalog: Catalog) -> None:
    other = build_demo(catalog, seed=DEMO_SEED + 1, last_month=LAST_MONTH)
    assert not city.registry["name"].equals(other.registry["name"])
    assert len(city.values) != len(other.values) or not np.array_equal(
        city.values["value"].to_numpy(), other.values["value"].to_numpy()
    )


def test_numbers_do_not_depend_on_the_last_month(city: DemoCity, catalog: Catalog) -> None:
    later = build_demo(catalog, last_month=shift_month(LAST_MONTH, 7))
    pd.testing.assert_frame_equal(city.registry, later.registry)
    assert city.stories == later.stories
    pd.testing.assert_series_equal(city.values["value"], later.values["value"])
    shifted = city.values["period"].map(lambda month: shift_month(month, 7))
    assert shifted.tolist() == later.values["period"].tolist()


def test_default_last_month_is_the_latest_closed_month(catalog: Catalog) -> None:
    demo = build_demo(catalog)
    deadline_day = catalog.alerts.not_reported.deadline_day
    assert demo.last_month == latest_closed_month(dt.date.today(), deadline_day)
    assert reporting_deadline(demo.last_month, deadline_day) < dt.date.today()


# ---- values --------------------------------------------------------------------------------


def test_values_are_valid_long_rows(city: DemoCity, catalog: Catalog) -> None:
    values = city.values
    assert list(values.columns) == ["community_code", "period", "indicator", "value"]
    assert values["value"].dtype == "float64"
    assert values["value"].notna().all()
    assert not values.duplicated(["community_code", "period", "indicator"]).any()
    assert set(values["indicator"]) == {i.id for i in catalog.indicators}
    for indicator in catalog.indicators:
        column = values.loc[values["indicator"] == indicator.id, "value"]
        low_ok = (
            column > indicator.valid_min
            if not indicator.valid_min_inclusive
            else column >= indicator.valid_min
        )
        assert low_ok.all(), indicator.id
        assert (column <= indicator.valid_max).all(), indicator.id
        decimals = 0 if indicator.unit == "人" else 1
        assert np.allclose(column, column.round(decimals), rtol=0, atol=1e-9), indicator.id


@pytest.mark.parametrize(
    ("indicator", "low", "high"),
    [
        # The source documents' figures: typical values sit between the baseline and the reform.
        ("satisfaction", 80.0, 92.0),
        ("participation", 30.0, 50.0),
        ("certified_share", 35.0, 55.0),
        ("error_rate", 1.0, 3.0),
        ("digital_usage", 50.0, 75.0),
        ("innovation_share", 20.0, 35.0),
        ("response_hours", 5.0, 25.0),
        ("residents_per_worker", 1150.0, 1500.0),
    ],
)
def test_typical_values_look_like_the_sources(
    city: DemoCity, indicator: str, low: float, high: float
) -> None:
    median = city.values.loc[city.values["indicator"] == indicator, "value"].median()
    assert low <= median <= high


# ---- stories, checked with the engine ------------------------------------------------------


def test_stories_share_out_every_community(city: DemoCity) -> None:
    assert tuple(city.stories) == STORY_IDS
    codes = [code for members in city.stories.values() for code in members]
    assert len(codes) == len(set(codes))
    assert set(codes) == set(city.registry.loc[city.registry["level"] == "community", "code"])
    assert len(city.stories[STORY_JUMP]) == 1
    for story in (STORY_IMPROVING, STORY_DECLINING, STORY_STUCK_YELLOW, STORY_RED):
        assert len(city.stories[story]) >= 3, story
    for story in (STORY_NOT_REPORTED, STORY_GAPS):
        assert len(city.stories[story]) >= 2, story
    assert len(city.stories[STORY_STEADY]) > len(codes) / 2


def test_improving_after_reform(city: DemoCity, levels: pd.DataFrame) -> None:
    codes = city.stories[STORY_IMPROVING]
    level = level_matrix(levels, codes, city)
    index = index_matrix(levels, codes, city)
    assert level.iloc[:, :3].isin(["yellow", "red"]).all().all()
    assert (level.iloc[:, -6:] == "normal").all().all()
    assert (index.iloc[:, -1] - index.iloc[:, 0] >= 20).all()


def test_declining(city: DemoCity, levels: pd.DataFrame) -> None:
    codes = city.stories[STORY_DECLINING]
    level = level_matrix(levels, codes, city)
    index = index_matrix(levels, codes, city)
    assert (level.iloc[:, -15] == "normal").all()
    assert level.iloc[:, -1].isin(["blue", "yellow"]).all()
    assert (index.iloc[:, -15] - index.iloc[:, -1] >= 6).all()
    assert set(level.iloc[:, -1]) == {"blue", "yellow"}


def test_stuck_yellow_is_escalated(city: DemoCity, levels: pd.DataFrame, catalog: Catalog) -> None:
    codes = city.stories[STORY_STUCK_YELLOW]
    assert (level_matrix(levels, codes, city).iloc[:, -1] == "yellow").all()
    yearly = escalated_at_last_complete_year(city, catalog).loc[codes]
    assert yearly["index"].between(60, 70, inclusive="left").all()
    assert yearly["escalated"].all()
    assert (yearly["streak"] >= catalog.alerts.escalation.consecutive).all()


@pytest.mark.parametrize("last_month", LAST_MONTHS_OF_A_YEAR)
def test_only_stuck_yellow_is_escalated_however_the_years_fall(
    last_month: str, catalog: Catalog
) -> None:
    demo = build_demo(catalog, last_month=last_month)
    yearly = escalated_at_last_complete_year(demo, catalog)
    escalated = set(yearly.index[yearly["escalated"]])
    assert escalated == set(demo.stories[STORY_STUCK_YELLOW])
    stuck = yearly.loc[demo.stories[STORY_STUCK_YELLOW], "index"]
    assert stuck.between(60, 70, inclusive="left").all()


def test_red_in_the_latest_months(city: DemoCity, levels: pd.DataFrame) -> None:
    codes = city.stories[STORY_RED]
    index = index_matrix(levels, codes, city)
    assert (index.iloc[:, -3:] < 60).all().all()
    assert (level_matrix(levels, codes, city).iloc[:, -3:] == "red").all().all()
    assert (index.iloc[:, :12] >= 70).all().all()


def test_not_reported_last_month(city: DemoCity, catalog: Catalog) -> None:
    codes = city.stories[STORY_NOT_REPORTED]
    last = city.values[city.values["period"] == city.last_month]
    assert not last["community_code"].isin(codes).any()
    earlier = city.values[city.values["period"] == shift_month(city.last_month, -1)]
    assert set(codes) <= set(earlier["community_code"])
    day_after_deadline = reporting_deadline(
        city.last_month, catalog.alerts.not_reported.deadline_day
    ) + dt.timedelta(days=1)
    registry_codes = city.registry.loc[city.registry["level"] == "community", "code"]
    missing = alerts.not_reported(
        registry_codes, city.values, [city.last_month], day_after_deadline, catalog
    )
    assert sorted(missing["community_code"]) == codes


def test_gaps(city: DemoCity, levels: pd.DataFrame, catalog: Catalog) -> None:
    codes = city.stories[STORY_GAPS]
    rows = levels[levels["community_code"].isin(codes)]
    counts = (
        city.values[city.values["community_code"].isin(codes)]
        .groupby(["community_code", "period"])
        .size()
    )
    full = len(catalog.indicators)
    for code in codes:
        own = rows[rows["community_code"] == code].set_index("period")
        assert len(own) == 36, "a gap community still reports something every month"
        withheld = own[own["withheld"]]
        assert len(withheld) >= 1
        assert (withheld["coverage"] < catalog.coverage.minimum).all()
        partial = counts.loc[code][counts.loc[code] < full].index
        assert own.loc[partial, "index"].notna().any(), "some months miss a value yet keep an index"
    assert not levels.loc[~levels["community_code"].isin(codes), "withheld"].any()


def test_one_suspicious_jump(city: DemoCity, catalog: Catalog, levels: pd.DataFrame) -> None:
    jumps = alerts.suspicious_jumps(city.values, catalog)
    assert len(jumps) == 1
    jump = jumps.iloc[0]
    assert [jump["community_code"]] == city.stories[STORY_JUMP]
    assert jump["indicator"] == "response_hours"
    assert jump["period"] == shift_month(city.last_month, -1)
    assert jump["value"] >= 4 * jump["median"]
    row = levels[
        (levels["community_code"] == jump["community_code"]) & (levels["period"] == jump["period"])
    ]
    assert row["index"].notna().all(), "a flagged value still counts"


def test_steady_communities_stay_normal_or_blue(city: DemoCity, levels: pd.DataFrame) -> None:
    codes = city.stories[STORY_STEADY]
    level = level_matrix(levels, codes, city)
    assert not (level == "red").any().any()
    assert level.iloc[:, -1].isin(["normal", "blue"]).all()
    assert (level.iloc[:, -1] == "normal").mean() > 0.6


def test_last_month_level_distribution(city: DemoCity, levels: pd.DataFrame) -> None:
    n_communities = (city.registry["level"] == "community").sum()
    last = levels[levels["period"] == city.last_month]
    share = last["level"].value_counts() / n_communities
    assert 0.45 <= share["normal"] <= 0.60
    assert 0.18 <= share["blue"] <= 0.32
    assert 0.08 <= share["yellow"] <= 0.16
    assert 0.05 <= share["red"] <= 0.11
    rest = 1 - share.sum()
    assert 0.02 <= rest <= 0.10


# ---- other sizes ---------------------------------------------------------------------------


def test_build_city_of_other_sizes(catalog: Catalog) -> None:
    small = build_city(
        catalog,
        districts=2,
        streets_per_district=(1, 2),
        communities_per_street=(20, 20),
        months=12,
        last_month="2024-06",
        seed=3,
    )
    communities = small.registry[small.registry["level"] == "community"]
    assert (communities.groupby("parent_code").size() == 20).all()
    assert small.first_month == "2023-07"
    assert not communities.duplicated(["parent_code", "name"]).any()

    many = build_city(
        catalog,
        districts=101,
        streets_per_district=(1, 1),
        communities_per_street=(1, 1),
        months=3,
        last_month="2024-06",
        seed=3,
    )
    districts = many.registry.loc[many.registry["level"] == "district", "code"].tolist()
    assert districts[98:] == ["990199000000", "990201000000", "990202000000"]
    assert many.registry["code"].map(is_valid_code).all()
    assert (
        many.registry["name"].is_unique
        or not many.registry.loc[many.registry["level"] == "district", "name"].duplicated().any()
    )


def test_a_custom_catalog_gets_values_for_every_indicator() -> None:
    raw = tomllib.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    raw["indicators"].append(
        {
            "id": "volunteer_hours",
            "name_zh": "志愿服务时长",
            "name_en": "Volunteer hours",
            "unit": "小时",
            "dimension": "innovation",
            "best": 20.0,
            "worst": 1.0,
            "transform": "log",
            "valid_min": 0.0,
            "valid_max": 1000.0,
        }
    )
    custom = parse_catalog(raw)
    small = build_city(
        custom,
        districts=1,
        streets_per_district=(2, 2),
        communities_per_street=(10, 10),
        months=12,
        last_month="2024-06",
        seed=5,
    )
    volunteer = small.values.loc[small.values["indicator"] == "volunteer_hours", "value"]
    assert len(volunteer) > 0
    assert volunteer.between(1.0, 20.0).all()
    assert volunteer.nunique() > 10
    scores = score_values(small.values, custom).unit_scores
    assert scores["index"].notna().mean() > 0.9
