from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from officehub.directory.importing import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_users_csv


class Command(BaseCommand):
    help = (
        "从 CSV 批量导入用户。列："
        + ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        + "。department 为从根开始的部门路径（用 / 分隔），roles 用 ; 分隔。任何一行有误则全部不导入。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args: Any, csv_file: Path, **options: Any) -> None:
        try:
            text = csv_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"无法读取 {csv_file}：{exc}") from None
        with transaction.atomic():
            report = import_users_csv(text, actor=None)
        if report.errors:
            for line, message in report.errors:
                self.stderr.write(f"第 {line} 行：{message}")
            raise CommandError(f"{len(report.errors)} 行有误，未导入任何用户。")
        self.stdout.write(self.style.SUCCESS(f"已导入 {report.created} 个用户。"))
