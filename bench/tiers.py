"""The three benchmark tiers and where their generated files live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = ROOT / "tmp" / "bench"
RESULTS_ROOT = ROOT / "bench" / "results"

SEED = 20_260_901
MONTHS = 60  # in the wide file; one more month follows as the "new month" upload
LAST_MONTH = "2026-01"  # the new month; the wide file ends the month before


@dataclass(frozen=True)
class Tier:
    """A synthetic area: districts × streets per district × communities per street."""

    name: str
    districts: int
    streets_per_district: int
    communities_per_street: int

    @property
    def communities(self) -> int:
        return self.districts * self.streets_per_district * self.communities_per_street

    @property
    def folder(self) -> Path:
        return DATA_ROOT / self.name

    @property
    def registry_file(self) -> Path:
        return self.folder / "registry.csv"

    @property
    def wide_file(self) -> Path:
        return self.folder / f"wide_{MONTHS}_months.csv"

    @property
    def new_month_file(self) -> Path:
        return self.folder / "new_month.csv"

    @property
    def manifest_file(self) -> Path:
        return self.folder / "manifest.json"

    def database(self, purpose: str) -> Path:
        return self.folder / f"{purpose}.duckdb"

    @property
    def results_file(self) -> Path:
        return RESULTS_ROOT / f"{self.name}.json"


TIERS: dict[str, Tier] = {
    tier.name: tier
    for tier in (
        Tier("district", 1, 12, 25),  # 300 communities
        Tier("city", 8, 10, 25),  # 2,000
        Tier("province", 80, 10, 25),  # 20,000
    )
}
