"""One transaction convention: entry points open it, services refuse to run without one.

Real transactions (``transaction=True``): inside pytest-django's usual wrapping atomic
block every call would pass the check, so it could not be seen to work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import transaction

from documents import jobs, services
from documents.models import Document, Reminder
from officehub.management.commands.run_worker import load_jobs
from tests.documents import flow

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_a_service_called_outside_a_transaction_changes_nothing(personas: Any) -> None:
    with pytest.raises(transaction.TransactionManagementError):
        services.document_create_draft(actor=personas.drafter, doc_type="notice", title="关于开展安全检查的通知")
    assert not Document.objects.exists()
    document = flow.draft(personas)  # as a view would: inside its own transaction
    with pytest.raises(transaction.TransactionManagementError):
        services.document_submit(document_id=document.pk, actor=personas.drafter)
    assert Document.objects.get(pk=document.pk).status == "draft"


def test_the_worker_job_runs_overdue_reminders_in_its_own_transaction(personas: Any) -> None:
    with time_machine.travel(T0, tick=False):
        flow.to_review(personas, urgency="extra_urgent")
    with pytest.raises(transaction.TransactionManagementError):
        services.document_remind_overdue(now=T0 + dt.timedelta(hours=5))
    job = next(job for job in load_jobs(settings.WORKER_JOBS) if job.path.startswith("documents."))
    assert job.function is jobs.remind_overdue and job.wants_now
    assert job.function(now=T0 + dt.timedelta(hours=5)) == 1
    assert Reminder.objects.filter(automatic=True).count() == 1
