"""The communities whose index rose and fell most between two periods, and the indicators that moved them."""

from __future__ import annotations

import pandas as pd

MOVER_COLUMNS = ["code", "name", "index_from", "index_to", "change", "direction"]

Drivers = tuple[tuple[str, float], ...]


def biggest_movers(changes: pd.DataFrame, shown: int) -> pd.DataFrame:
    """The `shown` communities that rose most, then the `shown` that fell most.

    `changes`: code, name, index_from, index_to, and change when it is stored (otherwise
    index_to − index_from); rows missing either index are left out.
    Returns code, name, index_from, index_to, change, direction ("up" / "down").
    """
    moved = changes.dropna(subset=["index_from", "index_to"])
    if "change" not in moved:
        moved = moved.assign(change=moved["index_to"] - moved["index_from"])
    up = moved[moved["change"] > 0].sort_values("change", ascending=False).head(shown)
    down = moved[moved["change"] < 0].sort_values("change").head(shown)
    table = pd.concat([up.assign(direction="up"), down.assign(direction="down")], ignore_index=True)
    return table.reindex(columns=MOVER_COLUMNS)


def drivers_of(movers: pd.DataFrame, contributions: pd.DataFrame, named: int) -> list[Drivers]:
    """For each mover, up to `named` (indicator, contribution) pairs that pushed its index in
    its direction, largest first. `contributions`: community_code, indicator, contribution
    (scoring.attribute_change); rows of other communities are ignored."""
    wanted = contributions[contributions["community_code"].isin(set(movers["code"]))]
    by_code: dict[str, list[tuple[str, float]]] = {}
    for code, indicator, contribution in zip(
        wanted["community_code"], wanted["indicator"], wanted["contribution"], strict=True
    ):
        by_code.setdefault(code, []).append((indicator, float(contribution)))

    def pushing(code: str, sign: int) -> Drivers:
        same_way = [pair for pair in by_code.get(code, []) if pair[1] * sign > 0]
        return tuple(sorted(same_way, key=lambda pair: -pair[1] * sign)[:named])

    return [
        pushing(code, 1 if direction == "up" else -1)
        for code, direction in zip(movers["code"], movers["direction"], strict=True)
    ]
