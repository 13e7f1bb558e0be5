"""Vectorised scoring: indicator scores, dimensions, coverage, the index, roll-ups and attribution."""

from __future__ import annotations

from collections.abc import Callable
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
        (context indicators included, with weight 0), in the order of the input.
        effective_weight is the weight the indicator carried in the index formula of its
        community and period after renormalisation; for an arithmetic index,
        index = Σ effective_weight × score.
    unit_scores: community_code, period, coverage, index, withheld, withheld_reason and one
        column per weighted dimension id — one row per community and period with any value,
        in order of first appearance. `index` is NaN exactly when `withheld` is True.
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
            "weight": [
                i.weight if dimension_weight[i.dimension] > 0 else 0.0 for i in catalog.indicators
            ],
            "best": [i.best for i in catalog.indicators],
            "worst": [i.worst for i in catalog.indicators],
            "log": [i.transform == "log" for i in catalog.indicators],
            "dimension_weight": [dimension_weight[i.dimension] for i in catalog.indicators],
            "nominal_weight": [nominal.get(i.id, 0.0) for i in catalog.indicators],
        }
    )


def score_raw(
    values: pd.Series | np.ndarray, best: np.ndarray, worst: np.ndarray, log: np.ndarray
) -> np.ndarray:
    """100 × clamp((f(x) − f(worst)) / (f(best) − f(worst)), 0, 1), f = identity or ln."""
    x = np.asarray(values, dtype="float64")
    best = np.asarray(best, dtype="float64")
    worst = np.asarray(worst, dtype="float64")
    log = np.asarray(log, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        if log.any():
            fx = np.where(log, np.log(np.maximum(x, LOG_FLOOR)), x)
            fb = np.where(log, np.log(np.maximum(best, LOG_FLOOR)), best)
            fw = np.where(log, np.log(np.maximum(worst, LOG_FLOOR)), worst)
        else:
            fx, fb, fw = x, best, worst
        ratio = (fx - fw) / (fb - fw)
    # + 0.0 turns the −0.0 of a lower-is-better value at its worst goalpost into 0.0, which
    # would otherwise print as "-0.0".
    return 100.0 * np.clip(ratio, 0.0, 1.0) + 0.0


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


def _unit_codes(community: pd.Series, period: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """An integer id per (community, period) in order of first appearance, and the units."""
    community_ids, communities = pd.factorize(community)
    period_ids, periods = pd.factorize(period)
    combined = community_ids.astype("int64") * max(len(periods), 1) + period_ids
    unit_ids, unit_keys = pd.factorize(combined)
    units = pd.DataFrame(
        {
            "community_code": communities.take(unit_keys // max(len(periods), 1)),
            "period": periods.take(unit_keys % max(len(periods), 1)),
        }
    )
    return unit_ids.astype("int64"), units


def score_values(values: pd.DataFrame, catalog: Catalog) -> ScoreTables:
    """Scores a long table (community_code, period, indicator, value) of any one granularity.

    Rows whose indicator the catalog does not know, or whose value is missing, are ignored:
    a missing value is never a zero. Each (community_code, period, indicator) may occur at
    most once; a repeated one raises ValueError (it would count twice).
    """
    meta = indicator_table(catalog)
    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    dim_weights = np.array([d.weight for d in catalog.weighted_dimensions], dtype="float64")
    n_dims = len(dimension_ids)

    # Factorise first: a province has millions of rows but only a dozen indicator names.
    indicator_codes, indicator_names = pd.factorize(values["indicator"])
    known = pd.Index(meta["indicator"]).get_indexer(indicator_names)
    position = np.where(indicator_codes >= 0, known[np.maximum(indicator_codes, 0)], -1)
    value = values["value"].to_numpy(dtype="float64", na_value=np.nan)
    keep = (position >= 0) & ~np.isnan(value)
    if keep.all():  # the common case: no row to drop, so no copy of the text columns
        rows = values[KEY].reset_index(drop=True)
    else:
        rows = values.loc[keep, KEY].reset_index(drop=True)
        position = position[keep]
        value = value[keep]

    unit_ids, units = _unit_codes(rows["community_code"], rows["period"])
    n_units = len(units)
    repeated = pd.Series(unit_ids * len(meta) + position).duplicated().to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        raise ValueError(
            f"more than one value for community {rows['community_code'].iloc[first]}, "
            f"period {rows['period'].iloc[first]}, indicator {meta['indicator'].iloc[position[first]]}"
        )

    score = score_raw(
        value,
        meta["best"].to_numpy()[position],
        meta["worst"].to_numpy()[position],
        meta["log"].to_numpy()[position],
    )
    weight = meta["weight"].to_numpy()[position]
    dim_of_indicator = np.array(
        [dimension_ids.index(d) if d in dimension_ids else -1 for d in meta["dimension"]],
        dtype="int64",
    )
    dim = dim_of_indicator[position]
    counted = (weight > 0) & (dim >= 0)

    # Per unit and weighted dimension: Σ weights of the available indicators, Σ weight × term.
    cell = unit_ids[counted] * n_dims + dim[counted]
    size = n_units * n_dims
    available = np.bincount(cell, weights=weight[counted], minlength=size).reshape(n_units, n_dims)
    if catalog.aggregation.within_dimension == "geometric":
        terms = np.log(np.maximum(score[counted], catalog.aggregation.geometric_floor))
    else:
        terms = score[counted]
    totals = np.bincount(cell, weights=weight[counted] * terms, minlength=size)
    present = available > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        dims = totals.reshape(n_units, n_dims) / available
    if catalog.aggregation.within_dimension == "geometric":
        dims = np.exp(dims)
    dims = np.where(present, dims, np.nan)

    present_weight = present @ dim_weights
    floor = catalog.aggregation.geometric_floor
    with np.errstate(divide="ignore", invalid="ignore"):
        if catalog.aggregation.across_dimensions == "geometric":
            logs = np.where(present, np.log(np.maximum(np.nan_to_num(dims), floor)), 0.0)
            index = np.exp((logs @ dim_weights) / present_weight)
        else:
            index = (np.where(present, dims, 0.0) @ dim_weights) / present_weight

    nominal = meta["nominal_weight"].to_numpy()[position]
    coverage = np.bincount(unit_ids[counted], weights=nominal[counted], minlength=n_units)
    coverage = np.minimum(coverage, 1.0)

    if catalog.coverage.require_every_dimension:
        missing_dimension = ~present.all(axis=1)
    else:
        missing_dimension = present_weight <= 0
    low_coverage = coverage < catalog.coverage.minimum - COVERAGE_TOLERANCE
    withheld = missing_dimension | low_coverage

    # The weight each value carried in its unit's index formula:
    # dimension weight × indicator weight ÷ Σ available indicator weights of the dimension,
    # ÷ Σ weights of the dimensions present (1 whenever every dimension is present).
    effective = np.zeros(len(value))
    counted_units = unit_ids[counted]
    with np.errstate(divide="ignore", invalid="ignore"):
        effective[counted] = (
            dim_weights[dim[counted]]
            * weight[counted]
            / available[counted_units, dim[counted]]
            / present_weight[counted_units]
        )

    units["coverage"] = coverage
    units["index"] = np.where(withheld, np.nan, index)
    units["withheld"] = withheld
    units["withheld_reason"] = pd.Series(
        np.where(
            missing_dimension, WITHHELD_DIMENSION, np.where(low_coverage, WITHHELD_COVERAGE, None)
        ),
        dtype="object",
    )
    for column, dimension in enumerate(dimension_ids):
        units[dimension] = dims[:, column]

    indicator_scores = pd.DataFrame(
        {
            "community_code": rows["community_code"],
            "period": rows["period"],
            "indicator": meta["indicator"].take(position).reset_index(drop=True),
            "dimension": meta["dimension"].take(position).reset_index(drop=True),
            "value": value,
            "score": score,
            "nominal_weight": nominal,
            "effective_weight": effective,
        }
    )
    return ScoreTables(indicator_scores=indicator_scores, unit_scores=units)


def aggregate_months(values: pd.DataFrame, granularity: str) -> pd.DataFrame:
    """Quarter or year values: the mean of each indicator's available monthly values.

    Returns the long layout with the quarter (`YYYY-Qn`) or year (`YYYY`) label in `period`
    and the number of months that fed each mean in `months`, sorted by community, period
    and indicator.
    """
    frame = values.loc[values["value"].notna(), VALUE_COLUMNS]
    community_ids, communities = pd.factorize(frame["community_code"], sort=True)
    month_ids, months = pd.factorize(frame["period"].astype(str))
    labels = to_granularity(pd.Series(months, dtype="str"), granularity)
    label_ids, periods = pd.factorize(labels, sort=True)
    period_ids = label_ids[month_ids]
    indicator_ids, indicators = pd.factorize(frame["indicator"], sort=True)
    n_periods, n_indicators = max(len(periods), 1), max(len(indicators), 1)
    combined = (
        community_ids.astype("int64") * n_periods + period_ids
    ) * n_indicators + indicator_ids
    group_ids, keys = pd.factorize(combined, sort=True)
    value = frame["value"].to_numpy(dtype="float64")
    sums = np.bincount(group_ids, weights=value, minlength=len(keys))
    counts = np.bincount(group_ids, minlength=len(keys))
    return pd.DataFrame(
        {
            "community_code": communities.take(keys // (n_periods * n_indicators)),
            "period": periods.take((keys // n_indicators) % n_periods),
            "indicator": indicators.take(keys % n_indicators),
            "value": sums / np.maximum(counts, 1),
            "months": counts.astype("int64"),
        }
    )


def rollup(
    unit_scores: pd.DataFrame,
    registry: pd.DataFrame,
    catalog: Catalog,
    unit_level: str,
    weighting: str | None = None,
) -> pd.DataFrame:
    """Street or district scores from their communities' scores, for every period present.

    unit_scores: community rows with community_code, period, index, alert `level` (may be
        None where withheld) and the weighted dimension columns.
    registry: the org registry with code, level ('district' | 'street' | 'community') and
        population (may be missing; under population weighting a scored community without a
        population counts with weight 0).
    unit_level: 'street' or 'district'.

    Returns code, period, index, coverage (share of the unit's registered communities that
    have an index), communities, scored, one column per dimension (averaged with the same
    weights as the index) and one count column `n_<level id>` per alert level plus
    n_withheld and n_missing.
    """
    weighting = weighting or catalog.rollup.weighting
    if weighting not in ("equal", "population"):
        raise ValueError(f"weighting must be 'equal' or 'population', not {weighting!r}")
    if "level" not in unit_scores.columns:
        raise ValueError("unit_scores needs a `level` column (the communities' alert levels)")
    parent_of = _parent_function(unit_level)
    communities = registry.loc[registry["level"] == "community", ["code", "population"]]
    parents = parent_of(communities["code"]).reset_index(drop=True)
    registered = parents.value_counts()

    # One integer group per (parent, period), numbered in sorted order, so that a single
    # groupby sums every column (pandas' compensated sums, row order kept within a group).
    registry_position = pd.Index(communities["code"]).get_indexer(unit_scores["community_code"])
    rows = np.flatnonzero(registry_position >= 0)
    registry_position = registry_position[rows]
    frame = unit_scores.iloc[rows].reset_index(drop=True)
    parent_ids, parent_codes = pd.factorize(parents.to_numpy()[registry_position], sort=True)
    period_ids, period_labels = pd.factorize(frame["period"].astype("str"), sort=True)
    n_periods = max(len(period_labels), 1)
    group = parent_ids.astype("int64") * n_periods + period_ids
    group_ids, group_keys = pd.factorize(group, sort=True)

    dimension_ids = [d.id for d in catalog.weighted_dimensions]
    index = frame["index"].to_numpy(dtype="float64", na_value=np.nan)
    has_index = ~np.isnan(index)
    if weighting == "population":
        population = pd.to_numeric(communities["population"], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )[registry_position]
        w = np.where(has_index, population, np.nan)
        w = np.where(np.isnan(w), 0.0, w)
    else:
        w = has_index.astype("float64")
    sums = {
        "sum_wx": w * np.where(has_index, index, 0.0),
        "sum_w": w,
        "scored": has_index.astype("int64"),
    }
    for dimension in dimension_ids:
        scores = pd.to_numeric(frame[dimension], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        present = ~np.isnan(scores)
        weight = np.where(present, w, 0.0)
        sums[f"{dimension}_wx"] = weight * np.where(present, scores, 0.0)
        sums[f"{dimension}_w"] = weight
    levels = frame["level"].to_numpy(dtype=object)
    for level_id in catalog.level_ids:
        sums[f"n_{level_id}"] = (has_index & (levels == level_id)).astype("int64")
    out = pd.DataFrame(sums).groupby(group_ids, sort=True).sum()
    community_ids, distinct_communities = pd.factorize(frame["community_code"])
    n_communities = max(len(distinct_communities), 1)
    pairs = pd.unique(group_ids.astype("int64") * n_communities + community_ids)
    out["reported"] = np.bincount(pairs // n_communities, minlength=len(group_keys))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["index"] = np.where(out["sum_w"] > 0, out["sum_wx"] / out["sum_w"], np.nan)
        for dimension in dimension_ids:
            weight_sum = out[f"{dimension}_w"]
            out[dimension] = np.where(weight_sum > 0, out[f"{dimension}_wx"] / weight_sum, np.nan)
    out = out.reset_index(drop=True)
    out.insert(0, "period", pd.Series(period_labels.take(group_keys % n_periods), dtype="str"))
    out.insert(0, "code", pd.Series(parent_codes.take(group_keys // n_periods), dtype="str"))
    out["communities"] = out["code"].map(registered).fillna(0).astype("int64")
    out["n_withheld"] = out["reported"] - out["scored"]
    out["n_missing"] = (out["communities"] - out["reported"]).clip(lower=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["coverage"] = np.where(out["communities"] > 0, out["scored"] / out["communities"], 0.0)
    columns = [
        "code",
        "period",
        "index",
        "coverage",
        "communities",
        "scored",
        *dimension_ids,
        *[f"n_{lv}" for lv in catalog.level_ids],
        "n_withheld",
        "n_missing",
    ]
    for column in [f"n_{lv}" for lv in catalog.level_ids]:
        out[column] = out[column].fillna(0).astype("int64")
    return out[columns]


def _parent_function(unit_level: str) -> Callable[[pd.Series], pd.Series]:
    """Maps community codes to their street (DDDDDDSSS000) or district (DDDDDD000000) code."""
    if unit_level == "street":
        return lambda codes: codes.str.slice(0, 9) + "000"
    if unit_level == "district":
        return lambda codes: codes.str.slice(0, 6) + "000000"
    raise ValueError(f"unit_level must be 'street' or 'district', not {unit_level!r}")


def attribute_change(
    indicator_scores: pd.DataFrame, period_from: str, period_to: str
) -> pd.DataFrame:
    """Splits each community's index change between two periods into indicator contributions.

    For the arithmetic index, index = Σ effective_weight × score, so the contribution of an
    indicator is ew_to × score_to − ew_from × score_from (an absent value contributes 0), and
    the contributions of a community sum exactly to index_to − index_from. The split is
    meaningful when the community has an index in both periods.

    Returns community_code, indicator, value_from, value_to, score_from, score_to,
    weight_from, weight_to, contribution — for the indexed indicators only.
    """
    indexed = indicator_scores[indicator_scores["effective_weight"] > 0]
    cols = ["community_code", "indicator", "value", "score", "effective_weight"]
    before = indexed.loc[indexed["period"] == period_from, cols]
    after = indexed.loc[indexed["period"] == period_to, cols]
    merged = before.merge(
        after, on=["community_code", "indicator"], how="outer", suffixes=("_from", "_to")
    )
    merged = merged.rename(
        columns={
            "effective_weight_from": "weight_from",
            "effective_weight_to": "weight_to",
        }
    )
    merged[["weight_from", "weight_to"]] = merged[["weight_from", "weight_to"]].fillna(0.0)
    merged["contribution"] = merged["weight_to"] * merged["score_to"].fillna(0.0) - merged[
        "weight_from"
    ] * merged["score_from"].fillna(0.0)
    return merged[
        [
            "community_code",
            "indicator",
            "value_from",
            "value_to",
            "score_from",
            "score_to",
            "weight_from",
            "weight_to",
            "contribution",
        ]
    ]
