"""The seal step through the real seals app: the sealed DOCX is signed, stored and served."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest

from documents import selectors, services
from documents.docx.render import docx_to_text
from documents.models import Document
from officehub.errors import ApplicationError
from seals.models import SealRecord
from seals.services import seal_verify, seal_verify_pdf
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


def test_the_issued_pdf_carries_the_seal_signed_inside_and_its_printing_date(personas: Any) -> None:
    document = flow.to_distribute(personas)
    record = SealRecord.objects.get()
    pdf = selectors.signed_pdf(document)
    assert pdf is not None and pdf.startswith(b"%PDF-") and pdf == bytes(record.signed_pdf)
    assert hashlib.sha256(pdf).hexdigest() == record.pdf_sha256
    result = seal_verify_pdf(pdf=pdf)
    assert result.status == "valid" and len(result.signatures) == 1
    assert "浙江省人民政府办公厅" in (result.signatures[0].signer_subject or "")
    # 印发日期 was fixed before sealing: it is in the signed DOCX and the signed PDF, and
    # 分发 keeps it.
    document.refresh_from_db()
    assert document.printed_on is not None and document.printing_office
    printed = f"{document.printed_on.year}年{document.printed_on.month}月{document.printed_on.day}日印发"
    assert printed in docx_to_text(bytes(record.sealed_docx))
    assert printed in pdf_text(pdf)
    act(services.document_distribute, document_id=document.pk, actor=personas.reviewer)
    distributed = flow.refresh(document)
    assert distributed.printed_on == document.printed_on
    for copy in distributed.incoming_copies.all():
        assert selectors.signed_pdf(copy) == pdf


def test_a_conversion_failure_refuses_the_sealing_and_changes_nothing(personas: Any, monkeypatch: Any) -> None:
    from officehub.office import client

    document, request = pending_seal_request(personas)

    def broken(docx: bytes, **kwargs: Any) -> Any:
        raise client.PdfConversionFailed("版式文件转换服务不可用", code="pdf.converter_unavailable")

    monkeypatch.setattr("documents.docx.issue.convert_docx", broken)
    with pytest.raises(ApplicationError) as caught:
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    assert (caught.value.code, caught.value.status) == ("pdf.converter_unavailable", 503)
    assert_nothing_changed(document, request)


def pdf_text(pdf: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        return "".join((page.extract_text() or "") for page in opened.pages).replace(" ", "").replace("\n", "")


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


# --- sealing fails closed ------------------------------------------------------------------


def pending_seal_request(personas: Any) -> tuple[Document, Any]:
    document = flow.to_seal(personas)
    request = act(services.seal_request_create, document_id=document.pk, actor=personas.drafter,
                  seal_id=flow.office_seal_id(), reason="印发")
    return document, request


def assert_nothing_changed(document: Document, request: Any) -> None:
    from officehub.audit.models import AuditEntry

    request.refresh_from_db()
    assert (request.status, request.seal_record_id, request.decided_by_id) == ("pending", None, None)
    stored = Document.objects.get(pk=document.pk)
    assert (stored.status, stored.seal_record_id) == ("seal", None)
    assert stored.steps.filter(kind="seal", role="approve", state="open").exists()
    assert not stored.steps.filter(kind="distribute").exists()
    assert SealRecord.objects.count() == 0
    assert not AuditEntry.objects.filter(action__in=["document.sealed", "seal.used"]).exists()


def test_a_sealing_that_returns_nothing_refuses_the_approval(
    personas: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import seals.services

    document, request = pending_seal_request(personas)
    monkeypatch.setattr(seals.services, "seal_sign", lambda **kwargs: None)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError) as caught:
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    assert (caught.value.code, caught.value.status) == ("document.seal_failed", 409)
    assert callbacks == []  # no 待办 or notification is pushed
    assert_nothing_changed(document, request)


def test_a_recording_that_returns_nothing_refuses_the_approval(personas: Any, monkeypatch: Any) -> None:
    import seals.services

    document, request = pending_seal_request(personas)
    monkeypatch.setattr(seals.services, "seal_record_signed", lambda **kwargs: None)
    with pytest.raises(ApplicationError) as caught:
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    assert caught.value.code == "document.seal_failed"
    assert_nothing_changed(document, request)


def test_an_error_inside_the_seals_app_rolls_the_approval_back(personas: Any, monkeypatch: Any) -> None:
    import seals.services

    def broken(**kwargs: Any) -> Any:
        raise ImportError("cannot import name 'x' from partially initialised module 'seals.crypto'")

    document, request = pending_seal_request(personas)
    monkeypatch.setattr(seals.services, "seal_sign", broken)
    with pytest.raises(ImportError):
        act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    assert_nothing_changed(document, request)


def test_a_broken_seals_import_never_approves_a_document_unsealed(personas: Any, monkeypatch: Any) -> None:
    # The old adapter loaded seals through importlib and, on ImportError, approved the
    # request without sealing it. Seals is a hard dependency now: such an import error
    # cannot turn into an unsealed 分发.
    import importlib

    document, request = pending_seal_request(personas)
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> Any:
        if name.startswith("seals"):
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    stored = Document.objects.get(pk=document.pk)
    assert stored.status == "distribute"
    assert stored.seal_record_id is not None
    assert seal_verify(docx=selectors.document_docx(stored), signature=bytes(stored.seal_record.signature)).is_valid


def test_custodians_for_another_organisations_seal_is_nobody_even_if_seals_fails_to_import(
    personas: Any, monkeypatch: Any
) -> None:
    import importlib

    from documents.services import sealing
    from tests.documents.flow import org

    foreign_seal = flow.office_seal_id("浙江省大数据发展管理局")
    own_seal = flow.office_seal_id()
    office = org("浙江省人民政府办公厅")
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> Any:
        if name.startswith("seals"):
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    assert sealing.custodians_for(seal_id=foreign_seal, organisation=office) == []
    assert sealing.custodians_for(seal_id=None, organisation=office) == []
    assert sealing.custodians_for(seal_id=2**62, organisation=office) == []
    assert [user.pk for user in sealing.custodians_for(seal_id=own_seal, organisation=office)] == [personas.custodian.pk]


def test_a_decided_seal_request_cannot_be_decided_again(personas: Any) -> None:
    document, request = pending_seal_request(personas)
    act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=True)
    for approve in (True, False):
        with pytest.raises(ApplicationError) as caught:
            act(services.seal_request_decide, seal_request_id=request.pk, actor=personas.custodian, approve=approve,
                reason="重复审批")
        assert (caught.value.code, caught.value.status) == ("document.invalid_transition", 409)
    assert SealRecord.objects.count() == 1
    assert Document.objects.get(pk=document.pk).status == "distribute"


def test_a_rejected_seal_request_stays_rejected_when_a_new_one_is_pending(personas: Any) -> None:
    document, rejected = pending_seal_request(personas)
    act(services.seal_request_decide, seal_request_id=rejected.pk, actor=personas.custodian, approve=False, reason="事由不清")
    act(services.seal_request_create, document_id=document.pk, actor=personas.drafter, seal_id=flow.office_seal_id(),
        reason="印发（补充事由）")
    with pytest.raises(ApplicationError) as caught:
        act(services.seal_request_decide, seal_request_id=rejected.pk, actor=personas.custodian, approve=True)
    assert (caught.value.code, caught.value.status) == ("document.invalid_transition", 409)
    assert caught.value.extra["status"] == "rejected"
    rejected.refresh_from_db()
    assert rejected.status == "rejected" and rejected.seal_record_id is None
    assert SealRecord.objects.count() == 0
