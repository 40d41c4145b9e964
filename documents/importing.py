"""Take title and body from an uploaded DOCX (an untrusted zip; see docx_import)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from documents.docx_import import DocxImportError, ImportedDocx, import_docx
from documents.errors import DocumentInvalidInput


def import_upload(upload: Any) -> ImportedDocx:
    """Read an uploaded file (at most DOCX_IMPORT_MAX_BYTES) and extract title and body.

    Raises ``DocumentInvalidInput`` carrying the importer's stable code (docx.not_docx,
    docx.corrupt, docx.too_large, docx.too_many_entries, docx.suspicious_compression,
    docx.empty).
    """
    limit = settings.DOCX_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise DocumentInvalidInput(
            f"文件过大（上限 {limit // (1024 * 1024) or 1} MB）。", code="docx.too_large", extra={"field": "file"}
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise DocumentInvalidInput("文件过大。", code="docx.too_large", extra={"field": "file"})
    try:
        return import_docx(data)
    except DocxImportError as exc:
        raise DocumentInvalidInput(exc.message, code=exc.code, extra={"field": "file", **exc.extra}) from exc
