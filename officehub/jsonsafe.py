"""JSON parsing that cannot be turned into a server error by its input.

Python's ``json`` module parses nested arrays and objects recursively: 2 KB of ``[`` is
enough to raise ``RecursionError`` (a 500 in a view, a dead socket in a consumer), and
whatever the parser survives, the code after it (serializers, audit canonical JSON, the
renderer) must survive too. Every JSON document that comes from a client is therefore
measured before it is parsed and refused past ``MAX_DEPTH`` levels.

PostgreSQL refuses U+0000 in ``text`` and ``jsonb``: a NUL smuggled in as ``\\u0000`` would
reach the database as a ``DataError``. It is refused here too, for every key and value.

Both refusals are ``ValueError`` subclasses, so code that already catches the parser's
``json.JSONDecodeError`` (a ``ValueError``) handles them unchanged.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# Our payloads nest a handful of levels; 64 leaves room and stays far below the
# interpreter's recursion limit for everything that walks the result.
MAX_DEPTH = 64

# A JSON string literal (escapes included), written so the regex engine never backtracks.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = str.maketrans({"[": "\x01", "{": "\x01", "]": "\x00", "}": "\x00"})


class JSONTooDeep(ValueError):
    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


class JSONNulCharacter(ValueError):
    def __init__(self) -> None:
        super().__init__("JSON string contains U+0000")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, ignoring string contents.

    Linear and without recursion; on malformed input the figure may be off, but then the
    parser refuses the text anyway.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    steps = (1 if ch == "\x01" else -1 for ch in brackets.translate(_DEPTH_STEP))
    return max(accumulate(steps))


def _has_nul(value: Any) -> bool:
    # Recursion is safe: the depth was bounded before parsing.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` that refuses documents nested deeper than ``max_depth`` and NUL characters.

    Raises ``json.JSONDecodeError``, ``JSONTooDeep`` or ``JSONNulCharacter`` (all ``ValueError``).
    """
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    if nesting_depth(text) > max_depth:
        raise JSONTooDeep(max_depth)
    value = json.loads(text, **kwargs)
    # A raw NUL byte is already a decode error (control character); only "\u0000" gets here.
    if "\\u0000" in text and _has_nul(value):
        raise JSONNulCharacter
    return value
