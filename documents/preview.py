"""The 预览件: a document's PDF stamped on every page with the viewer's watermark (name,
account, date — officehub/watermark.py), for reading and printing outside the app.

The source is the issued 版式 copy when there is one (``documents.selectors.signed_pdf``),
otherwise the current DOCX converted by the office worker
(``officehub.office.client.convert_docx``); when that conversion fails the preview is
refused with ``document.preview_unavailable`` (503). The signed original is
only read here: stamping builds a new file and the original keeps its bytes (and so its
signature) for those allowed to download it.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from documents import selectors
from documents.docx.render import docx_filename
from documents.edges import request_user
from documents.models import Document
from officehub.directory.models import User
from officehub.edges import download
from officehub.error_pages import error_page
from officehub.errors import ApplicationError, NotFound
from officehub.office.client import PdfConversionFailed, convert_docx
from officehub.watermark import stamp_pdf, watermark_label, watermark_lines


class PreviewUnavailable(ApplicationError):
    default_code = "document.preview_unavailable"
    default_status = 503


def preview_source_pdf(document: Document) -> bytes:
    """The PDF a preview starts from: the signed 版式 copy, else the converted DOCX.
    Raises ``PreviewUnavailable`` when the conversion fails."""
    pdf = selectors.signed_pdf(document)
    if pdf is not None:
        return pdf
    try:
        return convert_docx(selectors.document_docx(document), pdfa=False).pdf
    except PdfConversionFailed as exc:
        raise PreviewUnavailable(str(_("版式转换暂时失败，无法生成预览件，请稍后再试。"))) from exc


def document_preview_pdf(document: Document, viewer: User, *, today: date | None = None) -> bytes:
    """The preview of ``document`` for ``viewer``: the source PDF with the viewer's
    watermark tiled over every page. Raises PreviewUnavailable, pdf.watermark_failed."""
    return stamp_pdf(preview_source_pdf(document), watermark_lines(watermark_label(viewer, today=today)))


def preview_filename(document: Document) -> str:
    return docx_filename(document).removesuffix(".docx") + "（预览件）.pdf"


@login_required
def document_preview_download(request: HttpRequest, document_id: int) -> HttpResponse:
    """GET /documents/<id>/preview/ — the watermarked 预览件 (anyone who may open the
    document); the same 404 for a missing and a forbidden document."""
    viewer = request_user(request)
    try:
        document = selectors.access_document(viewer, document_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        pdf = document_preview_pdf(document, viewer)
    except ApplicationError as exc:
        return error_page(request, exc.status, message=exc.message)
    response = download(pdf, preview_filename(document), "application/pdf",
                        ascii_filename=f"document-{document.pk}-preview.pdf")
    # stamped for this viewer on this day: no shared cache may keep it
    response["Cache-Control"] = "private, no-store"
    return response
