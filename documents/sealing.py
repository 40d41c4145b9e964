"""The small adapter between the document flow and the seals app.

Seals is built in parallel: when ``seals.services.seal_apply`` exists, approving a
用印申请 seals and signs the DOCX through it; until then the step is recorded and only
the issuing organisation's seal custodians may approve it (issue 3, item 2).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

from documents.models import Document
from officehub.directory.models import Department, Role, User


def _optional(module: str, name: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def has_record_field() -> bool:
    return any(field.name == "seal_record" for field in Document._meta.get_fields())


def record_fields() -> tuple[str, ...]:
    return ("seal_record",) if has_record_field() else ()


def custodians_for(*, seal_id: int | None, organisation: Department) -> list[User]:
    """The people who may approve a 用印申请 for ``seal_id`` of ``organisation``."""
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
    """Seal and sign the document's DOCX through the seals app; ``None`` until it exists."""
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
    if record is not None and has_record_field():
        document.seal_record = record


def seal_record_for(document: Document) -> Any | None:
    """The SealRecord of the document's approved 用印申请, if it was really sealed."""
    if has_record_field() and getattr(document, "seal_record_id", None):
        return document.seal_record
    source = document.source_document if document.direction == "incoming" else document
    if source is None:
        return None
    record_id = (
        source.seal_requests.filter(status="approved", seal_record_id__isnull=False)
        .order_by("-decided_at")
        .values_list("seal_record_id", flat=True)
        .first()
    )
    if record_id is None:
        return None
    try:
        model = apps.get_model("seals", "SealRecord")
    except LookupError:
        return None
    return model.objects.filter(pk=record_id).first()


def sealed_docx_for(document: Document) -> bytes | None:
    record = seal_record_for(document)
    if record is None:
        return None
    value = record.sealed_docx
    if hasattr(value, "open"):
        with value.open("rb") as handle:
            return bytes(handle.read())
    return bytes(value)
