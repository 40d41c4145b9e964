"""Build the GB/T 9704 render input from a Document (the layout itself is docx_render)."""

from __future__ import annotations

from django.conf import settings

from documents.docx_render import RenderInput, render_docx
from documents.models import UPWARD_DOC_TYPES, DocType, Document, Urgency
from officehub.directory.models import Clearance


def issuer_mark_for(document: Document) -> str:
    issuer = document.issuer
    if document.doc_type == DocType.MINUTES:
        return f"{issuer.short_name or issuer.name}纪要"
    if document.doc_type == DocType.LETTER:
        return issuer.name  # 信函格式: the organisation's full name (GB/T 9704 10.1)
    return issuer.issuer_mark or f"{issuer.name}文件"


def render_input_for(document: Document, *, seal_png: bytes | None = None) -> RenderInput:
    classification_label = None
    if document.classification >= Clearance.SECRET:
        label = str(Clearance(document.classification).label)
        classification_label = f"{label}★{document.secrecy_period}" if document.secrecy_period else label
    urgency_label = None if document.urgency == Urgency.NORMAL else str(Urgency(document.urgency).label)
    signers: tuple[str, ...] = ()
    if document.doc_type in UPWARD_DOC_TYPES and document.signer_id:
        signers = (document.signer.display_name,)
    attachments = document.attachments or []
    return RenderInput(
        doc_type=document.doc_type,
        title=document.title,
        body=document.body,
        issuer_mark=issuer_mark_for(document),
        issuer_name=document.signature_name or document.issuer.name,
        doc_number=document.doc_number or None,
        issued_on=document.issued_on,
        primary_recipients=[org.name for org in document.primary_recipients.order_by("pk")],
        cc_recipients=[org.name for org in document.cc_recipients.order_by("pk")],
        copy_number=document.copy_number or None,
        classification_label=classification_label,
        urgency_label=urgency_label,
        signers=signers,
        attachments=[item["title"] for item in attachments],
        attachment_bodies=[(item["title"], item["body"]) for item in attachments if item.get("body")],
        note=document.note or None,
        printing_office=document.printing_office or None,
        printed_on=document.printed_on,
        seal_png=seal_png if document.doc_type != DocType.MINUTES else None,
        seal_diameter_mm=float(settings.SEAL_IMAGE_DIAMETER_MM),
    )


def render_document(document: Document, *, seal_png: bytes | None = None) -> bytes:
    return render_docx(render_input_for(document, seal_png=seal_png))


def docx_filename(document: Document) -> str:
    name = document.doc_number or f"草稿{document.pk}"
    return f"{name} {document.title}"[:120] + ".docx"
