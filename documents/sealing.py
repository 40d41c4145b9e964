"""The small adapter between the document flow and the seals app.

Approving a 用印申请 seals and signs the DOCX through ``seals.services``; seals knows no
document workflow (DESIGN §1), so it is called with a ``build_docx`` callback and an
opaque ``document:<id>`` reference. documents depends on seals (``Document.seal_record``
is a foreign key to it), so seals is imported directly: a broken seals app fails at
import, never by quietly approving a request unsealed.

Sealing fails closed: anything short of a stored, signed SealRecord raises, so the
caller's transaction rolls back and the request stays pending.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from documents.errors import SealingFailed
from documents.models import Document
from officehub.directory.models import Department, User
from seals import selectors as seal_selectors
from seals import services as seal_services
from seals.models import SealRecord
from seals.services import SealSignature


def custodians_for(*, seal_id: int | None, organisation: Department) -> list[User]:
    """The people who may approve a 用印申请 for ``seal_id`` of ``organisation``: the
    active custodians of that seal, which must be a usable seal of the organisation.
    Nobody for any other seal id (unknown, another organisation's, suspended, personal)."""
    if seal_id is None or not seal_selectors.seals_for_organisation(organisation).filter(pk=seal_id).exists():
        return []
    ids = seal_selectors.seal_custodian_ids(seal_id)
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def _refused() -> SealingFailed:
    return SealingFailed(_("用印失败：未能生成盖章签名的公文，用印申请仍待审批。"))


def sign(*, document: Document, seal_id: int | None, actor: User) -> SealSignature:
    """Render the document with the seal image and sign it: the slow half, which takes
    no lock and writes nothing. Raises the seals app's codes or document.seal_failed."""
    if seal_id is None:
        raise _refused()
    from documents.docx import render

    def build_docx(seal_png: bytes) -> bytes:
        return render.render_document(document, seal_png=seal_png)

    signed = seal_services.seal_sign(
        seal_id=seal_id,
        actor=actor,
        build_docx=build_docx,
        document_ref=f"document:{document.pk}",
        title=document.title,
    )
    if not isinstance(signed, SealSignature) or signed.seal_id != seal_id:
        raise _refused()
    return signed


def record(*, signed: SealSignature, actor: User) -> SealRecord:
    """Store the signed sealing inside the caller's transaction (locks the seal row, then
    writes the ``seal.used`` audit entry: call it after locking every document-side row
    and before the document's own audit entry)."""
    stored = seal_services.seal_record_signed(signed=signed, actor=actor)
    if not isinstance(stored, SealRecord) or stored.pk is None:
        raise _refused()
    return stored


def sealed_docx_for(document: Document) -> bytes | None:
    """The exact sealed bytes that were signed (never re-rendered), or None."""
    if not document.seal_record_id:
        return None
    value = document.seal_record.sealed_docx
    if hasattr(value, "open"):
        with value.open("rb") as handle:
            return bytes(handle.read())
    return bytes(value)
