"""A report's summary and tables with localised headers and typed columns, for the HTML and XLSX writers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from indicators.catalog import Catalog
from indicators.reports import Bulletin, CommunityReport, Headline, Report
from ui.i18n import (
    dimension_name,
    format_signed,
    indicator_name,
    indicator_unit,
    is_missing,
    level_name,
    state_name,
    t,
)

# How a column's cells are written: text as is; a 12-digit code as text; numbers with one
# decimal (index, scores, indicator values); a signed change (one decimal) or contribution
# (two); a share 0..1 as a percentage; a count; a level id shown by colour and label.
Kind = Literal[
    "text", "code", "number", "signed", "contribution", "percent", "integer", "level", "weight"
]


# Columns of running text (reasons, drivers, lists of months) get room to wrap.
WIDE_COLUMNS = frozenset({"reason", "drivers", "months"})


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind = "text"

    @property
    def wide(self) -> bool:
        return self.key in WIDE_COLUMNS


@dataclass(frozen=True)
class Table:
    """One table of a report: its id (a stable sheet key), title, columns and rows."""

    id: str
    title: str
    columns: tuple[Column, ...]
    frame: pd.DataFrame

    def rows(self) -> list[tuple]:
        """The cells row by row, in column order (plain Python values, NaN where missing)."""
        return list(zip(*(self.frame[column.key].tolist() for column in self.columns), strict=True))


@dataclass(frozen=True)
class SummaryItem:
    label: str
    value: object
    kind: Kind = "text"


def title(report: Report, language: str) -> str:
    if isinstance(report, CommunityReport):
        return t("report.title.community", language)
    return t(f"report.title.{report.meta.granularity}", language)


def status_label(state: str | None, catalog: Catalog, language: str) -> str:
    """A level's or special state's name (数据不足 for a missing one)."""
    return level_name(state, catalog, language)


def reason(headline: Headline, language: str) -> str:
    """Why the unit is at its level, in `language`."""
    return headline.reason_en if language == "en" else headline.reason_zh


def _reasons(frame: pd.DataFrame, language: str) -> list[str]:
    """The zh or en reason of every row, "" where there is none."""
    column = frame["reason_en" if language == "en" else "reason_zh"]
    return ["" if is_missing(value) else str(value) for value in column]


def indicator_label(indicator_id: str, catalog: Catalog, language: str) -> str:
    indicator = catalog.indicator_by_id.get(indicator_id)
    return indicator_name(indicator, language) if indicator else indicator_id


def trend_text(value: object, language: str) -> str:
    return "" if is_missing(value) else state_name(str(value), language)


def drivers_text(drivers: tuple[tuple[str, float], ...], catalog: Catalog, language: str) -> str:
    separator = "，" if language == "zh" else ", "
    return separator.join(
        f"{indicator_label(i, catalog, language)} {format_signed(c, 2)}" for i, c in drivers
    )


def _headers(language: str, **keys: str) -> dict[str, str]:
    return {column: t(key, language) for column, key in keys.items()}


def _table(
    table_id: str, title_text: str, frame: pd.DataFrame, columns: list[tuple[str, str, Kind]]
) -> Table:
    spec = tuple(Column(key, header, kind) for key, header, kind in columns)
    return Table(
        table_id,
        title_text,
        spec,
        frame.reindex(columns=[c.key for c in spec]).reset_index(drop=True),
    )


# ---- summaries ------------------------------------------------------------------------------


def summary(report: Report, catalog: Catalog, language: str) -> list[SummaryItem]:
    """The label/value pairs of the summary sheet and the report's header."""
    meta, headline = report.meta, report.headline

    def item(key: str, value: object, kind: Kind = "text") -> SummaryItem:
        return SummaryItem(t(f"report.summary.{key}", language), value, kind)

    items = [
        item("report", title(report, language)),
        item("unit", report.unit.name),
        item("code", report.unit.code, "code"),
    ]
    if isinstance(report, CommunityReport):
        for key, parent in (("street", report.street), ("district", report.district)):
            if parent is not None:
                items.append(
                    item(
                        key,
                        f"{parent.name}（{parent.code}）"
                        if language == "zh"
                        else f"{parent.name} ({parent.code})",
                    )
                )
    items += [
        item("period", meta.period),
        item("previous_period", meta.previous_period or "—"),
        item("index", headline.index, "number"),
        item("level", headline.state, "level"),
        item("previous_index", headline.previous_index, "number"),
        item("change", headline.change, "signed"),
        item("trend", trend_text(headline.trend, language)),
    ]
    if isinstance(report, CommunityReport):
        items.append(item("coverage", headline.coverage, "percent"))
        items.append(
            item(
                "months",
                t(
                    "report.summary.months_value",
                    language,
                    reported=report.months_reported,
                    expected=report.months_expected,
                ),
            )
        )
    else:
        items.append(item("share_with_index", headline.coverage, "percent"))
        items.append(item("communities", report.registered, "integer"))
        for state in (*reversed(catalog.level_ids), "withheld", "not_reported", "escalated"):
            items.append(
                SummaryItem(
                    t(
                        "report.summary.count",
                        language,
                        state=status_label(state, catalog, language),
                    ),
                    int(report.counts.get(state, 0)),
                    "integer",
                )
            )
    items += [
        item("reason", reason(headline, language)),
        item("methodology", meta.methodology_version),
        item("generated", meta.generated_at.strftime("%Y-%m-%d %H:%M")),
        item(
            "data",
            t("demo.label", language) if meta.demo else t("report.summary.real_data", language),
        ),
    ]
    return items


# ---- the community report's tables ------------------------------------------------------------


def community_tables(report: CommunityReport, catalog: Catalog, language: str) -> list[Table]:
    """Trend, dimensions, indicators, attribution, alert history and completeness."""
    meta = report.meta
    h = _headers(
        language,
        period="column.period",
        index="column.index",
        level="column.level",
        reason="column.reason",
        indicator="column.indicator",
        value="column.value",
        score="column.score",
        unit="report.column.unit",
        best="report.column.best",
        worst="report.column.worst",
        weight="report.column.weight",
        dimension="report.column.dimension",
        this="report.column.this",
        street="report.column.street_score",
        district="report.column.district_score",
        value_from="report.column.value_from",
        value_to="report.column.value_to",
        score_from="report.column.score_from",
        score_to="report.column.score_to",
        contribution="report.column.contribution",
        streak="report.column.streak",
        escalated="report.column.escalated",
        median="report.column.median",
        robust_z="report.column.robust_z",
        months_reported="report.column.months_reported",
        months_expected="report.column.months_expected",
    )
    dimensions = report.dimensions.assign(
        dimension=[
            dimension_name(catalog.dimension_by_id[d], language)
            for d in report.dimensions["dimension"]
        ]
    )
    indicators = report.indicators.assign(
        unit=[
            indicator_unit(catalog.indicator_by_id[i], language)
            for i in report.indicators["indicator"]
        ],
        indicator=[indicator_label(i, catalog, language) for i in report.indicators["indicator"]],
    )
    attribution = report.attribution.assign(
        indicator=[indicator_label(i, catalog, language) for i in report.attribution["indicator"]]
    )
    changes = report.level_changes.assign(reason=_reasons(report.level_changes, language))
    escalations = report.escalations.assign(
        reason=_reasons(report.escalations, language),
        escalated=[
            t("report.yes" if e else "report.no", language) for e in report.escalations["escalated"]
        ],
    )
    jumps = report.jumps.assign(
        indicator=[indicator_label(i, catalog, language) for i in report.jumps["indicator"]],
        reason=_reasons(report.jumps, language),
    )
    completeness = report.completeness.assign(
        indicator=[indicator_label(i, catalog, language) for i in report.completeness["indicator"]]
    )
    attribution_title = t(
        "report.section.attribution",
        language,
        period_from=meta.previous_period or "—",
        period_to=meta.period,
    )
    return [
        _table(
            "trend",
            t("report.section.trend", language),
            report.series,
            [
                ("period", h["period"], "text"),
                ("index", h["index"], "number"),
                ("level", h["level"], "level"),
            ],
        ),
        _table(
            "dimensions",
            t("report.section.dimensions", language),
            dimensions,
            [
                ("dimension", h["dimension"], "text"),
                ("score", h["this"], "number"),
                ("street", h["street"], "number"),
                ("district", h["district"], "number"),
            ],
        ),
        _table(
            "indicators",
            t("report.section.indicators", language),
            indicators,
            [
                ("indicator", h["indicator"], "text"),
                ("unit", h["unit"], "text"),
                ("value", h["value"], "number"),
                ("score", h["score"], "number"),
                ("level", h["level"], "level"),
                ("best", h["best"], "number"),
                ("worst", h["worst"], "number"),
                ("effective_weight", h["weight"], "weight"),
            ],
        ),
        _table(
            "attribution",
            attribution_title,
            attribution,
            [
                ("indicator", h["indicator"], "text"),
                ("value_from", h["value_from"], "number"),
                ("value_to", h["value_to"], "number"),
                ("score_from", h["score_from"], "number"),
                ("score_to", h["score_to"], "number"),
                ("contribution", h["contribution"], "contribution"),
            ],
        ),
        _table(
            "level_changes",
            t("report.section.level_changes", language),
            changes,
            [
                ("period", h["period"], "text"),
                ("index", h["index"], "number"),
                ("level", h["level"], "level"),
                ("reason", h["reason"], "text"),
            ],
        ),
        _table(
            "escalations",
            t("report.section.escalations", language),
            escalations,
            [
                ("period", h["period"], "text"),
                ("level", h["level"], "level"),
                ("streak", h["streak"], "integer"),
                ("escalated", h["escalated"], "text"),
                ("reason", h["reason"], "text"),
            ],
        ),
        _table(
            "jumps",
            t("report.section.jumps", language),
            jumps,
            [
                ("period", h["period"], "text"),
                ("indicator", h["indicator"], "text"),
                ("value", h["value"], "number"),
                ("median", h["median"], "number"),
                ("robust_z", h["robust_z"], "number"),
                ("reason", h["reason"], "text"),
            ],
        ),
        _table(
            "completeness",
            t("report.section.completeness", language),
            completeness,
            [
                ("indicator", h["indicator"], "text"),
                ("months_reported", h["months_reported"], "integer"),
                ("months_expected", h["months_expected"], "integer"),
            ],
        ),
    ]


# ---- the bulletin's tables --------------------------------------------------------------------


def bulletin_tables(report: Bulletin, catalog: Catalog, language: str) -> list[Table]:
    """Units, lists, escalations, not reported, movers, indicator averages and all communities."""
    meta = report.meta
    h = _headers(
        language,
        code="column.code",
        name="column.name",
        index="column.index",
        level="column.level",
        trend="column.trend",
        coverage="column.coverage",
        reason="column.reason",
        street="report.column.street",
        change="report.column.change",
        streak="report.column.streak",
        since="report.column.since",
        periods="report.column.periods",
        months="report.column.months",
        deadline="report.column.deadline",
        drivers="report.column.drivers",
        index_from="report.column.index_from",
        index_to="report.column.index_to",
        indicator="column.indicator",
        unit="report.column.unit",
        mean_value="report.column.mean_value",
        mean_score="report.column.mean_score",
        reporting="report.column.reporting",
        best="report.column.best",
        worst="report.column.worst",
        period="column.period",
    )
    child_level = "street" if report.unit.level == "district" else "community"

    def with_text(frame: pd.DataFrame) -> pd.DataFrame:
        return (
            frame.assign(
                trend=[trend_text(v, language) for v in frame["trend"]],
                reason=_reasons(frame, language),
            )
            if "reason_zh" in frame
            else frame.assign(trend=[trend_text(v, language) for v in frame["trend"]])
        )

    level_counts = [
        (level, status_label(level, catalog, language), "integer") for level in catalog.level_ids
    ]
    unit_columns: list[tuple[str, str, Kind]] = [
        ("code", h["code"], "code"),
        ("name", h["name"], "text"),
        ("index", h["index"], "number"),
        ("level", h["level"], "level"),
        ("change", h["change"], "signed"),
        ("trend", h["trend"], "text"),
    ]
    children_columns = [*unit_columns, ("coverage", h["coverage"], "percent")]
    if child_level == "street":
        children_columns += level_counts
    community_columns: list[tuple[str, str, Kind]] = [
        ("code", h["code"], "code"),
        ("name", h["name"], "text"),
        ("street", h["street"], "text"),
        ("index", h["index"], "number"),
        ("level", h["level"], "level"),
        ("change", h["change"], "signed"),
        ("trend", h["trend"], "text"),
        ("coverage", h["coverage"], "percent"),
        ("reason", h["reason"], "text"),
    ]
    escalations = report.escalations.assign(reason=_reasons(report.escalations, language))
    movers = report.movers.assign(
        drivers=[drivers_text(d, catalog, language) for d in report.movers["drivers"]],
        direction=[
            t(f"report.section.{'improved' if d == 'up' else 'declined'}", language)
            for d in report.movers["direction"]
        ],
    )
    averages = report.indicator_averages.assign(
        unit=[
            indicator_unit(catalog.indicator_by_id[i], language)
            for i in report.indicator_averages["indicator"]
        ],
        indicator=[
            indicator_label(i, catalog, language) for i in report.indicator_averages["indicator"]
        ],
    )
    not_reported = report.not_reported.assign(deadline=report.not_reported["deadline"].astype(str))
    return [
        _table(
            "units",
            t("report.section.units", language, unit=t(f"unit.{child_level}", language)),
            with_text(report.children),
            children_columns,
        ),
        _table(
            "flagged",
            t("report.section.flagged", language),
            with_text(report.flagged),
            [c for c in community_columns if c[0] != "coverage"],
        ),
        _table(
            "withheld",
            t("report.section.withheld", language),
            with_text(report.withheld),
            [c for c in community_columns if c[0] not in ("index", "level", "change")],
        ),
        _table(
            "escalations",
            t("report.section.escalations", language),
            escalations,
            [
                ("code", h["code"], "code"),
                ("name", h["name"], "text"),
                ("street", h["street"], "text"),
                ("level", h["level"], "level"),
                ("streak", h["streak"], "integer"),
                ("since", h["since"], "text"),
                ("periods", h["periods"], "integer"),
                ("reason", h["reason"], "text"),
            ],
        ),
        _table(
            "not_reported",
            t("report.section.not_reported", language),
            not_reported,
            [
                ("code", h["code"], "code"),
                ("name", h["name"], "text"),
                ("street", h["street"], "text"),
                ("months", h["months"], "text"),
                ("deadline", h["deadline"], "text"),
            ],
        ),
        _table(
            "movers",
            t(
                "report.section.movers",
                language,
                period_from=meta.previous_period or "—",
                period_to=meta.period,
            ),
            movers,
            [
                ("direction", t("report.column.state", language), "text"),
                ("code", h["code"], "code"),
                ("name", h["name"], "text"),
                ("index_from", h["index_from"], "number"),
                ("index_to", h["index_to"], "number"),
                ("change", h["change"], "signed"),
                ("drivers", h["drivers"], "text"),
            ],
        ),
        _table(
            "averages",
            t("report.section.averages", language),
            averages,
            [
                ("indicator", h["indicator"], "text"),
                ("unit", h["unit"], "text"),
                ("mean_value", h["mean_value"], "number"),
                ("mean_score", h["mean_score"], "number"),
                ("level", h["level"], "level"),
                ("reporting", h["reporting"], "integer"),
                ("best", h["best"], "number"),
                ("worst", h["worst"], "number"),
            ],
        ),
        _table(
            "trend",
            t("report.section.trend", language),
            report.series,
            [
                ("period", h["period"], "text"),
                ("index", h["index"], "number"),
                ("level", h["level"], "level"),
            ],
        ),
        _table(
            "communities",
            t("report.section.communities", language),
            with_text(report.communities),
            community_columns,
        ),
    ]


def tables(report: Report, catalog: Catalog, language: str) -> list[Table]:
    if isinstance(report, CommunityReport):
        return community_tables(report, catalog, language)
    return bulletin_tables(report, catalog, language)
