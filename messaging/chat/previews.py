"""In-page preview of PDF and DOCX attachments: the server renders the pages as PNG images
once per attachment and serves those; the browser never gets the raw file in a frame.

Rendering runs outside any transaction (it is slow) in a subprocess: poppler's
``pdftoppm`` under ``prlimit`` (address space, CPU time and output size limited) with a
wall-clock timeout, on at most PREVIEW_MAX_PAGES pages, in a temporary directory. A DOCX
goes to PDF first through ``officehub.office.client.convert_docx`` (the kept-warm
LibreOffice worker) when that module is installed; without it DOCX previews answer
``preview.unavailable``. Two first requests for one attachment may both render; the
first to commit its ``AttachmentPreview`` row wins and the other's files are removed.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from messaging.chat.payloads import PREVIEWABLE_TYPES
from messaging.errors import ApplicationError
from messaging.models import Attachment, AttachmentPreview
from officehub.office.client import PdfConversionFailed, convert_docx

PREVIEW_MAX_PAGES = 20
PREVIEW_TIMEOUT_SECONDS = 30
PREVIEW_WIDTH = 1000
# Limits of the renderer process (bytes of address space, bytes written per file).
PREVIEW_MEMORY_BYTES = 1024 * 1024 * 1024
PREVIEW_FILE_BYTES = 50 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class PreviewFailed(ApplicationError):
    default_code = "preview.failed"


def _error(code: str, message: str, status: int) -> PreviewFailed:
    return PreviewFailed(message, code=code, status=status)


def _run(argv: list[str], *, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    limited = [
        "prlimit",
        f"--as={PREVIEW_MEMORY_BYTES}",
        f"--cpu={max(1, math.ceil(PREVIEW_TIMEOUT_SECONDS))}",
        f"--fsize={PREVIEW_FILE_BYTES}",
        "--",
        *argv,
    ]
    try:
        return subprocess.run(
            limited,
            cwd=cwd,
            capture_output=True,
            timeout=PREVIEW_TIMEOUT_SECONDS,
            check=False,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(cwd)},
        )
    except subprocess.TimeoutExpired:
        raise _error("preview.timeout", _("预览生成超时，请下载后查看。"), 503) from None
    except FileNotFoundError:
        raise _error("preview.unavailable", _("预览服务不可用（缺少 poppler-utils）。"), 503) from None


def _docx_to_pdf(data: bytes) -> bytes:
    try:
        return convert_docx(data, pdfa=False, timeout=PREVIEW_TIMEOUT_SECONDS).pdf
    except PdfConversionFailed as exc:
        raise _error("preview.unavailable", _("Word 文档转换失败，请下载后查看。"), 503) from exc


def render_pages(pdf: bytes) -> tuple[list[bytes], int]:
    """PNG images of the first PREVIEW_MAX_PAGES pages, and the page count of the document.
    Raises preview.failed (not a readable PDF), preview.timeout, preview.unavailable."""
    workdir = Path(tempfile.mkdtemp(prefix="officehub-preview-"))
    try:
        source = workdir / "in.pdf"
        source.write_bytes(pdf)
        info = _run(["pdfinfo", source.name], cwd=workdir)
        match = re.search(rb"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
        if info.returncode != 0 or match is None or int(match.group(1)) < 1:
            raise _error("preview.failed", _("文件无法预览（不是有效的 PDF，或已加密）。"), 422)
        total = int(match.group(1))
        pages = min(total, PREVIEW_MAX_PAGES)
        out = workdir / "out"
        out.mkdir()
        run = _run(
            [
                "pdftoppm",
                "-png",
                "-f",
                "1",
                "-l",
                str(pages),
                "-scale-to-x",
                str(PREVIEW_WIDTH),
                "-scale-to-y",
                "-1",
                source.name,
                "out/p",
            ],
            cwd=workdir,
        )
        images = sorted(out.glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        if run.returncode != 0 or len(images) != pages:
            raise _error("preview.failed", _("文件无法预览，请下载后查看。"), 422)
        return [image.read_bytes() for image in images], total
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def attachment_preview(*, attachment: Attachment) -> AttachmentPreview:
    """The rendered pages of a PDF/DOCX attachment the caller may read (made on first use,
    then cached). An entry point of its own: it renders with no transaction open, then
    records the result in a short one. Raises preview.not_supported (415),
    preview.failed (422), preview.timeout and preview.unavailable (503)."""
    existing = AttachmentPreview.objects.filter(attachment=attachment).first()
    if existing is not None:
        return existing
    if attachment.content_type not in PREVIEWABLE_TYPES:
        raise _error("preview.not_supported", _("该类型的文件不支持在线预览。"), 415)
    with attachment.file.open("rb") as handle:
        data = handle.read()
    pdf = _docx_to_pdf(data) if attachment.content_type == DOCX else data
    images, total = render_pages(pdf)
    directory = f"chat/previews/{attachment.pk}/{uuid.uuid4().hex}"
    stored = [default_storage.save(f"{directory}/{n}.png", ContentFile(image)) for n, image in enumerate(images, start=1)]
    try:
        with transaction.atomic():
            return AttachmentPreview.objects.create(
                attachment=attachment, directory=directory, pages=len(images), total_pages=total
            )
    except IntegrityError:
        # Another request rendered it first: keep theirs.
        for name in stored:
            default_storage.delete(name)
        return AttachmentPreview.objects.get(attachment=attachment)


def preview_page_name(preview: AttachmentPreview, page: int) -> str | None:
    if not 1 <= page <= preview.pages:
        return None
    return f"{preview.directory}/{page}.png"
