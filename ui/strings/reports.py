"""UI strings for reports, bulletins and data exports, in Chinese and English."""

STRINGS: dict[str, dict[str, str]] = {
}
