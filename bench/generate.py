"""Writes a tier's upload files: the org registry, 60 months as one wide CSV, and the next month.

The files are what staff would upload: the template's Chinese headers
(templates.template_headers), 12-digit codes, UTF-8 with a BOM (Excel's "CSV UTF-8"), an
empty cell where a value is missing. The numbers come from indicators.demo.build_city with a
fixed seed, so every run of every machine writes the same bytes (the manifest records their
SHA-256).
"""

from __future__ import annotations

import argparse
import codecs
import hashlib
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench.tiers import LAST_MONTH, MONTHS, SEED, TIERS, Tier
from indicators.catalog import Catalog, load_catalog
from indicators.demo import build_city
from indicators.templates import template_headers, template_indicators

REGISTRY_HEADERS = ["代码", "名称", "常住人口"]
GENERATOR_VERSION = 1  # bump when the bytes written change


def ensure_files(tier: Tier, catalog: Catalog | None = None) -> dict:
    """Generates the tier's files unless the manifest says they are already there; the manifest."""
    wanted = _parameters(tier)
    if tier.manifest_file.exists():
        manifest = json.loads(tier.manifest_file.read_text())
        files_there = all((tier.folder / name).exists() for name in manifest.get("files", {}))
        if manifest.get("parameters") == wanted and files_there:
            return manifest
    return generate(tier, catalog or load_catalog())


def generate(tier: Tier, catalog: Catalog) -> dict:
    """Builds the synthetic area and writes its three files; returns the manifest."""
    start = time.perf_counter()
    tier.folder.mkdir(parents=True, exist_ok=True)
    city = build_city(
        catalog,
        tier.districts,
        (tier.streets_per_district, tier.streets_per_district),
        (tier.communities_per_street, tier.communities_per_street),
        MONTHS + 1,
        LAST_MONTH,
        SEED,
    )
    registry = city.registry
    _write_registry(registry, tier.registry_file)
    wide = _wide_rows(city.values, registry, catalog)
    new_month = wide["统计期"] == LAST_MONTH
    _write_csv(wide[~new_month], tier.wide_file)
    _write_csv(wide[new_month], tier.new_month_file)
    files = {
        path.name: {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in (tier.registry_file, tier.wide_file, tier.new_month_file)
    }
    manifest = {
        "parameters": _parameters(tier),
        "communities": int((registry["level"] == "community").sum()),
        "wide_rows": int((~new_month).sum()),
        "wide_values": int(wide.loc[~new_month].iloc[:, 3:].notna().to_numpy().sum()),
        "new_month_rows": int(new_month.sum()),
        "first_month": city.first_month,
        "files": files,
        "generated_seconds": round(time.perf_counter() - start, 2),
    }
    tier.manifest_file.write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def _parameters(tier: Tier) -> dict:
    return {
        "tier": tier.name,
        "districts": tier.districts,
        "streets_per_district": tier.streets_per_district,
        "communities_per_street": tier.communities_per_street,
        "months": MONTHS,
        "last_month": LAST_MONTH,
        "seed": SEED,
        "generator_version": GENERATOR_VERSION,
    }


def _write_registry(registry: pd.DataFrame, path: Path) -> None:
    frame = registry[["code", "name", "population"]].set_axis(REGISTRY_HEADERS, axis=1)
    path.write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))


def _wide_rows(values: pd.DataFrame, registry: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """One row per community and month with any value, sorted by code and month."""
    indicator_ids = [indicator.id for indicator in template_indicators(catalog)]
    headers = template_headers(catalog)
    indicator_position = pd.Index(indicator_ids).get_indexer(values["indicator"])
    values = values[indicator_position >= 0]
    indicator_position = indicator_position[indicator_position >= 0]
    code_ids, codes = pd.factorize(values["community_code"], sort=True)
    period_ids, periods = pd.factorize(values["period"], sort=True)
    cell = code_ids.astype("int64") * len(periods) + period_ids
    row_ids, row_cells = pd.factorize(cell, sort=True)
    matrix = np.full((len(row_cells), len(indicator_ids)), np.nan)
    matrix[row_ids, indicator_position] = values["value"].to_numpy(dtype="float64")
    names = registry.set_index("code")["name"]
    row_codes = pd.Series(codes.take(row_cells // len(periods)), dtype="str")
    frame = pd.DataFrame(
        {
            headers[0]: row_codes,
            headers[1]: names.reindex(row_codes).to_numpy(),
            headers[2]: pd.Series(periods.take(row_cells % len(periods)), dtype="str"),
        }
    )
    for position, header in enumerate(headers[3:]):
        frame[header] = matrix[:, position]
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Comma-separated with a header line, UTF-8 with a BOM, empty cells for missing values."""
    scratch = path.with_suffix(".tmp")
    con = duckdb.connect()
    try:
        con.register("wide_rows", frame.reset_index(drop=True))
        con.execute(f"COPY wide_rows TO '{scratch}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    with path.open("wb") as out, scratch.open("rb") as body:
        out.write(codecs.BOM_UTF8)
        while chunk := body.read(1 << 24):
            out.write(chunk)
    scratch.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tiers", nargs="*", default=["district"], choices=list(TIERS))
    args = parser.parse_args()
    for name in args.tiers:
        print(json.dumps(ensure_files(TIERS[name]), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
