from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from officehub.audit.models import AuditEntry
from officehub.audit.services import verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链：发现被修改、删除、插入或调换的记录时报告第一条问题记录并以非零状态退出。"

    def handle(self, *args: Any, **options: Any) -> None:
        found = verify_chain()
        if found is not None:
            raise CommandError(f"审计链断裂：第 {found.seq} 条（id={found.entry_id}）：{found.reason}")
        count = AuditEntry.objects.count()
        self.stdout.write(self.style.SUCCESS(f"审计链完整：共 {count} 条记录。"))
