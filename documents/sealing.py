"""The small adapter between the document flow and the seals app.

Approving a 用印申请 seals and signs the DOCX through ``seals.services.seal_apply``;
seals knows no document workflow (DESIGN §1), so it is called with a ``build_docx``
callback and an opaque ``document:<id>`` reference. When the seals registry is not
installed, the step is still recorded and only the issuing organisation's seal
custodians may approve it (issue 3, item 2).
"""

from __future__ import annotations

import importlib
from typing import Any

from documents.models import Document
from officehub.directory.models import Department, Role, User


def _optional(module: str, name: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def record_fields() -> tuple[str, ...]:
    return ("seal_record",)


def custodians_for(*, seal_id: int | None, organisation: Department) -> list[User]:
    """The people who may approve a 用印申请 for ``seal_id`` of ``organisation``: the
    custodians of that seal, which must be an active seal of the organisation."""
    from documents.selectors import organisation_users

    custodian_ids = _optional("seals.selectors", "seal_custodian_ids")
    seals_for_org = _optional("seals.selectors", "seals_for_organisation")
    if custodian_ids is None or seals_for_org is None:
        return list(organisation_users(organisation, role=Role.SEAL_CUSTODIAN))
    if seal_id is None or not seals_for_org(organisation).filter(pk=seal_id).exists():
        return []
    ids = set(custodian_ids(seal_id))
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def apply_seal(*, document: Document, seal_id: int | None, actor: User) -> Any | None:
    """Seal and sign the document's DOCX; ``None`` when no seals registry is installed."""
    seal_apply = _optional("seals.services", "seal_apply")
    if seal_apply is None or seal_id is None:
        return None
    from documents.rendering import render_document

    def build_docx(seal_png: bytes) -> bytes:
        return render_document(document, seal_png=seal_png)

    return seal_apply(
        seal_id=seal_id,
        actor=actor,
        build_docx=build_docx,
        document_ref=f"document:{document.pk}",
        title=document.title,
    )


def attach_record(document: Document, record: Any | None) -> None:
    if record is not None:
        document.seal_record = record


def sealed_docx_for(document: Document) -> bytes | None:
    """The exact sealed bytes that were signed (never re-rendered), or None."""
    if not document.seal_record_id:
        return None
    value = document.seal_record.sealed_docx
    if hasattr(value, "open"):
        with value.open("rb") as handle:
            return bytes(handle.read())
    return bytes(value)
