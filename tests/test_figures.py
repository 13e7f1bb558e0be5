"""Figure builders and theme helpers: traces, bands, colours and symbols come from the catalog."""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from indicators.catalog import DEFAULT_CATALOG_PATH, Catalog, load_catalog, parse_catalog
from ui import figures, theme
from ui.i18n import LANGUAGES, t

NAN = math.nan


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def other_catalog() -> Catalog:
    """Three levels with other thresholds, colours and symbols (one without a plotly shape)."""
    raw = tomllib.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    raw["levels"] = [
        {
            "id": "good",
            "min": 75.0,
            "name_zh": "良好<好>",
            "name_en": "Good & fine",
            "color": "#00897B",
            "symbol": "✦",
        },
        {
            "id": "yellow",
            "min": 50.0,
            "name_zh": "关注",
            "name_en": "Watch",
            "color": "#FB8C00",
            "symbol": "▲",
        },
        {
            "id": "bad",
            "min": 0.0,
            "name_zh": "较差",
            "name_en": "Poor",
            "color": "#6D4C41",
            "symbol": "■",
        },
    ]
    return parse_catalog(raw, "other")


def _trend_frame(catalog: Catalog) -> pd.DataFrame:
    values = [84.0, 78.0, NAN, 66.0, 55.0, 72.4]
    return pd.DataFrame(
        {
            # deliberately out of order: builders sort chronologically
            "period": ["2025-03", "2025-01", "2025-02", "2025-04", "2025-05", "2025-06"],
            "index": values,
            "level": [None if math.isnan(v) else catalog.level_of(v) for v in values],
        }
    )


def _marker_traces(fig: go.Figure) -> list[go.Scatter]:
    return [tr for tr in fig.data if tr.type == "scatter" and tr.mode == "markers"]


def _annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def _band_shapes(fig: go.Figure) -> list:
    return [s for s in fig.layout.shapes if (s.name or "").startswith("band:")]


# ---------------------------------------------------------------- theme


@pytest.mark.parametrize("which", ["catalog", "other_catalog"])
def test_level_colours_and_symbols_come_from_the_catalog(
    which: str, request: pytest.FixtureRequest
) -> None:
    cat: Catalog = request.getfixturevalue(which)
    for level in cat.levels:
        assert theme.level_color(level.id, cat) == level.color
        assert theme.level_symbol(level.id, cat) == level.symbol
    for missing in (None, NAN, pd.NA):
        assert theme.level_color(missing, cat) == theme.NO_DATA_COLOR
        assert theme.level_symbol(missing, cat) == "○"
    markers = [theme.level_marker(level_id, cat) for level_id in cat.level_ids]
    assert len(set(markers)) == len(markers)
    assert theme.level_marker(None, cat) not in markers
    with pytest.raises(KeyError):
        theme.level_color("purple", cat)


def test_default_level_markers_have_the_shape_of_the_symbol(catalog: Catalog) -> None:
    assert [theme.level_marker(i, catalog) for i in catalog.level_ids] == [
        "circle",
        "diamond",
        "triangle-up",
        "square",
    ]


def test_special_states_are_grey_or_distinct_never_a_level_colour(catalog: Catalog) -> None:
    level_colours = {lv.color for lv in catalog.levels}
    for state in ("withheld", "not_reported", "escalated", "no_data"):
        assert theme.level_color(state, catalog) not in level_colours
    assert theme.level_color("withheld", catalog) == theme.NO_DATA_COLOR


def test_level_bands_tile_the_scale(other_catalog: Catalog) -> None:
    bands = theme.level_bands(other_catalog)
    assert [(lv.id, lo, hi) for lv, lo, hi in bands] == [
        ("good", 75.0, 100.0),
        ("yellow", 50.0, 75.0),
        ("bad", 0.0, 50.0),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_badge_carries_symbol_name_and_colour(catalog: Catalog, language: str) -> None:
    badge = theme.level_badge_html("yellow", catalog, language)
    name = "黄色预警" if language == "zh" else "Yellow warning"
    assert f"▲ {name}" in badge
    assert "#F9A825" in badge
    assert badge.startswith("<span") and badge.endswith("</span>")
    withheld = theme.level_badge_html(None, catalog, language)
    assert theme.NO_DATA_COLOR in withheld and "○" in withheld


def test_badge_escapes_catalog_text(other_catalog: Catalog) -> None:
    assert "良好&lt;好&gt;" in theme.level_badge_html("good", other_catalog, "zh")
    assert "Good &amp; fine" in theme.level_badge_html("good", other_catalog, "en")


@pytest.mark.parametrize(
    ("background", "expected"),
    [
        ("#F9A825", theme.DARK_TEXT),
        ("#1565C0", theme.LIGHT_TEXT),
        ("#C62828", theme.LIGHT_TEXT),
        ("#9E9E9E", theme.DARK_TEXT),
    ],
)
def test_text_colour_contrasts_with_the_background(background: str, expected: str) -> None:
    assert theme.text_color_on(background) == expected


def test_apply_layout(catalog: Catalog) -> None:
    fig = theme.apply_layout(go.Figure(), "zh", height=300)
    assert fig.layout.font.family == theme.FONT_FAMILY
    assert fig.layout.paper_bgcolor == "rgba(0,0,0,0)"
    assert fig.layout.plot_bgcolor == "rgba(0,0,0,0)"
    assert fig.layout.legend.orientation == "h"
    assert fig.layout.height == 300
    with pytest.raises(KeyError):
        theme.apply_layout(go.Figure(), "fr")


# ---------------------------------------------------------------- empty inputs


EMPTY_BUILDERS: dict[str, Callable[[Catalog, str], go.Figure]] = {
    "index_trend": lambda c, lang: figures.index_trend_figure(
        pd.DataFrame(columns=["period", "index", "level"]), c, lang
    ),
    "distribution": lambda c, lang: figures.distribution_figure(
        pd.DataFrame(columns=["index", "level"]), c, lang
    ),
    "hierarchy": lambda c, lang: figures.hierarchy_figure(
        pd.DataFrame(columns=["code", "name", "parent_code", "index", "level"]), c, lang
    ),
    "level_counts": lambda c, lang: figures.level_counts_figure(
        pd.DataFrame(columns=["state", "count"]), c, lang
    ),
    "dimensions": lambda c, lang: figures.dimension_comparison_figure(
        pd.DataFrame(columns=["dimension", "score", "reference"]), c, lang, "ref"
    ),
    "small_multiples": lambda c, lang: figures.indicator_small_multiples(
        pd.DataFrame(columns=["period", "indicator", "value", "score"]), c, lang
    ),
    "alert_timeline": lambda c, lang: figures.alert_timeline_figure(
        pd.DataFrame(columns=["period", "level", "reason"]), c, lang
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(EMPTY_BUILDERS))
def test_empty_input_gives_a_friendly_annotation(
    catalog: Catalog, name: str, language: str
) -> None:
    fig = EMPTY_BUILDERS[name](catalog, language)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 0
    assert _annotation_texts(fig) == [t("empty.figure", language)]
    assert fig.layout.font.family == theme.FONT_FAMILY


@pytest.mark.parametrize("language", LANGUAGES)
def test_waterfall_without_an_index_says_insufficient_data(catalog: Catalog, language: str) -> None:
    frame = pd.DataFrame({"indicator": ["satisfaction"], "contribution": [1.0]})
    fig = figures.attribution_waterfall(frame, NAN, 70.0, "2025-10", "2025-11", catalog, language)
    assert len(fig.data) == 0
    assert _annotation_texts(fig) == [t("empty.figure_withheld", language)]


# ---------------------------------------------------------------- index over time


@pytest.mark.parametrize("language", LANGUAGES)
def test_index_trend_points_bands_and_gaps(catalog: Catalog, language: str) -> None:
    fig = figures.index_trend_figure(_trend_frame(catalog), catalog, language)
    assert fig.layout.title.text == t("figure.index_trend", language)
    line = fig.data[0]
    assert line.mode == "lines" and line.connectgaps is False
    assert list(line.x) == [f"2025-0{m}" for m in range(1, 7)]
    assert line.y[1] is None  # the withheld February is a gap
    assert list(fig.layout.xaxis.categoryarray) == list(line.x)

    bands = _band_shapes(fig)
    assert len(bands) == len(catalog.levels)
    assert [b.fillcolor for b in bands] == [lv.color for lv in catalog.levels]
    assert [(b.y0, b.y1) for b in bands] == [(lo, hi) for _, lo, hi in theme.level_bands(catalog)]
    band_labels = [a for a in _annotation_texts(fig) if a and a[0] in "●◆▲■"]
    assert len(band_labels) == len(catalog.levels)

    markers = _marker_traces(fig)
    by_name = {tr.name: tr for tr in markers}
    withheld = by_name[t("state.withheld", language)]
    assert list(withheld.x) == ["2025-02"]
    assert withheld.marker.color == theme.NO_DATA_COLOR
    level_traces = [tr for tr in markers if tr is not withheld]
    assert sum(len(tr.x) for tr in level_traces) == 5
    assert len({tr.marker.symbol for tr in level_traces}) == len(level_traces) == 4
    for tr in level_traces:
        level = next(lv for lv in catalog.levels if tr.marker.color == lv.color)
        assert tr.marker.symbol == theme.level_marker(level.id, catalog)
        assert all(level.name_zh in h or level.name_en in h for h in tr.hovertext)
    assert "<b>72.4</b>" in _annotation_texts(fig)


def test_index_trend_title_and_other_catalog(other_catalog: Catalog) -> None:
    fig = figures.index_trend_figure(
        _trend_frame(other_catalog), other_catalog, "en", title="Custom"
    )
    assert fig.layout.title.text == "Custom"
    assert [b.fillcolor for b in _band_shapes(fig)] == ["#00897B", "#FB8C00", "#6D4C41"]
    colours = {tr.marker.color for tr in _marker_traces(fig)}
    assert colours <= {"#00897B", "#FB8C00", "#6D4C41", theme.NO_DATA_COLOR}


@pytest.mark.parametrize("language", LANGUAGES)
def test_index_trend_all_withheld(catalog: Catalog, language: str) -> None:
    frame = pd.DataFrame(
        {"period": ["2025-01", "2025-02"], "index": [NAN, NAN], "level": [None, None]}
    )
    fig = figures.index_trend_figure(frame, catalog, language)
    assert t("empty.figure_withheld", language) in _annotation_texts(fig)
    assert len(_band_shapes(fig)) == len(catalog.levels)


def test_index_trend_takes_quarters_and_years(catalog: Catalog) -> None:
    frame = pd.DataFrame(
        {"period": ["2025", "2024"], "index": [70.0, 80.0], "level": ["blue", "normal"]}
    )
    fig = figures.index_trend_figure(frame, catalog, "zh")
    assert list(fig.data[0].x) == ["2024", "2025"]
    assert fig.layout.xaxis.type == "category"


def test_sparkline_values(catalog: Catalog) -> None:
    assert figures.sparkline_values(_trend_frame(catalog)) == [78.0, None, 84.0, 66.0, 55.0, 72.4]
    assert figures.sparkline_values(pd.DataFrame(columns=["period", "index"])) == []


# ---------------------------------------------------------------- distribution


@pytest.mark.parametrize("language", LANGUAGES)
def test_distribution_counts_and_bands(catalog: Catalog, language: str) -> None:
    values = [85.0, 91.0, 100.0, 75.0, 62.0, 40.0, 0.0, NAN]
    frame = pd.DataFrame(
        {"index": values, "level": [None if math.isnan(v) else catalog.level_of(v) for v in values]}
    )
    fig = figures.distribution_figure(frame, catalog, language)
    assert fig.layout.title.text == t("figure.distribution", language)
    assert fig.layout.barmode == "stack"
    level_traces = fig.data[: len(catalog.levels)]
    assert [tr.marker.color for tr in level_traces] == [lv.color for lv in catalog.levels]
    assert [int(sum(tr.y)) for tr in level_traces] == [3, 1, 1, 2]
    assert level_traces[0].name.endswith("（3）" if language == "zh" else "(3)")
    assert level_traces[0].name.startswith("●")
    withheld = fig.data[-1]
    assert t("state.withheld", language) in withheld.name and "1" in withheld.name
    bands = _band_shapes(fig)
    assert [b.fillcolor for b in bands] == [lv.color for lv in catalog.levels]
    assert [(b.x0, b.x1) for b in bands] == [(lo, hi) for _, lo, hi in theme.level_bands(catalog)]


# ---------------------------------------------------------------- hierarchy


def _nodes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": [
                "110101000000",
                "110101001000",
                "110101001001",
                "110101001002",
                "110101002000",
                "110101002001",
            ],
            "name": ["示例区", "东街道", "东一社区", "东二社区", "西街道", "西一社区"],
            "parent_code": [
                "",
                "110101000000",
                "110101001000",
                "110101001000",
                "110101000000",
                "110101002000",
            ],
            "index": [74.0, 71.5, 81.25, NAN, 66.0, 59.0],
            "level": ["blue", "blue", "normal", None, "yellow", "red"],
        }
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["sunburst", "treemap"])
def test_hierarchy(catalog: Catalog, kind: str, language: str) -> None:
    fig = figures.hierarchy_figure(_nodes(), catalog, language, kind=kind)  # type: ignore[arg-type]
    assert fig.layout.title.text == t("figure.hierarchy", language)
    (trace,) = fig.data
    assert trace.type == kind
    assert list(trace.ids) == list(_nodes()["code"])
    assert list(trace.parents) == ["", *list(_nodes()["parent_code"])[1:]]
    assert list(trace.marker.colors) == [
        "#1565C0",
        "#1565C0",
        "#2E7D32",
        theme.NO_DATA_COLOR,
        "#F9A825",
        "#C62828",
    ]
    assert "%{customdata[1]}" in trace.texttemplate and "%{customdata[0]}" in trace.texttemplate
    assert [row[1] for row in trace.customdata] == ["74.0", "71.5", "81.2", "—", "66.0", "59.0"]
    assert [row[0] for row in trace.customdata] == ["◆", "◆", "●", "○", "▲", "■"]
    assert t("state.withheld", language) in _annotation_texts(fig)[0]


def test_hierarchy_treats_an_unknown_parent_as_root(catalog: Catalog) -> None:
    nodes = _nodes().iloc[1:4]  # a street and its communities, without the district
    fig = figures.hierarchy_figure(nodes, catalog, "zh")
    assert list(fig.data[0].parents) == ["", "110101001000", "110101001000"]
    with pytest.raises(ValueError, match="kind"):
        figures.hierarchy_figure(nodes, catalog, "zh", kind="pie")  # type: ignore[arg-type]


# ---------------------------------------------------------------- level counts


@pytest.mark.parametrize("language", LANGUAGES)
def test_level_counts(catalog: Catalog, language: str) -> None:
    counts = pd.DataFrame(
        {"state": ["red", "normal", "not_reported", "withheld"], "count": [3, 40, 2, 4]}
    )
    fig = figures.level_counts_figure(counts, catalog, language)
    assert fig.layout.title.text == t("figure.level_counts", language)
    (bar,) = fig.data
    assert bar.orientation == "h"
    order = [*catalog.level_ids, "withheld", "not_reported", "escalated"]
    assert list(bar.y) == [theme.level_label(s, catalog, language) for s in order]
    assert list(bar.x) == [40, 0, 0, 3, 4, 2, 0]
    assert list(bar.text) == ["40", "0", "0", "3", "4", "2", "0"]
    assert list(bar.marker.color) == [theme.level_color(s, catalog) for s in order]
    assert fig.layout.yaxis.autorange == "reversed"


# ---------------------------------------------------------------- dimensions


@pytest.mark.parametrize("language", LANGUAGES)
def test_dimension_comparison(catalog: Catalog, language: str) -> None:
    dims = pd.DataFrame(
        {
            "dimension": ["process", "resident", "professional", "innovation"],
            "score": [71.0, 82.1, 64.3, NAN],
            "reference": [69.5, 78.0, 70.2, 55.0],
        }
    )
    label = t("figure.street_median", language)
    fig = figures.dimension_comparison_figure(dims, catalog, language, label)
    assert fig.layout.title.text == t("figure.dimensions", language)
    community, reference = fig.data
    assert community.type == reference.type == "bar"
    names = [d.name_zh if language == "zh" else d.name_en for d in catalog.weighted_dimensions]
    assert list(community.y) == names == list(reference.y)
    assert list(community.x) == [82.1, 64.3, 71.0, None]
    assert list(reference.x) == [78.0, 70.2, 69.5, 55.0]
    assert reference.name == label
    assert community.name == t("figure.this_community", language)
    assert list(community.marker.color) == ["#2E7D32", "#F9A825", "#1565C0", theme.NO_DATA_COLOR]
    assert community.text[0] == "82.1 ●"
    assert community.text[3] == t("state.no_data", language)
    assert len(_band_shapes(fig)) == len(catalog.levels)


# ---------------------------------------------------------------- indicator panels


def _indicator_series(catalog: Catalog) -> pd.DataFrame:
    rows = []
    for indicator in catalog.indicators:
        if indicator.id == "innovation_share":
            continue  # one indicator without values
        for step, period in enumerate(["2025-01", "2025-02", "2025-03"]):
            share = 0.2 + 0.3 * step  # scores 20, 50, 80 on every indicator
            value = indicator.worst + share * (indicator.best - indicator.worst)
            rows.append((period, indicator.id, value, share * 100))
    return pd.DataFrame(rows, columns=["period", "indicator", "value", "score"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_indicator_small_multiples(catalog: Catalog, language: str) -> None:
    fig = figures.indicator_small_multiples(_indicator_series(catalog), catalog, language)
    assert fig.layout.title.text == t("figure.indicators", language)
    n = len(catalog.indicators)
    titles = [a.text.replace("<br>", "") for a in fig.layout.annotations if a.yref == "paper"]
    for indicator in catalog.indicators:
        name = indicator.name_zh if language == "zh" else indicator.name_en
        unit = indicator.unit if language == "zh" else indicator.unit_label_en
        assert any(name in title and unit in title for title in titles), name
    goals = [s for s in fig.layout.shapes if (s.name or "").startswith("goal:")]
    assert len(goals) == 2 * n
    assert all(s.line.dash == "dash" for s in goals)
    satisfaction = catalog.indicator_by_id["satisfaction"]
    assert {s.y0 for s in goals if s.name.startswith("goal:satisfaction:")} == {
        satisfaction.best,
        satisfaction.worst,
    }
    lines = [tr for tr in fig.data if tr.mode == "lines+markers"]
    lasts = [tr for tr in fig.data if (tr.name or "").startswith("last:")]
    assert len(lines) == len(lasts) == n - 1
    expected = catalog.level_by_id[catalog.level_of(80.0)]  # the band of the last score
    for last in lasts:
        assert list(last.x) == ["2025-03"]
        assert last.marker.color == expected.color
        assert last.marker.symbol == theme.level_marker(expected.id, catalog)
        assert last.text[0].startswith(expected.symbol)
    assert t("empty.figure", language) in _annotation_texts(fig)


def test_small_multiples_assembled_as_dicts_keep_the_shared_look(catalog: Catalog) -> None:
    """The panels are built as dicts and validated once; the look must match apply_layout's."""
    fig = figures.indicator_small_multiples(_indicator_series(catalog), catalog, "zh")
    reference = theme.apply_layout(go.Figure(), "zh", height=fig.layout.height)
    assert fig.layout.template == reference.layout.template
    assert fig.layout.margin == reference.layout.margin
    assert fig.layout.title.xanchor == "left" and fig.layout.title.font.size == 16
    assert fig.layout.height == 80 + 200 * math.ceil(len(catalog.indicators) / 3)
    layout = fig.layout.to_plotly_json()
    axes = [name for name in layout if name.startswith(("xaxis", "yaxis"))]
    assert len(axes) == 2 * 3 * math.ceil(len(catalog.indicators) / 3)
    for name in axes:
        assert layout[name]["gridcolor"] == theme.GRID_COLOR, name
        assert layout[name]["automargin"] is True and layout[name]["zeroline"] is False, name
        if name.startswith("xaxis"):
            assert layout[name]["type"] == "category", name
            assert list(layout[name]["categoryarray"]) == ["2025-01", "2025-02", "2025-03"]
    titles = [a for a in fig.layout.annotations if a.yref == "paper"]
    assert titles and all(a.font.size == 12 for a in titles)
    anchors = {(trace.xaxis, trace.yaxis) for trace in fig.data}
    assert all(f"xaxis{x[1:]}" in layout and f"yaxis{y[1:]}" in layout for x, y in anchors)
    assert len(anchors) == len(catalog.indicators) - 1  # one panel per indicator with values


def test_small_multiples_column_count(catalog: Catalog) -> None:
    fig = figures.indicator_small_multiples(_indicator_series(catalog), catalog, "zh", columns=4)
    x_axes = [key for key in fig.layout.to_plotly_json() if key.startswith("xaxis")]
    assert len(x_axes) == 16  # 13 indicators on a 4 × 4 grid


# ---------------------------------------------------------------- alert timeline


@pytest.mark.parametrize("language", LANGUAGES)
def test_alert_timeline(catalog: Catalog, language: str) -> None:
    history = pd.DataFrame(
        {
            "period": ["2025-01", "2025-02", "2025-03", "2025-04"],
            "level": ["blue", "yellow", None, "yellow"],
            "reason": [None, "指数 64.0 低于 70", None, "连续两期黄色"],
        }
    )
    fig = figures.alert_timeline_figure(history, catalog, language)
    assert fig.layout.title.text == t("figure.alert_timeline", language)
    step = fig.data[0]
    assert step.line.shape == "hv"
    assert step.y[2] is None
    markers = _marker_traces(fig)
    assert sum(len(tr.x) for tr in markers) == 4
    assert len({tr.marker.symbol for tr in markers}) == len(markers) == 3
    withheld = next(tr for tr in markers if tr.marker.color == theme.NO_DATA_COLOR)
    assert list(withheld.x) == ["2025-03"]
    assert list(withheld.y) == [theme.level_label(None, catalog, language)]
    yellow = next(tr for tr in markers if tr.marker.color == "#F9A825")
    assert "指数 64.0 低于 70" in yellow.hovertext[0]
    categories = list(fig.layout.yaxis.categoryarray)
    assert categories[0] == theme.level_label(None, catalog, language)
    assert categories[-1] == theme.level_label(catalog.level_ids[0], catalog, language)


# ---------------------------------------------------------------- waterfall


@pytest.mark.parametrize("language", LANGUAGES)
def test_waterfall_sums_to_index_to(catalog: Catalog, language: str) -> None:
    contributions = pd.DataFrame(
        {
            "indicator": [
                "satisfaction",
                "participation",
                "turnover",
                "error_rate",
                "digital_usage",
                "training_hours",
            ],
            "contribution": [2.1, -0.8, 1.2, 0.02, -0.03, 0.4],
        }
    )
    index_from = 68.0
    index_to = index_from + float(contributions["contribution"].sum())
    fig = figures.attribution_waterfall(
        contributions, index_from, index_to, "2025-10", "2025-11", catalog, language
    )
    assert fig.layout.title.text == t(
        "figure.waterfall", language, period_from="2025-10", period_to="2025-11"
    )
    (trace,) = fig.data
    assert trace.type == "waterfall"
    assert list(trace.measure) == ["absolute", *["relative"] * 5, "total"]
    names = [
        catalog.indicator_by_id[i]
        for i in ("satisfaction", "turnover", "participation", "training_hours")
    ]
    expected_labels = [i.name_zh if language == "zh" else i.name_en for i in names]
    assert list(trace.y)[1:5] == expected_labels  # largest |contribution| first
    assert trace.y[5] == t("figure.other", language)
    assert trace.x[5] == pytest.approx(-0.01)
    assert trace.x[0] + sum(trace.x[1:-1]) == pytest.approx(index_to)
    assert trace.x[-1] == pytest.approx(index_to)
    assert trace.y[0] == t("figure.index_at", language, period="2025-10")
    assert trace.y[-1] == t("figure.index_at", language, period="2025-11")
    assert trace.text[1] == "+2.10" and trace.text[3] == "−0.80"
    assert trace.increasing.marker.color == catalog.levels[0].color
    assert trace.decreasing.marker.color == catalog.levels[-1].color


def test_waterfall_shows_an_unexplained_remainder(catalog: Catalog) -> None:
    contributions = pd.DataFrame({"indicator": ["satisfaction"], "contribution": [1.0]})
    fig = figures.attribution_waterfall(
        contributions, 70.0, 72.5, "2025-10", "2025-11", catalog, "en"
    )
    trace = fig.data[0]
    assert list(trace.y)[-2] == t("figure.unattributed", "en")
    assert trace.x[-2] == pytest.approx(1.5)
    assert trace.x[0] + sum(trace.x[1:-1]) == pytest.approx(72.5)


def test_waterfall_without_contributions(catalog: Catalog) -> None:
    empty = pd.DataFrame(columns=["indicator", "contribution"])
    fig = figures.attribution_waterfall(empty, 70.0, 70.0, "2025-10", "2025-11", catalog, "zh")
    assert list(fig.data[0].measure) == ["absolute", "total"]


# ---------------------------------------------------------------- ranking table


@pytest.mark.parametrize("language", LANGUAGES)
def test_ranking_table(catalog: Catalog, language: str) -> None:
    rows = pd.DataFrame(
        {
            "code": ["110101001001", "110101001002"],
            "name": ["东一社区", "东二社区"],
            "index": [72.456, NAN],
            "level": ["blue", None],
            "coverage": [0.9167, 0.5],
            "trend": ["improving", None],
            "sparkline": [[70.0, None, 72.4], np.array([])],
        }
    )
    table = figures.ranking_table(rows, catalog, language)
    headers = figures.ranking_columns(language)
    assert list(table.columns) == list(headers.values())
    assert headers["index"] == t("column.index", language)
    assert table[headers["index"]].tolist()[0] == 72.5
    assert math.isnan(table[headers["index"]].tolist()[1])
    assert table[headers["level"]].tolist() == [
        theme.level_label("blue", catalog, language),
        theme.level_label(None, catalog, language),
    ]
    assert table[headers["level"]].tolist()[0].startswith("◆ ")
    assert table[headers["coverage"]].tolist() == [92.0, 50.0]
    assert table[headers["trend"]].tolist() == [
        f"↑ {t('trend.improving', language)}",
        f"– {t('trend.not_assessable', language)}",
    ]
    assert table[headers["sparkline"]].tolist() == [[70.0, None, 72.4], []]
    assert table[headers["code"]].tolist() == ["110101001001", "110101001002"]


def test_ranking_table_empty(catalog: Catalog) -> None:
    table = figures.ranking_table(
        pd.DataFrame(columns=list(figures.RANKING_COLUMNS)), catalog, "en"
    )
    assert len(table) == 0
    assert list(table.columns) == list(figures.ranking_columns("en").values())


# ---------------------------------------------------------------- shared look


def test_every_builder_uses_the_shared_layout(catalog: Catalog) -> None:
    built = [
        figures.index_trend_figure(_trend_frame(catalog), catalog, "zh"),
        figures.distribution_figure(
            pd.DataFrame({"index": [70.0], "level": ["blue"]}), catalog, "zh"
        ),
        figures.hierarchy_figure(_nodes(), catalog, "zh", kind="treemap"),
        figures.level_counts_figure(pd.DataFrame({"state": ["red"], "count": [1]}), catalog, "zh"),
        figures.indicator_small_multiples(_indicator_series(catalog), catalog, "zh"),
        figures.alert_timeline_figure(
            pd.DataFrame({"period": ["2025-01"], "level": ["red"], "reason": ["x"]}), catalog, "zh"
        ),
    ]
    for fig in built:
        assert fig.layout.font.family == theme.FONT_FAMILY
        assert fig.layout.paper_bgcolor == "rgba(0,0,0,0)"
        assert fig.layout.title.text


def test_pure_ui_modules_do_not_import_streamlit() -> None:
    code = (
        "import sys, ui.i18n, ui.theme, ui.figures; "
        "sys.exit(1 if any(m.split('.')[0] == 'streamlit' for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
