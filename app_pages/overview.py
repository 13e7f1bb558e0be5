"""总览 Overview: where the selected area stands, who needs attention, and what moved."""

import streamlit as st

from ui import data, db, figures
from ui.components import chart, empty_state, level_badge, page_header, unit_name
from ui.guard import enter_page
from ui.i18n import format_number, state_name, t
from ui.overview import overview_content
from ui.reports import area_downloads

selection = enter_page()

lang = selection.language
catalog = db.catalog()
generation = data.generation()
units = data.registry(generation)
area = selection.area
page_header(
    t("page.overview", lang),
    selection,
    f"{unit_name(units, area, lang)} · {selection.period or '—'}",
)

if units.empty:
    empty_state("empty.database", lang)
    st.stop()
if selection.period is None:
    empty_state("empty.period", lang)
    st.stop()

view = overview_content(selection, generation)
columns = st.columns(4)
if view.headline is not None:
    row = view.headline
    columns[0].metric(t("metric.index", lang), format_number(row["index"]))
    with columns[1]:
        st.caption(t("metric.level", lang))
        level_badge(row["level"], catalog, lang)
    columns[2].metric(t("metric.trend", lang), figures.trend_label(row["trend"], lang))
    columns[3].metric(t("metric.with_index_share", lang), f"{row['coverage'] * 100:.0f}%")
else:
    columns[0].metric(t("metric.communities", lang), view.community_count)
    columns[1].metric(t("metric.median", lang), format_number(view.community_median))

left, right = st.columns([1, 1])
with left:
    chart(view.counts, "ov_counts")
with right:
    chart(view.distribution, "ov_distribution")
if view.trend is not None:
    chart(view.trend, "ov_trend")

st.subheader(t("overview.ranking", lang, unit=t(f"unit.{view.child_level}", lang)))
st.dataframe(
    view.ranking,
    key="ov_ranking",
    hide_index=True,
    width="stretch",
    column_config={
        t("column.sparkline", lang): st.column_config.LineChartColumn(
            t("column.sparkline", lang), y_min=0, y_max=100
        )
    },
)

chart(view.hierarchy, "ov_hierarchy")
if view.hierarchy_stops_at_streets:
    st.caption(t("overview.hierarchy_streets_only", lang, count=view.community_count))

st.subheader(t("overview.movers", lang))
movers = view.movers
if movers.before_period is None:
    empty_state("overview.no_previous", lang)
elif movers.up.empty and movers.down.empty:
    empty_state("overview.no_movers", lang)
for direction, part in (("up", movers.up), ("down", movers.down)):
    if len(part):
        st.markdown(f"**{t(f'overview.movers_{direction}', lang, since=movers.before_period)}**")
        st.dataframe(part, key=f"ov_movers_{direction}", hide_index=True, width="stretch")
st.caption(
    t("data.methodology_version", lang, version=catalog.version)
    + " · "
    + state_name("not_reported", lang)
    + ": "
    + str(view.not_reported)
)
area_downloads(area, unit_name(units, area, lang), selection.period, lang)
