"""Renders bench/results/*.json as the tables of docs/performance.md (between its markers)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from bench.tiers import ROOT, TIERS

DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
PAGE_VIEWS = (
    ("overview/default", "Overview, opening view (whole registry)"),
    ("overview/district", "Overview, one district"),
    ("community/community", "Community, one community"),
    ("community/default", "Community, opening view (picker)"),
)
MEMORY_GOAL_MB = 1536
BEFORE = ROOT / "bench" / "results" / "before.json"


def load_results() -> dict[str, dict]:
    found = {}
    for name, tier in TIERS.items():
        if tier.results_file.exists():
            found[name] = json.loads(tier.results_file.read_text())
    return found


def _cell(
    results: dict[str, dict], name: str, value: Callable[[dict], float | None], style: str
) -> str:
    result = results.get(name)
    if result is None:
        return "—"
    try:
        number = value(result)
    except (KeyError, TypeError, ZeroDivisionError):
        return "—"
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return "—"
    if style == "ratio":
        return f"{number:.1f}×" if number >= 10 else f"{number:.2f}×"
    if style == "percent":
        return f"{100 * number:.1f} %"
    if style == "mb":
        return f"{number:,.0f} MB"
    if style == "seconds":
        return f"{number:.3f} s" if number < 10 else f"{number:.1f} s"
    return str(number)


def _verdict(number: float | None, goal: Callable[[float], bool]) -> str:
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return "not measured"
    return "met" if goal(number) else "**missed**"


def _page_ratio(
    results: dict[str, dict], view: str, tier: str = "province", key: str = "warm"
) -> float | None:
    try:
        high = results[tier]["steps"]["pages"]["views"][view][key]["median"]
        low = results["district"]["steps"]["pages"]["views"][view][key]["median"]
    except KeyError:
        return None
    return high / low


def goals_table(results: dict[str, dict]) -> list[str]:
    tiers = list(TIERS)
    rows = [
        (
            "1. Import (read, parse, validate, write values and revisions, commit) ÷ DuckDB `read_csv` of the same file",
            lambda r: r["ratios"]["import_vs_read_csv"],
            "ratio",
            "≤ 2×",
            lambda x: x <= 2,
        ),
        (
            "   the same, CPU seconds ÷ CPU seconds",
            lambda r: r["ratios"]["import_vs_read_csv_cpu"],
            "ratio",
            "",
            None,
        ),
        (
            "   the same ÷ DuckDB SQL writing the same long rows (no validation)",
            lambda r: r["ratios"]["import_vs_same_output_sql"],
            "ratio",
            "",
            None,
        ),
        (
            "2. Naive peer (pandas + pydantic per row + bulk insert) ÷ import",
            lambda r: r["ratios"]["peer_vs_import"],
            "ratio",
            "≥ 10×",
            lambda x: x >= 10,
        ),
        (
            "   the same, CPU seconds ÷ CPU seconds",
            lambda r: r["ratios"]["peer_vs_import_cpu"],
            "ratio",
            "",
            None,
        ),
        (
            "   the peer inserting row by row (`executemany`, extrapolated from 200 rows) ÷ import",
            lambda r: r["ratios"]["row_inserts_peer_vs_import"],
            "ratio",
            "",
            None,
        ),
        (
            "3. Full recompute (scores, levels, trends, roll-ups, escalations, jumps; 3 granularities) ÷ one `GROUP BY`",
            lambda r: r["ratios"]["recompute_vs_group_by"],
            "ratio",
            "≤ 3×",
            lambda x: x <= 3,
        ),
        (
            "   the same, CPU seconds ÷ CPU seconds",
            lambda r: r["ratios"]["recompute_vs_group_by_cpu"],
            "ratio",
            "",
            None,
        ),
        (
            "   the same ÷ DuckDB copying the tables the recompute writes",
            lambda r: r["ratios"]["recompute_vs_copy_outputs"],
            "ratio",
            "",
            None,
        ),
        (
            "4. Incremental recompute after one new month ÷ full recompute",
            lambda r: r["ratios"]["incremental_vs_full"],
            "percent",
            "≤ 5 %",
            lambda x: x <= 0.05,
        ),
        (
            "   the same, CPU seconds ÷ CPU seconds",
            lambda r: r["ratios"]["incremental_vs_full_cpu"],
            "percent",
            "",
            None,
        ),
    ]
    lines = [
        "| Goal | " + " | ".join(tiers) + " | Goal | Verdict (largest tier measured) |",
        "|---|" + "---|" * (len(tiers) + 2),
    ]
    measured = [t for t in tiers if t in results]
    for label, value, style, goal_text, goal in rows:
        cells = [_cell(results, tier, value, style) for tier in tiers]
        verdict = ""
        if goal is not None and measured:
            try:
                verdict = _verdict(value(results[measured[-1]]), goal)
            except KeyError:
                verdict = "not measured"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {goal_text} | {verdict} |")
    for view, label in PAGE_VIEWS:
        cells = [
            _cell(results, tier, lambda _r, v=view, t=tier: _page_ratio(results, v, t), "ratio")
            for tier in tiers
        ]
        lines.append(
            f"| 5. Warm rerun ÷ the same view at the district tier: {label} | "
            + " | ".join(cells)
            + " | ≤ 1.5× at province | "
            + _verdict(_page_ratio(results, view), lambda x: x <= 1.5)
            + " |"
        )
        cpu_cells = [
            _cell(
                results,
                tier,
                lambda _r, v=view, t=tier: _page_ratio(results, v, t, "warm_cpu"),
                "ratio",
            )
            for tier in tiers
        ]
        lines.append(
            "|    the same, CPU seconds ÷ CPU seconds | " + " | ".join(cpu_cells) + " |  |  |"
        )
    server = [
        _cell(results, tier, lambda r: r["steps"]["server"]["peak_rss_mb"], "mb") for tier in tiers
    ]
    peak = results.get("province", {}).get("steps", {}).get("server", {}).get("peak_rss_mb")
    lines.append(
        "| 6. Peak RSS of the dashboard process (real server, 3 sessions visiting pages) | "
        + " | ".join(server)
        + f" | < {MEMORY_GOAL_MB:,} MB at province | "
        + _verdict(peak, lambda x: x < MEMORY_GOAL_MB)
        + " |"
    )
    imports = [
        _cell(results, tier, lambda r: r["steps"]["import_full"]["peak_rss_mb"], "mb")
        for tier in tiers
    ]
    lines.append(
        "| 6. Peak RSS of the process importing the wide file (whole import incl. recompute) | "
        + " | ".join(imports)
        + " | (reported) | |"
    )
    load = results.get("city", {}).get("steps", {}).get("load")
    load_cells = [
        _cell(results, tier, lambda r: r["ratios"]["load_p95_vs_single"], "ratio") for tier in tiers
    ]
    load_ok = None
    if load:
        concurrent = load["concurrent"]
        load_ok = (
            concurrent.get("error_runs", 1) == 0
            and concurrent.get("runs", 0) > 0
            and results["city"]["ratios"]["load_p95_vs_single"] <= 3
        )
    lines.append(
        f"| 7. Load: p95 rerun with {load['sessions'] if load else 20} concurrent sessions ÷ "
        "p95 of one session; no errors | "
        + " | ".join(load_cells)
        + " | ≤ 3×, 0 errors at city | "
        + ("not measured" if load is None else "met" if load_ok else "**missed**")
        + " |"
    )
    return lines


def seconds_table(results: dict[str, dict]) -> list[str]:
    tiers = list(TIERS)
    rows = [
        (
            "communities × months, values in the wide file",
            lambda r: f"{r['communities']:,} × 60, {r['manifest']['wide_values']:,}",
            "text",
        ),
        (
            "wide file (rows, MB)",
            lambda r: (
                f"{r['manifest']['wide_rows']:,} rows, "
                f"{r['steps']['import']['file_bytes'] / 2**20:.1f} MB"
            ),
            "text",
        ),
        (
            "DuckDB `read_csv` into a table",
            lambda r: r["steps"]["floor"]["read_csv"]["min"],
            "seconds",
        ),
        (
            "DuckDB SQL: same long rows into current_values + revisions",
            lambda r: r["steps"]["floor"]["same_output_sql"]["min"],
            "seconds",
        ),
        ("import: total", lambda r: r["steps"]["import"]["total"]["min"], "seconds"),
        (
            "import: read, parse, validate",
            lambda r: r["steps"]["import"]["parse_validate"],
            "seconds",
        ),
        (
            "import: write values and revisions, commit",
            lambda r: r["steps"]["import"]["write_commit"],
            "seconds",
        ),
        (
            "naive peer (extrapolated where marked *)",
            lambda r: (
                f"{r['steps']['peer']['seconds']:.1f} s"
                + (" *" if r["steps"]["peer"]["extrapolated"] else "")
            ),
            "text",
        ),
        (
            "whole import incl. recompute (import_upload)",
            lambda r: r["steps"]["import_full"]["total"],
            "seconds",
        ),
        ("full recompute", lambda r: r["steps"]["recompute"]["full"]["min"], "seconds"),
        (
            "one `GROUP BY` over current_values",
            lambda r: r["steps"]["recompute"]["group_by"]["min"],
            "seconds",
        ),
        (
            "DuckDB copying the score tables",
            lambda r: r["steps"]["recompute"]["copy_outputs"]["min"],
            "seconds",
        ),
        (
            "incremental recompute, one new month",
            lambda r: r["steps"]["incremental"]["incremental"]["min"],
            "seconds",
        ),
        *[
            (
                f"warm rerun: {label}",
                lambda r, v=view: r["steps"]["pages"]["views"][v]["warm"]["median"],
                "seconds",
            )
            for view, label in PAGE_VIEWS
        ],
        (
            "load: p50 / p95 of one session",
            lambda r: (
                f"{r['steps']['load']['single']['p50']:.2f} / {r['steps']['load']['single']['p95']:.2f} s"
            ),
            "text",
        ),
        (
            "load: p50 / p95 with 20 sessions pausing 5–15 s (runs, errors)",
            lambda r: _load_cell(r["steps"]["load"]["concurrent"]),
            "text",
        ),
        (
            "load: p50 / p95 with 20 sessions pausing 1–3 s: saturated (runs, errors)",
            lambda r: _load_cell(r["steps"]["load"]["busy"]),
            "text",
        ),
    ]
    lines = ["| Measurement | " + " | ".join(tiers) + " |", "|---|" + "---|" * len(tiers)]
    for label, value, style in rows:
        lines.append(
            f"| {label} | " + " | ".join(_cell(results, t, value, style) for t in tiers) + " |"
        )
    return lines


def _load_cell(part: dict) -> str:
    return (
        f"{part['p50']:.2f} / {part['p95']:.2f} s ({part['runs']} runs, "
        f"{part['runs_per_second']:.2f}/s, {part['error_runs']} with errors)"
    )


def before_after_table() -> list[str]:
    """The engine before and after this work, measured back to back (bench/results/before.json)."""
    if not BEFORE.exists():
        return []
    measured = json.loads(BEFORE.read_text())
    rows = [
        ("import (read, parse, validate, write, commit)", "import", "total"),
        ("  of which read, parse, validate", "import", "parse_validate"),
        ("full recompute", "recompute", "full"),
        ("full recompute, CPU seconds", "recompute", "full_cpu"),
        ("incremental recompute, one new month", "incremental", "incremental"),
        ("incremental, CPU seconds", "incremental", "incremental_cpu"),
    ]
    tiers = [t for t in TIERS if t in measured["tiers"]]
    lines = [
        "| Seconds: before → after | " + " | ".join(tiers) + " |",
        "|---|" + "---|" * len(tiers),
    ]
    for label, step, key in rows:
        cells = []
        for tier in tiers:
            old = measured["tiers"][tier]["before"][step][key]
            new = measured["tiers"][tier]["after"][step][key]
            cells.append(f"{old:.2f} → {new:.2f} ({old / new:.1f}×)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    ratio = []
    for tier in tiers:
        pair = [measured["tiers"][tier][v]["incremental"] for v in ("before", "after")]
        ratio.append(" → ".join(f"{100 * p['incremental'] / p['full']:.0f} %" for p in pair))
    lines.append(
        "| incremental ÷ full recompute of the same database | " + " | ".join(ratio) + " |"
    )
    memory = []
    for tier in tiers:
        old, new = (
            measured["tiers"][tier][v]["recompute"]["peak_rss_mb"] for v in ("before", "after")
        )
        memory.append(f"{old:,.0f} → {new:,.0f} MB")
    lines.append(
        "| peak RSS of the process running the full recompute | " + " | ".join(memory) + " |"
    )
    return ["", *lines, "", f"_{measured['note']}_"]


def machine_lines(results: dict[str, dict]) -> list[str]:
    lines = []
    for name, result in results.items():
        info = result["machine"]
        packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
        load = ", ".join(f"{x:.1f}" for x in info["load_average"])
        lines.append(
            f"- **{name}** ({result['started']} → {result['finished']}, commit "
            f"`{result['commit']}`): {info['cpu']}, {info['cores']} cores, "
            f"{info['ram_gb']} GB RAM, Python {info['python']}, {packages}; load "
            f"average at the end {load} (the machine is shared)."
        )
    return lines


def render() -> None:
    """Rewrites the generated part of docs/performance.md from the result files."""
    results = load_results()
    body = [
        "",
        "### Goals",
        "",
        *goals_table(results),
        "",
        "### Seconds",
        "",
        *seconds_table(results),
        "",
        "### Before and after this work",
        *before_after_table(),
        "",
        "### Machine",
        "",
        *machine_lines(results),
        "",
    ]
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + START + "\n" + "\n".join(body) + "\n" + END + tail, encoding="utf-8")


if __name__ == "__main__":
    render()
