"""Shared by the access, account and sign-in tests: a two-district database with one account per role."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from indicators import accounts, operations
from indicators.access import SYSTEM, Principal
from indicators.catalog import Catalog
from indicators.orgs import level_of, parent_of
from indicators.templates import template_headers, template_indicators
from tests.conftest import values_at, write

DISTRICT_1 = "990101000000"
STREET_1 = "990101001000"
STREET_2 = "990101002000"
DISTRICT_2 = "990102000000"
STREET_3 = "990102001000"
# One community in each street: the staff member's own street, a sibling street, another district.
IN_STREET_1 = "990101001001"
IN_STREET_2 = "990101002001"
IN_DISTRICT_2 = "990102001001"
COMMUNITIES = (IN_STREET_1, "990101001002", IN_STREET_2, IN_DISTRICT_2)
MONTHS = ["2025-05", "2025-06"]
PASSWORD = "correct-horse-7"
SOURCE = "test"

# name → (role, unit)
ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "root": ("admin", None),
    "quzhang": ("leader", DISTRICT_1),
    "jiedao": ("staff", STREET_1),
}


def principal(name: str) -> Principal:
    role, unit = ACCOUNTS[name]
    return Principal(name, role, unit)


def registry(names: dict[str, str] | None = None) -> pd.DataFrame:
    codes = [DISTRICT_1, STREET_1, STREET_2, DISTRICT_2, STREET_3, *COMMUNITIES]
    names = names or {}
    return pd.DataFrame(
        {
            "code": codes,
            "name": [names.get(code, f"单位{code[-6:]}") for code in codes],
            "level": [level_of(code) for code in codes],
            "parent_code": [parent_of(code) for code in codes],
            "population": [None] * 5 + [5000] * len(COMMUNITIES),
        }
    )


def build(
    path: Path, catalog: Catalog, names: dict[str, str] | None = None, with_accounts: bool = True
) -> Path:
    """The database: registry, two months of values for every community, the accounts."""
    con = operations.open_store(path, catalog)
    try:
        operations.import_registry(con, catalog, registry(names), user="test")
        write(con, catalog, values_at(catalog, list(COMMUNITIES), MONTHS, 0.6))
        for name, (role, unit) in ACCOUNTS.items() if with_accounts else ():
            accounts.create_account(con, name, role, unit, PASSWORD, actor=SYSTEM, source=SOURCE)
    finally:
        con.close()
    return path


def upload_csv(catalog: Catalog, code: str, period: str, shift: float) -> bytes:
    """A one-row upload in the template layout for `code`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(template_headers(catalog))
    values = [round((i.best + i.worst) / 2 + shift, 1) for i in template_indicators(catalog)]
    writer.writerow([code, "社区", period, *values])
    return buffer.getvalue().encode("utf-8")
