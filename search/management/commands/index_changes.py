"""Drain the 全局搜索 change outbox (messages, 公文) once or in a loop, or queue every
existing message/document for indexing (first deployment, or a lost index)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from officehub.indexing.models import IndexKind
from search.services import DRAIN_BATCH, change_backlog, change_drain, change_enqueue_all


class Command(BaseCommand):
    help = "把消息和公文的索引变更（officehub.indexing outbox）写入 Elasticsearch；--enqueue-all 为已有数据补建索引。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=DRAIN_BATCH)
        parser.add_argument("--loop", action="store_true", help="keep draining until interrupted")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between empty polls")
        parser.add_argument(
            "--enqueue-all", choices=[*IndexKind.values, "all"], help="queue every existing message/document first"
        )

    def handle(self, *args: Any, limit: int, loop: bool, interval: float, enqueue_all: str | None, **options: Any) -> None:
        if enqueue_all:
            for kind in IndexKind.values if enqueue_all == "all" else [enqueue_all]:
                self.stdout.write(f"queued {change_enqueue_all(kind=kind)} {kind} changes")
        while True:
            drained = change_drain(limit=limit)
            if not loop:
                self.stdout.write(f"indexed {drained}, backlog {change_backlog()}")
                return
            if drained < limit:
                time.sleep(interval)
