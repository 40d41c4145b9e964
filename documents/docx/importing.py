"""Import the text of an uploaded DOCX (an untrusted zip) as a draft's title and body.

The upload is read with a bound (``officehub.uploads.read_upload``) and the zip passes the
platform's one Office-file check (``officehub.uploads.check_office_zip``: entry count,
inflated size, compression ratio, no absolute or ``..`` names, no encryption) before
python-docx opens it. Python's ``zipfile`` never inflates an entry past its declared size
(it stops and the CRC check fails), so the declared sizes checked there bound the memory
python-docx can use; python-docx parses XML with ``resolve_entities=False``, so entity
expansion and external entities are not a concern.

The API has always answered these refusals with ``docx.*`` codes, and clients rely on
them, so the shared ``file.*`` codes are mapped back (``_CODES``).

Title and body (kept simple on purpose):
- title: the first non-empty paragraph styled "Title" (Word's built-in 标题, which is also
  what ``documents/docx/render.py`` uses), otherwise the first non-empty paragraph, on
  one line (its line breaks are the layout's 回行, not the title's);
- body: the non-empty paragraphs after the title, stripped, joined by "\\n". Whatever came
  before the title (a red header, 份号, 发文字号) is dropped; a 主送 line, 署名, 成文日期
  and 版记 stay in the body for the drafter to edit. Paragraphs in tables are included in
  reading order; headers, footers, footnotes and text boxes are not.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from docx import Document as _open_document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from documents.errors import DocumentInvalidInput
from officehub import uploads

__all__ = ["DocxImportError", "ImportedDocx", "import_docx", "import_upload"]

# officehub.uploads' codes -> the codes this import has always answered with.
_CODES: Final = {
    "file.wrong_type": "docx.not_docx",
    "file.legacy_or_encrypted": "docx.not_docx",
    "file.corrupt": "docx.corrupt",
    "file.too_many_entries": "docx.too_many_entries",
    "file.too_large_uncompressed": "docx.too_large",
    "file.suspicious_compression": "docx.suspicious_compression",
}


class DocxImportError(DocumentInvalidInput):
    """An uploaded file was refused (400): ``docx.not_docx``, ``docx.corrupt``,
    ``docx.too_many_entries``, ``docx.too_large``, ``docx.suspicious_compression`` or
    ``docx.empty``, with ``extra["field"] == "file"``."""

    default_code = "docx.corrupt"

    def __init__(self, message: str, *, code: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, extra={"field": "file", **(extra or {})})


@dataclass(frozen=True)
class ImportedDocx:
    title: str
    body: str


def import_upload(upload: UploadedFile) -> ImportedDocx:
    """Read an uploaded file (at most ``DOCX_IMPORT_MAX_BYTES``, else ``docx.too_large``
    with status 413) and extract title and body (``import_docx``)."""
    data = uploads.read_upload(upload, limit=settings.DOCX_IMPORT_MAX_BYTES, code="docx.too_large")
    return import_docx(data)


def import_docx(
    data: bytes,
    *,
    max_uncompressed: int = uploads.MAX_UNCOMPRESSED,
    max_entries: int = uploads.MAX_ENTRIES,
    max_ratio: float = uploads.MAX_RATIO,
) -> ImportedDocx:
    """The title and body text of the DOCX ``data`` (the limits are the platform's; tests
    may lower them). Raises ``DocxImportError``."""
    try:
        uploads.check_office_zip(
            data, kind="docx", max_uncompressed=max_uncompressed, max_entries=max_entries, max_ratio=max_ratio
        )
    except uploads.UnsafeFile as exc:
        raise DocxImportError(exc.message, code=_CODES.get(exc.code, "docx.corrupt"), extra=exc.extra) from None
    try:
        document = _open_document(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - untrusted input: any parser failure is a corrupt file
        raise DocxImportError("文件已损坏，无法读取其中的内容。", code="docx.corrupt") from None

    paragraphs = [(text, p) for p in _paragraphs(document) if (text := _clean(p.text))]
    if not paragraphs:
        raise DocxImportError("文档中没有文字内容。", code="docx.empty")
    title_index = next((i for i, (_, p) in enumerate(paragraphs) if _style_name(p) == "Title"), 0)
    body = "\n".join(text for text, _ in paragraphs[title_index + 1 :])
    # A title's line breaks (7.3.1 回行) are layout: the renderer breaks it again.
    title = "".join(line.strip() for line in paragraphs[title_index][0].splitlines())
    return ImportedDocx(title=title, body=body)


_SKIPPED_CONTAINERS = frozenset(
    {
        qn("w:txbxContent"),
        "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",
    }
)


def _paragraphs(document: DocxDocument) -> Iterator[Paragraph]:
    """Body paragraphs in reading order, including those inside tables and content
    controls, excluding text boxes (whose VML fallback would repeat them)."""
    body = document.element.body
    for p in body.iter(qn("w:p")):
        if any(ancestor.tag in _SKIPPED_CONTAINERS for ancestor in p.iterancestors()):
            continue
        yield Paragraph(p, document._body)


def _style_name(p: Paragraph) -> str | None:
    try:
        return p.style.name if p.style is not None else None
    except (KeyError, ValueError):
        return None


def _clean(text: str) -> str:
    return text.replace("\u00a0", " ").strip()
