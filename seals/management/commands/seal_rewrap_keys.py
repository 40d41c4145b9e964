from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from officehub.errors import ApplicationError
from seals import crypto
from seals.services import seal_keys_rewrap


class Command(BaseCommand):
    help = (
        "用新的密钥加密密钥（KEK）重新加密全部私钥（CA 与印章），在一个事务内完成。"
        "当前 KEK 取自 OFFICEHUB_SEAL_KEK / OFFICEHUB_SEAL_KEK_FILE。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--new-kek-file", required=True,
            help="新 KEK 文件：32 字节随机数的 base64（head -c32 /dev/urandom | base64 > 文件）",
        )

    @sensitive_variables("new_kek")
    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["new_kek_file"])
        try:
            new_kek = crypto.parse_kek(path.read_text(encoding="ascii"))
        except OSError as exc:
            raise CommandError(f"无法读取新 KEK 文件：{exc.strerror}") from None
        except (crypto.InvalidKEK, UnicodeDecodeError):
            # Never echo the file's content: it is (or should have been) a secret.
            raise CommandError("新 KEK 文件内容无效：须为 32 字节随机数的 base64 编码。") from None
        try:
            with transaction.atomic(durable=True):
                counts = seal_keys_rewrap(new_kek=new_kek, actor=None)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(
            f"已用新 KEK 重新加密 {counts['authorities']} 个CA私钥和 {counts['seals']} 个印章私钥。"
        )
        self.stdout.write("下一步：立即把服务器配置改为新 KEK 并重启所有进程，例如")
        self.stdout.write(f"  OFFICEHUB_SEAL_KEK_FILE={path.resolve()}")
        self.stdout.write("（并删除 OFFICEHUB_SEAL_KEK，如果设置了它）。旧 KEK 已无法解开任何私钥，确认新配置生效后销毁旧 KEK。")
