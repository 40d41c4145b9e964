"""Bring every department group in step with the directory (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from messaging.services import department_group_sync
from officehub.directory.models import Department


class Command(BaseCommand):
    help = "按通讯录同步部门群成员（可重复运行）"

    def handle(self, *args: Any, **options: Any) -> None:
        synced = 0
        for department_id in Department.objects.order_by("path").values_list("pk", flat=True):
            if department_group_sync(department_id=department_id) is not None:
                synced += 1
        if options["verbosity"]:
            self.stdout.write(f"已同步 {synced} 个部门群")
