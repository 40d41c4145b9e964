"""Rebuild the archive index from the database and swap the alias (zero downtime)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from search.reindex import search_reindex


class Command(BaseCommand):
    help = "从数据库重建档案索引（新版本索引），完成后原子切换别名。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--keep-old", action="store_true", help="keep the previous index version")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, batch_size: int, keep_old: bool, no_progress: bool, **options: Any) -> None:
        result = search_reindex(batch_size=batch_size, progress=not no_progress, keep_old=keep_old)
        self.stdout.write(
            f"alias now on {result['index']}: {result['records']} records, "
            f"replayed {result['replayed']}, previous {', '.join(result['previous']) or '-'}"
        )
