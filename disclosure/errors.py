"""政务公开 errors with stable codes."""

from __future__ import annotations

from officehub.errors import ApplicationError, InvalidInput, InvalidTransition, PermissionDeniedError


class DisclosureInvalidInput(InvalidInput):
    default_code = "disclosure.invalid"


class DisclosureNotAllowed(PermissionDeniedError):
    """Signed in, may see it, but not the one to act (e.g. a handler trying to 登记)."""

    default_code = "disclosure.not_allowed"


class DisclosureInvalidTransition(InvalidTransition):
    default_code = "disclosure.invalid_transition"


class RateLimited(ApplicationError):
    """Too many requests from one address (token bucket, officehub/ratelimit.py)."""

    default_code = "throttled"
    default_status = 429
