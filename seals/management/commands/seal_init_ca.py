from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from officehub.errors import ApplicationError
from seals.services import DEFAULT_CA_NAME, DEFAULT_CA_ORGANISATION, ca_init


class Command(BaseCommand):
    help = "初始化电子印章根CA（ECDSA P-256，有效期10年）。已存在时不重复创建，除非 --force。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="新建CA并停用当前CA（旧CA签发的印章仍可验证）")
        parser.add_argument("--rsa", action="store_true", help="使用 RSA-3072 代替 ECDSA P-256")
        parser.add_argument("--name", default=DEFAULT_CA_NAME, help="CA 名称（证书 CN）")
        parser.add_argument("--org", default=DEFAULT_CA_ORGANISATION, help="CA 所属机构（证书 O）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic(durable=True):
                ca, created = ca_init(
                    actor=None,
                    force=options["force"],
                    key_type="rsa" if options["rsa"] else "ec",
                    common_name=options["name"],
                    organisation=options["org"],
                )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        verb = "已创建" if created else "已存在，未改动（需要更换请加 --force）"
        self.stdout.write(f"印章CA“{ca.common_name}”{verb}；证书序列号 {ca.serial}。")
        self.stdout.write("CA证书下载：/seals/ca.pem    吊销列表：/seals/crl.pem")
