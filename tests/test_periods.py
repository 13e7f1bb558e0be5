"""Period labels: parsing, month arithmetic, quarters and years, reporting deadlines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from indicators.periods import (
    current_month,
    granularity_of,
    last_month_of,
    latest_closed_month,
    month_from_index,
    month_index,
    month_label,
    month_range,
    months_in,
    period_of_month,
    period_sort_key,
    reporting_deadline,
    shift_month,
    to_granularity,
)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("2025-01", "month"),
        ("2025-12", "month"),
        ("2025-Q1", "quarter"),
        ("2025-Q4", "quarter"),
        ("2025", "year"),
        ("0001", "year"),
    ],
)
def test_granularity_of_valid_labels(label, expected):
    assert granularity_of(label) == expected


@pytest.mark.parametrize(
    "label",
    [
        "2025-13",
        "2025-00",
        "2025-8",
        "25-08",
        "2025/08",
        "202508",
        "2025-Q0",
        "2025-Q5",
        "2025-q1",
        "2025-08\n",
        " 2025-08",
        "２０２５-08",
        "２０２５",
        "2025-08-01",
        "",
        "Q1-2025",
    ],
)
def test_granularity_of_rejects_anything_else(label):
    with pytest.raises(ValueError, match="not a period label"):
        granularity_of(label)


@pytest.mark.parametrize(
    ("year", "month", "label"),
    [
        (2025, 1, "2025-01"),
        (2025, 12, "2025-12"),
        (999, 3, "0999-03"),
    ],
)
def test_month_label(year, month, label):
    assert month_label(year, month) == label


@pytest.mark.parametrize("label", ["2024-12", "2025-01", "2025-06", "2000-02", "1999-12"])
def test_month_index_round_trips(label):
    assert month_from_index(month_index(label)) == label


def test_consecutive_months_differ_by_one_index_across_a_year_end():
    assert month_index("2025-01") - month_index("2024-12") == 1


@pytest.mark.parametrize("label", ["2025-Q1", "2025", "2025-13"])
def test_month_index_rejects_non_months(label):
    with pytest.raises(ValueError, match="not a month"):
        month_index(label)


@pytest.mark.parametrize(
    ("month", "shift", "expected"),
    [
        ("2025-01", 0, "2025-01"),
        ("2025-01", -1, "2024-12"),
        ("2024-12", 1, "2025-01"),
        ("2025-03", -14, "2024-01"),
        ("2025-11", 26, "2028-01"),
    ],
)
def test_shift_month(month, shift, expected):
    assert shift_month(month, shift) == expected


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2025-01", "2025-01", ["2025-01"]),
        ("2024-11", "2025-02", ["2024-11", "2024-12", "2025-01", "2025-02"]),
        ("2025-03", "2025-01", []),
    ],
)
def test_month_range_includes_both_ends(first, last, expected):
    assert month_range(first, last) == expected


@pytest.mark.parametrize(
    ("month", "granularity", "expected"),
    [
        ("2025-01", "quarter", "2025-Q1"),
        ("2025-03", "quarter", "2025-Q1"),
        ("2025-04", "quarter", "2025-Q2"),
        ("2025-09", "quarter", "2025-Q3"),
        ("2025-10", "quarter", "2025-Q4"),
        ("2025-12", "quarter", "2025-Q4"),
        ("2025-12", "year", "2025"),
        ("2025-07", "month", "2025-07"),
    ],
)
def test_period_of_month(month, granularity, expected):
    assert period_of_month(month, granularity) == expected


def test_to_granularity_maps_a_series_and_keeps_its_index():
    months = pd.Series(["2025-02", "2024-11", "2025-07"], index=[10, 20, 30], dtype="str")
    assert to_granularity(months, "quarter").to_dict() == {
        10: "2025-Q1",
        20: "2024-Q4",
        30: "2025-Q3",
    }
    assert to_granularity(months, "year").tolist() == ["2025", "2024", "2025"]
    with pytest.raises(ValueError, match="unknown granularity"):
        to_granularity(months, "week")


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2025-05", ["2025-05"]),
        ("2025-Q1", ["2025-01", "2025-02", "2025-03"]),
        ("2025-Q4", ["2025-10", "2025-11", "2025-12"]),
        ("2025", [f"2025-{m:02d}" for m in range(1, 13)]),
    ],
)
def test_months_in(period, expected):
    assert months_in(period) == expected
    assert last_month_of(period) == expected[-1]


@pytest.mark.parametrize(
    ("month", "day", "expected"),
    [
        ("2025-08", 10, dt.date(2025, 9, 10)),
        ("2025-12", 10, dt.date(2026, 1, 10)),
        ("2025-01", 28, dt.date(2025, 2, 28)),
    ],
)
def test_reporting_deadline_is_a_day_of_the_following_month(month, day, expected):
    assert reporting_deadline(month, day) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # On the deadline day itself the previous month is not yet late; the day after it is.
        (dt.date(2025, 9, 10), "2025-07"),
        (dt.date(2025, 9, 11), "2025-08"),
        (dt.date(2025, 9, 30), "2025-08"),
        (dt.date(2025, 9, 1), "2025-07"),
        (dt.date(2026, 1, 10), "2025-11"),
        (dt.date(2026, 1, 11), "2025-12"),
    ],
)
def test_latest_closed_month(today, expected):
    assert latest_closed_month(today, 10) == expected


def test_current_month():
    assert current_month(dt.date(2025, 3, 31)) == "2025-03"


@pytest.mark.parametrize(
    ("scrambled", "ordered"),
    [
        (
            ["2025-10", "2024-12", "2025-02", "2025-01"],
            ["2024-12", "2025-01", "2025-02", "2025-10"],
        ),
        (["2025-Q2", "2024-Q4", "2025-Q1"], ["2024-Q4", "2025-Q1", "2025-Q2"]),
        (["2025", "2023", "2024"], ["2023", "2024", "2025"]),
    ],
)
def test_period_sort_key_orders_chronologically(scrambled, ordered):
    assert sorted(scrambled, key=period_sort_key) == ordered
