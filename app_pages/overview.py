"""总览 Overview: where the selected area stands, who needs attention, and what moved."""

import datetime as dt

import streamlit as st

from ui import compose, data, db, figures
from ui.components import chart, empty_state, level_badge, page_header, unit_name
from ui.guard import enter_page
from ui.i18n import format_number, state_name, t
from ui.reports import area_downloads
from ui.state import previous_period

selection = enter_page()

lang = selection.language
catalog = db.catalog()
generation = data.generation()
units = data.registry(generation)
area, area_level = selection.area, selection.area_level
page_header(t("page.overview", lang), selection,
            f"{unit_name(units, area, lang)} · {selection.period or '—'}")

if units.empty:
    empty_state("empty.database", lang)
    st.stop()
if selection.period is None:
    empty_state("empty.period", lang)
    st.stop()

period = selection.period
communities = data.scores(generation, "community", period, area)
if area is not None:
    headline = data.scores(generation, area_level, period, area).query("code == @area")
    trend_series = data.series(generation, area, area_level, selection.granularity)
else:
    headline = None
    trend_series = None
alert_rows = data.alerts(generation, period, area, dt.date.today())

columns = st.columns(4)
if headline is not None and len(headline):
    row = headline.iloc[0]
    columns[0].metric(t("metric.index", lang), format_number(row["index"]))
    with columns[1]:
        st.caption(t("metric.level", lang))
        level_badge(row["level"], catalog, lang)
    columns[2].metric(t("metric.trend", lang), figures.trend_label(row["trend"], lang))
    columns[3].metric(t("metric.with_index_share", lang), f"{row['coverage'] * 100:.0f}%")
else:
    columns[0].metric(t("metric.communities", lang), len(communities))
    columns[1].metric(t("metric.median", lang), format_number(communities["index"].median()))

counts = compose.state_counts(communities, alert_rows, catalog)
left, right = st.columns([1, 1])
with left:
    chart(figures.level_counts_figure(counts, catalog, lang), "ov_counts")
with right:
    chart(figures.distribution_figure(communities[["index", "level"]], catalog, lang), "ov_distribution")

if trend_series is not None and len(trend_series):
    chart(figures.index_trend_figure(trend_series, catalog, lang), "ov_trend")

child_level = compose.CHILD_LEVEL[area_level]
children = data.scores(generation, child_level, period, area)
if area is not None:
    children = children[children["code"] != area]
recent = data.unit_series_in_scope(generation, child_level, selection.granularity, area, 12)
st.subheader(t("overview.ranking", lang, unit=t(f"unit.{child_level}", lang)))
ranking = compose.ranking_rows(children, recent)
st.dataframe(
    figures.ranking_table(ranking, catalog, lang), key="ov_ranking", hide_index=True,
    width="stretch",
    column_config={t("column.sparkline", lang): st.column_config.LineChartColumn(
        t("column.sparkline", lang), y_min=0, y_max=100)},
)

scope_prefix = "" if area is None else area[: 9 if area_level == "street" else 6]
tree_units = units[units["code"].str.startswith(scope_prefix)]
nodes = compose.hierarchy_nodes(tree_units, [
    data.scores(generation, level, period, area) for level in ("district", "street", "community")
])
chart(figures.hierarchy_figure(nodes, catalog, lang), "ov_hierarchy")

st.subheader(t("overview.movers", lang))
before_period = previous_period(data.periods(generation, selection.granularity), period)
if before_period is None:
    empty_state("overview.no_previous", lang)
else:
    before = data.scores(generation, "community", before_period, area)
    contributions = data.movers(generation, before_period, period, area)
    moved = compose.movers(contributions, before, communities, catalog, lang)
    if moved.empty:
        empty_state("overview.no_movers", lang)
    for direction in ("up", "down"):
        part = moved[moved["direction"] == direction]
        if len(part):
            st.markdown(f"**{t(f'overview.movers_{direction}', lang, since=before_period)}**")
            st.dataframe(
                part.rename(columns={
                    "code": t("column.code", lang), "name": t("column.name", lang), "index_from": before_period,
                    "index_to": period, "change": t("metric.change", lang),
                    "drivers": t("overview.drivers", lang),
                }).drop(columns=["direction"]).round(1),
                key=f"ov_movers_{direction}", hide_index=True, width="stretch",
            )
st.caption(t("data.methodology_version", lang, version=catalog.version)
           + " · " + state_name("not_reported", lang) + ": "
           + str(int((alert_rows["state"] == "not_reported").sum())))
area_downloads(area, unit_name(units, area, lang), period, lang)
