"""One lock order (docs/locking.md): 催办 and 用印审批 on one document, in real threads.

用印审批 used to write ``seal.used`` (taking the global audit head) before it locked the
document, while 催办 locks the document first and audits last: the two deadlocked. Each
thread sets ``lock_timeout`` so a long wait fails the test instead of hanging it;
PostgreSQL reports a real deadlock after ``deadlock_timeout`` either way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from documents import selectors, services
from documents.models import Document, Reminder, SealRequest
from documents.services import sealing
from officehub.audit.models import AuditEntry
from officehub.audit.services import verify_chain
from seals.models import SealRecord
from tests import concurrency
from tests.documents import flow
from tests.documents.flow import act

pytestmark = pytest.mark.django_db(transaction=True)

LOCK_TIMEOUT = "5s"


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call in its own thread, connection and transaction, released by one barrier.
    Returns each call's result or the exception it raised (any exception, not only coded
    ones: a deadlock or a lock timeout is an OperationalError)."""
    return concurrency.run_at_once(calls, lock_timeout=LOCK_TIMEOUT, expected=Exception)


def pending_request(personas: Any) -> tuple[Document, SealRequest]:
    document = flow.to_seal(personas)
    request = act(
        services.seal_request_create, document_id=document.pk, actor=personas.drafter,
        seal_id=flow.office_seal_id(), reason="印发",
    )
    return document, request


def remind_and_approve(personas: Any, document: Document, request: SealRequest) -> list[Any]:
    return run_at_once([
        lambda: services.document_remind(document_id=document.pk, actor=personas.drafter, message="请尽快用印"),
        lambda: services.seal_request_decide(seal_request_id=request.pk, actor=personas.custodian, approve=True),
    ])


def assert_both_effects(document: Document, request: SealRequest, results: list[Any]) -> None:
    failures = [r for r in results if isinstance(r, Exception)]
    assert failures == [], f"{failures!r}"
    reminders, _approved = results
    assert len(reminders) >= 1 and all(isinstance(r, Reminder) for r in reminders)
    assert Reminder.objects.filter(step__document=document, automatic=False).count() == len(reminders)
    request.refresh_from_db()
    assert request.status == "approved" and request.seal_record_id is not None
    stored = Document.objects.get(pk=document.pk)
    assert stored.status == "distribute"
    assert stored.seal_record_id == request.seal_record_id
    assert SealRecord.objects.filter(pk=request.seal_record_id, document_ref=f"document:{document.pk}").exists()
    actions = list(AuditEntry.objects.filter(target_id=str(document.pk), action__in=[
        "document.reminded", "document.sealed",
    ]).values_list("action", flat=True))
    assert sorted(actions) == ["document.reminded", "document.sealed"]


def test_remind_holding_the_document_while_the_approval_finishes_signing_does_not_deadlock(
    personas: Any, monkeypatch: Any
) -> None:
    # The interleaving that deadlocked: 催办 locks the document and is still working when
    # the custodian's approval has rendered and signed the DOCX and goes on to record it.
    signed = threading.Event()
    real_issue = sealing.issue_copy
    real_can_remind = selectors.can_remind

    def issue_then_signal(*args: Any, **kwargs: Any) -> Any:
        # The approval has rendered and converted the copy; signing follows at once.
        copy = real_issue(*args, **kwargs)
        signed.set()
        return copy

    def can_remind_after_the_signing(user: Any, document: Any) -> bool:
        # Called by document_remind with the document row locked.
        assert signed.wait(timeout=20)
        time.sleep(0.5)  # let the approval reach its next lock
        return real_can_remind(user, document)

    monkeypatch.setattr(sealing, "issue_copy", issue_then_signal)
    monkeypatch.setattr(selectors, "can_remind", can_remind_after_the_signing)
    for _round in range(3):
        signed.clear()
        document, request = pending_request(personas)
        assert_both_effects(document, request, remind_and_approve(personas, document, request))
    assert verify_chain() is None


def test_remind_and_seal_approval_run_together_many_times(personas: Any) -> None:
    for _round in range(8):
        document, request = pending_request(personas)
        assert_both_effects(document, request, remind_and_approve(personas, document, request))
    assert verify_chain() is None
