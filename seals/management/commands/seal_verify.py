from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from officehub.errors import ApplicationError
from seals.services import seal_verify


class Command(BaseCommand):
    help = "验证用印文件：manage.py seal_verify 文件.docx 文件.p7s。有效时输出“有效”，否则输出原因并以非零状态退出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("docx", help="用印后的 DOCX 文件")
        parser.add_argument("signature", help="分离式签名 .p7s（DER）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            docx = Path(options["docx"]).read_bytes()
            signature = Path(options["signature"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件：{exc}") from None
        try:
            result = seal_verify(docx=docx, signature=signature)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        details = []
        if result.signer_subject:
            details.append(f"印章证书：{result.signer_subject}")
        if result.signing_time:
            details.append(f"签章时间：{timezone.localtime(result.signing_time):%Y-%m-%d %H:%M:%S}")
        if result.revoked_at:
            details.append(f"吊销时间：{timezone.localtime(result.revoked_at):%Y-%m-%d %H:%M:%S}")
        if result.status == "valid":
            self.stdout.write("有效")
        else:
            self.stdout.write(f"{result.message_zh}（{result.reason_code}）")
        for line in details:
            self.stdout.write(line)
        if result.status != "valid":
            # "valid when sealed; since revoked" is a pass for the document but not an
            # unqualified "valid": scripts must notice, so it exits 2, failures exit 1.
            raise SystemExit(2 if result.is_valid else 1)
