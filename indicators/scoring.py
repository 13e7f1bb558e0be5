"""Vectorised scoring: indicator scores, dimensions, coverage, the index, roll-ups and attribution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.catalog import Catalog
from indicators.periods import to_granularity

VALUE_COLUMNS = ["community_code", "period", "indicator", "value"]
KEY = ["community_code", "period"]
COVERAGE_TOLERANCE = 1e-9
# Values at or below zero on a log-transformed indicator score as if they were this small.
LOG_FLOOR = 1e-12

WITHHELD_COVERAGE = "coverage"
WITHHELD_DIMENSION = "dimension_missing"


@dataclass(frozen=True)
class ScoreTables:
    """The result of scoring a long table of values.

    indicator_scores: community_code, period, indicator, dimension, value, score,
        nominal_weight, effective_weight — one row per available value of a catalog indicator
        (context indicators included, with weight 0).
    unit_scores: community_code, period, coverage, index, withheld, withheld_reason and one
        column per weighted dimension id — one row per community and period with any value.
        `index` is NaN exactly when `withheld` is True.
    """

    indicator_scores: pd.DataFrame
    unit_scores: pd.DataFrame


def indicator_table(catalog: Catalog) -> pd.DataFrame:
    """The catalog's indicators as a frame: goalposts, transform, weights, dimension."""
    nominal = catalog.nominal_weights
    dimension_weight = {d.id: d.weight for d in catalog.dimensions}
    return pd.DataFrame(
        {
            "indicator": [i.id for i in catalog.indicators],
            "dimension": [i.dimension for i in catalog.indicators],
            "weight": [i.weight if dimension_weight[i.dimension] > 0 else 0.0 for i in catalog.indicators],
            "best": [i.best for i in catalog.indicators],
            "worst": [i.worst for i in catalog.indicators],
            "log": [i.transform == "log" for i in catalog.indicators],
            "dimension_weight": [dimension_weight[i.dimension] for i in catalog.indicators],
            "nominal_weight": [nominal.get(i.id, 0.0) for i in catalog.indicators],
        }
    )


def score_raw(values: pd.Series | np.ndarray, best: np.ndarray, worst: np.ndarray,
              log: np.ndarray) -> np.ndarray:
    """100 × clamp((f(x) − f(worst)) / (f(best) − f(worst)), 0, 1), f = identity or ln."""
    x = np.asarray(values, dtype="float64")
    best = np.asarray(best, dtype="float64")
    worst = np.asarray(worst, dtype="float64")
    log = np.asarray(log, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        fx = np.where(log, np.log(np.maximum(x, LOG_FLOOR)), x)
        fb = np.where(log, np.log(np.maximum(best, LOG_FLOOR)), best)
        fw = np.where(log, np.log(np.maximum(worst, LOG_FLOOR)), worst)
        ratio = (fx - fw) / (fb - fw)
    return 100.0 * np.clip(ratio, 0.0, 1.0)


def score_value(indicator_id: str, value: float, catalog: Catalog) -> float:
    """The score of one value of one indicator (for explanations and tests)."""
    indicator = catalog.indicator_by_id[indicator_id]
    return float(
        score_raw(
            np.array([value]),
            np.array([indicator.best]),
            np.array([indicator.worst]),
            np.array([indicator.transform == "log"]),
        )[0]
    )


def _weighted_mean(frame: pd.DataFrame, by: list[str], value: str, weight: str,
                   method: str, floor: float) -> pd.Series:
    """Weighted arithmetic or geometric mean of `value` per group, weights renormalised."""
    weights = frame[weight]
    if method == "geometric":
        terms = np.log(np.maximum(frame[value].to_numpy(), floor)) * weights
    else:
        terms = frame[value] * weights
    grouped = pd.DataFrame({"t": terms, "w": weights}).groupby(
        [frame[c] for c in by], sort=False
    ).sum()
    mean = grouped["t"] / grouped["w"]
    if method == "geometric":
        mean = np.exp(mean)
    return mean


def score_values(values: pd.DataFrame, catalog: Catalog) -> ScoreTables:
    """Scores a long table (community_code, period, indicator, value) of any one granularity.

    Rows whose indicator the catalog does not know, or whose value is missing, are ignored:
    a missing value is never a zero.
    """
    meta = indicator_table(catalog)
    frame = values.loc[values["value"].notna(), VALUE_COLUMNS].merge(meta, on="indicator", how="inner")
    frame["value"] = frame["value"].astype("float64")
    frame["score"] = score_raw(frame["value"], frame["best"], frame["worst"], frame["log"])

    weighted = frame[frame["weight"] > 0]
    available_weight = weighted.groupby(KEY + ["dimension"], sort=False)["weight"].transform("sum")
    frame["effective_weight"] = 0.0
    frame.loc[weighted.index, "effective_weight"] = (
        weighted["dimension_weight"] * weighted["weight"] / available_weight
    )

    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    floor = catalog.aggregation.geometric_floor
    if len(weighted):
        dimension_scores = _weighted_mean(
            weighted, KEY + ["dimension"], "score", "weight",
            catalog.aggregation.within_dimension, floor,
        ).unstack("dimension")
    else:
        dimension_scores = pd.DataFrame(columns=dimension_ids)
    dimension_scores = dimension_scores.reindex(columns=dimension_ids)

    units = frame[KEY].drop_duplicates()
    units = units.set_index(KEY)
    coverage = weighted.groupby(KEY, sort=False)["nominal_weight"].sum()
    units["coverage"] = coverage.reindex(units.index).fillna(0.0).clip(upper=1.0)
    units = units.join(dimension_scores)
    units.columns.name = None

    dims = units[dimension_ids]
    dim_weights = np.array([d.weight for d in catalog.weighted_dimensions])
    present = dims.notna().to_numpy()
    present_weight = present @ dim_weights
    filled = dims.fillna(0.0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if catalog.aggregation.across_dimensions == "geometric":
            logs = np.log(np.maximum(filled, floor)) * present
            index = np.exp((logs @ dim_weights) / present_weight)
        else:
            index = (filled @ dim_weights) / present_weight

    missing_dimension = ~present.all(axis=1) if catalog.coverage.require_every_dimension else (
        present_weight <= 0
    )
    low_coverage = units["coverage"].to_numpy() < catalog.coverage.minimum - COVERAGE_TOLERANCE
    withheld = missing_dimension | low_coverage
    units["index"] = np.where(withheld, np.nan, index)
    units["withheld"] = withheld
    units["withheld_reason"] = pd.Series(
        np.where(missing_dimension, WITHHELD_DIMENSION, np.where(low_coverage, WITHHELD_COVERAGE, None)),
        index=units.index, dtype="object",
    )
    units = units.reset_index()[
        KEY + ["coverage", "index", "withheld", "withheld_reason", *dimension_ids]
    ]
    indicator_scores = frame[
        KEY + ["indicator", "dimension", "value", "score", "nominal_weight", "effective_weight"]
    ].reset_index(drop=True)
    return ScoreTables(indicator_scores=indicator_scores, unit_scores=units)


def aggregate_months(values: pd.DataFrame, granularity: str) -> pd.DataFrame:
    """Quarter or year values: the mean of each indicator's available monthly values.

    Returns the long layout with the quarter (`YYYY-Qn`) or year (`YYYY`) label in `period`
    and the number of months that fed each mean in `months`.
    """
    frame = values.loc[values["value"].notna(), VALUE_COLUMNS].copy()
    frame["period"] = to_granularity(frame["period"].astype(str), granularity)
    grouped = frame.groupby(["community_code", "period", "indicator"], sort=True)["value"]
    result = grouped.agg(value="mean", months="count").reset_index()
    return result


def rollup(unit_scores: pd.DataFrame, registry: pd.DataFrame, catalog: Catalog,
           unit_level: str, weighting: str | None = None) -> pd.DataFrame:
    """Street or district scores from their communities' scores, for every period present.

    unit_scores: community rows with community_code, period, index, alert `level` (may be
        None where withheld) and the weighted dimension columns.
    registry: the org registry with code, level ('district' | 'street' | 'community') and
        population (may be missing).
    unit_level: 'street' or 'district'.

    Returns code, period, index, coverage (share of the unit's registered communities that
    have an index), communities, scored, one column per dimension and one count column
    `n_<level id>` per alert level plus n_withheld and n_missing.
    """
    weighting = weighting or catalog.rollup.weighting
    parent_of = _parent_function(unit_level)
    communities = registry.loc[registry["level"] == "community", ["code", "population"]].copy()
    communities["parent"] = parent_of(communities["code"])
    registered = communities.groupby("parent").size().rename("communities")

    frame = unit_scores.merge(
        communities.rename(columns={"code": "community_code"}), on="community_code", how="inner"
    )
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    if weighting == "population":
        frame["w"] = frame["population"].astype("float64").where(frame["index"].notna())
        frame["w"] = frame["w"].fillna(0.0)
    else:
        frame["w"] = frame["index"].notna().astype("float64")
    frame["wx"] = frame["w"] * frame["index"].fillna(0.0)
    grouped = frame.groupby(["parent", "period"], sort=True)
    out = pd.DataFrame({
        "sum_wx": grouped["wx"].sum(),
        "sum_w": grouped["w"].sum(),
        "scored": grouped["index"].count(),
        "reported": grouped["community_code"].nunique(),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["index"] = np.where(out["sum_w"] > 0, out["sum_wx"] / out["sum_w"], np.nan)
    scored_rows = frame[frame["index"].notna()]
    for dimension in dimension_ids:
        out[dimension] = scored_rows.groupby(["parent", "period"])[dimension].mean()
    levels = frame["level"].where(frame["index"].notna())
    for level_id in catalog.level_ids:
        out[f"n_{level_id}"] = (levels == level_id).groupby([frame["parent"], frame["period"]]).sum()
    out = out.reset_index().rename(columns={"parent": "code"})
    out["communities"] = out["code"].map(registered).fillna(0).astype("int64")
    out["n_withheld"] = out["reported"] - out["scored"]
    out["n_missing"] = (out["communities"] - out["reported"]).clip(lower=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["coverage"] = np.where(out["communities"] > 0, out["scored"] / out["communities"], 0.0)
    columns = ["code", "period", "index", "coverage", "communities", "scored", *dimension_ids,
               *[f"n_{lv}" for lv in catalog.level_ids], "n_withheld", "n_missing"]
    for column in [f"n_{lv}" for lv in catalog.level_ids]:
        out[column] = out[column].fillna(0).astype("int64")
    return out[columns]


def _parent_function(unit_level: str):
    if unit_level == "street":
        return lambda codes: codes.str.slice(0, 9) + "000"
    if unit_level == "district":
        return lambda codes: codes.str.slice(0, 6) + "000000"
    raise ValueError(f"unit_level must be 'street' or 'district', not {unit_level!r}")


def attribute_change(indicator_scores: pd.DataFrame, period_from: str, period_to: str) -> pd.DataFrame:
    """Splits each community's index change between two periods into indicator contributions.

    For the arithmetic index, index = Σ effective_weight × score, so the contribution of an
    indicator is ew_to × score_to − ew_from × score_from (an absent value contributes 0), and
    the contributions of a community sum exactly to index_to − index_from.

    Returns community_code, indicator, value_from, value_to, score_from, score_to,
    weight_from, weight_to, contribution — for the indexed indicators only.
    """
    indexed = indicator_scores[indicator_scores["effective_weight"] > 0]
    cols = ["community_code", "indicator", "value", "score", "effective_weight"]
    before = indexed.loc[indexed["period"] == period_from, cols]
    after = indexed.loc[indexed["period"] == period_to, cols]
    merged = before.merge(after, on=["community_code", "indicator"], how="outer",
                          suffixes=("_from", "_to"))
    merged = merged.rename(columns={
        "effective_weight_from": "weight_from", "effective_weight_to": "weight_to",
    })
    merged[["weight_from", "weight_to"]] = merged[["weight_from", "weight_to"]].fillna(0.0)
    merged["contribution"] = (
        merged["weight_to"] * merged["score_to"].fillna(0.0)
        - merged["weight_from"] * merged["score_from"].fillna(0.0)
    )
    return merged[["community_code", "indicator", "value_from", "value_to", "score_from",
                   "score_to", "weight_from", "weight_to", "contribution"]]
