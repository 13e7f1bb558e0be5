"""社区详情 Community: one community's index, dimensions, indicators, alerts and revisions."""

import streamlit as st

from ui import compose, data, db, figures
from ui.components import chart, empty_state, level_badge, page_header, unit_name
from ui.guard import enter_page
from ui.i18n import format_number, t
from ui.reports import report_buttons
from ui.state import previous_period

selection = enter_page()
lang = selection.language
catalog = db.catalog()
generation = data.generation()
units = data.registry(generation)

in_area = units[(units["level"] == "community")]
if selection.area:
    in_area = in_area[in_area["code"].str.startswith(selection.area[: 9 if selection.street else 6])]
choices = in_area["code"].tolist()
code = selection.community
if code is None:
    if not choices:
        page_header(t("page.community", lang), selection)
        empty_state("empty.database", lang)
        st.stop()
    names = dict(zip(in_area["code"], in_area["name"], strict=False))
    code = st.selectbox(t("community.pick", lang), choices, key="cm_pick",
                        format_func=lambda c: f"{names.get(c, c)}（{c}）")

page_header(unit_name(units, code, lang), selection,
            f"{t('page.community', lang)} · {code} · {selection.period or '—'}")
series = data.series(generation, code, "community", selection.granularity)
if series.empty or selection.period is None:
    empty_state("empty.community", lang)
    st.stop()

period = selection.period
report_buttons(code, unit_name(units, code, lang), period, lang, "cm_report")
current = series[series["period"] == period]
columns = st.columns(4)
if len(current):
    row = current.iloc[0]
    columns[0].metric(t("metric.index", lang), format_number(row["index"]))
    with columns[1]:
        st.caption(t("metric.level", lang))
        level_badge(row["level"], catalog, lang)
    columns[2].metric(t("metric.coverage", lang), f"{row['coverage'] * 100:.0f}%")
    columns[3].metric(t("metric.trend", lang), figures.trend_label(row["trend"], lang))
    reason = row["reason_en"] if lang == "en" else row["reason_zh"]
    if reason:
        st.caption(f"{t('column.reason', lang)}：{reason}")
else:
    empty_state("community.not_this_period", lang, period=period)

chart(figures.index_trend_figure(series, catalog, lang), "cm_trend")

left, right = st.columns(2)
with left:
    street = code[:9] + "000"
    peers = data.scores(generation, "community", period, street)
    if len(current):
        reference = compose.dimension_reference(current.iloc[0], peers, catalog)
        chart(figures.dimension_comparison_figure(reference, catalog, lang,
                                                  t("figure.street_median", lang)), "cm_dimensions")
with right:
    before = previous_period(series["period"].tolist(), period)
    if before is not None and len(current) and current["index"].notna().all():
        previous_row = series[series["period"] == before]
        if len(previous_row) and previous_row["index"].notna().all():
            contributions = data.attribution(generation, code, before, period)
            chart(figures.attribution_waterfall(
                contributions, float(previous_row["index"].iloc[0]), float(current["index"].iloc[0]),
                before, period, catalog, lang), "cm_waterfall")

chart(data.indicator_panels(generation, code, selection.granularity, lang), "cm_indicators")

history = series[["period", "level", "reason_en" if lang == "en" else "reason_zh"]]
chart(figures.alert_timeline_figure(history.set_axis(["period", "level", "reason"], axis=1),
                                    catalog, lang), "cm_timeline")
changes = series[series["level_changed"].fillna(False).astype(bool)]
if len(changes):
    st.dataframe(
        changes[["period", "level", "reason_en" if lang == "en" else "reason_zh"]].set_axis(
            [t("column.period", lang), t("column.level", lang), t("column.reason", lang)], axis=1),
        key="cm_changes", hide_index=True, width="stretch",
    )

jumps = data.jumps(generation, code)
if len(jumps):
    st.subheader(t("metric.jumps", lang))
    st.dataframe(jumps[["period", "indicator", "value", "median", "reason_en" if lang == "en" else "reason_zh"]],
                 key="cm_jumps", hide_index=True, width="stretch")

with st.expander(t("community.revisions", lang)):
    revisions = data.history(generation, code)
    if revisions.empty:
        st.caption(t("community.no_revisions", lang))
    else:
        st.dataframe(revisions, key="cm_revisions", hide_index=True, width="stretch")
