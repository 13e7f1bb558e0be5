"""Pure frame shaping for the pages (rankings, movers, hierarchy, counts); no Streamlit here."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from indicators.catalog import Catalog
from indicators.movers import biggest_movers, drivers_of
from ui.figures import sparkline_values
from ui.i18n import format_signed, indicator_name

CHILD_LEVEL = {"all": "district", "district": "street", "street": "community"}
MOVERS_SHOWN = 5
DRIVERS_NAMED = 2


def ranking_rows(current: pd.DataFrame, recent: pd.DataFrame) -> pd.DataFrame:
    """Units of one period, best index first, each with its recent index as a sparkline.

    current: code, name, index, level, coverage, trend; recent: code, period, index.
    """
    if current.empty:
        return current.assign(sparkline=[])
    lines = {code: sparkline_values(group) for code, group in recent.groupby("code")}
    rows = current.assign(sparkline=[lines.get(code, []) for code in current["code"]])
    return rows.sort_values("index", ascending=False, na_position="last").reset_index(drop=True)


def movers(
    before: pd.DataFrame,
    after: pd.DataFrame,
    contributions_of: Callable[[list[str]], pd.DataFrame],
    catalog: Catalog,
    language: str,
    shown: int = MOVERS_SHOWN,
) -> pd.DataFrame:
    """The communities whose index rose and fell most, with the indicators that moved them.

    before/after: code, name, index per community; `contributions_of(codes)` gives the
    attribute_change rows of those communities only (read for the few movers, not the area).
    Returns code, name, index_from, index_to, change, drivers (text), direction.
    """
    changes = before[["code", "index"]].merge(
        after[["code", "name", "index"]], on="code", suffixes=("_from", "_to")
    )
    table = biggest_movers(changes, shown)
    names = {i.id: indicator_name(i, language) for i in catalog.indicators}
    drivers = (
        drivers_of(table, contributions_of(table["code"].tolist()), DRIVERS_NAMED)
        if len(table)
        else []
    )
    table["drivers"] = [
        "，".join(f"{names.get(i, i)} {format_signed(c, 1)}" for i, c in pairs) for pairs in drivers
    ]
    return table[["code", "name", "index_from", "index_to", "change", "drivers", "direction"]]


def hierarchy_nodes(units: pd.DataFrame, scored: list[pd.DataFrame]) -> pd.DataFrame:
    """Registry units (code, name, parent_code) with their index and level for one period."""
    scores = (
        pd.concat([s[["code", "index", "level"]] for s in scored if len(s)], ignore_index=True)
        if any(len(s) for s in scored)
        else pd.DataFrame(columns=["code", "index", "level"])
    )
    nodes = units[["code", "name", "parent_code"]].merge(scores, on="code", how="left")
    known = set(nodes["code"])
    nodes["parent_code"] = [p if p in known else "" for p in nodes["parent_code"].fillna("")]
    return nodes


def state_counts(
    community_scores: pd.DataFrame, alert_rows: pd.DataFrame, catalog: Catalog
) -> pd.DataFrame:
    """How many communities are at each level, withheld, not reported; units escalated."""
    counts = [
        (level, int((community_scores["level"] == level).sum())) for level in catalog.level_ids
    ]
    counts.append(("withheld", int(community_scores["index"].isna().sum())))
    counts.append(("not_reported", int((alert_rows["state"] == "not_reported").sum())))
    counts.append(("escalated", int((alert_rows["state"] == "escalated").sum())))
    return pd.DataFrame(counts, columns=["state", "count"])


def dimension_reference(unit: pd.Series, peers: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """The unit's dimension scores against the median of its peers (e.g. its street)."""
    rows = []
    for dimension in catalog.weighted_dimensions:
        rows.append(
            (
                dimension.id,
                unit.get(dimension.id),
                peers[dimension.id].median()
                if dimension.id in peers and len(peers)
                else float("nan"),
            )
        )
    return pd.DataFrame(rows, columns=["dimension", "score", "reference"])
