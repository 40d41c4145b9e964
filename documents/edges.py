"""What the documents API and pages share at the edge, so neither imports the other."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from django.conf import settings
from django.http import HttpResponse

from documents import selectors
from documents.docx.issue import attached_files
from documents.docx.manifest import MANIFEST_PART
from documents.docx.render import docx_filename
from documents.errors import DocumentNotSealed
from documents.files import manifest_text
from documents.models import Attachment, Document
from officehub.edges import download
from officehub.edges import request_user as request_user  # the API's and pages' actor, re-exported
from officehub.uploads import read_upload
from seals import selectors as seal_selectors
from seals.edges import refresh_crl

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_download(document: Document) -> HttpResponse:
    """The document's current DOCX (the sealed bytes once sealed) as a download."""
    return download(selectors.document_docx(document), docx_filename(document), DOCX_CONTENT_TYPE)


def pdf_download(document: Document) -> HttpResponse:
    """The issued 版式 copy (the PDF with the seal signed inside), exactly as sealed."""
    pdf = selectors.signed_pdf(document)
    if pdf is None:
        raise DocumentNotSealed()
    return download(pdf, docx_filename(document).removesuffix(".docx") + ".pdf", "application/pdf")


ATTACHMENTS_README = """附件核验说明
============

本文件包的 attachments/ 目录中是随文发送的附件文件，按附件说明的顺序编号。每个附件的
SHA-256 摘要写在用印后的 DOCX 内部（{manifest}，受 .p7s 签名保护），附件文件本身也嵌入在
签章 PDF 中（受 PDF 内的电子印章签名保护）。

一、先按 README.txt 验证 PDF 与 DOCX 的签章。

二、用 DOCX 中签名保护的摘要清单核对附件：
  unzip -p {docx} {manifest} > attachments.sha256
  cd attachments && sha256sum -c ../attachments.sha256
每个文件显示 "OK" 即表示附件与发文时完全一致。

三、或从签章 PDF 中取出附件：
  pdfdetach -list {pdf}
  pdfdetach -saveall -o 附件目录 {pdf}
"""


def package_download(document: Document) -> HttpResponse:
    """The verification package of the sealing: signed PDF, DOCX + .p7s, ca.pem, crl.pem,
    README — and the document's 附件 files under ``attachments/`` with a README saying how
    to check them against the signed manifest."""
    record = document.seal_record if document.seal_record_id else None
    if record is None:
        raise DocumentNotSealed()
    refresh_crl(record.seal.authority_id)
    record.seal.authority.refresh_from_db(fields=["crl_pem", "crl_number", "crl_next_update"])
    package = seal_selectors.seal_record_package(record, also=selectors.joint_seal_records(document))
    files = attached_files(document)
    if files:
        stem = seal_selectors.record_basename(record)
        buffer = io.BytesIO(package)
        with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in files:
                archive.writestr(f"attachments/{file.stored_name}", file.data)
            archive.writestr("attachments.sha256", manifest_text([file.manifest_entry() for file in files]))
            archive.writestr("附件核验说明.txt", ATTACHMENTS_README.format(
                manifest=MANIFEST_PART, docx=f"{stem}.docx", pdf=f"{stem}.pdf",
            ))
        package = buffer.getvalue()
    return download(package, f"{seal_selectors.record_basename(record)}.zip", "application/zip")


def read_attachment_upload(upload: Any) -> bytes:
    """An uploaded 附件 file, at most ``DOCUMENT_ATTACHMENT_MAX_BYTES`` (file.too_large, 413)."""
    return read_upload(upload, limit=settings.DOCUMENT_ATTACHMENT_MAX_BYTES)


def attachment_download(attachment: Attachment) -> HttpResponse:
    """One 附件 file as uploaded, its bytes checked against their digest first."""
    return download(selectors.attachment_bytes(attachment), attachment.file_name, attachment.content_type)
