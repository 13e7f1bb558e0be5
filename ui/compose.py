"""Pure frame shaping for the pages (rankings, movers, hierarchy, counts); no Streamlit here."""

from __future__ import annotations

import pandas as pd

from indicators.catalog import Catalog
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


def movers(contributions: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame,
           catalog: Catalog, language: str, shown: int = MOVERS_SHOWN) -> pd.DataFrame:
    """The communities whose index rose and fell most, with the indicators that moved them.

    contributions: attribute_change output; before/after: code, name, index per community.
    Returns code, name, index_from, index_to, change, drivers (text), direction.
    """
    both = before[["code", "index"]].merge(after[["code", "name", "index"]], on="code",
                                           suffixes=("_from", "_to")).dropna(subset=["index_from", "index_to"])
    if both.empty:
        return pd.DataFrame(columns=["code", "name", "index_from", "index_to", "change", "drivers", "direction"])
    both["change"] = both["index_to"] - both["index_from"]
    names = {i.id: indicator_name(i, language) for i in catalog.indicators}

    def drivers(code: str, direction: int) -> str:
        own = contributions[contributions["community_code"] == code]
        own = own.assign(signed=own["contribution"] * direction).sort_values("signed", ascending=False)
        top = own[own["signed"] > 0].head(DRIVERS_NAMED)
        return "，".join(f"{names.get(i, i)} {format_signed(c, 1)}" for i, c in
                        zip(top["indicator"], top["contribution"], strict=False))

    up = both.sort_values("change", ascending=False).head(shown)
    up = up[up["change"] > 0].assign(direction="up")
    down = both.sort_values("change").head(shown)
    down = down[down["change"] < 0].assign(direction="down")
    result = pd.concat([up, down], ignore_index=True)
    result["drivers"] = [drivers(code, 1 if d == "up" else -1)
                         for code, d in zip(result["code"], result["direction"], strict=False)]
    return result[["code", "name", "index_from", "index_to", "change", "drivers", "direction"]]


def hierarchy_nodes(units: pd.DataFrame, scored: list[pd.DataFrame]) -> pd.DataFrame:
    """Registry units (code, name, parent_code) with their index and level for one period."""
    scores = pd.concat([s[["code", "index", "level"]] for s in scored if len(s)], ignore_index=True) \
        if any(len(s) for s in scored) else pd.DataFrame(columns=["code", "index", "level"])
    nodes = units[["code", "name", "parent_code"]].merge(scores, on="code", how="left")
    known = set(nodes["code"])
    nodes["parent_code"] = [p if p in known else "" for p in nodes["parent_code"].fillna("")]
    return nodes


def state_counts(community_scores: pd.DataFrame, alert_rows: pd.DataFrame,
                 catalog: Catalog) -> pd.DataFrame:
    """How many communities are at each level, withheld, not reported; units escalated."""
    counts = [(level, int((community_scores["level"] == level).sum())) for level in catalog.level_ids]
    counts.append(("withheld", int(community_scores["index"].isna().sum())))
    counts.append(("not_reported", int((alert_rows["state"] == "not_reported").sum())))
    counts.append(("escalated", int((alert_rows["state"] == "escalated").sum())))
    return pd.DataFrame(counts, columns=["state", "count"])


def dimension_reference(unit: pd.Series, peers: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """The unit's dimension scores against the median of its peers (e.g. its street)."""
    rows = []
    for dimension in catalog.weighted_dimensions:
        rows.append((dimension.id, unit.get(dimension.id), peers[dimension.id].median()
                     if dimension.id in peers and len(peers) else float("nan")))
    return pd.DataFrame(rows, columns=["dimension", "score", "reference"])
