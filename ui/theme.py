"""Colours, symbols, fonts and the shared plotly layout; level colours come from the catalog."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from indicators.catalog import Catalog, Level
from ui.i18n import SPECIAL_STATES, is_missing, level_name, t

FONT_FAMILY = (
    "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
)
NO_DATA_COLOR = "#9E9E9E"
TEXT_COLOR = "#263238"
MUTED_COLOR = "#607D8B"
LINE_COLOR = "#37474F"
REFERENCE_COLOR = "#B0BEC5"
GRID_COLOR = "rgba(96, 125, 139, 0.18)"
DARK_TEXT = "#212121"
LIGHT_TEXT = "#FFFFFF"
BAND_OPACITY = 0.10
NO_DATA_SYMBOL = "○"

# Presentation of the states that are not alert levels. These are display choices, not
# methodology: grey so that "no index" is never mistaken for a level, and a distinct dark
# purple for rectification talks.
STATE_COLORS: dict[str, str] = {
    "withheld": NO_DATA_COLOR,
    "no_data": NO_DATA_COLOR,
    "not_reported": "#616161",
    "escalated": "#6A1B9A",
}
STATE_SYMBOLS: dict[str, str] = {
    "withheld": NO_DATA_SYMBOL,
    "no_data": NO_DATA_SYMBOL,
    "not_reported": "□",
    "escalated": "★",
}

# The catalog's level symbol (a character shown in text) → the plotly marker of that shape.
_MARKERS_BY_GLYPH: dict[str, str] = {
    "●": "circle",
    "○": "circle-open",
    "◆": "diamond",
    "◇": "diamond-open",
    "▲": "triangle-up",
    "△": "triangle-up-open",
    "▼": "triangle-down",
    "▽": "triangle-down-open",
    "■": "square",
    "□": "square-open",
    "★": "star",
    "☆": "star-open",
    "✚": "cross",
    "✖": "x",
    "⬟": "pentagon",
    "⬢": "hexagon",
}
# Shapes for catalog symbols without a known marker, taken in order of the level's rank.
_FALLBACK_MARKERS = ("circle", "diamond", "triangle-up", "square", "star", "x", "cross", "hexagon")


def _level(level_id: str, catalog: Catalog) -> Level | None:
    return catalog.level_by_id.get(level_id)


def _unknown(level_id: str, catalog: Catalog) -> KeyError:
    return KeyError(
        f"unknown level {level_id!r}; the catalog defines {catalog.level_ids} "
        f"and the special states are {SPECIAL_STATES}"
    )


def level_color(level_id: str | None, catalog: Catalog) -> str:
    """The catalog colour of a level; grey for a missing level and the special states' colours."""
    if is_missing(level_id):
        return NO_DATA_COLOR
    assert level_id is not None
    level = _level(level_id, catalog)
    if level is not None:
        return level.color
    if level_id in STATE_COLORS:
        return STATE_COLORS[level_id]
    raise _unknown(level_id, catalog)


def level_symbol(level_id: str | None, catalog: Catalog) -> str:
    """The catalog symbol of a level (● ◆ ▲ ■ by default); ○ for a missing level."""
    if is_missing(level_id):
        return NO_DATA_SYMBOL
    assert level_id is not None
    level = _level(level_id, catalog)
    if level is not None:
        return level.symbol
    if level_id in STATE_SYMBOLS:
        return STATE_SYMBOLS[level_id]
    raise _unknown(level_id, catalog)


def level_marker(level_id: str | None, catalog: Catalog) -> str:
    """The plotly marker symbol with the shape of the level's symbol, distinct per level."""
    glyph = level_symbol(level_id, catalog)
    if is_missing(level_id) or level_id not in catalog.level_by_id:
        return _MARKERS_BY_GLYPH.get(glyph, "circle-open")
    assert level_id is not None
    taken = {_MARKERS_BY_GLYPH.get(lv.symbol) for lv in catalog.levels}
    if glyph in _MARKERS_BY_GLYPH:
        return _MARKERS_BY_GLYPH[glyph]
    spare = [m for m in _FALLBACK_MARKERS if m not in taken]
    return spare[catalog.level_rank(level_id) % len(spare)]


def level_label(level_id: str | None, catalog: Catalog, language: str) -> str:
    """Symbol and name, e.g. ▲ 黄色预警: readable without seeing the colour."""
    return f"{level_symbol(level_id, catalog)} {level_name(level_id, catalog, language)}"


def level_bands(catalog: Catalog, top: float = 100.0) -> list[tuple[Level, float, float]]:
    """Each level with the [lower, upper) score range it covers, best first."""
    bands: list[tuple[Level, float, float]] = []
    upper = top
    for level in catalog.levels:
        bands.append((level, level.min, upper))
        upper = level.min
    return bands


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def text_color_on(background: str) -> str:
    """White or near-black, whichever contrasts more with a #RRGGBB background."""
    lum = _luminance(background)
    white_contrast = 1.05 / (lum + 0.05)
    dark_contrast = (lum + 0.05) / (_luminance(DARK_TEXT) + 0.05)
    return LIGHT_TEXT if white_contrast >= dark_contrast else DARK_TEXT


def rgba(color: str, alpha: float) -> str:
    """A #RRGGBB colour as an rgba() string with the given opacity."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha:g})"


def level_badge_html(level_id: str | None, catalog: Catalog, language: str) -> str:
    """A small coloured pill with the level's symbol and name (for st.markdown with HTML)."""
    background = level_color(level_id, catalog)
    label = html.escape(level_label(level_id, catalog, language))
    style = (
        f"display:inline-block;padding:0.1em 0.65em;border-radius:999px;"
        f"background:{background};color:{text_color_on(background)};"
        f"font-family:{FONT_FAMILY};font-size:0.9em;font-weight:600;"
        f"line-height:1.6;white-space:nowrap"
    )
    return f'<span class="level-badge" role="status" style="{style}">{label}</span>'


def plotly_config() -> dict[str, object]:
    """The `config` for st.plotly_chart: no logo, a lean mode bar, PNG export at 2×."""
    return {
        "displaylogo": False,
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
        "toImageButtonOptions": {"format": "png", "scale": 2},
    }


# The look of every axis (see apply_layout).
AXIS_LOOK: dict[str, object] = {"gridcolor": GRID_COLOR, "zeroline": False, "automargin": True}


def base_layout(language: str, height: int | None = None) -> dict[str, object]:
    """The shared look as a layout dict: CJK-capable font, tight margins, transparent
    background, legend on top (axes: AXIS_LOOK).

    `language` is checked so a bad session value fails here rather than in a half-drawn page;
    both languages share the font stack (Noto CJK covers Latin too).
    """
    t("app.title", language)
    layout: dict[str, object] = {
        "template": "plotly_white",
        "font": {"family": FONT_FAMILY, "size": 13, "color": TEXT_COLOR},
        "title": {"x": 0.0, "xanchor": "left", "font": {"size": 16}},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 8, "r": 8, "t": 72, "b": 8},
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "bottom",
            "font": {"size": 12},
            "bgcolor": "rgba(0,0,0,0)",
            "itemclick": "toggle",
        },
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": 13}},
    }
    if height is not None:
        layout["height"] = height
    return layout


def apply_layout(fig: go.Figure, language: str, height: int | None = None) -> go.Figure:
    """The shared look (base_layout, AXIS_LOOK) applied to a built figure.

    The layout is merged as a dict and assigned once: plotly's update_layout, update_xaxes and
    update_yaxes each walk the whole layout, and were a third of a cold Community page.
    """
    layout = merge_into(fig.layout.to_plotly_json(), base_layout(language, height))
    for name in ("xaxis", "yaxis", *layout):  # a figure always has a first x and y axis
        if name.startswith(("xaxis", "yaxis")):
            layout[name] = merge_into(dict(layout.get(name, {})), AXIS_LOOK)
    fig.layout = layout
    return fig


def merge_into(target: dict, update: dict) -> dict:
    """Merges `update` into `target` as plotly's update does (nested dicts merge, anything else
    replaces) and returns `target`."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = merge_into(dict(target[key]), value)
        else:
            target[key] = value
    return target
