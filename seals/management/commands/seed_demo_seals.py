from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from officehub.errors import ApplicationError
from seals.services import seal_seed_demo


class Command(BaseCommand):
    help = "为演示数据创建印章CA，并为每个有印章管理员的发文机关签发并启用一枚公章（可重复运行）。"

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic(durable=True):
                report = seal_seed_demo()
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"印章CA：{report['ca']}（{'新建' if report['ca_created'] else '已存在'}）")
        for name in report["created"]:
            self.stdout.write(f"  新建并启用：{name}")
        if not report["created"]:
            self.stdout.write("  没有需要新建的公章。")
        for name in report["skipped"]:
            self.stdout.write(f"  跳过（没有印章管理员）：{name}")
