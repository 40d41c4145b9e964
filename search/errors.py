"""Archive errors with stable codes."""

from __future__ import annotations

from typing import Any

from officehub.errors import ApplicationError, ConflictError, InvalidInput, PermissionDeniedError


class ArchiveImmutable(ConflictError):
    """An archived record is never edited or deleted (DA/T 22, DA/T 70 integrity)."""

    default_code = "archive.immutable"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message or "档案已归档，不可修改或删除。", **kwargs)


class ArchiveNotAllowed(PermissionDeniedError):
    default_code = "archive.not_archivist"


class ArchiveInvalid(InvalidInput):
    default_code = "archive.invalid"


class ArchiveFileInvalid(InvalidInput):
    default_code = "archive.file_invalid"


class ArchiveClassifiedRefused(InvalidInput):
    default_code = "archive.classified_refused"


class DocumentNotArchivable(ConflictError):
    default_code = "archive.document_not_finished"


class AlreadyArchived(ConflictError):
    default_code = "archive.already_archived"


class SearchQueryInvalid(ApplicationError):
    default_code = "search.invalid_query"
