"""Strict parsing of hand-read request values (page forms, query strings).

``str.isdigit`` accepts "²" and "١", which ``int`` then refuses or reads as a digit, and a
string of thousands of digits makes ``int`` raise; neither may become a 500. Ids are
PostgreSQL bigints, so anything larger cannot name a row.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(raw: str) -> int | None:
    """The non-negative integer spelled by ``raw`` in ASCII digits (surrounding spaces
    allowed) that fits a bigint, else None."""
    raw = raw.strip()
    if not raw or len(raw) > _MAX_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def has_nul(*values: str) -> bool:
    """PostgreSQL text cannot hold NUL (0x00): such input must be refused, not stored."""
    return any("\x00" in value for value in values)
