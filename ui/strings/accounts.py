"""UI strings for login, accounts, roles and the audit log, in Chinese and English."""

STRINGS: dict[str, dict[str, str]] = {
}
