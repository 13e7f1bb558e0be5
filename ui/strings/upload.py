"""UI strings for the upload page and batch history, in Chinese and English."""

STRINGS: dict[str, dict[str, str]] = {
}
