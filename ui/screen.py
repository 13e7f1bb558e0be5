"""The wall screen: URL parameters, its data, the rotation, large-type HTML and the refresh loop."""

from __future__ import annotations

import datetime as dt
import html
import logging
import time
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from indicators import tokens
from indicators.access import AccessDenied, Principal, require
from indicators.catalog import Catalog
from indicators.orgs import is_valid_code, level_of, scope_prefix, street_of
from indicators.periods import latest_closed_month, month_index, reporting_deadline
from indicators.store import StoreError
from ui import compose, data, db
from ui.auth import PRINCIPAL_KEY
from ui.figures import index_trend_figure, trend_label
from ui.i18n import LANGUAGES, format_number, format_signed, normalise_language, t
from ui.theme import FONT_FAMILY, level_color, level_label, rgba, text_color_on

log = logging.getLogger(__name__)

# ---- URL parameters ---------------------------------------------------------------------------
# /?view=screen&token=…&unit=CODE&rotate=overview,streets,attention&interval=20&lang=zh&theme=dark
# (docs/embedding.md). These are display settings of a screen, not methodology.
SCREEN_VIEW = "screen"
VIEWS = ("overview", "streets", "attention")
THEMES = ("dark", "light")
DEFAULT_THEME = "dark"
DEFAULT_INTERVAL = 20
MIN_INTERVAL = 3
MAX_INTERVAL = 3600
# However slowly the slides turn, the clock and the data are refreshed at least this often.
CLOCK_SECONDS = 30
# What one slide holds: months on the trend chart, rows in the attention list.
TREND_MONTHS = 12
ATTENTION_ROWS = 8
TREND_HEIGHT = 340

CHILD_LEVEL = {"district": "street", "street": "community"}
SESSION_ROTATION = "screen_rotation"
SESSION_LAST_GOOD = "screen_last_good"
SESSION_REFUSED = "screen_refused"
# Stands in for scores and alerts before any period is scored (an empty database).
NO_ROWS = pd.DataFrame(
    {
        column: pd.Series(dtype="str")
        for column in (
            "code",
            "name",
            "unit_level",
            "period",
            "state",
            "level",
            "trend",
            "reason_zh",
            "reason_en",
        )
    }
).assign(index=pd.Series(dtype="float"))


@dataclass(frozen=True)
class ScreenConfig:
    """What the URL asks for, after validation; `problems` lists (name, value, fallback)."""

    token: str | None
    unit: str | None
    views: tuple[str, ...] = VIEWS
    interval: int = DEFAULT_INTERVAL
    language: str = "zh"
    theme: str = DEFAULT_THEME
    problems: tuple[tuple[str, str, str], ...] = ()

    @property
    def tick_seconds(self) -> int:
        """How often the fragment reruns: every slide change, and at least every CLOCK_SECONDS."""
        return min(self.interval, CLOCK_SECONDS)


def parse_config(params: Mapping[str, str]) -> ScreenConfig:
    """Reads the screen's URL parameters; a bad value falls back to its default and is named."""
    problems: list[tuple[str, str, str]] = []
    language = params.get("lang") or "zh"
    if language not in LANGUAGES:
        problems.append(("lang", language, "zh"))
    language = normalise_language(language)

    theme = params.get("theme") or DEFAULT_THEME
    if theme not in THEMES:
        problems.append(("theme", theme, DEFAULT_THEME))
        theme = DEFAULT_THEME

    unit = (params.get("unit") or "").strip() or None
    if unit is not None and not is_valid_code(unit):
        problems.append(("unit", unit, "token"))
        unit = None

    interval = DEFAULT_INTERVAL
    raw_interval = params.get("interval")
    if raw_interval:
        try:
            interval = int(raw_interval)
        except ValueError:
            interval = -1
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            problems.append(("interval", raw_interval, str(DEFAULT_INTERVAL)))
            interval = DEFAULT_INTERVAL

    views: tuple[str, ...] = VIEWS
    raw_views = params.get("rotate")
    if raw_views:
        asked = [v.strip() for v in raw_views.split(",") if v.strip()]
        known = tuple(dict.fromkeys(v for v in asked if v in VIEWS))
        if len(known) != len(asked):
            fallback = ",".join(known or VIEWS)
            problems.append(("rotate", raw_views, fallback))
        views = known or VIEWS
    token = (params.get("token") or "").strip() or None
    return ScreenConfig(token, unit, views, interval, language, theme, tuple(problems))


# ---- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staleness:
    """The latest data is older than the reporting cycle: `expected` was due by `deadline`."""

    latest: str | None
    expected: str
    deadline: dt.date


def staleness(latest: str | None, today: dt.date, catalog: Catalog) -> Staleness | None:
    """None when the newest scored month is at least the latest month whose reporting deadline
    (the catalog's not-reported rule) has passed; else what is missing."""
    deadline_day = catalog.alerts.not_reported.deadline_day
    expected = latest_closed_month(today, deadline_day)
    if latest is not None and month_index(latest) >= month_index(expected):
        return None
    return Staleness(latest, expected, reporting_deadline(expected, deadline_day))


@dataclass(frozen=True)
class UnitSummary:
    """One unit on the screen: its index, level and trend in the period, counts, recent index."""

    code: str
    name: str
    index: float | None
    level: str | None
    trend: str | None
    change: float | None
    counts: tuple[tuple[str, int], ...]
    series: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class ScreenData:
    """Everything one refresh shows; kept in the session as the last good view."""

    area: UnitSummary
    children: tuple[UnitSummary, ...]
    attention: pd.DataFrame = field(repr=False)
    period: str | None = None
    staleness: Staleness | None = None
    demo: bool = False
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def counted_states(catalog: Catalog) -> tuple[str, ...]:
    """The states the screen counts: every level but the best, worst first, then not reported
    and escalated."""
    return (*reversed(catalog.level_ids[1:]), "not_reported", "escalated")


def _state_counts(
    communities: pd.DataFrame, alerts: pd.DataFrame, prefix: str, catalog: Catalog
) -> tuple[tuple[str, int], ...]:
    inside = communities[communities["code"].str.startswith(prefix)]
    flagged = alerts[alerts["code"].str.startswith(prefix)]
    counts = compose.state_counts(inside, flagged, catalog)
    by_state = dict(zip(counts["state"], counts["count"], strict=True))
    return tuple((state, int(by_state.get(state, 0))) for state in counted_states(catalog))


def _summary(
    code: str,
    series: pd.DataFrame,
    period: str | None,
    communities: pd.DataFrame,
    alerts: pd.DataFrame,
    catalog: Catalog,
) -> UnitSummary:
    series = series.sort_values("period")
    recent = series[["period", "index", "level"]].tail(TREND_MONTHS).reset_index(drop=True)
    current = series[series["period"] == period]
    row = current.iloc[0] if len(current) else None
    names = series["name"].dropna() if "name" in series else pd.Series(dtype=str)
    name = str(names.iloc[-1]) if len(names) else code

    def present(value: object) -> object:
        return None if row is None or pd.isna(value) else value

    index = None if row is None else present(row["index"])
    before = series[series["period"] < period]["index"] if period else pd.Series(dtype=float)
    change = (
        None
        if index is None or before.empty or pd.isna(before.iloc[-1])
        else float(index) - float(before.iloc[-1])
    )
    return UnitSummary(
        code=code,
        name=name,
        index=index,
        level=None if row is None else present(row["level"]),
        trend=None if row is None else present(row["trend"]),
        change=change,
        counts=_state_counts(communities, alerts, scope_prefix(code), catalog),
        series=recent,
    )


def attention_rows(alerts: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Communities needing attention, in the alert list's order (escalated, worst level first,
    not reported last), with the name of their street."""
    rows = alerts[alerts["unit_level"] == "community"].copy()
    rows["street"] = [names.get(street_of(code), "") for code in rows["code"]]
    return rows[["code", "name", "street", "state", "index", "reason_zh", "reason_en"]].reset_index(
        drop=True
    )


def compose_screen(
    area: str,
    period: str | None,
    area_series: pd.DataFrame,
    communities: pd.DataFrame,
    alerts: pd.DataFrame,
    children: pd.DataFrame,
    child_series: Mapping[str, pd.DataFrame],
    catalog: Catalog,
    today: dt.date,
    demo: bool,
    fetched_at: dt.datetime,
) -> ScreenData:
    """Pure: the frames one refresh read → what the screen shows."""
    summary = _summary(area, area_series, period, communities, alerts, catalog)
    child_summaries = tuple(
        _summary(
            code,
            child_series.get(code, children[children["code"] == code]),
            period,
            communities,
            alerts,
            catalog,
        )
        for code in children["code"]
        if code != area
    )
    names = {summary.code: summary.name, **{c.code: c.name for c in child_summaries}}
    return ScreenData(
        area=summary,
        children=child_summaries,
        attention=attention_rows(alerts, names),
        period=period,
        staleness=staleness(period, today, catalog),
        demo=demo,
        fetched_at=fetched_at,
    )


# ---- rotation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slide:
    """One page of the rotation: a view, and for "streets" the child unit it shows."""

    view: str
    code: str | None = None


def slides(views: tuple[str, ...], screen: ScreenData) -> list[Slide]:
    """The rotation in URL order; "streets" expands to one slide per child unit of the area
    (its streets for a district, its communities for a street)."""
    result: list[Slide] = []
    for view in views:
        if view == "streets":
            result.extend(Slide("streets", child.code) for child in screen.children)
        else:
            result.append(Slide(view))
    return result or [Slide("overview")]


@dataclass(frozen=True)
class Rotation:
    """Which slide is shown and since when (monotonic seconds)."""

    position: int
    shown_since: float


def next_rotation(
    previous: Rotation | None, slide_count: int, now: float, interval: float, tick: float
) -> Rotation:
    """Advances to the next slide once it has been shown for `interval`. A tick arriving a
    little early (timers and server load jitter) still counts: a quarter tick of slack."""
    if previous is None or slide_count <= 0:
        return Rotation(0, now)
    if now - previous.shown_since + tick / 4 >= interval:
        return Rotation((previous.position + 1) % slide_count, now)
    return Rotation(previous.position % slide_count, previous.shown_since)


# ---- presentation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    """Colours of a screen theme (display choices; level colours come from the catalog)."""

    background: str
    surface: str
    text: str
    muted: str
    border: str
    plotly_template: str


PALETTES = {
    "dark": Palette("#0B1220", "#16213A", "#F1F5F9", "#9AA8BD", "#2A3A57", "plotly_dark"),
    "light": Palette("#F3F5F8", "#FFFFFF", "#1B2430", "#51606F", "#D5DDE6", "plotly_white"),
}
STALE_COLOR = "#B45309"
FAILED_COLOR = "#B91C1C"
DEMO_COLOR = "#6B7280"


def style_html(theme: str) -> str:
    """Page CSS: the theme's colours, large type scaled to the screen width, no Streamlit
    chrome, no fading of the previous slide while a refresh runs."""
    p = PALETTES[theme]
    return f"""<style>
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{ background: {p.background}; color: {p.text}; }}
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] {{ display: none; }}
[data-testid="stMainBlockContainer"] {{ padding: 1.2vw 2.2vw 0.6vw 2.2vw; max-width: 100%; }}
[data-stale="true"] {{ opacity: 1 !important; transition: none !important; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.4vw; }}
.hs {{ font-family: {FONT_FAMILY}; color: {p.text}; line-height: 1.25; }}
.hs-header {{ display: flex; justify-content: space-between; align-items: flex-end; gap: 2vw;
  border-bottom: 0.2vw solid {p.border}; padding-bottom: 0.6vw; margin-bottom: 0.8vw; }}
.hs-title {{ font-size: 2.5vw; font-weight: 700; }}
.hs-meta {{ font-size: 1.35vw; color: {p.muted}; margin-top: 0.3vw; }}
.hs-clock {{ font-size: 3.2vw; font-weight: 700; font-variant-numeric: tabular-nums; text-align: right; }}
.hs-date {{ font-size: 1.3vw; color: {p.muted}; text-align: right; }}
.hs-badges {{ margin-top: 0.4vw; }}
.hs-badge {{ display: inline-block; margin: 0.3vw 0.6vw 0 0; padding: 0.2em 0.8em; border-radius: 999px;
  font-size: 1.35vw; font-weight: 700; color: #FFFFFF; }}
.hs-slide-title {{ font-size: 2.2vw; font-weight: 700; margin: 0.4vw 0 0.8vw 0; }}
.hs-slide-title small {{ font-size: 0.6em; color: {p.muted}; font-weight: 400; margin-left: 1vw; }}
.hs-headline {{ display: flex; align-items: center; gap: 3vw; margin-bottom: 1vw; }}
.hs-index {{ font-size: 9vw; font-weight: 800; line-height: 1; font-variant-numeric: tabular-nums; }}
.hs-level {{ display: inline-block; font-size: 2.8vw; font-weight: 700; padding: 0.15em 0.7em; border-radius: 0.4em; }}
.hs-trend {{ font-size: 2vw; color: {p.muted}; margin-top: 0.6vw; }}
.hs-counts {{ display: grid; gap: 1.2vw; margin-bottom: 0.8vw; }}
.hs-count {{ background: {p.surface}; border-radius: 0.6vw; padding: 0.7vw 1.2vw; border-left: 0.7vw solid; }}
.hs-count-n {{ font-size: 4.6vw; font-weight: 800; line-height: 1.05; font-variant-numeric: tabular-nums; }}
.hs-count-label {{ font-size: 1.6vw; }}
.hs-table {{ width: 100%; border-collapse: collapse; font-size: 1.75vw; }}
.hs-table td {{ padding: 0.55vw 0.8vw; border-bottom: 0.1vw solid {p.border}; vertical-align: middle; }}
.hs-table .hs-num {{ text-align: right; font-variant-numeric: tabular-nums; font-weight: 700; }}
.hs-table .hs-reason {{ color: {p.muted}; font-size: 0.8em; max-width: 38vw; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }}
.hs-pill {{ display: inline-block; padding: 0.1em 0.6em; border-radius: 999px; font-weight: 700; white-space: nowrap; }}
.hs-note {{ font-size: 1.5vw; color: {p.muted}; margin-top: 0.6vw; }}
.hs-message {{ font-size: 2.4vw; margin: 8vh 4vw; padding: 2vw 3vw; border-radius: 1vw;
  background: {p.surface}; border-left: 1vw solid {FAILED_COLOR}; }}
.hs-footer {{ display: flex; justify-content: space-between; font-size: 1.1vw; color: {p.muted}; margin-top: 0.4vw; }}
</style>"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _badge(text: str, color: str, kind: str) -> str:
    return (
        f'<span class="hs-badge" data-badge="{kind}" style="background:{color}">{_e(text)}</span>'
    )


def _pill(level_id: str | None, catalog: Catalog, language: str, css_class: str = "hs-pill") -> str:
    color = level_color(level_id, catalog)
    return (
        f'<span class="{css_class}" style="background:{color};color:{text_color_on(color)}">'
        f"{_e(level_label(level_id, catalog, language))}</span>"
    )


def local_now(timezone: str | None) -> dt.datetime:
    """Now in the browser's time zone when it told us one, else in the server's."""
    now = dt.datetime.now(dt.UTC)
    if timezone:
        try:
            return now.astimezone(zoneinfo.ZoneInfo(timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            log.warning("unknown browser time zone %r; using the server's", timezone)
    return now.astimezone()


def header_html(
    area_name: str, screen: ScreenData | None, now: dt.datetime, language: str, failed: bool
) -> str:
    """Title, period, "data as of", the clock and the badges (stale, refresh failed, demo)."""
    meta: list[str] = []
    badges: list[str] = []
    if screen is not None:
        meta.append(t("screen.period", language, period=screen.period or "—"))
        meta.append(t("data.as_of", language, date=screen.period or "—"))
        refreshed = screen.fetched_at.astimezone(now.tzinfo)
        meta.append(t("screen.refreshed_at", language, time=f"{refreshed:%H:%M:%S}"))
        if screen.staleness is not None:
            stale = screen.staleness
            badges.append(
                _badge(
                    t(
                        "screen.stale",
                        language,
                        expected=stale.expected,
                        deadline=f"{stale.deadline:%Y-%m-%d}",
                        latest=stale.latest or "—",
                    ),
                    STALE_COLOR,
                    "stale",
                )
            )
        if screen.demo:
            badges.append(_badge(t("demo.label", language), DEMO_COLOR, "demo"))
    if failed:
        text = (
            t(
                "screen.refresh_failed",
                language,
                time=f"{screen.fetched_at.astimezone(now.tzinfo):%H:%M:%S}",
            )
            if screen is not None
            else t("screen.refresh_failed_empty", language)
        )
        badges.append(_badge(text, FAILED_COLOR, "failed"))
    weekday = t(f"screen.weekday_{now.weekday()}", language)
    return (
        '<div class="hs hs-header"><div>'
        f'<div class="hs-title">{_e(t("screen.heading", language, area=area_name))}</div>'
        f'<div class="hs-meta" data-period="{_e(screen.period if screen else "")}">{_e(" · ".join(meta))}</div>'
        f'<div class="hs-badges">{"".join(badges)}</div></div>'
        f'<div><div class="hs-clock" data-clock>{now:%H:%M}</div>'
        f'<div class="hs-date">{now:%Y-%m-%d} {_e(weekday)}</div></div></div>'
    )


def headline_html(unit: UnitSummary, catalog: Catalog, language: str) -> str:
    """The unit's index in very large digits, its level as colour + symbol + name, the trend."""
    notes = []
    if unit.change is not None:
        notes.append(f"{t('metric.change', language)} {format_signed(unit.change, 1)}")
    if unit.trend:
        notes.append(f"{t('metric.trend', language)} {trend_label(unit.trend, language)}")
    return (
        f'<div class="hs hs-headline" data-index="{format_number(unit.index)}">'
        f'<div class="hs-index">{format_number(unit.index)}</div>'
        f"<div>{_pill(unit.level, catalog, language, 'hs-level')}"
        f'<div class="hs-trend">{_e(" · ".join(notes))}</div></div></div>'
    )


def counts_html(unit: UnitSummary, catalog: Catalog, language: str) -> str:
    """One tile per counted state: the number, the state's colour bar, symbol and name."""
    tiles = "".join(
        f'<div class="hs-count" data-state="{state}" style="border-left-color:{level_color(state, catalog)}">'
        f'<div class="hs-count-n">{count}</div>'
        f'<div class="hs-count-label">{_e(level_label(state, catalog, language))}</div></div>'
        for state, count in unit.counts
    )
    return (
        f'<div class="hs hs-counts" style="grid-template-columns:repeat({len(unit.counts)}, 1fr)">'
        f"{tiles}</div>"
    )


def attention_html(
    rows: pd.DataFrame, catalog: Catalog, language: str, limit: int = ATTENTION_ROWS
) -> str:
    """The communities needing attention as large table rows, the rest counted below."""
    if rows.empty:
        return f'<div class="hs hs-note">{_e(t("screen.attention_none", language))}</div>'
    reason = "reason_en" if language == "en" else "reason_zh"
    body = "".join(
        "<tr>"
        f"<td>{_pill(row['state'], catalog, language)}</td>"
        f"<td><b>{_e(row['name'])}</b></td><td>{_e(row['street'])}</td>"
        f'<td class="hs-num">{format_number(row["index"])}</td>'
        f'<td class="hs-reason">{_e("" if pd.isna(row[reason]) else row[reason])}</td>'
        "</tr>"
        for _, row in rows.head(limit).iterrows()
    )
    more = len(rows) - limit
    note = (
        f'<div class="hs-note">{_e(t("screen.attention_more", language, count=more))}</div>'
        if more > 0
        else ""
    )
    return f'<div class="hs"><table class="hs-table">{body}</table>{note}</div>'


def slide_title_html(title: str, position: int, total: int, view: str, language: str) -> str:
    counter = t("screen.slide_position", language, position=position + 1, total=total)
    return (
        f'<div class="hs hs-slide-title" data-screen-slide="{_e(view)}" data-slide-title="{_e(title)}">'
        f"{_e(title)}<small>{_e(counter)}</small></div>"
    )


def message_html(text: str, language: str) -> str:
    return (
        f'<div class="hs hs-message" data-screen-message>{_e(text)}<br>'
        f"<small>{_e(t('screen.no_data_shown', language))}</small></div>"
    )


def footer_html(config: ScreenConfig, catalog: Catalog) -> str:
    """Refresh cadence, methodology version and any URL parameter that was not understood."""
    language = config.language
    left = [
        t("screen.refresh_every", language, seconds=config.interval),
        t("data.methodology_version", language, version=catalog.version),
    ]
    problems = [
        t("screen.bad_parameter", language, name=n, value=v, fallback=f)
        for n, v, f in config.problems
    ]
    return (
        f'<div class="hs hs-footer"><span>{_e(" · ".join(left))}</span>'
        f"<span data-problems>{_e(' · '.join(problems))}</span></div>"
    )


def trend_figure(unit: UnitSummary, catalog: Catalog, language: str, theme: str) -> go.Figure:
    """The dashboard's index-over-time figure, restyled for a wall: large type, theme colours."""
    palette = PALETTES[theme]
    fig = index_trend_figure(
        unit.series, catalog, language, title=t("screen.trend_title", language, months=TREND_MONTHS)
    )
    fig.update_layout(
        template=palette.plotly_template,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 20, "color": palette.text},
        title={"font": {"size": 24, "color": palette.text}},
        legend={"font": {"size": 18, "color": palette.text}},
        height=TREND_HEIGHT,
        margin={"l": 8, "r": 24, "t": 64, "b": 8},
    )
    grid = rgba(palette.muted, 0.25)
    fig.update_xaxes(gridcolor=grid, tickfont={"size": 18, "color": palette.muted})
    fig.update_yaxes(gridcolor=grid, tickfont={"size": 18, "color": palette.muted}, title_text=None)
    fig.update_traces(selector={"name": "index"}, line={"color": palette.text, "width": 3})
    fig.update_traces(selector={"mode": "markers"}, marker={"size": 16})
    fig.update_annotations(font={"size": 22})
    return fig


# ---- Streamlit glue --------------------------------------------------------------------------


def requested() -> bool:
    """True when the URL asks for the wall screen (`?view=screen`)."""
    return st.query_params.get("view") == SCREEN_VIEW


def pages() -> list[st.Page]:
    """The screen as the only page of a hidden navigation (app.py), served at the app's root
    and at /screen, so neither address meets Streamlit's "page not found" dialog."""
    title = t("page.screen", "zh")
    return [
        st.Page("app_pages/screen.py", title=title, icon="🖥️", url_path="wall", default=True),
        st.Page("app_pages/screen.py", title=title, icon="🖥️", url_path="screen"),
    ]


def enter_screen() -> ScreenConfig:
    """The screen page's guard: reads the URL, styles the page, and stops with a message (and
    no data) when there is no token or this session's token was already refused."""
    config = parse_config(
        {
            key: st.query_params.get(key) or ""
            for key in ("token", "unit", "rotate", "interval", "lang", "theme")
        }
    )
    st.set_page_config(
        page_title=t("page.screen", config.language),
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    st.html(style_html(config.theme))
    refused = st.session_state.get(SESSION_REFUSED)
    if config.token is None:
        refused = tokens.missing_token().message(config.language)
    if refused:
        st.html(message_html(refused, config.language))
        st.stop()
    return config


def show(config: ScreenConfig) -> None:
    """The refresh loop: a fragment that reruns every `tick_seconds` without reloading the page."""
    st.fragment(run_every=config.tick_seconds)(_refresh)(config)


def screen_area(principal: Principal, requested_unit: str | None) -> str:
    """The unit the screen shows: the URL's unit when it lies inside the token's subtree, else
    the token's own unit; AccessDenied (with the screen's wording) outside it."""
    require(principal, "view_aggregates")
    area = requested_unit or principal.org_code
    if area is None or not principal.covers(area):
        scope = principal.org_code or "—"
        raise AccessDenied(
            "screen.outside_scope",
            t("screen.outside_scope", "zh", scope=scope, unit=area),
            t("screen.outside_scope", "en", scope=scope, unit=area),
        )
    return area


def load_screen(area: str, catalog: Catalog, today: dt.date) -> ScreenData:
    """One refresh's reads, all through the generation-keyed caches of ui/data.py: the latest
    period is looked up on every refresh, so a new month appears by itself."""
    generation = data.generation()
    periods = data.periods(generation, "month")
    period = periods[-1] if periods else None
    area_level = level_of(area)
    area_series = data.series(generation, area, area_level, "month")
    child_level = CHILD_LEVEL.get(area_level)
    communities = data.scores(generation, "community", period, area) if period else NO_ROWS
    alerts = data.alerts(generation, period, area, today) if period else NO_ROWS
    children = (
        data.scores(generation, child_level, period, area) if period and child_level else NO_ROWS
    )
    child_series = {
        code: data.series(generation, code, child_level, "month")
        for code in children["code"]
        if child_level
    }
    return compose_screen(
        area,
        period,
        area_series,
        communities,
        alerts,
        children,
        child_series,
        catalog,
        today,
        data.is_demo(),
        dt.datetime.now(dt.UTC),
    )


def _refresh(config: ScreenConfig) -> None:
    """One tick: verify the token, read, rotate, render; on a database error keep the last good
    view with a badge; on a refused token drop it and stop refreshing."""
    language = config.language
    catalog = db.catalog()
    now = local_now(st.context.timezone)
    failed = False
    cursor = None
    try:
        cursor = db.cursor()
        principal = tokens.verify(cursor, config.token)
        area = screen_area(principal, config.unit)
        # The reads of ui/data check every scope against the session's principal: the device.
        st.session_state[PRINCIPAL_KEY] = principal
        screen = load_screen(area, catalog, now.date())
        st.session_state[SESSION_LAST_GOOD] = screen
    except AccessDenied as refused:  # includes TokenRefused
        st.session_state.pop(SESSION_LAST_GOOD, None)
        st.session_state.pop(PRINCIPAL_KEY, None)
        st.session_state[SESSION_REFUSED] = refused.message(language)
        st.rerun(scope="app")
    except (duckdb.Error, StoreError, OSError):
        log.exception("wall screen: refresh failed; showing the last good view")
        failed = True
        screen = st.session_state.get(SESSION_LAST_GOOD)
    finally:
        if cursor is not None:
            cursor.close()
    render(screen, config, catalog, now, failed)


def render(
    screen: ScreenData | None,
    config: ScreenConfig,
    catalog: Catalog,
    now: dt.datetime,
    failed: bool,
) -> None:
    """Draws the header and the current slide of `screen` (None: header and badge only)."""
    language = config.language
    area_name = screen.area.name if screen is not None else "—"
    st.html(header_html(area_name, screen, now, language, failed))
    if screen is None:
        return
    if screen.period is None:
        st.html(message_html(t("screen.no_data", language, area=area_name), language))
        return
    rotation_slides = slides(config.views, screen)
    rotation = next_rotation(
        st.session_state.get(SESSION_ROTATION),
        len(rotation_slides),
        time.monotonic(),
        config.interval,
        config.tick_seconds,
    )
    st.session_state[SESSION_ROTATION] = rotation
    slide = rotation_slides[rotation.position]
    if slide.view == "attention":
        st.html(
            slide_title_html(
                t("screen.view_attention", language),
                rotation.position,
                len(rotation_slides),
                slide.view,
                language,
            )
        )
        st.html(attention_html(screen.attention, catalog, language))
    else:
        unit = (
            screen.area
            if slide.code is None
            else next(c for c in screen.children if c.code == slide.code)
        )
        title = t("screen.view_overview", language) if slide.code is None else unit.name
        st.html(
            slide_title_html(title, rotation.position, len(rotation_slides), slide.view, language)
        )
        st.html(headline_html(unit, catalog, language) + counts_html(unit, catalog, language))
        st.plotly_chart(
            trend_figure(unit, catalog, language, config.theme),
            key="screen_trend",
            theme=None,
            config={"staticPlot": True, "displayModeBar": False},
        )
    st.html(footer_html(config, catalog))
