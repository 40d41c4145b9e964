"""附件 files at the edge of the document flow: what an uploaded file is (the bytes decide,
not the client's header or the name), and the manifest of a document's files that the
sealed copies carry.

Office zips (DOCX, XLSX, OFD) pass ``officehub.uploads.check_office_zip`` — the same
limits and codes (``file.*``) as the DOCX import — before they are accepted; images are
opened header-first by Pillow and refused beyond ``MAX_IMAGE_PIXELS`` (an image bomb
inflates as a zip bomb does). Nothing here opens a file's content beyond that.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath
from typing import Final

from django.utils.translation import gettext as _

from documents.models import AttachmentKind
from officehub.uploads import OLE_MAGIC, ZIP_MAGIC, UnsafeFile, check_office_zip

# Kind → (content type, accepted file-name extensions).
FILE_KINDS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    AttachmentKind.PDF: ("application/pdf", (".pdf",)),
    AttachmentKind.DOCX: ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    AttachmentKind.XLSX: ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    AttachmentKind.OFD: ("application/ofd", (".ofd",)),
    AttachmentKind.PNG: ("image/png", (".png",)),
    AttachmentKind.JPEG: ("image/jpeg", (".jpg", ".jpeg")),
}
ZIP_KINDS: Final = {".docx": AttachmentKind.DOCX, ".xlsx": AttachmentKind.XLSX, ".ofd": AttachmentKind.OFD}
# 40 megapixels: a scanned A3 page at 600 dpi is ~70 MB of pixels but only ~35 Mpx.
MAX_IMAGE_PIXELS: Final = 40_000_000
NAME_MAX_CHARS: Final = 100
FILE_NAME_MAX_CHARS: Final = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# GB/T 9704 7.3.4: 附件名称后不加标点符号.
_TRAILING_PUNCTUATION = "。.，,；;：:、"


@dataclass(frozen=True)
class IdentifiedFile:
    kind: str
    content_type: str
    file_name: str


def wrong_type() -> UnsafeFile:
    return UnsafeFile(
        _("不支持的附件类型：仅允许 PDF、Word（DOCX）、Excel（XLSX）、OFD 和 PNG/JPEG 图片，且文件内容须与扩展名一致。"),
        code="file.wrong_type",
        status=415,
    )


def clean_file_name(name: str) -> str:
    """The name's last path part, NFC, without control characters, at most 255 characters
    (the extension kept)."""
    name = _CONTROL.sub("", unicodedata.normalize("NFC", PurePath((name or "").replace("\\", "/")).name)).strip()
    if not name or name in (".", ".."):
        raise UnsafeFile(_("文件名无效。"), code="file.invalid_name", extra={"field": "file"})
    if len(name) > FILE_NAME_MAX_CHARS:
        suffix = PurePath(name).suffix[:16]
        name = PurePath(name).stem[: FILE_NAME_MAX_CHARS - len(suffix)] + suffix
    return name


def attachment_name(name: str, *, file_name: str = "") -> str:
    """The name printed in the 附件说明: the drafter's, else the file's stem; no trailing
    punctuation, no line breaks, at most 100 characters."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", name or "")).strip()
    if not text and file_name:
        text = PurePath(file_name).stem.strip()
    text = text.rstrip(_TRAILING_PUNCTUATION).strip()[:NAME_MAX_CHARS]
    return text


def identify(data: bytes, file_name: str) -> IdentifiedFile:
    """What ``data`` is, judged by its bytes; the extension of ``file_name`` must agree.

    Raises (all ``file.*``, 400 unless noted): ``file.empty``, ``file.invalid_name``,
    ``file.wrong_type`` (415: not one of the accepted kinds, or content and extension
    disagree), ``file.legacy_or_encrypted`` (.doc/.xls or an encrypted OOXML),
    ``file.corrupt``, ``file.too_many_entries``, ``file.too_large_uncompressed``,
    ``file.suspicious_compression`` (a zip bomb), ``file.image_too_large`` (an image bomb).
    """
    file_name = clean_file_name(file_name)
    if not data:
        raise UnsafeFile(_("文件为空。"), code="file.empty", extra={"field": "file"})
    ext = PurePath(file_name).suffix.lower()
    kind: str | None = None
    if data.startswith(b"%PDF-"):
        kind = AttachmentKind.PDF
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = AttachmentKind.PNG
    elif data.startswith(b"\xff\xd8\xff"):
        kind = AttachmentKind.JPEG
    elif data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC):
        zip_kind = ZIP_KINDS.get(ext)
        if zip_kind is None:
            raise wrong_type()
        # The zip's own structure must be that kind (its required part), within the
        # limits every Office upload shares.
        check_office_zip(data, kind=str(zip_kind))
        kind = zip_kind
    if kind is None:
        raise wrong_type()
    content_type, extensions = FILE_KINDS[kind]
    if ext not in extensions:
        raise wrong_type()
    if kind in (AttachmentKind.PNG, AttachmentKind.JPEG):
        _check_image(data)
    return IdentifiedFile(kind=kind, content_type=content_type, file_name=file_name)


def _check_image(data: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise UnsafeFile(
                    _("图片尺寸过大（%(w)d×%(h)d 像素），已拒绝。") % {"w": width, "h": height},
                    code="file.image_too_large",
                    extra={"pixels": width * height, "limit": MAX_IMAGE_PIXELS},
                )
            image.verify()
    except UnsafeFile:
        raise
    except Image.DecompressionBombError:
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fires on opening.
        raise UnsafeFile(_("图片尺寸过大，已拒绝。"), code="file.image_too_large", extra={"limit": MAX_IMAGE_PIXELS}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsafeFile(_("图片已损坏，无法打开。"), code="file.corrupt", extra={"detail": type(exc).__name__}) from None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ManifestEntry:
    """One attachment file as the sealed copies list it."""

    number: int  # its place in the 附件说明, from 1
    name: str  # the 附件名称
    file_name: str  # the stored name (``package_name``) inside the package and the PDF
    sha256: str
    size: int


def package_name(number: int, file_name: str) -> str:
    """The file's name inside the verification package and the signed PDF: its number in
    the 附件说明 first, so names never collide and sort in order."""
    return f"附件{number}-{file_name}"


def manifest_text(entries: list[ManifestEntry]) -> str:
    """The attachment manifest in ``sha256sum`` format (``<hex>  <name>``), one file a line
    in 附件说明 order: ``sha256sum -c`` checks the extracted files against it."""
    return "".join(f"{entry.sha256}  {entry.file_name}\n" for entry in entries)
