"""Shared fixtures: the built-in catalog, small registries and real DuckDB files in tmp dirs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indicators import store
from indicators.catalog import Catalog, load_catalog
from indicators.orgs import level_of, parent_of

DISTRICT = "990101000000"
STREETS = ("990101001000", "990101002000")
COMMUNITIES = (
    "990101001001",
    "990101001002",
    "990101001003",
    "990101002001",
    "990101002002",
    "990101002003",
)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def small_registry() -> pd.DataFrame:
    codes = [DISTRICT, *STREETS, *COMMUNITIES]
    names = {DISTRICT: "测试区", STREETS[0]: "和平街道", STREETS[1]: "东湖街道"}
    return pd.DataFrame(
        {
            "code": codes,
            "name": [names.get(c, f"测试社区{c[-3:]}") for c in codes],
            "level": [level_of(c) for c in codes],
            "parent_code": [parent_of(c) for c in codes],
            "population": [None, None, None, 5000, 6000, 7000, 8000, 9000, 10000],
        }
    )


def values_at(
    catalog: Catalog,
    codes: list[str],
    months: list[str],
    fraction: float,
    indicators: list[str] | None = None,
) -> pd.DataFrame:
    """Values placed `fraction` of the way from worst to best goalpost for every cell."""
    rows = []
    for indicator in catalog.indicators:
        if indicators is not None and indicator.id not in indicators:
            continue
        value = indicator.worst + fraction * (indicator.best - indicator.worst)
        for code in codes:
            for month in months:
                rows.append((code, month, indicator.id, round(value, 6)))
    return pd.DataFrame(rows, columns=["community_code", "period", "indicator", "value"])


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "test.duckdb"


@pytest.fixture
def empty_db(db_path, catalog):
    from indicators.operations import open_store

    con = open_store(db_path, catalog)
    yield con
    con.close()


@pytest.fixture
def small_db(empty_db, catalog):
    from indicators.operations import import_registry

    import_registry(empty_db, catalog, small_registry(), user="test")
    return empty_db


def write(con, catalog, values: pd.DataFrame, user: str = "test", file_name: str = "t.csv"):
    """Commits values as one batch and recomputes what it touched, like an import does."""
    from indicators.recompute import recompute_affected

    with store.transaction(con) as cursor:
        outcome = store.write_values(
            cursor,
            values,
            user=user,
            file_name=file_name,
            sha256="x",
            rows_total=len(values),
            rows_accepted=len(values),
            rows_rejected=0,
        )
        if outcome.status == "committed":
            recompute_affected(cursor, catalog, outcome.affected)
    return outcome


def noisy_values(
    catalog: Catalog, codes: list[str], months: list[str], seed: int = 1
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = values_at(catalog, codes, months, 0.7)
    spans = frame["indicator"].map({i.id: abs(i.best - i.worst) for i in catalog.indicators})
    frame["value"] = (frame["value"] + rng.normal(0, 0.08, len(frame)) * spans).round(1)
    low = frame["indicator"].map({i.id: i.valid_min for i in catalog.indicators})
    high = frame["indicator"].map({i.id: i.valid_max for i in catalog.indicators})
    frame["value"] = frame["value"].clip(lower=low + 0.1, upper=high)
    return frame
