"""社区详情 Community: one community's index, dimensions, indicators, alerts and revisions."""

import streamlit as st

from ui import data, db, figures
from ui.community import PICKER_OPTIONS, community_choices, community_content, has_scores
from ui.components import chart, empty_state, level_badge, page_header, unit_name
from ui.guard import enter_page
from ui.i18n import format_number, t
from ui.reports import report_buttons

selection = enter_page()
lang = selection.language
catalog = db.catalog()
generation = data.generation()
units = data.registry(generation)

code = selection.community
if code is None:
    choices = community_choices(selection, generation)
    if not choices.codes:
        page_header(t("page.community", lang), selection)
        empty_state("empty.database", lang)
        st.stop()
    offered = choices.codes
    if len(choices.codes) > PICKER_OPTIONS:
        search = st.text_input(t("community.search", lang), key="cm_search")
        offered = choices.matching(search, PICKER_OPTIONS)
        st.caption(t("community.search_shown", lang, shown=len(offered), total=len(choices.codes)))
        if not offered:
            empty_state("community.search_none", lang, text=search)
            st.stop()
    code = st.selectbox(
        t("community.pick", lang), offered, key="cm_pick", format_func=choices.labels.__getitem__
    )

page_header(
    unit_name(units, code, lang),
    selection,
    f"{t('page.community', lang)} · {code} · {selection.period or '—'}",
)
if selection.period is None or not has_scores(generation, code, selection.granularity):
    empty_state("empty.community", lang)
    st.stop()

period = selection.period
view = community_content(generation, code, period, selection.granularity, lang)
report_buttons(code, unit_name(units, code, lang), period, lang, "cm_report")
columns = st.columns(4)
if view.current is not None:
    row = view.current
    columns[0].metric(t("metric.index", lang), format_number(row["index"]))
    with columns[1]:
        st.caption(t("metric.level", lang))
        level_badge(row["level"], catalog, lang)
    columns[2].metric(t("metric.coverage", lang), f"{row['coverage'] * 100:.0f}%")
    columns[3].metric(t("metric.trend", lang), figures.trend_label(row["trend"], lang))
    if view.reason:
        st.caption(f"{t('column.reason', lang)}：{view.reason}")
else:
    empty_state("community.not_this_period", lang, period=period)

chart(view.trend, "cm_trend")
left, right = st.columns(2)
with left:
    if view.dimensions is not None:
        chart(view.dimensions, "cm_dimensions")
with right:
    if view.waterfall is not None:
        chart(view.waterfall, "cm_waterfall")
chart(view.indicators, "cm_indicators")
chart(view.timeline, "cm_timeline")
if len(view.level_changes):
    st.dataframe(view.level_changes, key="cm_changes", hide_index=True, width="stretch")
if len(view.jumps):
    st.subheader(t("metric.jumps", lang))
    st.dataframe(view.jumps, key="cm_jumps", hide_index=True, width="stretch")
with st.expander(t("community.revisions", lang)):
    if view.revisions.empty:
        st.caption(t("community.no_revisions", lang))
    else:
        st.dataframe(view.revisions, key="cm_revisions", hide_index=True, width="stretch")
