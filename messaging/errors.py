"""Messaging errors with stable codes (rendered as ``{code, message, extra}`` by the API
handler and as ``{"type": "error", ...}`` frames by the socket)."""

from __future__ import annotations

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
    default_status = 429

    def __init__(self, limit: int, retry_after: float) -> None:
        super().__init__(
            _("发送过于频繁：每分钟最多 %(limit)d 条，请 %(seconds)s 秒后再试。")
            % {"limit": limit, "seconds": f"{retry_after:.1f}".rstrip("0").rstrip(".")},
            extra={"limit_per_minute": limit, "retry_after": retry_after},
        )


class AttachmentRejected(InvalidInput):
    default_code = "attachment.rejected"
