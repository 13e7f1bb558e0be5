"""The worked example of docs/methodology.md: one community, 2024–2025, through the real engine.

The raw values below are the single source of the example. `compute()` runs them through
indicators/scoring.py and indicators/alerts.py; tests/test_scoring.py asserts the key figures,
and `python tests/worked_example.py` prints the Markdown tables pasted into the document, so
the document cannot drift from the code.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indicators import alerts
from indicators.catalog import Catalog, load_catalog
from indicators.scoring import aggregate_months, attribute_change, score_values

COMMUNITY = "990101001001"
INDICATORS = (
    "satisfaction",
    "participation",
    "council_attendance",
    "certified_share",
    "training_hours",
    "mediation_success",
    "turnover",
    "response_hours",
    "resolution_rate",
    "error_rate",
    "digital_usage",
    "innovation_share",
    "residents_per_worker",
)
_ = None  # no value reported for that indicator that month

# One row per reported month, values in the order of INDICATORS. July 2025 is absent: the
# community sent nothing (未报送). August 2025 arrived with five indicators missing.
MONTHS_2025 = {
    "2025-01": (77.4, 38.5, 70, 24, 22, 72, 14, 26, 82, 4.2, 54, 16, 1350),
    "2025-02": (79.2, 40.2, 72, 24, 22, 76, 14, 22, 86, 3.6, 58, 16, 1350),
    "2025-03": (80.1, 41.9, 74, 24, 22, 78, 14, 22, 87, 3.3, 58, 16, 1350),
    "2025-04": (82.5, 43.4, 76, 24, 22, 81, 14, 15, 88, 3.0, 63, 16, 1350),
    "2025-05": (87.6, 48.1, 81, 24, 22, 84, 14, 12, 91, 2.2, 69, 16, 1350),
    "2025-06": (87.6, 48.8, 82, 24, 22, 86, 14, 11, 93, 1.8, 71, 16, 1350),
    "2025-08": (_, _, 79, _, _, 86, 14, 10, 92, 2.3, _, 16, 1350),
    "2025-09": (85.0, 44.8, 78, 24, 22, 83, 14, 40, 89, 2.8, 65, 16, 1350),
    "2025-10": (82.9, 42.7, 75, 24, 22, 80, 14, 17, 88, 3.5, 62, 16, 1350),
    "2025-11": (82.6, 43.8, 76, 24, 22, 81, 14, 16, 88, 2.9, 62, 16, 1350),
    "2025-12": (83.8, 45.4, 76, 24, 22, 84, 14, 15, 90, 2.9, 64, 16, 1350),
}
# The year before, summarised in the document by its year value only.
MONTHS_2024 = {
    "2024-01": (81.1, 38.3, 73, 24, 22, 75, 14, 23, 84, 4.0, 56, 16, 1350),
    "2024-02": (79.3, 42.8, 73, 24, 22, 75, 14, 22, 84, 3.9, 56, 16, 1350),
    "2024-03": (80.6, 40.5, 73, 24, 22, 76, 14, 21, 86, 3.6, 57, 16, 1350),
    "2024-04": (81.0, 42.2, 75, 24, 22, 77, 14, 20, 86, 3.6, 59, 16, 1350),
    "2024-05": (82.5, 43.0, 75, 24, 22, 79, 14, 22, 87, 3.4, 58, 16, 1350),
    "2024-06": (82.4, 43.4, 75, 24, 22, 78, 14, 18, 87, 3.1, 62, 16, 1350),
    "2024-07": (82.0, 43.4, 74, 24, 22, 78, 14, 18, 87, 3.4, 59, 16, 1350),
    "2024-08": (81.7, 40.3, 75, 24, 22, 79, 14, 21, 86, 3.5, 61, 16, 1350),
    "2024-09": (79.8, 41.1, 74, 24, 22, 79, 14, 22, 85, 3.4, 59, 16, 1350),
    "2024-10": (81.6, 40.1, 73, 24, 22, 75, 14, 20, 85, 3.7, 56, 16, 1350),
    "2024-11": (80.7, 40.5, 73, 24, 22, 76, 14, 22, 83, 3.9, 55, 16, 1350),
    "2024-12": (80.5, 38.9, 72, 24, 22, 75, 14, 22, 84, 4.0, 54, 16, 1350),
}
# A separate, smaller example for the jump rule: one indicator's monthly history, then a spike.
JUMP_HISTORY = (18.0, 20.0, 17.0, 22.0, 19.0, 21.0)
JUMP_VALUES = (24.0, 40.0)  # each tried as the seventh month
TODAY = dt.date(2026, 1, 15)  # "today" for the not-reported list
DETAIL_MONTH = "2025-06"
ATTRIBUTION = ("2025-06", "2025-09")
CALENDAR_2025 = [f"2025-{m:02d}" for m in range(1, 13)]


@dataclass(frozen=True)
class Example:
    """Everything the document shows, computed by the engine."""

    catalog: Catalog
    values: pd.DataFrame
    months: pd.DataFrame  # unit scores of every month, with levels (assign_levels)
    month_indicators: pd.DataFrame  # indicator scores of every month
    year_values: pd.DataFrame  # aggregate_months(…, "year")
    years: pd.DataFrame  # year unit scores with levels and escalation
    year_indicators: pd.DataFrame
    attribution: pd.DataFrame
    trend: pd.DataFrame
    not_reported: pd.DataFrame
    jumps: pd.DataFrame  # the jump example: the seventh month's flag, if any


def values() -> pd.DataFrame:
    """The raw values as the long table the engine reads."""
    rows = [
        (COMMUNITY, month, indicator, value)
        for table in (MONTHS_2024, MONTHS_2025)
        for month, row in table.items()
        for indicator, value in zip(INDICATORS, row, strict=True)
        if value is not None
    ]
    frame = pd.DataFrame(rows, columns=["community_code", "period", "indicator", "value"])
    frame["value"] = frame["value"].astype("float64")
    return frame


def compute(catalog: Catalog | None = None) -> Example:
    """Scores the months and the years, assigns levels and escalation, attributes a change."""
    catalog = catalog or load_catalog()
    raw = values()
    monthly = score_values(raw, catalog)
    months = alerts.assign_levels(monthly.unit_scores, catalog)
    year_values = aggregate_months(raw, "year")
    yearly = score_values(year_values, catalog)
    years = alerts.escalation_states(alerts.assign_levels(yearly.unit_scores, catalog), catalog)
    calendar = sorted({*monthly.unit_scores["period"], *CALENDAR_2025})
    trend = alerts.trends(monthly.unit_scores, catalog, calendar)
    return Example(
        catalog=catalog,
        values=raw,
        months=months,
        month_indicators=monthly.indicator_scores,
        year_values=year_values,
        years=years,
        year_indicators=yearly.indicator_scores,
        attribution=attribute_change(monthly.indicator_scores, *ATTRIBUTION),
        trend=trend,
        not_reported=alerts.not_reported([COMMUNITY], raw, CALENDAR_2025, TODAY, catalog),
        jumps=jump_example(catalog),
    )


def jump_example(catalog: Catalog) -> pd.DataFrame:
    """suspicious_jumps on JUMP_HISTORY followed by each of JUMP_VALUES (one community each)."""
    rows = []
    for position, value in enumerate(JUMP_VALUES):
        code = f"{COMMUNITY[:9]}{position + 101:03d}"
        months = [f"2025-{m:02d}" for m in range(1, len(JUMP_HISTORY) + 2)]
        for month, x in zip(months, (*JUMP_HISTORY, value), strict=True):
            rows.append((code, month, "response_hours", x))
    frame = pd.DataFrame(rows, columns=["community_code", "period", "indicator", "value"])
    return alerts.suspicious_jumps(frame, catalog)


# ---- Markdown for docs/methodology.md ---------------------------------------------------------


def _number(value: float | None, decimals: int = 2) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.{decimals}f}"


def _raw(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:g}" if float(value) != int(value) else f"{int(value)}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(example: Example) -> str:
    """The tables of the worked example, in the order the document uses them."""
    catalog = example.catalog
    names = {i.id: i for i in catalog.indicators}
    level_name = {lv.id: lv.name_zh for lv in catalog.levels}
    out: list[str] = []

    header = ["指标 indicator", *[m[5:] for m in CALENDAR_2025]]
    rows = []
    for position, indicator in enumerate(INDICATORS):
        cells = []
        for month in CALENDAR_2025:
            row = MONTHS_2025.get(month)
            cells.append("未报送" if row is None else _raw(row[position]))
        rows.append([f"{names[indicator].name_zh} `{indicator}`", *cells])
    out.append("### Raw values, 2025\n\n" + _table(header, rows))

    detail = example.month_indicators[example.month_indicators["period"] == DETAIL_MONTH]
    rows = []
    for row in detail.itertuples():
        indicator = names[row.indicator]
        rows.append(
            [
                f"`{row.indicator}`",
                indicator.dimension,
                _raw(indicator.best),
                _raw(indicator.worst),
                _raw(row.value),
                _number(row.score),
                _number(row.effective_weight, 4),
                _number(row.score * row.effective_weight),
            ]
        )
    out.append(
        f"### Indicator scores, {DETAIL_MONTH}\n\n"
        + _table(
            [
                "indicator",
                "dimension",
                "best",
                "worst",
                "value",
                "score",
                "effective weight",
                "weight × score",
            ],
            rows,
        )
    )

    month_rows = example.months.set_index("period")
    rows = []
    for month in CALENDAR_2025:
        if month not in month_rows.index:
            rows.append(
                [
                    month,
                    "—",
                    "—",
                    "—",
                    "—",
                    "—",
                    "—",
                    "未报送 (not reported)",
                    "—",
                    "unchanged (no row)",
                ]
            )
            continue
        m = month_rows.loc[month]
        rows.append(
            [
                month,
                _number(m["coverage"], 2),
                *[_number(m[d.id]) for d in catalog.weighted_dimensions],
                _number(m["index"], 3),
                level_name.get(m["raw_level"], "—") if m["raw_level"] is not None else "数据不足",
                level_name.get(m["level"], "—") if m["level"] is not None else "—",
                str(m["reason_code"]),
            ]
        )
    out.append(
        "### Months of 2025\n\n"
        + _table(
            [
                "month",
                "coverage",
                *[d.id for d in catalog.weighted_dimensions],
                "index",
                "raw level",
                "level",
                "reason",
            ],
            rows,
        )
    )

    december = month_rows.loc["2024-12"]
    out.append(f"December 2024: index {_number(december['index'], 3)}, level {december['level']}.")

    reasons = example.months[example.months["period"].str.startswith("2025")]
    out.append(
        "### Level reasons (reason_zh)\n\n"
        + "\n".join(f"- {row.period}: {row.reason_zh}" for row in reasons.itertuples())
    )

    year = example.year_values[example.year_values["period"] == "2025"].set_index("indicator")
    year_scores = example.year_indicators[example.year_indicators["period"] == "2025"].set_index(
        "indicator"
    )
    rows = [
        [
            f"`{i}`",
            str(int(year.loc[i, "months"])),
            _number(year.loc[i, "value"], 3),
            _number(year_scores.loc[i, "score"]),
            _number(year_scores.loc[i, "effective_weight"], 4),
        ]
        for i in INDICATORS
    ]
    out.append(
        "### Year 2025 values\n\n"
        + _table(["indicator", "months", "year value (mean)", "score", "effective weight"], rows)
    )

    rows = []
    for row in example.years.itertuples():
        rows.append(
            [
                row.period,
                _number(row.coverage),
                *[_number(getattr(row, d.id)) for d in catalog.weighted_dimensions],
                _number(row.index, 3),
                level_name.get(row.level, "—"),
                str(row.streak),
                "是 yes" if row.escalated else "否 no",
                row.escalation_reason_zh or "—",
            ]
        )
    out.append(
        "### Years\n\n"
        + _table(
            [
                "year",
                "coverage",
                *[d.id for d in catalog.weighted_dimensions],
                "index",
                "level",
                "streak",
                "escalated",
                "escalation reason",
            ],
            rows,
        )
    )
    out.append(
        "Year level reasons:\n"
        + "\n".join(f"- {row.period}: {row.reason_zh}" for row in example.years.itertuples())
    )

    attribution = example.attribution.sort_values("contribution")
    rows = [
        [
            f"`{r.indicator}`",
            _raw(r.value_from),
            _raw(r.value_to),
            _number(r.score_from),
            _number(r.score_to),
            _number(r.weight_from, 4),
            _number(r.weight_to, 4),
            _number(r.contribution, 3),
        ]
        for r in attribution.itertuples()
    ]
    index_from = month_rows.loc[ATTRIBUTION[0], "index"]
    index_to = month_rows.loc[ATTRIBUTION[1], "index"]
    out.append(
        f"### Change attribution {ATTRIBUTION[0]} → {ATTRIBUTION[1]}\n\n"
        + _table(
            [
                "indicator",
                "value from",
                "value to",
                "score from",
                "score to",
                "weight from",
                "weight to",
                "contribution",
            ],
            rows,
        )
        + f"\n\nSum of contributions {attribution['contribution'].sum():.3f}; "
        f"index {index_from:.3f} → {index_to:.3f} (change {index_to - index_from:.3f})."
    )

    trend = example.trend[example.trend["period"].str.startswith("2025")]
    out.append(
        "### Trend\n\n"
        + _table(
            ["month", "points", "slope", "trend"],
            [[r.period, str(r.points), _number(r.slope), r.trend] for r in trend.itertuples()],
        )
    )
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(compute()))
