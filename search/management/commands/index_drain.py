"""Drain the archive index outbox once, or keep draining (``--loop``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from search.services import DRAIN_BATCH, index_backlog, index_drain


class Command(BaseCommand):
    help = "把档案索引待办（outbox）写入 Elasticsearch；--loop 持续运行。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=DRAIN_BATCH)
        parser.add_argument("--loop", action="store_true", help="keep draining until interrupted")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between empty polls")

    def handle(self, *args: Any, limit: int, loop: bool, interval: float, **options: Any) -> None:
        while True:
            drained = index_drain(limit=limit)
            if not loop:
                self.stdout.write(f"indexed {drained}, backlog {index_backlog()}")
                return
            if drained < limit:
                time.sleep(interval)
