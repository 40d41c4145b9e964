"""What the documents API and pages share at the edge, so neither imports the other."""

from __future__ import annotations

from django.http import HttpResponse

from documents import selectors
from documents.docx.render import docx_filename
from documents.errors import DocumentNotSealed
from documents.models import Document
from officehub.edges import download
from officehub.edges import request_user as request_user  # the API's and pages' actor, re-exported
from seals.edges import package_download as seal_package_download

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


def package_download(document: Document) -> HttpResponse:
    """The verification package of the sealing: signed PDF, DOCX + .p7s, ca.pem, crl.pem, README."""
    if not document.seal_record_id or document.seal_record is None:
        raise DocumentNotSealed()
    return seal_package_download(document.seal_record, also=selectors.joint_seal_records(document))
