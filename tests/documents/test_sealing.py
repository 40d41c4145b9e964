"""The seal step through the real seals app: the sealed DOCX is signed, stored and served."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from documents import selectors, services
from documents.docx_render import docx_to_text
from documents.models import Document
from officehub.errors import ApplicationError
from seals.models import SealRecord
from seals.services import seal_verify
from tests.documents import flow
from tests.documents.flow import act

pytestmark = pytest.mark.django_db


def test_sealing_stores_the_signed_docx_and_every_copy_serves_those_exact_bytes(personas: Any) -> None:
    document = flow.distributed(personas)
    record = SealRecord.objects.get()
    assert document.seal_record_id == record.pk
    assert record.document_ref == f"document:{document.pk}"
    sealed = selectors.document_docx(document)
    assert sealed == bytes(record.sealed_docx)
    assert seal_verify(docx=sealed, signature=bytes(record.signature)).is_valid
    with zipfile.ZipFile(io.BytesIO(sealed)) as archive:
        assert any(name.startswith("word/media/") for name in archive.namelist())  # the seal image
    text = docx_to_text(sealed)
    assert document.doc_number in text and document.title in text
    for copy in document.incoming_copies.all():
        assert selectors.document_docx(copy) == sealed


def test_unknown_or_foreign_seal_is_refused(personas: Any) -> None:
    document = flow.to_seal(personas)
    for seal_id in (None, 987654, flow.office_seal_id("浙江省大数据发展管理局")):
        with pytest.raises(ApplicationError) as caught:
            act(services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=seal_id)
        assert caught.value.code == "document.unknown_seal"
    assert Document.objects.get(pk=document.pk).seal_requests.count() == 0


def test_unsealed_documents_are_rendered_fresh(personas: Any) -> None:
    document = flow.to_seal(personas, doc_type="minutes", title="省政府办公厅专题会议纪要")
    assert document.seal_record_id is None
    text = docx_to_text(selectors.document_docx(document))
    assert "省政府办公厅专题会议纪要" in text and document.doc_number in text


def test_a_suspended_seal_cannot_be_applied_and_nothing_changes(personas: Any) -> None:
    from seals.services import seal_suspend

    document = flow.to_seal(personas)
    seal_id = flow.office_seal_id()
    request = act(services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=seal_id)
    act(seal_suspend, actor=None, seal_id=seal_id, note="印章送检", check_permission=False)
    with pytest.raises(ApplicationError) as caught:
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    assert caught.value.code == "seal.suspended"
    request.refresh_from_db()
    assert request.status == "pending"
    document = Document.objects.get(pk=document.pk)
    assert (document.status, document.seal_record_id) == ("seal", None)
    assert SealRecord.objects.count() == 0
