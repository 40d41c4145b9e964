"""Bring every department group in step with the directory (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from messaging.chat.jobs import department_groups_sync_all


class Command(BaseCommand):
    help = "按通讯录同步部门群成员（可重复运行）"

    def handle(self, *args: Any, **options: Any) -> None:
        synced = department_groups_sync_all()
        if options["verbosity"]:
            self.stdout.write(f"已同步 {synced} 个部门群")
