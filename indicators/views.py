"""Read-side views composed from materialised tables: alert lists and assessment-period lookups."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from indicators import store
from indicators.alerts import not_reported
from indicators.catalog import Catalog
from indicators.periods import granularity_of, months_in, period_of_month

ALERT_COLUMNS = [
    "code",
    "name",
    "unit_level",
    "period",
    "state",
    "index",
    "level",
    "streak",
    "reason_zh",
    "reason_en",
]


def latest_period(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, granularity: str = "month"
) -> str | None:
    """The newest period with community scores, or None for an empty database."""
    periods = store.scored_periods(con, catalog, granularity)
    return periods[-1] if periods else None


def last_complete_assessment(period: str, catalog: Catalog) -> str | None:
    """The latest escalation assessment period that has ended by the end of `period`."""
    granularity = catalog.alerts.escalation.granularity
    last_month = months_in(period)[-1] if granularity_of(period) != "month" else period
    current = period_of_month(last_month, granularity)
    if months_in(current)[-1] == last_month:
        return current
    if granularity == "year":
        return str(int(current) - 1)
    if granularity == "quarter":
        year, quarter = int(current[:4]), int(current[-1])
        return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    return current


def escalated_units(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, period: str, *, scope: str | None
) -> pd.DataFrame:
    """Units escalated (整改约谈) at the last assessment period complete by `period`."""
    assessment = last_complete_assessment(period, catalog)
    frame = store.escalations(con, catalog, scope=scope, period=assessment)
    return frame[frame["escalated"]].reset_index(drop=True)


def alert_list(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    period: str | None = None,
    *,
    scope: str | None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Red, yellow and blue communities, not-reported ones and escalated units in `scope`
    (a unit code, None = the whole registry), with reasons.

    `state` is a level id, "not_reported" or "escalated"; a unit can appear twice (e.g. yellow
    and escalated). The period defaults to the newest scored month.
    """
    period = period or latest_period(con, catalog)
    if period is None:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    granularity = granularity_of(period)
    frame = store.scores(
        con, catalog, granularity=granularity, unit_level="community", period=period, scope=scope
    )
    best = catalog.level_ids[0]
    flagged = frame[frame["level"].notna() & (frame["level"] != best)].copy()
    flagged["state"] = flagged["level"]
    flagged["streak"] = pd.NA
    parts = [flagged]

    if granularity == "month":
        registered = store.registry(con, scope=scope)
        communities = registered.loc[registered["level"] == "community", ["code", "name"]]
        reported = pd.DataFrame(
            {
                "community_code": sorted(store.reported_communities(con, period, scope=scope)),
                "period": period,
            }
        )
        missing = not_reported(
            communities["code"], reported, [period], today or dt.date.today(), catalog
        )
        if len(missing):
            missing = missing.rename(columns={"community_code": "code"}).merge(
                communities, on="code"
            )
            missing["unit_level"] = "community"
            missing["state"] = "not_reported"
            deadline = missing["deadline"].astype(str)
            missing["reason_zh"] = "截至" + deadline + "仍未报送" + period + "数据"
            missing["reason_en"] = "No data for " + period + " by the deadline " + deadline
            parts.append(missing)

    escalated = escalated_units(con, catalog, period, scope=scope)
    if len(escalated):
        escalated = escalated.assign(state="escalated", index=float("nan"))
        parts.append(escalated)
    result = (
        pd.concat([p.reindex(columns=ALERT_COLUMNS) for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=ALERT_COLUMNS)
    )
    result["period"] = result["period"].astype(str)
    order = {
        state: rank
        for rank, state in enumerate(["escalated", *reversed(catalog.level_ids), "not_reported"])
    }
    result["_rank"] = result["state"].map(order)
    return (
        result.sort_values(["_rank", "index", "code"]).drop(columns="_rank").reset_index(drop=True)
    )
