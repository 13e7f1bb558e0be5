"""Province-scale scoring benchmark: 20,000 communities × 60 months × 12 indicators."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indicators.catalog import Catalog, load_catalog
from indicators.periods import month_range
from indicators.scoring import aggregate_months, score_values


def synthetic_values(catalog: Catalog, communities: int, months: int, seed: int) -> pd.DataFrame:
    """A long table of plausible values between each indicator's goalposts, 2% missing."""
    rng = np.random.default_rng(seed)
    indicators = catalog.indexed_indicators
    codes = np.array([f"110101{1 + i // 999:03d}{1 + i % 999:03d}" for i in range(communities)])
    periods = np.array(month_range("2021-01", "2099-12")[:months])
    n = communities * months * len(indicators)
    row = np.arange(n)
    code_col = pd.Series(codes, dtype="str").take(row // (months * len(indicators)))
    period_col = pd.Series(periods, dtype="str").take(row // len(indicators) % months)
    indicator_col = pd.Series([i.id for i in indicators], dtype="str").take(row % len(indicators))
    low = np.tile([min(i.best, i.worst) for i in indicators], communities * months)
    high = np.tile([max(i.best, i.worst) for i in indicators], communities * months)
    values = low + (high - low) * rng.uniform(-0.1, 1.1, n)
    values[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "community_code": code_col.reset_index(drop=True),
            "period": period_col.reset_index(drop=True),
            "indicator": indicator_col.reset_index(drop=True),
            "value": values,
        }
    )


def timed(label: str, function: Callable[..., Any], *args: Any) -> Any:
    """Runs `function(*args)`, prints the wall and CPU seconds it took, returns its result.

    CPU time is printed too because a shared machine can stretch wall time arbitrarily.
    """
    start, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    print(
        f"{label:<30} {time.perf_counter() - start:7.2f} s wall "
        f"{time.process_time() - cpu:7.2f} s cpu"
    )
    return result


def main() -> None:
    """Generates the synthetic province and times the scoring steps."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communities", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    catalog = load_catalog()
    start = time.perf_counter()
    values = synthetic_values(catalog, args.communities, args.months, args.seed)
    print(
        f"generated {len(values):,} values in {time.perf_counter() - start:.2f} s "
        f"({args.communities:,} communities × {args.months} months × "
        f"{len(catalog.indexed_indicators)} indicators)"
    )

    tables = timed("score_values (months)", score_values, values, catalog)
    print(
        f"  → {len(tables.unit_scores):,} community-months, "
        f"{int(tables.unit_scores['withheld'].sum()):,} withheld"
    )
    years = timed("aggregate_months (year)", aggregate_months, values, "year")
    timed("score_values (years)", score_values, years, catalog)
    quarters = timed("aggregate_months (quarter)", aggregate_months, values, "quarter")
    timed("score_values (quarters)", score_values, quarters, catalog)


if __name__ == "__main__":
    main()
