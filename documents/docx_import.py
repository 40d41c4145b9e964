"""Import the text of an uploaded DOCX (an untrusted zip) as a draft's title and body.

The zip is inspected with ``zipfile`` before python-docx opens it: it must be a zip holding
``[Content_Types].xml`` and ``word/document.xml``, with a bounded number of entries, a
bounded total uncompressed size and no entry that inflates suspiciously (zip bombs), and no
absolute or ``..`` entry names. Python's ``zipfile`` never inflates an entry past its
declared size (it stops and the CRC check fails), so the declared sizes checked here bound
the memory python-docx can use. python-docx parses XML with ``resolve_entities=False``, so
entity expansion and external entities are not a concern.

Pure function, no Django: ``DocxImportError`` carries a stable ``code`` and a Chinese
``message``; the documents app turns it into its ``ApplicationError`` subclass.

Title and body (kept simple on purpose):
- title: the first non-empty paragraph styled "Title" (Word's built-in 标题, which is also
  what ``docx_render`` uses), otherwise the first non-empty paragraph;
- body: the non-empty paragraphs after the title, stripped, joined by "\\n". Whatever came
  before the title (a red header, 份号, 发文字号) is dropped; a 主送 line, 署名, 成文日期
  and 版记 stay in the body for the drafter to edit. Paragraphs in tables are included in
  reading order; headers, footers, footnotes and text boxes are not.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from docx import Document as _open_document
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_UNCOMPRESSED",
    "DocxImportError",
    "ImportedDocx",
    "import_docx",
]

DEFAULT_MAX_UNCOMPRESSED = 20 * 1024 * 1024  # 20 MiB inflated
DEFAULT_MAX_ENTRIES = 1000
DEFAULT_MAX_RATIO = 100.0  # real DOCX parts inflate 3–30×; deflate's ceiling is ~1000×
# Ratios of tiny entries say nothing (a 2 KB run of spaces compresses 100×): only entries
# at least this large are judged one by one; the archive as a whole is always judged.
RATIO_MIN_ENTRY_SIZE = 64 * 1024

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc and password-protected .docx
_REQUIRED_ENTRIES = ("[Content_Types].xml", "word/document.xml")


class DocxImportError(ValueError):
    """An uploaded file was refused. ``code`` is stable; ``message`` is for the user."""

    def __init__(self, code: str, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}

    def __repr__(self) -> str:
        return f"DocxImportError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class ImportedDocx:
    title: str
    body: str


def import_docx(
    data: bytes,
    *,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> ImportedDocx:
    """Return the title and body text of the DOCX ``data``.

    Raises ``DocxImportError`` with code ``docx.not_docx``, ``docx.corrupt``,
    ``docx.too_large``, ``docx.too_many_entries``, ``docx.suspicious_compression`` or
    ``docx.empty``.
    """
    check_docx_zip(
        data, max_uncompressed=max_uncompressed, max_entries=max_entries, max_ratio=max_ratio
    )
    try:
        document = _open_document(io.BytesIO(data))
    except Exception as exc:  # untrusted input: any parser failure is a corrupt file
        raise DocxImportError("docx.corrupt", "文件已损坏，无法读取其中的内容。") from exc

    paragraphs = [(text, p) for p in _paragraphs(document) if (text := _clean(p.text))]
    if not paragraphs:
        raise DocxImportError("docx.empty", "文档中没有文字内容。")
    title_index = next((i for i, (_, p) in enumerate(paragraphs) if _style_name(p) == "Title"), 0)
    body = "\n".join(text for text, _ in paragraphs[title_index + 1 :])
    return ImportedDocx(title=paragraphs[title_index][0], body=body)


def check_docx_zip(
    data: bytes,
    *,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> None:
    """Refuse ``data`` unless it is a plausible, bounded DOCX zip. Reads no entry."""
    if data.startswith(_OLE_MAGIC):
        raise DocxImportError(
            "docx.not_docx", "不支持旧版 .doc 或加密的文档，请另存为 .docx 后再上传。"
        )
    if not data.startswith(_ZIP_MAGIC):
        raise DocxImportError("docx.not_docx", "文件不是 DOCX 格式。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise DocxImportError("docx.corrupt", "文件已损坏或不完整，无法打开。") from exc

    if len(infos) > max_entries:
        raise DocxImportError(
            "docx.too_many_entries",
            f"文件内部条目过多（{len(infos)} 个，上限 {max_entries} 个）。",
            extra={"entries": len(infos), "limit": max_entries},
        )
    names = [info.filename for info in infos]
    for name in names:
        if _unsafe_name(name):
            raise DocxImportError(
                "docx.corrupt", "文件内部包含非法路径，已拒绝。", extra={"entry": name}
            )
    if len(set(names)) != len(names):
        raise DocxImportError("docx.corrupt", "文件内部包含重复条目，已拒绝。")
    if any(required not in names for required in _REQUIRED_ENTRIES):
        raise DocxImportError("docx.not_docx", "文件不是 DOCX 格式（缺少 Word 文档内容）。")
    if any(info.flag_bits & 0x1 for info in infos):
        raise DocxImportError("docx.not_docx", "不支持加密的文档。")

    total = sum(info.file_size for info in infos)
    if total > max_uncompressed:
        raise DocxImportError(
            "docx.too_large",
            f"文件解压后过大（{total // (1024 * 1024)} MB，上限 "
            f"{max_uncompressed // (1024 * 1024)} MB）。",
            extra={"uncompressed": total, "limit": max_uncompressed},
        )
    for info in infos:
        if info.file_size >= RATIO_MIN_ENTRY_SIZE and (
            info.file_size / max(info.compress_size, 1) > max_ratio
        ):
            raise DocxImportError(
                "docx.suspicious_compression",
                "文件压缩比异常，疑似压缩炸弹，已拒绝。",
                extra={"entry": info.filename},
            )
    if total >= RATIO_MIN_ENTRY_SIZE and total / max(len(data), 1) > max_ratio:
        raise DocxImportError(
            "docx.suspicious_compression", "文件压缩比异常，疑似压缩炸弹，已拒绝。"
        )


def _unsafe_name(name: str) -> bool:
    """Absolute (/x, C:x) or parent-relative (../x) names: never in a real DOCX."""
    normalised = name.replace("\\", "/")
    absolute = normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":")
    return absolute or ".." in normalised.split("/")


def _paragraphs(document: Any) -> Iterator[Paragraph]:
    """Body paragraphs in reading order, including those inside tables and content
    controls, excluding text boxes (whose VML fallback would repeat them)."""
    body = document.element.body
    for p in body.iter(qn("w:p")):
        if any(ancestor.tag in _SKIPPED_CONTAINERS for ancestor in p.iterancestors()):
            continue
        yield Paragraph(p, document._body)


_SKIPPED_CONTAINERS = frozenset(
    {
        qn("w:txbxContent"),
        "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",
    }
)


def _style_name(p: Paragraph) -> str | None:
    try:
        return p.style.name if p.style is not None else None
    except (KeyError, ValueError):
        return None


def _clean(text: str) -> str:
    return text.replace("\u00a0", " ").strip()
