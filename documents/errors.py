"""Domain errors of the document flow, each with a stable code (see officehub/errors.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from officehub.errors import (
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDeniedError,
)


class DocumentInvalidTransition(InvalidTransition):
    """The document is not at a step where this action is allowed (HTTP 409)."""

    default_code = "document.invalid_transition"

    def __init__(
        self, message: str, *, status: str | None = None, action: str | None = None, **kwargs: Any
    ) -> None:
        # ``officehub.transitions.Transitions`` passes ``extra={"status", "action"}``; a
        # guard outside the table passes ``status=`` and ``action=`` instead.
        extra = dict(kwargs.pop("extra", None) or {})
        if status is not None:
            extra["status"] = status
        if action is not None:
            extra["action"] = action
        extra.setdefault("status", "")
        extra.setdefault("action", "")
        super().__init__(message, extra=extra, **kwargs)


class DocumentNotHolder(PermissionDeniedError):
    """The user may see the document but is not assigned to its current step (HTTP 403)."""

    default_code = "document.not_assigned"


class DocumentInvalidInput(InvalidInput):
    default_code = "document.invalid"


class ClassifiedRefused(InvalidInput):
    """条例 第三条: classified material may only travel on an approved secret network."""

    default_code = "document.classified_refused"


class UnknownRecipient(InvalidInput):
    default_code = "document.unknown_recipient"


class SealingFailed(ConflictError):
    """Approval could not produce a sealed, signed DOCX: nothing changes (HTTP 409).

    Sealing fails closed: the 用印申请 stays pending and the document stays at 用印.
    """

    default_code = "document.seal_failed"


class SealingConflict(ConflictError):
    """联合发文: the requests changed while the joint copy was being made; try again (409)."""

    default_code = "document.seal_conflict"

    def __init__(self) -> None:
        super().__init__(str(_("用印申请已变更，请重试。")))


class DocumentNotSealed(NotFound):
    """Asked for the sealed copy of a document that has none (yet)."""

    def __init__(self) -> None:
        super().__init__(str(_("该公文尚未用印，没有签章版式文件。")), code="document.not_sealed")


class AttachmentCorrupt(ConflictError):
    """A stored attachment's bytes no longer match the digest taken at upload: it is
    never handed out as the attachment (HTTP 409)."""

    default_code = "document.attachment_corrupt"

    def __init__(self) -> None:
        super().__init__(str(_("附件文件校验失败（SHA-256 摘要不符），请联系管理员。")))


class TooManyAttachments(InvalidInput):
    default_code = "document.too_many_attachments"
