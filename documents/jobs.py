"""Worker entry points of the documents app (``settings.WORKER_JOBS``). Like a view, each
opens the one transaction its service runs in (officehub/transactions.py)."""

from __future__ import annotations

from datetime import datetime

from documents import services
from officehub.transactions import in_transaction


@in_transaction
def remind_overdue(*, now: datetime) -> int:
    """催办 for every overdue open step (``services.document_remind_overdue``)."""
    return services.document_remind_overdue(now=now)
