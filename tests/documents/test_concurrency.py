"""Real threads on real PostgreSQL: the row locks make simultaneous actions serialise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from documents import services
from documents.models import Document, NumberSequence, Step
from officehub.audit.models import AuditEntry
from officehub.errors import ApplicationError
from tests import concurrency
from tests.documents import flow
from tests.documents.flow import dept

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Every call on its own thread, connection and transaction, released together."""
    return concurrency.run_at_once(calls, atomic=True, expected=ApplicationError)


def test_two_reviewers_approving_at_once_make_exactly_one_transition(personas: Any) -> None:
    document = flow.to_review(personas)
    results = run_at_once([
        lambda: services.document_review(document_id=document.pk, actor=personas.reviewer, approve=True, opinion="甲"),
        lambda: services.document_review(document_id=document.pk, actor=personas.reviewer2, approve=True, opinion="乙"),
    ])
    failures = [r for r in results if isinstance(r, ApplicationError)]
    assert len(failures) == 1
    assert failures[0].code == "document.invalid_transition"
    assert Document.objects.get(pk=document.pk).status == "sign_off"
    assert AuditEntry.objects.filter(action="document.reviewed", target_id=str(document.pk)).count() == 1
    assert Step.objects.filter(document=document, kind="review", state="done").count() == 1
    assert Step.objects.filter(document=document, kind="sign_off", state="open").count() == 1


def test_the_last_two_countersigners_acting_at_once_open_one_sign_off(personas: Any) -> None:
    departments = [dept("浙江省人民政府办公厅", "综合处").pk, dept("浙江省人民政府办公厅", "督查处").pk]
    document = flow.to_sign_off(personas, countersign_department_ids=departments)
    results = run_at_once([
        lambda: services.document_countersign(document_id=document.pk, actor=personas.head2, approve=True),
        lambda: services.document_countersign(document_id=document.pk, actor=personas.head3, approve=True),
    ])
    assert not any(isinstance(r, ApplicationError) for r in results)  # both concur: parallel, not a conflict
    assert Document.objects.get(pk=document.pk).status == "sign_off"
    assert Step.objects.filter(document=document, kind="sign_off").count() == 1


def test_simultaneous_numbering_gives_distinct_consecutive_numbers(personas: Any) -> None:
    documents = [flow.to_numbering(personas) for _ in range(6)]
    results = run_at_once([
        (lambda d=d: services.document_assign_number(document_id=d.pk, actor=personas.reviewer)) for d in documents
    ])
    assert not any(isinstance(r, ApplicationError) for r in results)
    serials = sorted(Document.objects.filter(pk__in=[d.pk for d in documents]).values_list("doc_serial", flat=True))
    assert serials == [1, 2, 3, 4, 5, 6]
    numbers = set(Document.objects.filter(pk__in=[d.pk for d in documents]).values_list("doc_number", flat=True))
    assert len(numbers) == 6
    assert NumberSequence.objects.get().last_serial == 6


def test_the_same_file_uploaded_to_two_drafts_at_once_is_stored_once_and_both_succeed(personas: Any) -> None:
    from documents.models import Attachment, AttachmentContent
    from tests.documents import attachment_files

    one, two = flow.draft(personas), flow.draft(personas)
    data = attachment_files.pdf("同一文件")
    results = run_at_once([
        lambda: services.attachment_upload(document_id=one.pk, actor=personas.drafter, file_name="清单.pdf", data=data),
        lambda: services.attachment_upload(document_id=two.pk, actor=personas.drafter, file_name="清单.pdf", data=data),
    ])
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert AttachmentContent.objects.count() == 1
    assert Attachment.objects.filter(content__isnull=False).count() == 2


def test_two_uploads_to_one_draft_at_once_take_places_one_and_two(personas: Any) -> None:
    from documents.models import Attachment
    from tests.documents import attachment_files

    document = flow.draft(personas)
    results = run_at_once([
        lambda: services.attachment_upload(document_id=document.pk, actor=personas.drafter, file_name="一.pdf",
                                           data=attachment_files.pdf("一")),
        lambda: services.attachment_upload(document_id=document.pk, actor=personas.drafter, file_name="二.png",
                                           data=attachment_files.png()),
    ])
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(Attachment.objects.filter(document=document).values_list("position", flat=True)) == [1, 2]
    assert Document.objects.get(pk=document.pk).version == 3
