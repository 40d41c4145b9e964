"""What the documents API and pages share at the edge, so neither imports the other."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import NotAuthenticated

from documents import selectors
from documents.docx.render import docx_filename
from documents.models import Document
from officehub.directory.models import User
from officehub.edges import download

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def request_user(request: HttpRequest) -> User:
    """``request.user`` behind ``login_required`` or the API's ``IsAuthenticated``: always
    a ``User`` there, the actor services take. Anonymous only on an unguarded path: 401."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def docx_download(document: Document) -> HttpResponse:
    """The document's current DOCX (the sealed bytes once sealed) as a download."""
    return download(selectors.document_docx(document), docx_filename(document), DOCX_CONTENT_TYPE)
