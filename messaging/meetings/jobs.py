"""Worker jobs of meetings (``settings.WORKER_JOBS``): entry points, so each opens the
transaction the services it runs require."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from messaging.meetings import services


def meeting_remind_upcoming(*, now: datetime | None = None) -> int:
    """Send the reminders of meetings about to start (``services.meeting_remind_upcoming``)
    in one transaction: the claimed meeting rows stay locked until their pushes are
    registered, so two workers never remind twice."""
    with transaction.atomic():
        return services.meeting_remind_upcoming(now=now)
