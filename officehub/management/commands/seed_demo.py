from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from officehub.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "创建演示组织与用户（可重复运行，已存在的不会重复创建）。"

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            report = seed_demo()
        self.stdout.write(
            f"演示数据：新建部门 {report.departments_created} 个，新建用户 {report.users_created} 个。"
        )
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for username, name, roles in report.logins:
            self.stdout.write(f"  {username:<10} {name}（{roles}）")
