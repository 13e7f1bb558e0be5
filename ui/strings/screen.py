"""UI strings for the wall screen, embedding and device tokens, in Chinese and English."""

STRINGS: dict[str, dict[str, str]] = {
}
