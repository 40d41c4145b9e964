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
