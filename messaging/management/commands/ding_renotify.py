"""Send due DING reminders once, or keep doing so every few seconds (--loop)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from messaging.chat.jobs import ding_renotify_due


class Command(BaseCommand):
    help = "发送到期的 DING 再提醒（--loop 持续运行）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="持续运行")
        parser.add_argument("--interval", type=float, default=10.0, help="轮询间隔（秒）")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            sent = ding_renotify_due()
            if options["verbosity"] and (sent or not options["loop"]):
                self.stdout.write(f"发送 DING 提醒 {sent} 条")
            if not options["loop"]:
                return
            time.sleep(options["interval"])
