"""The naive peer: how a typical hand-written app imports the wide file.

pandas `read_csv`, one pydantic model per row (12-digit code known to the registry, a
`YYYY-MM` month, each indicator within its valid range), then the valid rows melted to
(community_code, period, indicator, value) and inserted into a DuckDB table in one bulk
INSERT and committed. The insert is the peer's strongest honest choice: row-by-row
`executemany` into DuckDB is orders of magnitude slower (measured on a sample with
`row_inserts=True`, and reported beside the goal, never as the goal's peer). The peer keeps no revisions, no batch, no error report beyond pydantic's,
and reads only UTF-8 comma-separated files with the template's exact headers.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from pydantic import BaseModel, Field, ValidationError, create_model, field_validator

from indicators.catalog import Catalog
from indicators.templates import CODE_HEADER, NAME_HEADER, PERIOD_HEADER, template_indicators

SQL_CREATE = """
CREATE TABLE IF NOT EXISTS peer_values (
    community_code VARCHAR, period VARCHAR, indicator VARCHAR, value DOUBLE
)
"""


class _RowBase(BaseModel):
    community_code: str = Field(pattern=r"^[0-9]{12}$")
    community_name: str
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        return value


def row_model(catalog: Catalog) -> type[BaseModel]:
    """A pydantic model of one wide row: one optional bounded float per template indicator."""
    fields: dict[str, Any] = {}
    for indicator in template_indicators(catalog):
        low = {"ge" if indicator.valid_min_inclusive else "gt": indicator.valid_min}
        fields[indicator.id] = (float | None, Field(default=None, le=indicator.valid_max, **low))
    return create_model("WideRow", __base__=_RowBase, **fields)


def header_names(catalog: Catalog) -> dict[str, str]:
    """Template header → field name."""
    from indicators.templates import indicator_header

    names = {
        CODE_HEADER: "community_code",
        NAME_HEADER: "community_name",
        PERIOD_HEADER: "period",
    }
    names.update({indicator_header(i): i.id for i in template_indicators(catalog)})
    return names


def peer_import(
    path: Path,
    catalog: Catalog,
    registry_codes: set[str],
    con: duckdb.DuckDBPyConnection,
    rows: int | None = None,
    row_inserts: bool = False,
) -> dict:
    """Imports the file (or its first `rows` rows) the naive way; seconds per stage and counts.

    `row_inserts` inserts the values with one `executemany` of a parameterised INSERT (one
    statement per value, as DB-API code often does) instead of one bulk INSERT.
    """
    model = row_model(catalog)
    indicator_ids = [i.id for i in template_indicators(catalog)]
    clock = time.perf_counter()
    frame = pd.read_csv(
        path, dtype={CODE_HEADER: str, PERIOD_HEADER: str}, nrows=rows, encoding="utf-8-sig"
    )
    frame = frame.rename(columns=header_names(catalog))
    read_seconds = time.perf_counter() - clock

    long_rows: list[tuple[str, str, str, float]] = []
    errors: list[tuple[int, str]] = []
    for number, record in enumerate(frame.to_dict("records"), start=2):
        try:
            row = model.model_validate(record)
        except ValidationError as error:
            errors.append((number, str(error)))
            continue
        if row.community_code not in registry_codes:
            errors.append((number, f"unknown community {row.community_code}"))
            continue
        for indicator in indicator_ids:
            value = getattr(row, indicator)
            if value is not None:
                long_rows.append((row.community_code, row.period, indicator, value))
    validate_seconds = time.perf_counter() - clock - read_seconds

    con.execute(SQL_CREATE)
    con.execute("BEGIN TRANSACTION")
    if row_inserts:
        con.executemany("INSERT INTO peer_values VALUES (?, ?, ?, ?)", long_rows)
    else:
        con.register(
            "peer_rows",
            pd.DataFrame(long_rows, columns=["community_code", "period", "indicator", "value"]),
        )
        con.execute("INSERT INTO peer_values SELECT * FROM peer_rows")
        con.unregister("peer_rows")
    con.execute("COMMIT")
    insert_seconds = time.perf_counter() - clock - read_seconds - validate_seconds
    return {
        "rows": len(frame),
        "values": len(long_rows),
        "errors": len(errors),
        "read_seconds": read_seconds,
        "validate_seconds": validate_seconds,
        "insert_seconds": insert_seconds,
        "seconds": read_seconds + validate_seconds + insert_seconds,
    }
