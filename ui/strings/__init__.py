"""Per-feature UI string tables, merged into ui.i18n.STRINGS."""

from ui.strings import accounts, reports, screen, upload

FEATURE_TABLES: tuple[dict[str, dict[str, str]], ...] = (
    upload.STRINGS,
    screen.STRINGS,
    accounts.STRINGS,
    reports.STRINGS,
)
