"""What the documents API and pages share at the edge, so neither imports the other."""

from __future__ import annotations

from django.http import HttpResponse

from documents import selectors
from documents.docx.render import docx_filename
from documents.models import Document
from officehub.edges import download
from officehub.edges import request_user as request_user  # the API's and pages' actor, re-exported

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_download(document: Document) -> HttpResponse:
    """The document's current DOCX (the sealed bytes once sealed) as a download."""
    return download(selectors.document_docx(document), docx_filename(document), DOCX_CONTENT_TYPE)
