"""Upload validation benchmark: parse and validate a 200,000-row wide CSV and a 200,000-row .xlsx.

The files are generated from the demo city's generator (indicators.demo.build_city) with a
fixed seed: about 4,100 communities × 50 months, cut at 200,000 data rows (the generator
leaves a few community-months unreported), the template's Chinese headers, a
title row above the header, and missing values as empty cells. The CSV is GBK (what Excel on a
Chinese Windows writes), the workbook is written by openpyxl. Generated files are kept under
tmp/bench/ingest/ and reused while their parameters are unchanged.

    .venv/bin/python bench/bench_ingest.py [--rows 200000] [--months 50]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indicators.catalog import Catalog, load_catalog  # noqa: E402
from indicators.demo import DemoCity, build_city  # noqa: E402
from indicators.ingest import parse_upload  # noqa: E402
from indicators.periods import shift_month  # noqa: E402
from indicators.templates import FIXED_HEADERS, indicator_header, template_indicators  # noqa: E402

SEED = 20_251_101
LAST_MONTH = "2025-10"
TODAY = dt.date(2025, 11, 15)  # the validation day: no period of the files is in the future
DISTRICTS = 4
STREETS_PER_DISTRICT = 10
SPARE = 1.02  # communities to spare for the community-months the generator leaves unreported
FILES = ROOT / "tmp" / "bench" / "ingest"
TITLE = "XX区社区治理指标报表（示例数据，基准测试用）"


def build(catalog: Catalog, rows: int, months: int) -> DemoCity:
    """A city with a little more than `rows` reported community-months."""
    per_street = math.ceil(rows * SPARE / (months * DISTRICTS * STREETS_PER_DISTRICT))
    return build_city(
        catalog,
        DISTRICTS,
        (STREETS_PER_DISTRICT, STREETS_PER_DISTRICT),
        (per_street, per_street),
        months,
        LAST_MONTH,
        SEED,
    )


def wide_rows(city: DemoCity, catalog: Catalog, count: int) -> list[list[str]]:
    """Title row, header row, then `count` rows of one community and month (the template layout)."""
    indicators = template_indicators(catalog)
    wide = city.values.pivot_table(
        index=["community_code", "period"], columns="indicator", values="value", aggfunc="first"
    )
    wide = wide.reindex(columns=[i.id for i in indicators])
    names = city.registry.set_index("code")["name"]
    header = [*FIXED_HEADERS, *(indicator_header(i) for i in indicators)]
    rows = [[TITLE] + [""] * (len(header) - 1), header]
    for (code, period), values in zip(
        wide.index[:count], wide.to_numpy()[:count].tolist(), strict=True
    ):
        cells = ["" if pd.isna(v) else f"{v:g}" for v in values]
        rows.append([code, names[code], period, *cells])
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("gbk")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    """A workbook as Excel would hold it: numbers as numbers, codes as text."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("数据")
    sheet.append(rows[0])
    sheet.append(rows[1])
    for row in rows[2:]:
        sheet.append([*row[:3], *(float(cell) if cell else None for cell in row[3:])])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def generated(name: str, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, generated once and then read from tmp/bench/ingest/."""
    path = FILES / name
    if not path.exists():
        FILES.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        path.write_bytes(make())
        print(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s")
    return path.read_bytes()


def timed(label: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs the function, prints wall and CPU seconds (a shared machine stretches wall time)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    print(
        f"{label:<42} {time.perf_counter() - start:7.2f} s wall "
        f"{time.process_time() - cpu:7.2f} s cpu"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=50)
    args = parser.parse_args()

    catalog = load_catalog()
    city = build(catalog, args.rows, args.months)
    codes = set(city.registry["code"])
    stem = f"wide_{args.rows}rows_{args.months}months_seed{SEED}"
    rows: list[list[str]] = []

    def table() -> list[list[str]]:
        if not rows:
            rows.extend(wide_rows(city, catalog, args.rows))
        return rows

    files = {
        "csv (GBK, title row)": (
            f"{stem}.csv",
            generated(f"{stem}.csv", lambda: csv_bytes(table())),
        ),
        "xlsx (openpyxl, title row)": (
            f"{stem}.xlsx",
            generated(f"{stem}.xlsx", lambda: xlsx_bytes(table())),
        ),
    }
    print(
        f"{args.rows:,} rows of {args.months} months "
        f"({shift_month(LAST_MONTH, 1 - args.months)} … {LAST_MONTH})"
    )
    for label, (name, data) in files.items():
        parsed = timed(
            f"parse+validate {label}",
            parse_upload,
            name,
            data,
            catalog,
            registry_codes=codes,
            today=TODAY,
        )
        print(
            f"  → {len(data) / 1e6:.1f} MB, {parsed.rows_total:,} rows, "
            f"{len(parsed.values):,} values, {len(parsed.errors)} errors, "
            f"{len(parsed.warnings)} warnings"
        )


if __name__ == "__main__":
    main()
