"""方法 Methodology: generated from the catalog, so it can never drift from the engine."""

import pandas as pd
import streamlit as st

from ui import db
from ui.components import page_header
from ui.guard import enter_page
from ui.i18n import dimension_name, indicator_name, indicator_unit, level_name, t

selection = enter_page()
lang = selection.language
catalog = db.catalog()
page_header(
    t("page.methodology", lang),
    selection,
    t("data.methodology_version", lang, version=catalog.version),
)

st.subheader(t("methodology.weights", lang))
st.dataframe(
    pd.DataFrame(
        {
            t("methodology.dimension", lang): [
                dimension_name(d, lang) for d in catalog.weighted_dimensions
            ],
            t("methodology.weight", lang): [f"{d.weight:.0%}" for d in catalog.weighted_dimensions],
        }
    ),
    key="me_dimensions",
    hide_index=True,
)

st.subheader(t("methodology.goalposts", lang))
dimensions = catalog.dimension_by_id
nominal = catalog.nominal_weights
st.dataframe(
    pd.DataFrame(
        {
            t("column.indicator", lang): [indicator_name(i, lang) for i in catalog.indicators],
            "id": [i.id for i in catalog.indicators],
            t("methodology.unit", lang): [indicator_unit(i, lang) for i in catalog.indicators],
            t("methodology.dimension", lang): [
                dimension_name(dimensions[i.dimension], lang) for i in catalog.indicators
            ],
            t("methodology.best", lang): [i.best for i in catalog.indicators],
            t("methodology.worst", lang): [i.worst for i in catalog.indicators],
            t("methodology.weight", lang): [
                f"{nominal.get(i.id, 0):.1%}" for i in catalog.indicators
            ],
            t("methodology.valid_range", lang): [
                f"{i.valid_min:g} – {i.valid_max:g}" for i in catalog.indicators
            ],
            t("methodology.source", lang): [i.source for i in catalog.indicators],
        }
    ),
    key="me_indicators",
    hide_index=True,
    width="stretch",
)
st.latex(
    r"\text{score} = 100 \times \operatorname{clamp}\left(\frac{f(x)-f(\text{worst})}{f(\text{best})-f(\text{worst})}, 0, 1\right)"
)

st.subheader(t("methodology.levels", lang))
bounds = [lv.min for lv in catalog.levels]
uppers = [None, *bounds[:-1]]
st.dataframe(
    pd.DataFrame(
        {
            t("column.level", lang): [
                f"{lv.symbol} {level_name(lv.id, catalog, lang)}" for lv in catalog.levels
            ],
            t("methodology.range", lang): [
                f"≥ {lo:g}" if up is None else f"{lo:g} – {up:g}"
                for lo, up in zip(bounds, uppers, strict=True)
            ],
        }
    ),
    key="me_levels",
    hide_index=True,
)
rules = catalog.alerts
st.markdown(
    t(
        "methodology.rules",
        lang,
        margin=rules.recovery_margin,
        coverage=f"{catalog.coverage.minimum:.0%}",
        n=rules.escalation.consecutive,
        granularity=t(f"granularity.{rules.escalation.granularity}", lang),
        level=level_name(rules.escalation.level, catalog, lang),
        deadline=rules.not_reported.deadline_day,
        z=rules.jump.robust_z,
        window=rules.jump.window,
        trend_window=rules.trend.window,
        improving=rules.trend.improving,
        declining=rules.trend.declining,
        aggregation=catalog.aggregation.across_dimensions,
    )
)
