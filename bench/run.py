"""Runs every measurement of the chosen tiers, writes bench/results/<tier>.json and the docs table.

    python -m bench.run --tiers district,city,province

Each step runs in its own process (bench.steps), one after the other, so that measurements do
not compete with each other and each peak memory is the step's own. The goals are ratios
against a floor or a peer measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil

from bench.tiers import ROOT, TIERS, Tier

PACKAGES = ("duckdb", "pandas", "numpy", "pyarrow", "streamlit", "pydantic", "plotly")


@dataclass(frozen=True)
class Settings:
    """How many times each step repeats at a tier (the minimum of the repeats is reported)."""

    repeat: int
    peer_sample_rows: int | None  # None: the whole file
    incremental_repeat: int  # each repeat also recomputes the whole database once


SETTINGS = {
    "district": Settings(repeat=5, peer_sample_rows=None, incremental_repeat=5),
    "city": Settings(repeat=3, peer_sample_rows=None, incremental_repeat=3),
    "province": Settings(repeat=1, peer_sample_rows=200_000, incremental_repeat=2),
}
# Warm reruns of each page view at each tier, interleaved across the tiers of the run.
PAGE_RERUNS = 10
LOAD_SESSIONS = 20
LOAD_SECONDS = 180.0


def run_step(step: str, target: Tier | str, *options: str) -> dict:
    """Runs one step for a tier (or comma-separated tiers) in its own process; its JSON result
    (the last line it prints)."""
    name = target.name if isinstance(target, Tier) else target
    command = [sys.executable, "-m", "bench.steps", step, name, *options]
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {step} {' '.join(options)}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        print(f"step {step} at {name} failed ({completed.returncode})", flush=True)
        return {"failed": completed.returncode, "stderr": completed.stderr[-2000:]}
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["step_seconds"] = time.perf_counter() - started
    return result


def machine() -> dict:
    """What the numbers were measured on."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text(encoding="utf-8").splitlines() if cpuinfo.exists() else []
    model = next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": {name: metadata.version(name) for name in PACKAGES},
        "load_average": list(os.getloadavg()),
    }


def ratios(measured: dict) -> dict:
    """The goals of issue 9 that one tier's steps decide (pages: see bench.report)."""
    steps = {name: result for name, result in measured.items() if "failed" not in result}
    found: dict = {}
    if "import" in steps and "floor" in steps:
        found["import_vs_read_csv"] = (
            steps["import"]["total"]["min"] / steps["floor"]["read_csv"]["min"]
        )
        found["import_vs_read_csv_cpu"] = (
            steps["import"]["cpu"]["min"] / steps["floor"]["read_csv_cpu"]["min"]
        )
        found["import_vs_same_output_sql"] = (
            steps["import"]["total"]["min"] / steps["floor"]["same_output_sql"]["min"]
        )
    if "import" in steps and "peer" in steps:
        found["peer_vs_import"] = steps["peer"]["seconds"] / steps["import"]["total"]["min"]
        found["row_inserts_peer_vs_import"] = (
            steps["peer"]["row_inserts"]["seconds"] / steps["import"]["total"]["min"]
        )
        found["peer_vs_import_cpu"] = steps["peer"]["cpu"] / steps["import"]["cpu"]["min"]
    if "recompute" in steps:
        recompute = steps["recompute"]
        found["recompute_vs_group_by"] = recompute["full"]["min"] / recompute["group_by"]["min"]
        found["recompute_vs_group_by_cpu"] = (
            recompute["full_cpu"]["min"] / recompute["group_by_cpu"]["min"]
        )
        found["recompute_vs_copy_outputs"] = (
            recompute["full"]["min"] / recompute["copy_outputs"]["min"]
        )
    if "incremental" in steps:  # both recomputes of the same database, in the same step
        incremental = steps["incremental"]
        found["incremental_vs_full"] = (
            incremental["incremental"]["min"] / incremental["full"]["min"]
        )
        found["incremental_vs_full_cpu"] = (
            incremental["incremental_cpu"]["min"] / incremental["full_cpu"]["min"]
        )
    if "load" in steps and steps["load"]["single"].get("runs"):
        found["load_p95_vs_single"] = (
            steps["load"]["concurrent"]["p95"] / steps["load"]["single"]["p95"]
        )
    return found


def run_tier(tier: Tier, with_load: bool, load_seconds: float) -> dict:
    settings = SETTINGS[tier.name]
    started = dt.datetime.now(dt.UTC)
    print(f"[{time.strftime('%H:%M:%S')}] {tier.name}: generating files", flush=True)
    subprocess.run(
        [sys.executable, "-m", "bench.generate", tier.name],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    manifest = json.loads(tier.manifest_file.read_text())
    for leftover in ("registry",):
        tier.database(leftover).unlink(missing_ok=True)
    repeat = ("--repeat", str(settings.repeat))
    steps: dict[str, dict] = {}
    steps["floor"] = run_step("floor", tier, *repeat)
    steps["import"] = run_step("import", tier, *repeat)
    peer_options = (
        ("--sample-rows", str(settings.peer_sample_rows)) if settings.peer_sample_rows else ()
    )
    steps["peer"] = run_step("peer", tier, *peer_options)
    steps["recompute"] = run_step("recompute", tier, *repeat)
    steps["incremental"] = run_step(
        "incremental", tier, "--repeat", str(settings.incremental_repeat)
    )
    steps["import_full"] = run_step("import_full", tier)
    steps["server"] = run_step("server", tier)
    if with_load:
        steps["load"] = run_step(
            "load", tier, "--sessions", str(LOAD_SESSIONS), "--seconds", str(load_seconds)
        )
    return {
        "tier": tier.name,
        "communities": tier.communities,
        "manifest": manifest,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "steps": steps,
        "ratios": ratios(steps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tiers",
        default="district,city,province",
        help="comma-separated tiers (default: all three)",
    )
    parser.add_argument(
        "--load-tiers", default="city", help="tiers that also run the load test (default: city)"
    )
    parser.add_argument("--load-seconds", type=float, default=LOAD_SECONDS)
    parser.add_argument(
        "--no-report", action="store_true", help="do not rewrite docs/performance.md"
    )
    args = parser.parse_args()
    names = [name.strip() for name in args.tiers.split(",") if name.strip()]
    unknown = [name for name in names if name not in TIERS]
    if unknown:
        parser.error(f"unknown tier(s): {', '.join(unknown)}; choose from {', '.join(TIERS)}")
    load_tiers = {name.strip() for name in args.load_tiers.split(",")}
    results = {name: run_tier(TIERS[name], name in load_tiers, args.load_seconds) for name in names}
    pages = run_step("pages", ",".join(names), "--reruns", str(PAGE_RERUNS))
    for name, result in results.items():
        result["steps"]["pages"] = (
            {"failed": pages["failed"]}
            if "failed" in pages
            else {
                **pages["tiers"][name],
                "interleaved": pages["interleaved"],
                "peak_rss_mb": pages["peak_rss_mb"],
            }
        )
        result["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        TIERS[name].results_file.parent.mkdir(parents=True, exist_ok=True)
        TIERS[name].results_file.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        print(name, json.dumps(result["ratios"], indent=2), flush=True)
    if not args.no_report:
        from bench.report import render

        render()


if __name__ == "__main__":
    main()
