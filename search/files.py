"""Archived files: type detection, text extraction, page counts, the 归档章.

A DOCX is an untrusted zip: before python-docx opens one it passes the platform's one
set of checks (``officehub.uploads.check_office_zip``: entry count, uncompressed size,
compression ratio, DESIGN.md §5), so a zip bomb is refused cheaply. Archive callers keep
their own code, ``archive.file_invalid``, with the precise ``file.*`` reason in ``extra``.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from docx import Document as open_docx
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from officehub import uploads
from search.errors import ArchiveFileInvalid

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
# GB/T 9704-2012 5.2.2: 22 lines of 28 characters per page.
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28


@dataclass(frozen=True)
class StampFields:
    """The 归档章 (DA/T 22-2015 7.1): 全宗号, 年度, 件号 / 机构(问题), 保管期限, 页数."""

    fonds_code: str
    year: int
    item_number: int
    unit_code: str
    retention_label: str
    page_count: int

    def rows(self) -> list[list[str]]:
        return [
            [self.fonds_code, str(self.year), str(self.item_number)],
            [self.unit_code, self.retention_label, str(self.page_count)],
        ]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def detect_type(data: bytes, file_name: str) -> str:
    lower = file_name.lower()
    if data[:4] == b"PK\x03\x04" and lower.endswith(".docx"):
        return DOCX_TYPE
    if data[:5] == b"%PDF-" and lower.endswith(".pdf"):
        return PDF_TYPE
    raise ArchiveFileInvalid("仅支持 DOCX 或 PDF 格式的归档文件。", extra={"file_name": file_name})


@contextmanager
def _as_archive_error() -> Iterator[None]:
    """A refused file as ``archive.file_invalid``, naming the shared check's reason."""
    try:
        yield
    except uploads.UnsafeFile as exc:
        raise ArchiveFileInvalid(exc.message, extra={"reason": exc.code, **exc.extra}) from None


def open_checked_docx(data: bytes) -> DocxDocument:
    with _as_archive_error():
        uploads.check_office_zip(data, kind="docx")
    try:
        return open_docx(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises assorted errors on malformed parts
        raise ArchiveFileInvalid(
            "DOCX 文件无法解析。", extra={"reason": "file.corrupt", "detail": type(exc).__name__}
        ) from None


def docx_text(data: bytes) -> str:
    """Paragraph and table text, one paragraph a line (legacy uploads: the documents
    renderer is not the source)."""
    with _as_archive_error():
        return uploads.docx_text(data)


def docx_page_count(data: bytes, text: str) -> int:
    """``docProps/app.xml`` <Pages> when a word processor wrote it, else the GB/T 9704 grid."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if "docProps/app.xml" in archive.namelist():
            match = re.search(rb"<Pages>(\d+)</Pages>", archive.read("docProps/app.xml"))
            if match and int(match.group(1)) > 0:
                return int(match.group(1))
    # Version head, title and 版记 take about ten lines.
    lines = 10 + sum(max(1, math.ceil(len(p) / CHARS_PER_LINE)) for p in text.splitlines())
    return max(1, math.ceil(lines / LINES_PER_PAGE))


def pdf_page_count(data: bytes) -> int:
    if b"%%EOF" not in data[-2048:]:
        raise ArchiveFileInvalid("PDF 文件不完整。")
    return max(1, len(re.findall(rb"/Type\s*/Page(?![s\w])", data)))


def check_opens(data: bytes, content_type: str) -> None:
    """Raise ArchiveFileInvalid when the stored file does not open (check_archives)."""
    if content_type == DOCX_TYPE:
        open_checked_docx(data)
    elif content_type == PDF_TYPE:
        if data[:5] != b"%PDF-":
            raise ArchiveFileInvalid("PDF 文件头无效。")
        pdf_page_count(data)
    else:
        raise ArchiveFileInvalid("未知的文件类型。")


def _cell_borders(cell: Any, color: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "single")
        edge.set(qn("w:sz"), "8")
        edge.set(qn("w:color"), color)
        borders.append(edge)
    tc_pr.append(borders)


def stamp_docx(data: bytes, fields: StampFields) -> bytes:
    """Return a copy of the DOCX with the 归档章 at the top right of the first page.

    DA/T 22-2015 7.1 and 附录: a 2×3 box of 15 mm × 7 mm cells, red, in the blank space at
    the top of the first page; the cells hold the values (their positions name them).
    """
    doc = open_checked_docx(data)
    table = doc.add_table(rows=2, cols=3)
    table.alignment = WD_TABLE_ALIGNMENT.RIGHT
    table.autofit = False
    red = "C8102E"
    for row_index, values in enumerate(fields.rows()):
        row = table.rows[row_index]
        row.height = Mm(7)
        for col_index, value in enumerate(values):
            cell = row.cells[col_index]
            cell.width = Mm(15)
            _cell_borders(cell, red)
            paragraph = cell.paragraphs[0]
            paragraph.alignment = 1  # centre
            paragraph.paragraph_format.space_before = Pt(0)
            paragraph.paragraph_format.space_after = Pt(0)
            paragraph.paragraph_format.line_spacing = Pt(12)
            run = paragraph.add_run(value)
            run.font.size = Pt(9)
            run.font.color.rgb = RGBColor(0xC8, 0x10, 0x2E)
    body = doc.element.body
    body.remove(table._tbl)
    body.insert(0, table._tbl)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def read_stamp(data: bytes) -> list[list[str]] | None:
    """The values of the 归档章 if the first body element is one (for checks and tests)."""
    doc = open_checked_docx(data)
    first = next(iter(doc.element.body.iterchildren()), None)
    if first is None or first.tag != qn("w:tbl"):
        return None
    rows = []
    for row in first.iter(qn("w:tr")):
        rows.append(["".join(t.text or "" for t in cell.iter(qn("w:t"))) for cell in row.iter(qn("w:tc"))])
    return rows
