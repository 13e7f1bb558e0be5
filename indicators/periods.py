"""Period labels: months `YYYY-MM`, quarters `YYYY-Qn`, years `YYYY`, and their arithmetic."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

# \Z, not $: `$` also matches before a trailing newline ("2025-08\n" would pass); re.ASCII:
# `\d` would otherwise accept full-width digits ("２０２５-08").
MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])\Z", re.ASCII)
QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])\Z", re.ASCII)
YEAR_PATTERN = re.compile(r"^(\d{4})\Z", re.ASCII)


def granularity_of(period: str) -> str:
    """'month', 'quarter' or 'year' for a period label; ValueError for anything else."""
    if MONTH_PATTERN.match(period):
        return "month"
    if QUARTER_PATTERN.match(period):
        return "quarter"
    if YEAR_PATTERN.match(period):
        return "year"
    raise ValueError(f"not a period label: {period!r}")


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def month_index(period: str) -> int:
    """Months since year 0, so that consecutive months differ by one."""
    match = MONTH_PATTERN.match(period)
    if not match:
        raise ValueError(f"not a month: {period!r}")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_from_index(index: int) -> str:
    return month_label(index // 12, index % 12 + 1)


def shift_month(period: str, months: int) -> str:
    return month_from_index(month_index(period) + months)


def month_range(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included."""
    return [month_from_index(i) for i in range(month_index(first), month_index(last) + 1)]


def current_month(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    return month_label(today.year, today.month)


def to_granularity(months: pd.Series, granularity: str) -> pd.Series:
    """Maps a Series of `YYYY-MM` labels to the quarter or year that holds each month."""
    if granularity == "month":
        return months
    years = months.str.slice(0, 4)
    if granularity == "year":
        return years
    if granularity == "quarter":
        quarter = (months.str.slice(5, 7).astype(int) - 1) // 3 + 1
        return years + "-Q" + quarter.astype(str)
    raise ValueError(f"unknown granularity: {granularity!r}")


def period_of_month(month: str, granularity: str) -> str:
    return str(to_granularity(pd.Series([month]), granularity).iloc[0])


def months_in(period: str) -> list[str]:
    """The months a month, quarter or year label covers."""
    kind = granularity_of(period)
    if kind == "month":
        return [period]
    year = int(period[:4])
    if kind == "year":
        return [month_label(year, m) for m in range(1, 13)]
    quarter = int(period[-1])
    return [month_label(year, m) for m in range(3 * quarter - 2, 3 * quarter + 1)]


def last_month_of(period: str) -> str:
    return months_in(period)[-1]


def reporting_deadline(month: str, deadline_day: int) -> dt.date:
    """The day after which a month with no value counts as not reported."""
    index = month_index(month) + 1
    return dt.date(index // 12, index % 12 + 1, deadline_day)


def latest_closed_month(today: dt.date, deadline_day: int) -> str:
    """The latest month whose reporting deadline has passed on `today`."""
    candidate = current_month(today)
    candidate = shift_month(candidate, -1)
    while reporting_deadline(candidate, deadline_day) >= today:
        candidate = shift_month(candidate, -1)
    return candidate


def period_sort_key(period: str) -> tuple[int, int, int]:
    """Orders labels of one granularity chronologically (years, then quarters, then months)."""
    kind = granularity_of(period)
    year = int(period[:4])
    if kind == "year":
        return (year, 0, 0)
    if kind == "quarter":
        return (year, int(period[-1]), 0)
    return (year, 0, int(period[5:7]))
