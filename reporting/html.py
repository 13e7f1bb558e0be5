"""A report as one printable, offline HTML page (A4 print stylesheet) with inline SVG charts."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

import pandas as pd

from indicators.catalog import Catalog
from indicators.reports import Bulletin, CommunityReport, Report
from reporting.tables import (
    Column,
    Table,
    indicator_label,
    reason,
    status_label,
    summary,
    tables,
    title,
    trend_text,
)
from ui.i18n import dimension_name, format_number, format_signed, indicator_unit, is_missing, t
from ui.theme import (
    FONT_FAMILY,
    LINE_COLOR,
    MUTED_COLOR,
    NO_DATA_COLOR,
    REFERENCE_COLOR,
    TEXT_COLOR,
    level_badge_html,
    level_bands,
    level_color,
    level_label,
    text_color_on,
)

CHART_WIDTH = 680
BAND_OPACITY = 0.12
# Shades for "this unit / its street / its district" in the dimension chart: the unit dark,
# its benchmarks lighter, so the unit stands out in colour and in print.
COMPARISON_COLORS = (LINE_COLOR, "#90A4AE", "#CFD8DC")

CSS = f"""
@page {{ size: A4; margin: 14mm 12mm 16mm 12mm; }}
* {{ box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
body {{ margin: 0; background: #F5F7F8; color: {TEXT_COLOR};
  font-family: {FONT_FAMILY}; font-size: 13px; line-height: 1.5; }}
main {{ max-width: 186mm; margin: 0 auto; padding: 10mm 0; background: #FFFFFF; }}
main > * {{ margin-left: 8mm; margin-right: 8mm; }}
header {{ border-bottom: 2px solid {LINE_COLOR}; padding-bottom: 6px; margin-bottom: 10px; }}
h1 {{ font-size: 22px; margin: 0 0 4px 0; }}
h2 {{ font-size: 16px; margin: 18px 0 6px 0; padding-left: 6px; border-left: 4px solid {LINE_COLOR};
  break-after: avoid; page-break-after: avoid; }}
h3 {{ font-size: 14px; margin: 12px 0 4px 0; break-after: avoid; page-break-after: avoid; }}
p {{ margin: 3px 0; }}
.muted {{ color: {MUTED_COLOR}; font-size: 12px; }}
.demo {{ display: inline-block; margin-top: 4px; padding: 1px 8px; border: 1px solid #B71C1C;
  color: #B71C1C; font-weight: 600; border-radius: 3px; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; }}
.card {{ flex: 1 1 0; min-width: 90px; border: 1px solid #CFD8DC; border-radius: 4px; padding: 6px 8px; }}
.card .label {{ color: {MUTED_COLOR}; font-size: 12px; }}
.card .value {{ font-size: 20px; font-weight: 700; }}
.chips {{ display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0; }}
.chip {{ border-radius: 999px; padding: 1px 10px; font-weight: 600; font-size: 12px; }}
table {{ border-collapse: collapse; width: 100%; margin: 4px 0 8px 0; font-size: 12px; }}
thead {{ display: table-header-group; }}
th, td {{ border-bottom: 1px solid #E0E6E9; padding: 3px 5px; text-align: left; vertical-align: top; }}
th, td {{ word-break: keep-all; }}
td.code {{ white-space: nowrap; }}
td.wide {{ word-break: normal; min-width: 12em; }}
th {{ background: #ECEFF1; font-weight: 600; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.num {{ white-space: nowrap; }}
tr {{ break-inside: avoid; page-break-inside: avoid; }}
figure {{ margin: 4px 0 8px 0; break-inside: avoid; page-break-inside: avoid; }}
figure svg {{ width: 100%; height: auto; display: block; }}
svg text {{ font-family: {FONT_FAMILY}; }}
.level-badge {{ font-size: 11px !important; }}
footer {{ margin-top: 16px; border-top: 1px solid #CFD8DC; padding-top: 4px; }}
@media print {{
  body {{ background: #FFFFFF; font-size: 10.5pt; }}
  main {{ max-width: none; padding: 0; }}
  main > * {{ margin-left: 0; margin-right: 0; }}
  section {{ break-inside: auto; }}
}}
"""


def report_html(report: Report, catalog: Catalog, language: str) -> str:
    """The whole page as a string: header, the report's sections, charts inline, no scripts."""
    by_id = {table.id: table for table in tables(report, catalog, language)}
    if isinstance(report, CommunityReport):
        body = _community_body(report, by_id, catalog, language)
    else:
        body = _bulletin_body(report, by_id, catalog, language)
    page_title = f"{report.unit.name} · {title(report, language)} · {report.meta.period}"
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if language == "zh" else "en"}">\n<head>\n'
        f'<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(page_title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{_header(report, catalog, language)}\n{body}\n{_footer(report, catalog, language)}\n"
        "</main>\n</body>\n</html>\n"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# ---- page parts -------------------------------------------------------------------------------


def _header(report: Report, catalog: Catalog, language: str) -> str:
    meta, unit = report.meta, report.unit
    parts = [
        f"<header><h1>{_e(title(report, language))}</h1>",
        f"<p>{_e(t('report.subtitle', language, unit=unit.name, code=unit.code, period=meta.period))}</p>",
    ]
    if isinstance(report, CommunityReport):
        parents = " · ".join(p.name for p in (report.street, report.district) if p is not None)
        if parents:
            parts.append(
                f'<p class="muted">{_e(t("report.parents", language, parents=parents))}</p>'
            )
    parts.append(
        f'<p class="muted">{_e(t("report.generated", language, time=meta.generated_at.strftime("%Y-%m-%d %H:%M"), version=meta.methodology_version))}</p>'
    )
    if meta.demo:
        parts.append(
            f'<p class="demo">{_e(t("demo.label", language))} — {_e(t("demo.notice", language))}</p>'
        )
    parts.append("</header>")
    return "\n".join(parts)


def _footer(report: Report, catalog: Catalog, language: str) -> str:
    return (
        f'<footer class="muted">{_e(t("app.title", language))} · '
        f"{_e(t('data.methodology_version', language, version=report.meta.methodology_version))}</footer>"
    )


def _section(heading: str, *content: str) -> str:
    return (
        f"<section>\n<h2>{_e(heading)}</h2>\n" + "\n".join(c for c in content if c) + "\n</section>"
    )


def _figure(svg: str) -> str:
    return f"<figure>{svg}</figure>"


def _note(text: str) -> str:
    return f'<p class="muted">{_e(text)}</p>'


def _cards(report: Report, catalog: Catalog, language: str) -> str:
    headline = report.headline
    coverage_key = (
        "report.summary.coverage"
        if isinstance(report, CommunityReport)
        else "report.summary.share_with_index"
    )
    cards = [
        (t("report.summary.index", language), _e(format_number(headline.index))),
        (t("report.summary.level", language), level_badge_html(headline.state, catalog, language)),
        (
            t("report.summary.change", language),
            _e("—" if is_missing(headline.change) else format_signed(headline.change, 1)),
        ),
        (t("report.summary.trend", language), _e(trend_text(headline.trend, language) or "—")),
        (t(coverage_key, language), _e(f"{headline.coverage * 100:.0f}%")),
    ]
    inner = "".join(
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value">{value}</div></div>'
        for label, value in cards
    )
    text = reason(headline, language)
    if is_missing(headline.index) and not text:
        text = t(
            "report.empty.no_index", language, state=status_label(headline.state, catalog, language)
        )
    return f'<div class="cards">{inner}</div>' + (_note(text) if text else "")


def _table_html(table: Table, catalog: Catalog, language: str, heading: bool = False) -> str:
    title_html = f"<h3>{_e(table.title)}</h3>" if heading else ""
    if table.frame.empty:
        return title_html + _note(t("report.empty.none", language))
    numeric = {"number", "signed", "contribution", "percent", "integer", "weight"}
    head = "".join(
        f'<th class="{"num" if c.kind in numeric else ""}">{_e(c.header)}</th>'
        for c in table.columns
    )
    rows = []
    for values in table.rows():
        cells = "".join(
            _cell(column, value, catalog, language, numeric)
            for column, value in zip(table.columns, values, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"{title_html}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(column: Column, value: object, catalog: Catalog, language: str, numeric: set[str]) -> str:
    if column.kind == "level":
        return f"<td>{level_badge_html(None if is_missing(value) else str(value), catalog, language)}</td>"
    if is_missing(value):
        text = "—" if column.kind in numeric else ""
    elif column.kind == "number":
        text = format_number(value)
    elif column.kind in ("signed", "contribution"):
        text = format_signed(float(value), 1 if column.kind == "signed" else 2)  # type: ignore[arg-type]
    elif column.kind == "percent":
        text = f"{float(value) * 100:.0f}%"  # type: ignore[arg-type]
    elif column.kind == "weight":
        text = f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]
    elif column.kind == "integer":
        text = str(int(value))  # type: ignore[call-overload]
    else:
        text = str(value)
    css = (
        ' class="num"'
        if column.kind in numeric
        else (' class="wide"' if column.wide else ' class="code"' if column.kind == "code" else "")
    )
    return f"<td{css}>{_e(text)}</td>"


def _chips(counts: Iterable[tuple[str, int]], catalog: Catalog, language: str) -> str:
    chips = []
    for state, count in counts:
        background = level_color(state, catalog)
        chips.append(
            f'<span class="chip" style="background:{background};color:{text_color_on(background)}">'
            f"{_e(level_label(state, catalog, language))} {count}</span>"
        )
    return f'<div class="chips">{"".join(chips)}</div>'


# ---- the community report -------------------------------------------------------------------


def _community_body(
    report: CommunityReport, by_id: dict[str, Table], catalog: Catalog, language: str
) -> str:
    attribution = by_id["attribution"]
    attribution_parts = (
        [_note(t("report.empty.no_previous", language))]
        if report.attribution.empty
        else [
            _figure(attribution_chart(report.attribution, catalog, language, attribution.title)),
            _note(
                t(
                    "report.note.attribution",
                    language,
                    change=format_signed(report.headline.change, 2),
                )
            ),
            _table_html(attribution, catalog, language),
        ]
    )
    completeness = t(
        "report.summary.months_value",
        language,
        reported=report.months_reported,
        expected=report.months_expected,
    )
    return "\n".join(
        [
            _section(t("report.section.headline", language), _cards(report, catalog, language)),
            _section(
                t("report.section.trend", language),
                _figure(trend_chart(report.series, catalog, language)),
            ),
            _section(
                by_id["dimensions"].title,
                _figure(dimension_chart(report.dimensions, catalog, language)),
                _table_html(by_id["dimensions"], catalog, language),
            ),
            _section(
                by_id["indicators"].title,
                _figure(
                    goalpost_chart(
                        report.indicators.rename(columns={"value": "shown_value"}),
                        catalog,
                        language,
                    )
                ),
                _table_html(by_id["indicators"], catalog, language),
            ),
            _section(attribution.title, *attribution_parts),
            _section(
                t("report.section.alerts", language),
                _table_html(by_id["level_changes"], catalog, language, heading=True),
                _table_html(by_id["escalations"], catalog, language, heading=True),
                _table_html(by_id["jumps"], catalog, language, heading=True),
            ),
            _section(
                by_id["completeness"].title,
                _note(
                    f"{t('report.summary.months', language)}：{completeness}"
                    if language == "zh"
                    else f"{t('report.summary.months', language)}: {completeness}"
                ),
                _table_html(by_id["completeness"], catalog, language),
            ),
            _section(
                t("report.section.summary", language), _summary_html(report, catalog, language)
            ),
        ]
    )


def _summary_html(report: Report, catalog: Catalog, language: str) -> str:
    rows = []
    for item in summary(report, catalog, language):
        if item.kind == "level":
            value = level_badge_html(item.value, catalog, language)  # type: ignore[arg-type]
        elif item.kind == "number":
            value = _e(format_number(item.value))
        elif item.kind == "signed":
            value = _e("—" if is_missing(item.value) else format_signed(float(item.value), 1))  # type: ignore[arg-type]
        elif item.kind == "percent":
            value = _e(f"{float(item.value) * 100:.0f}%")  # type: ignore[arg-type]
        else:
            value = _e(item.value)
        rows.append(f"<tr><th>{_e(item.label)}</th><td>{value}</td></tr>")
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


# ---- the bulletin ---------------------------------------------------------------------------


def _bulletin_body(
    report: Bulletin, by_id: dict[str, Table], catalog: Catalog, language: str
) -> str:
    esc = catalog.alerts.escalation
    counted = [*reversed(catalog.level_ids), "withheld", "not_reported", "escalated"]
    lists = []
    for level in reversed(catalog.level_ids[1:]):
        part = by_id["flagged"].frame[report.flagged["level"].to_numpy() == level]
        table = Table(
            level,
            t(
                "report.list_title",
                language,
                level=status_label(level, catalog, language),
                count=len(part),
            ),
            by_id["flagged"].columns,
            part,
        )
        lists.append(_table_html(table, catalog, language, heading=True))
    movers = by_id["movers"]
    mover_parts = (
        [_note(t("report.empty.no_previous", language))]
        if report.movers.empty
        else [
            _table_html(
                Table(
                    d,
                    t(f"report.section.{key}", language),
                    movers.columns[1:],
                    movers.frame[report.movers["direction"].to_numpy() == d],
                ),
                catalog,
                language,
                heading=True,
            )
            for d, key in (("up", "improved"), ("down", "declined"))
        ]
    )
    sections = [
        _section(
            t("report.section.headline", language),
            _cards(report, catalog, language),
            _chips([(s, int(report.counts.get(s, 0))) for s in counted], catalog, language),
        ),
        _section(
            t("report.section.trend", language),
            _figure(trend_chart(report.series, catalog, language)),
        ),
        _section(
            by_id["units"].title,
            _figure(units_chart(report.children, catalog, language, by_id["units"].title)),
            _table_html(by_id["units"], catalog, language),
        ),
        _section(by_id["flagged"].title, *lists),
    ]
    if len(report.withheld):
        sections.append(
            _section(by_id["withheld"].title, _table_html(by_id["withheld"], catalog, language))
        )
    sections += [
        _section(
            t(
                "report.section.escalated",
                language,
                n=esc.consecutive,
                granularity=t(f"granularity.{esc.granularity}", language),
                level=status_label(esc.level, catalog, language),
            ),
            _table_html(by_id["escalations"], catalog, language),
            _note(t("report.note.escalation_periods", language)),
        ),
        _section(
            by_id["not_reported"].title, _table_html(by_id["not_reported"], catalog, language)
        ),
        _section(movers.title, *mover_parts),
        _section(
            by_id["averages"].title,
            _figure(
                goalpost_chart(
                    report.indicator_averages.rename(
                        columns={"mean_value": "shown_value", "mean_score": "score"}
                    ),
                    catalog,
                    language,
                )
            ),
            _table_html(by_id["averages"], catalog, language),
        ),
        _section(t("report.section.summary", language), _summary_html(report, catalog, language)),
    ]
    return "\n".join(sections)


# ---- SVG charts -----------------------------------------------------------------------------


def _svg(height: float, body: Iterable[str], label: str) -> str:
    return (
        f'<svg viewBox="0 0 {CHART_WIDTH} {math.ceil(height)}" role="img" '
        f'aria-label="{_e(label)}">{"".join(body)}</svg>'
    )


def _text(
    x: float,
    y: float,
    text: str,
    size: int = 11,
    anchor: str = "start",
    fill: str = TEXT_COLOR,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}">{_e(text)}</text>'
    )


def _rect(x: float, y: float, width: float, height: float, fill: str, opacity: float = 1.0) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{max(height, 0):.1f}" '
        f'fill="{fill}" fill-opacity="{opacity:g}"/>'
    )


def _line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    stroke: str,
    width: float = 1.0,
    dash: str | None = None,
) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
        f'stroke-width="{width:g}"{dashed}/>'
    )


def trend_chart(series: pd.DataFrame, catalog: Catalog, language: str) -> str:
    """The index over the last periods on the level bands; each point coloured by its level,
    the last one labelled with its value and level name."""
    label = t("report.section.trend", language)
    values = [float(v) for v in series["index"] if not is_missing(v)]
    if not values:
        return _svg(
            40,
            [_text(CHART_WIDTH / 2, 24, t("empty.figure", language), 13, "middle", MUTED_COLOR)],
            label,
        )
    height, left, top, bottom = 230.0, 36.0, 10.0, 28.0
    right = _margin((level_label(level.id, catalog, language) for level in catalog.levels), 10, 60)
    low = max(0.0, min(50.0, math.floor((min(values) - 5) / 10) * 10))
    span_y = height - top - bottom

    def y_of(value: float) -> float:
        return top + (100 - value) / (100 - low) * span_y

    body = []
    for level, lower, upper in level_bands(catalog):
        lower, upper = max(lower, low), min(upper, 100.0)
        if upper <= lower:
            continue
        body.append(
            _rect(
                left,
                y_of(upper),
                CHART_WIDTH - left - right,
                y_of(lower) - y_of(upper),
                level.color,
                BAND_OPACITY,
            )
        )
        body.append(
            _text(
                CHART_WIDTH - right + 4,
                (y_of(upper) + y_of(lower)) / 2 + 4,
                level_label(level.id, catalog, language),
                10,
                fill=level.color,
            )
        )
    for tick in range(int(low), 101, 10):
        body.append(_line(left, y_of(tick), CHART_WIDTH - right, y_of(tick), "#E0E6E9", 0.6))
        body.append(_text(left - 4, y_of(tick) + 4, str(tick), 10, "end", MUTED_COLOR))
    count = len(series)
    step = (CHART_WIDTH - left - right - 20) / max(count - 1, 1)
    xs = [left + 10 + i * step for i in range(count)]
    every = max(1, math.ceil(count / 8))
    for i, period in enumerate(series["period"]):
        if i % every == 0 or i == count - 1:
            body.append(_text(xs[i], height - bottom + 16, str(period), 10, "middle", MUTED_COLOR))
    segment: list[str] = []
    for x, value in zip(xs, series["index"], strict=True):
        if is_missing(value):
            if len(segment) > 1:
                body.append(_polyline(segment))
            segment = []
            continue
        segment.append(f"{x:.1f},{y_of(float(value)):.1f}")
    if len(segment) > 1:
        body.append(_polyline(segment))
    for x, value, level in zip(xs, series["index"], series["level"], strict=True):
        if is_missing(value):
            body.append(_text(x, height - bottom - 4, "○", 11, "middle", NO_DATA_COLOR))
            continue
        body.append(
            f'<circle cx="{x:.1f}" cy="{y_of(float(value)):.1f}" r="4" '
            f'fill="{level_color(None if is_missing(level) else level, catalog)}" '
            f'stroke="#FFFFFF" stroke-width="1"/>'
        )
    last = series.dropna(subset=["index"]).tail(1)
    if len(last):
        position = xs[series.index.get_loc(last.index[0])]
        level = last["level"].iloc[0]
        body.append(
            _text(
                position,
                y_of(float(last["index"].iloc[0])) - 9,
                f"{format_number(last['index'].iloc[0])} {level_label(None if is_missing(level) else level, catalog, language)}",
                11,
                "end",
                TEXT_COLOR,
                "bold",
            )
        )
    return _svg(height, body, label)


def _text_width(text: str, size: float) -> float:
    """Roughly how wide `text` runs at a font size: CJK characters are square, Latin narrower."""
    return sum(size if ord(ch) > 0x2E80 else 0.6 * size for ch in text)


def _margin(labels: Iterable[str], size: float, least: float) -> float:
    """Room for the widest of `labels` (at least `least`), capped at a third of the chart."""
    widest = max((_text_width(label, size) for label in labels), default=0.0)
    return min(max(widest + 12, least), CHART_WIDTH / 3)


def _polyline(points: list[str]) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE_COLOR}" stroke-width="2"/>'


def dimension_chart(dimensions: pd.DataFrame, catalog: Catalog, language: str) -> str:
    """Each dimension's score for the unit, its street and its district, as labelled bars."""
    names = (
        t("report.column.this", language),
        t("report.column.street_score", language),
        t("report.column.district_score", language),
    )
    labels = [dimension_name(catalog.dimension_by_id[d], language) for d in dimensions["dimension"]]
    left, right, bar, gap, group_gap, top = _margin(labels, 12, 80), 50.0, 11.0, 2.0, 12.0, 26.0
    width = CHART_WIDTH - left - right
    body = []
    x = left
    for name, color in zip(names, COMPARISON_COLORS, strict=True):
        body.append(_rect(x, 6, 12, 12, color))
        body.append(_text(x + 16, 16, name, 11))
        x += 16 + _text_width(name, 11) + 20
    y = top
    for label, row in zip(labels, dimensions.to_dict("records"), strict=True):
        body.append(_text(left - 8, y + 1.5 * bar + gap + 4, label, 12, "end"))
        for column, color in zip(("score", "street", "district"), COMPARISON_COLORS, strict=True):
            value = row[column]
            if is_missing(value):
                body.append(_text(left + 2, y + bar - 2, "—", 10, fill=MUTED_COLOR))
            else:
                body.append(_rect(left, y, width * float(value) / 100, bar, color))
                body.append(
                    _text(
                        left + width * float(value) / 100 + 4,
                        y + bar - 1.5,
                        format_number(value),
                        10,
                    )
                )
            y += bar + gap
        y += group_gap
    return _svg(y, body, t("report.section.dimensions", language))


def goalpost_chart(rows: pd.DataFrame, catalog: Catalog, language: str) -> str:
    """Each indicator's score on a 0–100 track over the level bands, coloured and labelled by
    level, with the value and the goalposts written beside it.

    rows: indicator, shown_value, score, level, best, worst.
    """
    names = [indicator_label(i, catalog, language) for i in rows["indicator"]]
    notes = []
    records = rows.to_dict("records")
    for row in records:
        level = None if is_missing(row["level"]) else row["level"]
        unit = indicator_unit(catalog.indicator_by_id[row["indicator"]], language)
        notes.append(
            t("state.no_data", language)
            if is_missing(row["score"])
            else f"{_short(row['shown_value'])} {unit} · {format_number(row['score'])} "
            f"{level_label(level, catalog, language)}"
        )
    left, right, row_height, track = _margin(names, 12, 100), _margin(notes, 11, 100), 34.0, 10.0
    width = CHART_WIDTH - left - right
    body = [_text(left - 8, 12, t("report.chart.score_axis", language), 10, "end", MUTED_COLOR)]
    for tick in (0, 50, 100):
        body.append(
            _text(
                left + width * tick / 100,
                12,
                str(tick),
                10,
                "middle" if tick == 50 else ("start" if tick == 0 else "end"),
                MUTED_COLOR,
            )
        )
    y = 20.0
    for name, note, row in zip(names, notes, records, strict=True):
        body.append(_text(left - 8, y + track, name, 12, "end"))
        for level, lower, upper in level_bands(catalog):
            body.append(
                _rect(
                    left + width * lower / 100,
                    y,
                    width * (upper - lower) / 100,
                    track,
                    level.color,
                    BAND_OPACITY,
                )
            )
        score = row["score"]
        if is_missing(score):
            body.append(_text(left + width + 8, y + track, note, 11, fill=MUTED_COLOR))
        else:
            color = level_color(None if is_missing(row["level"]) else row["level"], catalog)
            end = left + width * float(score) / 100
            body.append(_rect(left, y + 2, end - left, track - 4, color))
            body.append(_line(end, y - 2, end, y + track + 2, color, 2))
            body.append(_text(left + width + 8, y + track - 1, note, 11))
        body.append(
            _text(
                left,
                y + track + 12,
                t(
                    "report.chart.worst_best",
                    language,
                    worst=_short(row["worst"]),
                    best=_short(row["best"]),
                ),
                9,
                fill=MUTED_COLOR,
            )
        )
        y += row_height
    return _svg(y, body, t("report.section.indicators", language))


def _short(value: object) -> str:
    """A value without needless decimals: 95, 68.3, 1,800."""
    if is_missing(value):
        return "—"
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if number == round(number) else f"{number:,.1f}"


def attribution_chart(
    attribution: pd.DataFrame, catalog: Catalog, language: str, label: str
) -> str:
    """Each indicator's contribution to the index change, as bars left (down) or right (up)
    of zero, labelled with the signed number so the direction never rests on colour alone."""
    rows = attribution[attribution["contribution"].abs() > 0]
    names = [indicator_label(i, catalog, language) for i in rows["indicator"]]
    left, right, row_height = _margin(names, 11, 100), 20.0, 20.0
    width = CHART_WIDTH - left - right
    middle = left + width / 2
    scale = max(rows["contribution"].abs().max(), 0.01) if len(rows) else 1.0
    up, down = catalog.levels[0].color, catalog.levels[-1].color
    body = [_line(middle, 0, middle, row_height * len(rows) + 4, REFERENCE_COLOR, 1)]
    y = 4.0
    for name, contribution in zip(names, rows["contribution"], strict=True):
        length = (width / 2 - 50) * abs(float(contribution)) / scale
        start = middle if contribution >= 0 else middle - length
        body.append(_text(left - 8, y + 11, name, 11, "end"))
        body.append(_rect(start, y + 2, length, row_height - 8, up if contribution >= 0 else down))
        label_x = middle + length + 4 if contribution >= 0 else middle - length - 4
        body.append(
            _text(
                label_x,
                y + 11,
                format_signed(float(contribution), 2),
                10,
                "start" if contribution >= 0 else "end",
            )
        )
        y += row_height
    return _svg(y + 4, body, label)


def units_chart(children: pd.DataFrame, catalog: Catalog, language: str, label: str) -> str:
    """Each child unit's index as a bar coloured and labelled by its level, best first."""
    right = _margin(
        (f"00.0 {level_label(level.id, catalog, language)}" for level in catalog.levels), 10, 80
    )
    left, row_height = _margin(children["name"].astype(str), 11, 80), 18.0
    width = CHART_WIDTH - left - right
    body = []
    y = 2.0
    for name, index, level in zip(
        children["name"], children["index"], children["level"], strict=True
    ):
        body.append(_text(left - 8, y + 11, str(name), 11, "end"))
        state = None if is_missing(level) else str(level)
        if is_missing(index):
            body.append(
                _text(left + 2, y + 11, level_label(None, catalog, language), 10, fill=MUTED_COLOR)
            )
        else:
            body.append(
                _rect(
                    left,
                    y + 2,
                    width * float(index) / 100,
                    row_height - 6,
                    level_color(state, catalog),
                )
            )
            body.append(
                _text(
                    left + width * float(index) / 100 + 4,
                    y + 11,
                    f"{format_number(index)} {level_label(state, catalog, language)}",
                    10,
                )
            )
        y += row_height
    return _svg(max(y, 20), body, label)
