"""Typed, fail-loud readers for OFFICEHUB_* environment variables.

Every setting comes from the environment with one prefix. A value that is present but
malformed stops the process at start-up with the variable's name in the message, instead
of being silently replaced by a default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path

PREFIX = "OFFICEHUB_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ImproperlyConfiguredEnv(Exception):
    """Raised for a missing or malformed environment variable."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    env = os.environ if environ is None else environ
    value = env.get(PREFIX + name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None) -> str | None:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(
        f"{PREFIX}{name}={value!r} is not a boolean (use one of: {', '.join(sorted(_TRUE | _FALSE))})"
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{PREFIX}{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{PREFIX}{name}={number} is below the minimum {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{PREFIX}{name}={number} is above the maximum {maximum}")
    return number


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfiguredEnv(f"{PREFIX}{name}={value!r} has an empty item")
    return items


def env_secret(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    """Read a secret from NAME_FILE (preferred, e.g. a mounted secret) or NAME.

    Setting both is an error: it is ambiguous which one the operator meant.
    """
    file_value = _raw(name + "_FILE", environ)
    direct = _raw(name, environ)
    if file_value is not None and direct is not None:
        raise ImproperlyConfiguredEnv(f"set only one of {PREFIX}{name} and {PREFIX}{name}_FILE")
    if file_value is not None:
        path = Path(file_value)
        try:
            content = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfiguredEnv(
                f"{PREFIX}{name}_FILE points to an unreadable file: {path} ({exc.strerror})"
            ) from None
        if not content:
            raise ImproperlyConfiguredEnv(f"{PREFIX}{name}_FILE points to an empty file: {path}")
        return content
    return direct


def env_url(
    name: str,
    default: str | None,
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str | None:
    value = _raw(name, environ)
    if value is None:
        return default
    scheme, sep, rest = value.partition("://")
    if not sep or not rest or scheme not in schemes:
        raise ImproperlyConfiguredEnv(
            f"{PREFIX}{name}={value!r} is not a URL with scheme {' or '.join(schemes)}"
        )
    return value


def env_dates(name: str, *, environ: Mapping[str, str] | None = None) -> list[date]:
    """Comma-separated ISO dates (``2026-10-01,2026-10-02``); unset is an empty list."""
    dates = []
    for item in env_list(name, [], environ=environ):
        try:
            dates.append(date.fromisoformat(item))
        except ValueError:
            raise ImproperlyConfiguredEnv(f"{PREFIX}{name}: {item!r} is not a date (YYYY-MM-DD)") from None
    return sorted(set(dates))


def env_rate(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """A token-bucket rate as ``officehub.ratelimit.parse_rate`` reads it: ``"5/hour"`` or
    ``"120/min burst 60"``."""
    value = env_str(name, default, environ=environ) or default
    if not _RATE_RE.match(value):
        raise ImproperlyConfiguredEnv(f"{PREFIX}{name}={value!r} is not a rate such as 120/min or 5/hour burst 3")
    return value


_RATE_RE = re.compile(r"^[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)( burst [1-9][0-9]*)?$")
