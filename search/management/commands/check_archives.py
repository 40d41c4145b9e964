"""Re-check every archived record; exit non-zero when any problem is found."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from search.integrity import archive_problems
from search.models import ArchiveRecord


class Command(BaseCommand):
    help = "检查全部档案：元数据、件号连续、文件可打开、SHA-256 摘要一致。"

    def handle(self, *args: Any, **options: Any) -> None:
        problems = 0
        for problem in archive_problems():
            problems += 1
            self.stdout.write(problem)
        total = ArchiveRecord.objects.count()
        if problems:
            raise CommandError(f"{total} 件档案中发现 {problems} 个问题。")
        self.stdout.write(self.style.SUCCESS(f"{total} 件档案检查通过。"))
