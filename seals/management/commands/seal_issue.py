from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from officehub.directory.models import Department, User
from officehub.errors import ApplicationError
from seals.models import SealKind
from seals.services import seal_activate, seal_issue


def _organisation(value: str) -> Department:
    lookup = Q(issuer_code=value) | Q(name=value)
    if value.isdigit():
        lookup |= Q(pk=int(value))
    found = list(Department.objects.filter(lookup, is_organisation=True)[:2])
    if len(found) != 1:
        raise CommandError(f"找不到唯一的发文机关“{value}”（可用机关代字、名称或编号）。")
    return found[0]


def _user(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"用户“{username}”不存在或已停用。")
    return user


class Command(BaseCommand):
    help = "签发一枚电子印章：manage.py seal_issue --org 浙政办发 --kind organisation --custodian huangyan --activate"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="所属机关：机关代字、名称或编号")
        parser.add_argument(
            "--kind", required=True, choices=SealKind.values, help="organisation 公章 / special 专用章 / personal 个人签名章"
        )
        parser.add_argument("--custodian", action="append", default=[], required=True, help="印章管理员用户名（可重复）")
        parser.add_argument("--person", help="个人签名章的所属个人（用户名）")
        parser.add_argument("--lower-text", default="", help="专用章下弦文字，如 合同专用章")
        parser.add_argument("--name", default="", help="印章名称（默认按机关名称生成）")
        parser.add_argument("--valid-until", help="有效期止，YYYY-MM-DD（默认5年）")
        parser.add_argument("--rsa", action="store_true", help="RSA-3072 密钥（默认 ECDSA P-256）")
        parser.add_argument("--activate", action="store_true", help="签发后立即启用")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = _organisation(options["org"])
        custodians = [_user(name) for name in options["custodian"]]
        person = _user(options["person"]) if options["person"] else None
        valid_until = None
        if options["valid_until"]:
            try:
                day = dt.date.fromisoformat(options["valid_until"])
            except ValueError:
                raise CommandError("--valid-until 须为 YYYY-MM-DD。") from None
            valid_until = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        try:
            with transaction.atomic(durable=True):
                seal = seal_issue(
                    actor=None,
                    kind=options["kind"],
                    owner_organisation_id=organisation.pk,
                    owner_person_id=person.pk if person else None,
                    custodian_ids=[user.pk for user in custodians],
                    name=options["name"],
                    lower_text=options["lower_text"],
                    valid_until=valid_until,
                    key_type="rsa" if options["rsa"] else "ec",
                    check_permission=False,  # whoever runs manage.py administers the server
                )
                if options["activate"]:
                    seal = seal_activate(actor=None, seal_id=seal.pk, check_permission=False)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(
            f"已签发印章 #{seal.pk}“{seal.name}”（{seal.get_status_display()}），证书序列号 {seal.serial}，"
            f"有效期至 {timezone.localtime(seal.valid_until):%Y-%m-%d}。"
        )
