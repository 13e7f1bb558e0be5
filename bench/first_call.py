"""Why the first jump check in a process is slow: `python -m bench.first_call [calls|incremental]`.

`calls` runs `alerts.suspicious_jumps` three times in one process on a tier's last seven scored
months and prints seconds and minor page faults per call. `incremental` times one
`recompute_affected` of the tier's new month in a fresh copy of the scored database. Both run
each setting of numpy's transparent-huge-page hint (`NUMPY_MADVISE_HUGEPAGE`) in its own fresh
process, alternating, `--rounds` times. Needs the tier's databases from `make bench` (or
`python -m bench.steps recompute <tier>`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from bench.steps import copy_database, timed, write_accepted
from bench.tiers import TIERS, Tier
from indicators import alerts, store
from indicators.catalog import load_catalog
from indicators.ingest import parse_upload
from indicators.recompute import _frame as recompute_frame
from indicators.recompute import recompute_affected

HINT_SETTINGS = ("1", "0")  # numpy's default first
CALLS_PER_PROCESS = 3
HISTORY_MONTHS = 7  # the months an incremental recompute of one January loads for the check


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure_calls(tier: Tier) -> list[dict]:
    """Seconds and minor page faults of three checks of the same frame in this process."""
    catalog = load_catalog()
    con = store.connect(tier.database("values"), read_only=True)
    months = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT period FROM current_values ORDER BY period DESC LIMIT ?",
            [HISTORY_MONTHS],
        ).fetchall()
    ]
    frame = recompute_frame(  # read as the recompute reads it (Arrow strings)
        con,
        "SELECT community_code, period, indicator, value FROM current_values WHERE period >= ?",
        [min(months)],
    )
    con.close()
    calls = []
    for _ in range(CALLS_PER_PROCESS):
        faults, started = _minor_faults(), time.perf_counter()
        alerts.suspicious_jumps(frame, catalog, flag_from=max(months))
        calls.append(
            {
                "seconds": round(time.perf_counter() - started, 3),
                "minor_faults": _minor_faults() - faults,
            }
        )
    return calls


def measure_incremental(tier: Tier) -> dict:
    """One new month written into a fresh copy of the scored database, then its recompute."""
    catalog = load_catalog()
    con = store.connect(copy_database(tier.database("values"), tier.database("first_call")))
    known = set(store.registry(con, scope=None)["code"])
    parsed = parse_upload(
        tier.new_month_file.name, tier.new_month_file.read_bytes(), catalog, registry_codes=known
    )
    with store.transaction(con) as cursor:
        outcome = write_accepted(cursor, parsed, tier.new_month_file.name)
        wall, _, stats = timed(lambda: recompute_affected(cursor, catalog, outcome.affected))
    con.close()
    tier.database("first_call").unlink(missing_ok=True)
    jumps = stats.seconds["jumps"]
    return {"seconds": round(wall, 2), "jumps": round(jumps, 2), "rest": round(wall - jumps, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["calls", "incremental"])
    parser.add_argument("--tier", default="province", choices=sorted(TIERS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tier = TIERS[args.tier]
    if args.child:
        measure = measure_calls if args.what == "calls" else measure_incremental
        print(json.dumps(measure(tier)))
        return
    for _ in range(args.rounds):
        for hint in HINT_SETTINGS:
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.first_call",
                    args.what,
                    "--tier",
                    args.tier,
                    "--child",
                ],
                env={**os.environ, "NUMPY_MADVISE_HUGEPAGE": hint},
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"NUMPY_MADVISE_HUGEPAGE={hint}", child.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
