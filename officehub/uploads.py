"""Untrusted files at the edge: bounded reading and the safety checks of Office zips.

Every upload (DOCX import, archive legacy upload, verification package, chat attachment,
公文 attachment) is read through ``read_upload``, and every Office Open XML file (DOCX,
XLSX) passes ``check_office_zip`` before any parser opens it — one set of limits, one set
of codes (``file.*``), so a zip bomb refused in one place is refused in all.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any, Final

from django.utils.translation import gettext as _

from officehub.errors import InvalidInput

MAX_UNCOMPRESSED: Final = 50 * 1024 * 1024  # inflated size of all entries together
MAX_ENTRIES: Final = 2000
# Real Office parts inflate 3–30×; deflate's ceiling is ~1000×. Judged only on entries
# (and totals) large enough for a ratio to mean anything.
MAX_RATIO: Final = 100.0
RATIO_MIN_SIZE: Final = 64 * 1024

ZIP_MAGIC: Final = b"PK\x03\x04"
OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls, or encrypted OOXML

# The part without which a zip is not a file of that kind (OFD: GB/T 33190's entry file).
REQUIRED_PART: Final = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "ofd": "OFD.xml"}


class UnsafeFile(InvalidInput):
    """A file refused before parsing; ``code`` is one of ``file.*``."""

    default_code = "file.invalid"


def read_upload(upload: Any, *, limit: int, code: str = "file.too_large", field: str = "file") -> bytes:
    """The upload's bytes, refusing (413, ``code``) anything over ``limit`` without
    reading more than ``limit + 1`` bytes of it — the declared size may lie."""
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise _too_large(limit, code, field)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit, code, field)
    return bytes(data)


def _too_large(limit: int, code: str, field: str) -> InvalidInput:
    return InvalidInput(
        _("文件过大：最大 %(mb)s MB。") % {"mb": f"{limit / 1024 / 1024:g}"},
        code=code,
        status=413,
        extra={"field": field, "max_bytes": limit},
    )


def check_office_zip(
    data: bytes,
    *,
    kind: str = "docx",
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_entries: int = MAX_ENTRIES,
    max_ratio: float = MAX_RATIO,
) -> None:
    """Refuse ``data`` unless it is a plausible, bounded ``kind`` (docx/xlsx/ofd) zip. Reads
    the central directory only, never an entry."""
    label = kind.upper()
    if data.startswith(OLE_MAGIC):
        raise UnsafeFile(
            _("不支持旧版 Office 格式或加密的文档，请另存为 .%(kind)s 后再上传。") % {"kind": kind},
            code="file.legacy_or_encrypted",
        )
    if not data.startswith(ZIP_MAGIC):
        raise UnsafeFile(_("文件不是 %(label)s 格式。") % {"label": label}, code="file.wrong_type")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise UnsafeFile(_("文件已损坏或不完整，无法打开。"), code="file.corrupt") from exc
    if len(infos) > max_entries:
        raise UnsafeFile(
            _("文件内部条目过多（%(count)d 个，上限 %(limit)d 个）。") % {"count": len(infos), "limit": max_entries},
            code="file.too_many_entries",
            extra={"entries": len(infos), "limit": max_entries},
        )
    names = [info.filename for info in infos]
    unsafe = next((name for name in names if _unsafe_name(name)), None)
    if unsafe is not None:
        raise UnsafeFile(_("文件内部包含非法路径，已拒绝。"), code="file.corrupt", extra={"entry": unsafe})
    if len(set(names)) != len(names):
        raise UnsafeFile(_("文件内部包含重复条目，已拒绝。"), code="file.corrupt")
    if REQUIRED_PART.get(kind) not in names:
        raise UnsafeFile(_("文件不是 %(label)s 格式。") % {"label": label}, code="file.wrong_type")
    if any(info.flag_bits & 0x1 for info in infos):
        raise UnsafeFile(_("不支持加密的文档。"), code="file.legacy_or_encrypted")
    total = sum(info.file_size for info in infos)
    if total > max_uncompressed:
        raise UnsafeFile(
            _("文件解压后过大（%(mb)d MB，上限 %(limit)d MB）。")
            % {"mb": total // (1024 * 1024), "limit": max_uncompressed // (1024 * 1024)},
            code="file.too_large_uncompressed",
            extra={"uncompressed": total, "limit": max_uncompressed},
        )
    for info in infos:
        if info.file_size >= RATIO_MIN_SIZE and info.file_size / max(info.compress_size, 1) > max_ratio:
            raise UnsafeFile(
                _("文件压缩比异常，疑似压缩炸弹，已拒绝。"), code="file.suspicious_compression", extra={"entry": info.filename}
            )
    if total >= RATIO_MIN_SIZE and total / max(len(data), 1) > max_ratio:
        raise UnsafeFile(_("文件压缩比异常，疑似压缩炸弹，已拒绝。"), code="file.suspicious_compression")


def _unsafe_name(name: str) -> bool:
    """Absolute (/x, C:x) or parent-relative (../x) entry names: never in a real file."""
    normalised = name.replace("\\", "/")
    absolute = normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":")
    return absolute or ".." in normalised.split("/")


def docx_text(data: bytes) -> str:
    """Paragraph and table text of a DOCX, one paragraph a line (checked first)."""
    from docx import Document as open_docx
    from docx.oxml.ns import qn

    check_office_zip(data, kind="docx")
    try:
        document = open_docx(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises assorted errors on malformed parts
        raise UnsafeFile(_("DOCX 文件无法解析。"), code="file.corrupt", extra={"detail": type(exc).__name__}) from None
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        if block.tag == qn("w:p"):
            lines.append("".join(t.text or "" for t in block.iter(qn("w:t"))))
        elif block.tag == qn("w:tbl"):
            for row in block.iter(qn("w:tr")):
                lines.append("\t".join("".join(t.text or "" for t in cell.iter(qn("w:t"))) for cell in row.iter(qn("w:tc"))))
    return "\n".join(line for line in lines if line.strip())
