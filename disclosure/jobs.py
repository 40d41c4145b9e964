"""Worker entry points of 政务公开 (``settings.WORKER_JOBS``); each opens its transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from disclosure import services
from officehub.transactions import in_transaction


def portal_drain_backlog() -> int:
    """Index what was published or withdrawn (``services.portal_drain``, one transaction
    per claim)."""
    return services.portal_drain_backlog()


@in_transaction
def remind_requests(*, now: datetime) -> int:
    """依申请公开 deadlines: 即将到期 and 逾期 reminders (``services.requests_remind``)."""
    return services.requests_remind(
        now=now,
        interval=timedelta(seconds=settings.DOCUMENT_REMIND_INTERVAL_SECONDS),
        days_before=settings.DISCLOSURE_REMIND_WORKING_DAYS,
    )
