"""Messaging errors with stable codes (rendered as ``{code, message, extra}`` by the API
handler and as ``{"type": "error", ...}`` frames by the sockets, messaging/sockets.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from officehub.errors import (
    ApplicationError,
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDeniedError,
)

__all__ = [
    "AlreadyRecalled",
    "ApplicationError",
    "AttachmentRejected",
    "ConflictError",
    "InvalidInput",
    "InvalidTransition",
    "NotFound",
    "PermissionDeniedError",
    "RateLimited",
]


class RateLimited(ApplicationError):
    default_code = "message.rate_limited"

    def __init__(self, limit: int, retry_after: float) -> None:
        super().__init__(
            _("发送过于频繁：每分钟最多 %(limit)d 条，请 %(seconds)s 秒后再试。")
            % {"limit": limit, "seconds": f"{retry_after:.1f}".rstrip("0").rstrip(".")},
            extra={"limit_per_minute": limit, "retry_after": retry_after},
            status=429,
        )


class AttachmentRejected(InvalidInput):
    default_code = "attachment.rejected"


class AlreadyRecalled(InvalidTransition):
    """The recall table's refusal (``messaging.chat.services.MESSAGE_RECALL``) under the
    code clients have always seen, ``message.already_recalled``, rather than the table's
    generic ``message.invalid_transition``."""

    default_code = "message.already_recalled"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs["code"] = self.default_code
        super().__init__(message, **kwargs)
