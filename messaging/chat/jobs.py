"""Worker jobs of chat (``settings.WORKER_JOBS``, also the management commands): entry
points, so each opens its own transaction(s) around the services it runs."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from messaging.chat import dings
from messaging.chat.department_groups import department_group_sync
from officehub.directory.models import Department


def ding_renotify_due(*, now: datetime | None = None) -> int:
    """Send the DING reminders that are due (``dings.ding_renotify_due``), in one
    transaction: the claimed rows stay locked until their pushes are registered."""
    with transaction.atomic():
        return dings.ding_renotify_due(now=now)


def department_groups_sync_all() -> int:
    """Sync every department's group (``manage.py sync_department_groups`` too), each in
    its own transaction, so one department's sync never holds another's lock and a
    failure keeps the groups already synced. Returns how many department groups exist
    afterwards."""
    synced = 0
    for department_id in Department.objects.order_by("path").values_list("pk", flat=True):
        with transaction.atomic():
            if department_group_sync(department_id=department_id) is not None:
                synced += 1
    return synced
