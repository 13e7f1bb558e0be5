"""Soak test of the wall screen: a real browser keeps it rotating while the server's memory is sampled.

    .venv/bin/python bench/soak_screen.py --minutes 10 --interval 5

Builds the synthetic demo city (or uses --db), issues a district token, starts
`streamlit run app.py`, opens the screen in Debian's chromium and samples the server's resident
memory (psutil) every --sample seconds. Prints start / after warm-up / end / peak and the
least-squares slope after warm-up, and writes the samples as JSON. Exits 1 when the slope
after warm-up exceeds --max-slope MB per hour (the CI check, tests/test_screen_browser.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indicators import operations, store, tokens  # noqa: E402
from indicators.access import SYSTEM  # noqa: E402
from indicators.catalog import load_catalog  # noqa: E402
from tests.browser import Server, chromium, new_page  # noqa: E402

WORK = ROOT / "tmp" / "soak"
MB = 1024 * 1024
SCREEN_VIEWPORT = {"width": 1920, "height": 1080}
# Growth below this many MB per hour after warm-up is noise (the allocator, DuckDB's buffer
# pool settling); a leak of one plotly figure per refresh every 5 s is far above it.
DEFAULT_MAX_SLOPE = 30.0


@dataclass(frozen=True)
class Sample:
    """One look at the server and the page."""

    seconds: float
    rss_mb: float
    slide: str
    refreshed: str


@dataclass(frozen=True)
class Summary:
    """What a soak run measured."""

    minutes: float
    interval: int
    samples: int
    start_mb: float
    warm_mb: float
    end_mb: float
    peak_mb: float
    slope_mb_per_hour: float
    slides_seen: int
    refreshes_seen: int


def slope_per_hour(samples: list[Sample]) -> float:
    """Least-squares slope of RSS over time, in MB per hour."""
    if len(samples) < 2:
        return 0.0
    xs = [s.seconds for s in samples]
    ys = [s.rss_mb for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread * 3600


def prepare(db: Path | None) -> tuple[Path, str, str]:
    """A database copy for the server (the demo city unless given), a district and its token."""
    catalog = load_catalog()
    WORK.mkdir(parents=True, exist_ok=True)
    target = WORK / "soak.duckdb"
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)
    if db is None:
        operations.init_database(target, catalog, demo=True).close()
    else:
        shutil.copy(db, target)
    con = operations.open_store(target, catalog)
    try:
        district = str(store.scalar(con, "SELECT min(code) FROM orgs WHERE level = 'district'"))
        token = tokens.issue(con, SYSTEM, district, days=2, label="soak").token
    finally:
        con.close()
    return target, district, token


def run(
    minutes: float, interval: int, sample_every: float, db: Path | None, warmup: float
) -> tuple[Summary, list[Sample]]:
    path, district, token = prepare(db)
    server = Server(path, WORK / "server.log")
    server.wait_healthy()
    process = psutil.Process(server.process.pid)
    samples: list[Sample] = []
    try:
        with chromium() as browser:
            page = new_page(browser, viewport=SCREEN_VIEWPORT)
            query = urlencode(
                {
                    "view": "screen",
                    "token": token,
                    "unit": district,
                    "interval": interval,
                    "theme": "dark",
                }
            )
            page.goto(f"{server.url}/?{query}")
            page.locator("[data-screen-slide]").first.wait_for(timeout=120_000)
            began = time.monotonic()
            while (elapsed := time.monotonic() - began) < minutes * 60:
                slide = (
                    page.locator("[data-slide-title]").first.get_attribute("data-slide-title") or ""
                )
                meta = page.locator("[data-period]").first.inner_text()
                samples.append(
                    Sample(round(elapsed, 1), process.memory_info().rss / MB, slide, meta)
                )
                print(f"{elapsed:7.0f}s  rss {samples[-1].rss_mb:7.1f} MB  {slide}", flush=True)
                page.wait_for_timeout(sample_every * 1000)
            errors = list(page.console.errors)
    finally:
        server.stop()
    if errors:
        print("browser console errors:", *errors, sep="\n  ", file=sys.stderr)
    warm = [s for s in samples if s.seconds >= warmup] or samples
    summary = Summary(
        minutes=round(samples[-1].seconds / 60, 2),
        interval=interval,
        samples=len(samples),
        start_mb=round(samples[0].rss_mb, 1),
        warm_mb=round(warm[0].rss_mb, 1),
        end_mb=round(samples[-1].rss_mb, 1),
        peak_mb=round(max(s.rss_mb for s in samples), 1),
        slope_mb_per_hour=round(slope_per_hour(warm), 1),
        slides_seen=len({s.slide for s in samples}),
        refreshes_seen=len({s.refreshed for s in samples}),
    )
    return summary, samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to watch")
    parser.add_argument("--interval", type=int, default=5, help="the screen's refresh interval (s)")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds before the slope is measured (default: a fifth of the run)",
    )
    parser.add_argument(
        "--db", type=Path, default=None, help="a database to copy (default: demo city)"
    )
    parser.add_argument(
        "--max-slope",
        type=float,
        default=DEFAULT_MAX_SLOPE,
        help="fail above this growth after warm-up, MB per hour",
    )
    parser.add_argument(
        "--out", type=Path, default=WORK / "soak.json", help="samples and summary (JSON)"
    )
    args = parser.parse_args(argv)
    warmup = args.minutes * 60 / 5 if args.warmup is None else args.warmup
    summary, samples = run(args.minutes, args.interval, args.sample, args.db, warmup)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": dt.datetime.now(dt.UTC).isoformat(),
                "summary": asdict(summary),
                "samples": [asdict(s) for s in samples],
            },
            ensure_ascii=False,
            indent=1,
        )
    )
    print(json.dumps(asdict(summary), indent=1))
    print(
        f"soak: {summary.minutes} min at a {summary.interval} s refresh — RSS start {summary.start_mb} MB, "
        f"after warm-up {summary.warm_mb} MB, end {summary.end_mb} MB, peak {summary.peak_mb} MB, "
        f"slope {summary.slope_mb_per_hour} MB/h"
    )
    return 0 if summary.slope_mb_per_hour <= args.max_slope else 1


if __name__ == "__main__":
    sys.exit(main())
