"""Pure plotly figure builders and display frames for the pages; no Streamlit, testable directly."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from indicators.catalog import Catalog, Indicator
from indicators.periods import period_sort_key
from ui.i18n import (
    SPECIAL_STATES,
    TRENDS,
    dimension_name,
    format_number,
    format_signed,
    indicator_name,
    indicator_title,
    indicator_unit,
    is_missing,
    level_name,
    state_name,
    t,
)
from ui.theme import (
    AXIS_LOOK,
    BAND_OPACITY,
    LINE_COLOR,
    MUTED_COLOR,
    NO_DATA_COLOR,
    REFERENCE_COLOR,
    apply_layout,
    base_layout,
    level_bands,
    level_color,
    level_label,
    level_marker,
    level_symbol,
    merge_into,
    text_color_on,
)

# Display choices, not methodology: contributions smaller than this (index points) are shown
# together as "Other" in the waterfall; histogram bins are this wide on the 0–100 scale.
MINOR_CONTRIBUTION = 0.05
HISTOGRAM_BIN = 5.0
INDEX_TOP = 100.0
# Special states listed after the catalog levels in the level-count bars, in this order.
COUNTED_STATES = ("withheld", "not_reported", "escalated")
TREND_ARROWS = {"improving": "↑", "declining": "↓", "stable": "→", "not_assessable": "–"}
RANKING_COLUMNS = ("code", "name", "index", "level", "coverage", "trend", "sparkline")

HierarchyKind = Literal["sunburst", "treemap"]


# ---------------------------------------------------------------- helpers


def _is_empty(frame: pd.DataFrame | None) -> bool:
    return frame is None or len(frame) == 0


def _period_key(period: str) -> tuple[int, int, int] | tuple[int, str]:
    try:
        return period_sort_key(period)
    except ValueError:
        return (10**6, period)


def _sorted_periods(periods: Iterable[object]) -> list[str]:
    return sorted({str(p) for p in periods if not is_missing(p)}, key=_period_key)


def _sort_by_period(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[~frame["period"].isna()].copy()
    frame["period"] = frame["period"].astype(str)
    order = sorted(range(len(frame)), key=lambda i: _period_key(frame["period"].iloc[i]))
    return frame.iloc[order].reset_index(drop=True)


def _floats(values: Iterable[object]) -> list[float | None]:
    return [None if is_missing(v) else float(v) for v in values]  # type: ignore[arg-type]


def _status(level: object, index: object, catalog: Catalog) -> str | None:
    """The level id of a row: its own, else the band of its index, else None (withheld)."""
    if not is_missing(level):
        return str(level)
    if not is_missing(index):
        return catalog.level_of(float(index))  # type: ignore[arg-type]
    return None


def _short(value: float) -> str:
    """68.3, 1800, 0.5: at most one decimal, none when the value is whole."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def empty_figure(
    language: str, message: str | None = None, title: str | None = None, height: int | None = None
) -> go.Figure:
    """A figure with one centred, friendly message (暂无数据 / No data by default)."""
    fig = go.Figure()
    fig.add_annotation(
        text=message or t("empty.figure", language),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 16, "color": MUTED_COLOR},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    if title:
        fig.update_layout(title={"text": title})
    return apply_layout(fig, language, height=height or 280)


def _add_bands(
    fig: go.Figure,
    catalog: Catalog,
    language: str,
    axis: Literal["x", "y"],
    labels: bool = False,
    visible_from: float = 0.0,
    **where: object,
) -> None:
    """Shades each level's score band (catalog colour, low opacity), optionally labelled.

    The bands are drawn on an empty figure and added to `fig` in one layout update: plotly's
    add_hrect walks the whole target figure on every call.
    """
    bands = go.Figure()
    for level, lower, upper in level_bands(catalog, INDEX_TOP):
        shape: dict[str, object] = {
            "fillcolor": level.color,
            "opacity": BAND_OPACITY,
            "line_width": 0,
            "layer": "below",
            "name": f"band:{level.id}",
        }
        label_shown = labels and upper > visible_from
        if label_shown:
            shape |= {
                "annotation_text": level_label(level.id, catalog, language),
                "annotation_position": "inside top left",
                "annotation_font": {"size": 11, "color": level.color},
            }
        if axis == "y":
            bands.add_hrect(y0=lower, y1=upper, **shape, **where)
        else:
            bands.add_vrect(x0=lower, x1=upper, **shape, **where)
    fig.update_layout(
        shapes=[*fig.layout.shapes, *bands.layout.shapes],
        annotations=[*fig.layout.annotations, *bands.layout.annotations],
    )


def _lower_bound(values: Sequence[float], step: float = 10.0) -> float:
    """A rounded lower axis bound a step below the smallest value, never below 0."""
    if not values:
        return 0.0
    return max(0.0, math.floor(min(values) / step) * step - step)


def _legend_key_html(statuses: Sequence[str | None], catalog: Catalog, language: str) -> str:
    """A one-line colour key: each status's symbol in its colour followed by its name."""
    parts = [
        f'<span style="color:{level_color(s, catalog)}">{level_symbol(s, catalog)}</span> '
        f"{level_name(s, catalog, language)}"
        for s in statuses
    ]
    return "   ".join(parts)


# ---------------------------------------------------------------- index over time


def index_trend_figure(
    series: pd.DataFrame, catalog: Catalog, language: str, title: str | None = None
) -> go.Figure:
    """The index over periods on the level bands; markers coloured and shaped by level.

    `series`: period, index, level (index NaN = withheld, drawn as a gap in the line and a
    grey ○ on the axis).
    """
    title = title or t("figure.index_trend", language)
    if _is_empty(series):
        return empty_figure(language, title=title)
    frame = _sort_by_period(series)
    periods = frame["period"].tolist()
    values = _floats(frame["index"])
    statuses = [
        _status(lv, ix, catalog) if ix is not None else None
        for lv, ix in zip(frame["level"], values, strict=True)
    ]
    known = [v for v in values if v is not None]
    lower = _lower_bound(known)

    fig = go.Figure()
    _add_bands(fig, catalog, language, "y", labels=True, visible_from=lower)
    fig.add_trace(
        go.Scatter(
            x=periods,
            y=values,
            mode="lines",
            connectgaps=False,
            hoverinfo="skip",
            line={"color": LINE_COLOR, "width": 2},
            showlegend=False,
            name="index",
        )
    )
    index_label, level_label_text = t("hover.index", language), t("hover.level", language)
    for level in catalog.levels:
        points = [i for i, s in enumerate(statuses) if s == level.id]
        if not points:
            continue
        label = level_label(level.id, catalog, language)
        fig.add_trace(
            go.Scatter(
                x=[periods[i] for i in points],
                y=[values[i] for i in points],
                mode="markers",
                name=level_name(level.id, catalog, language),
                legendgroup=level.id,
                marker={
                    "color": level.color,
                    "symbol": level_marker(level.id, catalog),
                    "size": 12,
                    "line": {"color": "#FFFFFF", "width": 1},
                },
                hovertext=[
                    f"<b>{periods[i]}</b><br>{index_label} {values[i]:.1f}<br>"
                    f"{level_label_text} {label}"
                    for i in points
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    withheld = [i for i, v in enumerate(values) if v is None]
    if withheld:
        label = level_label(None, catalog, language)
        fig.add_trace(
            go.Scatter(
                x=[periods[i] for i in withheld],
                y=[lower + 1.5] * len(withheld),
                mode="markers",
                name=level_name(None, catalog, language),
                legendgroup="withheld",
                cliponaxis=False,
                marker={
                    "color": NO_DATA_COLOR,
                    "symbol": level_marker(None, catalog),
                    "size": 10,
                    "line": {"width": 2},
                },
                hovertext=[f"<b>{periods[i]}</b><br>{label}" for i in withheld],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    if known:
        last = max(i for i, v in enumerate(values) if v is not None)
        fig.add_annotation(
            x=periods[last],
            y=values[last],
            text=f"<b>{values[last]:.1f}</b>",
            showarrow=False,
            yshift=16,
            xanchor="center",
            font={"size": 13, "color": level_color(statuses[last], catalog)},
        )
    else:
        fig.add_annotation(
            text=t("empty.figure_withheld", language),
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": 15, "color": MUTED_COLOR},
        )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=periods, title_text=None)
    fig.update_yaxes(range=[lower, INDEX_TOP + 2], title_text=t("axis.index", language))
    fig.update_layout(title={"text": title}, hovermode="closest")
    return apply_layout(fig, language, height=360)


def sparkline_values(series: pd.DataFrame) -> list[float | None]:
    """The index values in period order, None where withheld (for LineChartColumn)."""
    if _is_empty(series):
        return []
    frame = _sort_by_period(series)
    return _floats(frame["index"])


# ---------------------------------------------------------------- distribution


def distribution_figure(indices: pd.DataFrame, catalog: Catalog, language: str) -> go.Figure:
    """Histogram of community indices stacked by level, with the bands shaded behind.

    `indices`: index, level — one row per community (index NaN = withheld, counted in the
    legend only). Legend entries carry the count of communities per level.
    """
    title = t("figure.distribution", language)
    if _is_empty(indices):
        return empty_figure(language, title=title)
    values = _floats(indices["index"])
    statuses = [
        _status(lv, ix, catalog) if ix is not None else None
        for lv, ix in zip(indices["level"], values, strict=True)
    ]
    known = [v for v in values if v is not None]
    lower = _lower_bound(known, HISTOGRAM_BIN * 2)
    edges = np.arange(0.0, INDEX_TOP + HISTOGRAM_BIN, HISTOGRAM_BIN)
    centres = (edges[:-1] + edges[1:]) / 2

    fig = go.Figure()
    _add_bands(fig, catalog, language, "x")
    count_label = t("hover.communities", language)
    for level in catalog.levels:
        chosen = [
            v for v, s in zip(values, statuses, strict=True) if s == level.id and v is not None
        ]
        counts, _ = np.histogram(chosen, bins=edges)
        name = t(
            "figure.level_with_count",
            language,
            level=level_label(level.id, catalog, language),
            count=len(chosen),
        )
        fig.add_trace(
            go.Bar(
                x=centres,
                y=counts,
                width=HISTOGRAM_BIN * 0.92,
                name=name,
                legendgroup=level.id,
                marker={"color": level.color, "line": {"width": 0}},
                customdata=np.column_stack([edges[:-1], edges[1:]]),
                hovertemplate=(
                    f"{level_label(level.id, catalog, language)}<br>"
                    "%{customdata[0]:.0f}–%{customdata[1]:.0f}: "
                    f"%{{y}} {count_label}<extra></extra>"
                ),
            )
        )
    withheld = sum(1 for v in values if v is None)
    if withheld:
        fig.add_trace(
            go.Bar(
                x=[None],
                y=[None],
                name=t(
                    "figure.level_with_count",
                    language,
                    level=level_label(None, catalog, language),
                    count=withheld,
                ),
                marker={"color": NO_DATA_COLOR},
                legendgroup="withheld",
                hoverinfo="skip",
            )
        )
    fig.update_layout(title={"text": title}, barmode="stack", bargap=0.0)
    fig.update_xaxes(range=[lower, INDEX_TOP], title_text=t("axis.index", language))
    fig.update_yaxes(title_text=t("axis.communities", language), rangemode="tozero", tickformat="d")
    apply_layout(fig, language, height=380)
    # In a half-width column the level legend wraps onto the title: put it under the axis.
    fig.update_layout(legend={"y": -0.2, "yanchor": "top"}, margin={"t": 40, "b": 8})
    return fig


# ---------------------------------------------------------------- hierarchy


def hierarchy_figure(
    nodes: pd.DataFrame, catalog: Catalog, language: str, kind: HierarchyKind = "sunburst"
) -> go.Figure:
    """District → street → community as a sunburst or treemap coloured by level.

    `nodes`: code, name, parent_code, index, level. A row whose parent is not among the codes
    (or is empty) is a root. Labels carry the level symbol and the index value.
    """
    title = t("figure.hierarchy", language)
    if _is_empty(nodes):
        return empty_figure(language, title=title)
    codes = [str(c) for c in nodes["code"]]
    known_codes = set(codes)
    parents = [
        "" if is_missing(p) or str(p) not in known_codes else str(p) for p in nodes["parent_code"]
    ]
    values = _floats(nodes["index"])
    statuses = [
        _status(lv, ix, catalog) if ix is not None else None
        for lv, ix in zip(nodes["level"], values, strict=True)
    ]
    customdata = [
        [level_symbol(s, catalog), format_number(v), level_name(s, catalog, language)]
        for s, v in zip(statuses, values, strict=True)
    ]
    colors = [level_color(s, catalog) for s in statuses]
    text_colors = [text_color_on(c) for c in colors]
    common = {
        "ids": codes,
        "parents": parents,
        "labels": [str(n) for n in nodes["name"]],
        "customdata": customdata,
        "marker": {"colors": colors, "line": {"color": "#FFFFFF", "width": 1.5}},
        "texttemplate": "%{label}<br>%{customdata[0]} %{customdata[1]}",
        "hovertemplate": (
            f"<b>%{{label}}</b><br>{t('hover.index', language)} %{{customdata[1]}}"
            f"<br>{t('hover.level', language)} %{{customdata[0]}} "
            "%{customdata[2]}<extra></extra>"
        ),
        "textfont": {"color": text_colors},
    }
    if kind == "treemap":
        trace: go.Sunburst | go.Treemap = go.Treemap(
            **common, tiling={"pad": 2}, pathbar={"visible": True}
        )
    elif kind == "sunburst":
        trace = go.Sunburst(**common, insidetextorientation="horizontal", leaf={"opacity": 1.0})
    else:
        raise ValueError(f"kind must be 'sunburst' or 'treemap', not {kind!r}")
    fig = go.Figure(trace)
    key = [*catalog.level_ids, None]
    fig.add_annotation(
        text=_legend_key_html(key, catalog, language),
        x=0.0,
        y=-0.02,
        xref="paper",
        yref="paper",
        xanchor="left",
        yanchor="top",
        showarrow=False,
        font={"size": 12},
    )
    fig.update_layout(title={"text": title})
    fig = apply_layout(fig, language, height=480)
    fig.update_layout(margin={"b": 36})
    return fig


# ---------------------------------------------------------------- level counts


def _state_order(states: Iterable[str], catalog: Catalog) -> list[str]:
    order = [*catalog.level_ids, *COUNTED_STATES]
    extra = [s for s in states if s not in order]
    return order + sorted(set(extra))


def level_counts_figure(counts: pd.DataFrame, catalog: Catalog, language: str) -> go.Figure:
    """Horizontal bars: how many units are in each level and special state, labelled.

    `counts`: state, count — state is a level id of the catalog or withheld / not_reported /
    escalated. Levels missing from the frame are shown as 0.
    """
    title = t("figure.level_counts", language)
    if _is_empty(counts):
        return empty_figure(language, title=title)
    given: dict[str, int] = {}
    for state, count in zip(counts["state"], counts["count"], strict=True):
        key = "withheld" if is_missing(state) else str(state)
        given[key] = given.get(key, 0) + (0 if is_missing(count) else int(count))
    order = _state_order(given, catalog)
    known = set(catalog.level_ids) | set(SPECIAL_STATES)
    labels = [level_label(s, catalog, language) if s in known else s for s in order]
    colors = [level_color(s, catalog) if s in known else NO_DATA_COLOR for s in order]
    numbers = [given.get(s, 0) for s in order]
    fig = go.Figure(
        go.Bar(
            x=numbers,
            y=labels,
            orientation="h",
            text=[str(n) for n in numbers],
            textposition="outside",
            cliponaxis=False,
            marker={"color": colors},
            hovertemplate="%{y}: %{x}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_yaxes(type="category", autorange="reversed", title_text=None)
    fig.update_xaxes(
        title_text=t("axis.count", language),
        rangemode="tozero",
        range=[0, max([*numbers, 1]) * 1.18],
        tickformat="d",
    )
    fig.update_layout(title={"text": title}, bargap=0.3)
    return apply_layout(fig, language, height=80 + 34 * len(order))


# ---------------------------------------------------------------- dimensions


def dimension_comparison_figure(
    dims: pd.DataFrame, catalog: Catalog, language: str, reference_label: str
) -> go.Figure:
    """The community's dimension scores beside a reference (e.g. the street median).

    `dims`: dimension, score, reference — one row per dimension id. Horizontal grouped bars
    (they read better than a radar on a phone); the community's bars take the colour of the
    band of their score, with its symbol in the label.
    """
    title = t("figure.dimensions", language)
    if _is_empty(dims):
        return empty_figure(language, title=title)
    by_id = {str(d): i for i, d in enumerate(dims["dimension"])}
    ordered = [d.id for d in catalog.dimensions if d.id in by_id]
    ordered += [d for d in by_id if d not in ordered]
    rows = [by_id[d] for d in ordered]
    names = [
        dimension_name(catalog.dimension_by_id[d], language) if d in catalog.dimension_by_id else d
        for d in ordered
    ]
    scores = _floats(dims["score"].iloc[rows])
    references = _floats(dims["reference"].iloc[rows])
    statuses = [None if s is None else catalog.level_of(s) for s in scores]
    no_data = t("state.no_data", language)

    fig = go.Figure()
    _add_bands(fig, catalog, language, "x")
    fig.add_trace(
        go.Bar(
            y=names,
            x=scores,
            orientation="h",
            name=t("figure.this_community", language),
            marker={"color": [level_color(s, catalog) for s in statuses]},
            text=[
                no_data if v is None else f"{v:.1f} {level_symbol(s, catalog)}"
                for v, s in zip(scores, statuses, strict=True)
            ],
            textposition="outside",
            cliponaxis=False,
            hovertext=[
                f"{n}: {format_number(v)} {level_label(s, catalog, language)}"
                for n, v, s in zip(names, scores, statuses, strict=True)
            ],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=references,
            orientation="h",
            name=reference_label,
            marker={"color": REFERENCE_COLOR},
            text=[no_data if v is None else f"{v:.1f}" for v in references],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{y}}: %{{x:.1f}} ({reference_label})<extra></extra>",
        )
    )
    fig.update_layout(title={"text": title}, barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_yaxes(type="category", autorange="reversed", title_text=None)
    fig.update_xaxes(range=[0, INDEX_TOP], title_text=t("axis.score", language))
    fig = apply_layout(fig, language, height=120 + 70 * len(ordered))
    fig.update_layout(margin={"r": 56})
    return fig


# ---------------------------------------------------------------- indicators


def _wrap(text: str, width: int) -> str:
    """Breaks a long subplot title before its unit so that narrow panels stay readable."""
    if len(text) <= width:
        return text
    for opener in ("（", " ("):
        cut = text.rfind(opener)
        if cut > 0:
            return text[:cut] + "<br>" + text[cut:].strip()
    return text


def indicator_small_multiples(
    series: pd.DataFrame,
    catalog: Catalog,
    language: str,
    columns: int = 3,
    indicators: Sequence[Indicator] | None = None,
) -> go.Figure:
    """One small panel per catalog indicator: the value line, dashed goalposts, last point banded.

    `series`: period, indicator, value, score. Every catalog indicator gets a panel (12
    indexed + context by default, or `indicators`); one without values says so. The last
    point takes the colour and shape of the band of its indicator score. The figure is
    assembled as plain dicts and validated once: plotly's incremental updates (update_layout,
    update_xaxes, add_hline per panel) re-walk the figure on every call, and made the first
    visit to a community cost about 0.6-1 s.
    """
    title = t("figure.indicators", language)
    if _is_empty(series):
        return empty_figure(language, title=title)
    chosen = list(indicators) if indicators is not None else list(catalog.indicators)
    frame = series[~series["period"].isna() & ~series["value"].isna()].copy()
    frame["period"] = frame["period"].astype(str)
    periods = _sorted_periods(frame["period"])
    rank = {p: i for i, p in enumerate(periods)}
    frame["_rank"] = frame["period"].map(rank)
    groups = {
        str(key): part.sort_values("_rank") for key, part in frame.groupby("indicator", sort=False)
    }
    rows = max(1, math.ceil(len(chosen) / columns))
    grid = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[
            _wrap(indicator_title(i, language), 14 if language == "zh" else 30) for i in chosen
        ],
        vertical_spacing=min(0.1, 0.45 / rows) if rows > 1 else 0.1,
        horizontal_spacing=0.07,
    )
    score_label, value_label = t("hover.score", language), t("hover.value", language)
    shapes: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    traces: list[dict[str, object]] = []
    axes: dict[str, dict[str, object]] = {}
    for position, indicator in enumerate(chosen):
        row, col = position // columns + 1, position % columns + 1
        subplot = grid.get_subplot(row, col)
        xref, yref = subplot.yaxis.anchor, subplot.xaxis.anchor  # e.g. "x3", "y3"
        unit = indicator_unit(indicator, language)
        high_goal = max(indicator.best, indicator.worst)
        for goal, key, level in (
            (indicator.best, "figure.goal_best", catalog.levels[0]),
            (indicator.worst, "figure.goal_worst", catalog.levels[-1]),
        ):
            shapes.append(
                {
                    "type": "line",
                    "xref": f"{xref} domain",
                    "x0": 0,
                    "x1": 1,
                    "yref": yref,
                    "y0": goal,
                    "y1": goal,
                    "layer": "below",
                    "line": {"color": level.color, "width": 1, "dash": "dash"},
                    "name": f"goal:{indicator.id}:{key.rsplit('_', 1)[-1]}",
                }
            )
            annotations.append(
                {
                    "text": t(key, language, value=_short(goal)),
                    "showarrow": False,
                    "xref": f"{xref} domain",
                    "x": 0.0,
                    "xanchor": "left",
                    "yref": yref,
                    "y": goal,
                    "yanchor": "bottom" if goal == high_goal else "top",
                    "font": {"size": 10, "color": level.color},
                }
            )
        span = [indicator.best, indicator.worst]
        data = groups.get(indicator.id)
        if data is not None and len(data):
            xs = data["period"].tolist()
            ys = [float(v) for v in data["value"]]
            scores = _floats(data["score"])
            traces.append(
                {
                    "type": "scatter",
                    "xaxis": xref,
                    "yaxis": yref,
                    "x": xs,
                    "y": ys,
                    "mode": "lines+markers",
                    "showlegend": False,
                    "name": indicator_name(indicator, language),
                    "line": {"color": LINE_COLOR, "width": 1.6},
                    "marker": {"color": LINE_COLOR, "size": 4},
                    "hovertext": [
                        f"<b>{p}</b><br>{value_label} {_short(v)} {unit}<br>"
                        f"{score_label} {format_number(sc)}"
                        for p, v, sc in zip(xs, ys, scores, strict=True)
                    ],
                    "hovertemplate": "%{hovertext}<extra></extra>",
                }
            )
            last_score = scores[-1]
            status = None if last_score is None else catalog.level_of(last_score)
            color = level_color(status, catalog)
            traces.append(
                {
                    "type": "scatter",
                    "xaxis": xref,
                    "yaxis": yref,
                    "x": [xs[-1]],
                    "y": [ys[-1]],
                    "mode": "markers+text",
                    "showlegend": False,
                    "name": f"last:{indicator.id}",
                    "marker": {
                        "color": color,
                        "size": 12,
                        "symbol": level_marker(status, catalog),
                        "line": {"color": "#FFFFFF", "width": 1},
                    },
                    "text": [f"{level_symbol(status, catalog)} {_short(ys[-1])}"],
                    "textposition": "top center",
                    "cliponaxis": False,
                    "textfont": {"size": 11, "color": color},
                    "hovertext": [
                        f"<b>{xs[-1]}</b><br>{value_label} {_short(ys[-1])} {unit}<br>"
                        f"{score_label} {format_number(last_score)} "
                        f"{level_label(status, catalog, language)}"
                    ],
                    "hovertemplate": "%{hovertext}<extra></extra>",
                }
            )
            span += ys
        else:
            annotations.append(
                {
                    "text": t("empty.figure", language),
                    "showarrow": False,
                    "xref": f"{xref} domain",
                    "x": 0.5,
                    "yref": f"{yref} domain",
                    "y": 0.5,
                    "font": {"size": 12, "color": MUTED_COLOR},
                }
            )
            axes[subplot.xaxis.plotly_name] = {"showticklabels": False}
        low, high = min(span), max(span)
        pad = (high - low) * 0.15 or 1.0
        axes[subplot.yaxis.plotly_name] = {"range": [low - pad, high + pad]}
    # The subplot grid's axes (domains, anchors) and titles, with this figure's settings and the
    # shared look merged in, in the order plotly's updates would apply them.
    layout = grid.layout.to_plotly_json()
    x_axes = [name for name in layout if name.startswith("xaxis")]
    y_axes = [name for name in layout if name.startswith("yaxis")]
    x_look = {
        "type": "category",
        "categoryorder": "array",
        "categoryarray": periods,
        "nticks": 4,
        "tickfont": {"size": 10},
    }
    for name in x_axes:
        merge_into(layout[name], x_look)
    for name in y_axes:
        merge_into(layout[name], {"tickfont": {"size": 10}, "nticks": 5})
    for name, settings in axes.items():
        merge_into(layout[name], settings)
    titles = [merge_into(dict(a), {"font": {"size": 12}}) for a in layout.get("annotations", [])]
    merge_into(
        layout,
        {
            "title": {"text": title},
            "showlegend": False,
            "shapes": shapes,
            "annotations": [*titles, *annotations],
        },
    )
    merge_into(layout, base_layout(language, height=80 + 200 * rows))
    for name in (*x_axes, *y_axes):
        merge_into(layout[name], AXIS_LOOK)
    return go.Figure(data=traces, layout=layout)


# ---------------------------------------------------------------- alert timeline


def alert_timeline_figure(history: pd.DataFrame, catalog: Catalog, language: str) -> go.Figure:
    """A unit's level over periods as a step line with level-coloured, level-shaped markers.

    `history`: period, level, reason — level NaN for a period without an index (shown grey as
    数据不足; the line carries the last level across it, as the alert rules do).
    """
    title = t("figure.alert_timeline", language)
    if _is_empty(history):
        return empty_figure(language, title=title)
    frame = _sort_by_period(history)
    periods = frame["period"].tolist()
    statuses = [None if is_missing(s) else str(s) for s in frame["level"]]
    reasons = ["" if is_missing(r) else str(r) for r in frame["reason"]]
    present_special = [
        s
        for s in ("withheld", "not_reported", "escalated")
        if s in statuses or (s == "withheld" and None in statuses)
    ]
    bottom_up = [s for s in present_special if s != "escalated"]
    bottom_up += ["escalated"] if "escalated" in present_special else []
    bottom_up += list(reversed(catalog.level_ids))
    categories = [level_label(s, catalog, language) for s in bottom_up]
    labels = [level_label(s, catalog, language) for s in statuses]

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=periods,
            y=[
                lab if s in catalog.level_by_id else None
                for lab, s in zip(labels, statuses, strict=True)
            ],
            mode="lines",
            line={"shape": "hv", "color": REFERENCE_COLOR, "width": 2},
            connectgaps=True,
            hoverinfo="skip",
            showlegend=False,
            name="level",
        )
    )
    reason_label = t("hover.reason", language)
    for status in [*catalog.level_ids, "escalated", "not_reported", None]:
        points = [i for i, s in enumerate(statuses) if s == status]
        if not points:
            continue
        label = level_label(status, catalog, language)
        fig.add_trace(
            go.Scatter(
                x=[periods[i] for i in points],
                y=[labels[i] for i in points],
                mode="markers",
                name=label,
                legendgroup=status or "withheld",
                marker={
                    "color": level_color(status, catalog),
                    "size": 13,
                    "symbol": level_marker(status, catalog),
                    "line": {"color": "#FFFFFF", "width": 1},
                },
                hovertext=[
                    f"<b>{periods[i]}</b><br>{label}"
                    + (f"<br>{reason_label}：{reasons[i]}" if reasons[i] else "")
                    for i in points
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=periods, title_text=None)
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=categories,
        range=[-0.5, len(categories) - 0.5],
        title_text=None,
    )
    fig.update_layout(title={"text": title}, showlegend=False)
    return apply_layout(fig, language, height=130 + 44 * len(categories))


# ---------------------------------------------------------------- attribution


def attribution_waterfall(
    contributions: pd.DataFrame,
    index_from: float,
    index_to: float,
    period_from: str,
    period_to: str,
    catalog: Catalog,
    language: str,
    minor: float = MINOR_CONTRIBUTION,
) -> go.Figure:
    """From index_from through each indicator's contribution to index_to, largest first.

    `contributions`: indicator, contribution (index points). Contributions smaller than
    `minor` are grouped as 其他 / Other; a remainder that the rows do not explain is shown as
    its own bar, so the final total always equals index_to.
    """
    title = t("figure.waterfall", language, period_from=period_from, period_to=period_to)
    if is_missing(index_from) or is_missing(index_to):
        return empty_figure(language, t("empty.figure_withheld", language), title=title)
    frame = (
        pd.DataFrame(columns=["indicator", "contribution"])
        if _is_empty(contributions)
        else contributions[~contributions["contribution"].isna()]
    )
    steps: list[tuple[str, float]] = []
    other = 0.0
    has_other = False
    pairs = sorted(
        zip(frame["indicator"], frame["contribution"], strict=True),
        key=lambda pair: -abs(float(pair[1])),
    )
    for indicator_id, contribution in pairs:
        value = float(contribution)
        if abs(value) < minor:
            other += value
            has_other = True
            continue
        indicator = catalog.indicator_by_id.get(str(indicator_id))
        steps.append(
            (indicator_name(indicator, language) if indicator else str(indicator_id), value)
        )
    if has_other:
        steps.append((t("figure.other", language), other))
    remainder = float(index_to) - float(index_from) - sum(v for _, v in steps)
    if abs(remainder) > 1e-6:
        steps.append((t("figure.unattributed", language), remainder))

    labels = [
        t("figure.index_at", language, period=period_from),
        *(s for s, _ in steps),
        t("figure.index_at", language, period=period_to),
    ]
    amounts = [float(index_from), *(v for _, v in steps), float(index_to)]
    measures = ["absolute", *(["relative"] * len(steps)), "total"]
    texts = [f"{amounts[0]:.1f}", *(format_signed(v) for _, v in steps), f"{amounts[-1]:.1f}"]
    running = np.cumsum([amounts[0], *(v for _, v in steps)])
    low, high = float(running.min()), float(running.max())
    pad = max(1.0, (high - low) * 0.35)
    contribution_label = t("hover.contribution", language)
    hover = [
        f"{labels[0]}: {amounts[0]:.2f}",
        *(f"{s}<br>{contribution_label} {format_signed(v)}" for s, v in steps),
        f"{labels[-1]}: {amounts[-1]:.2f}",
    ]
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=labels,
            x=amounts,
            measure=measures,
            text=texts,
            textposition="outside",
            cliponaxis=False,
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            increasing={"marker": {"color": catalog.levels[0].color}},
            decreasing={"marker": {"color": catalog.levels[-1].color}},
            totals={"marker": {"color": LINE_COLOR}},
            connector={"line": {"color": REFERENCE_COLOR, "dash": "dot", "width": 1}},
            showlegend=False,
            name=t("axis.change", language),
        )
    )
    fig.update_yaxes(type="category", autorange="reversed", title_text=None)
    fig.update_xaxes(
        range=[max(0.0, low - pad), min(INDEX_TOP, high + pad) + pad * 0.3],
        title_text=t("axis.index", language),
    )
    fig.update_layout(title={"text": title})
    fig = apply_layout(fig, language, height=110 + 36 * len(labels))
    fig.update_layout(margin={"r": 48})
    return fig


# ---------------------------------------------------------------- ranking table


def ranking_columns(language: str) -> dict[str, str]:
    """The ranking table's columns → their localised headers (for st.column_config keys)."""
    return {column: t(f"column.{column}", language) for column in RANKING_COLUMNS}


def trend_label(trend: object, language: str) -> str:
    """An arrow and the trend's name, e.g. ↑ 改善; a missing trend is not assessable."""
    key = "not_assessable" if is_missing(trend) or trend not in TRENDS else str(trend)
    return f"{TREND_ARROWS[key]} {state_name(key, language)}"


def ranking_table(rows: pd.DataFrame, catalog: Catalog, language: str) -> pd.DataFrame:
    """A display frame for st.dataframe: localised headers, level as symbol + name.

    `rows`: code, name, index, level, coverage (0–1), trend, sparkline (list of floats).
    Index is rounded to one decimal, coverage shown in percent; row order is kept.
    """
    headers = ranking_columns(language)
    if _is_empty(rows):
        return pd.DataFrame({header: [] for header in headers.values()})
    indexes = _floats(rows["index"])
    statuses = [
        _status(lv, ix, catalog) if ix is not None else None
        for lv, ix in zip(rows["level"], indexes, strict=True)
    ]
    coverage = _floats(rows["coverage"])
    sparklines = [
        list(s) if isinstance(s, list | tuple | np.ndarray) else [] for s in rows["sparkline"]
    ]
    table = pd.DataFrame(
        {
            "code": [str(c) for c in rows["code"]],
            "name": [str(n) for n in rows["name"]],
            "index": pd.Series(
                [np.nan if v is None else round(v, 1) for v in indexes], dtype="float64"
            ),
            "level": [level_label(s, catalog, language) for s in statuses],
            "coverage": pd.Series(
                [np.nan if v is None else round(v * 100) for v in coverage], dtype="float64"
            ),
            "trend": [trend_label(v, language) for v in rows["trend"]],
            "sparkline": [_floats(s) for s in sparklines],
        }
    )
    return table.rename(columns=headers)
