"""Read-only admin for the seal registry.

Changes go through the services (API, the seal list page, management commands), never
through admin forms: a form would bypass the transition table and the audit chain. The
wrapped key blobs are excluded outright, not merely read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from officehub.directory.models import User
from officehub.errors import ApplicationError
from seals import services
from seals.edges import request_user
from seals.models import CertificateAuthority, Seal, SealRecord

_KEY_FIELDS = ("wrapped_key", "key_id")


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(_ReadOnlyAdmin):
    list_display = ("common_name", "organisation", "key_type", "is_active", "crl_number", "created_at", "retired_at")
    exclude = (*_KEY_FIELDS, "crl_pem")
    readonly_fields = (
        "common_name", "organisation", "key_type", "serial", "certificate_pem", "is_active", "crl_number",
        "crl_next_update", "created_at", "retired_at",
    )


def _run(request: HttpRequest, queryset: QuerySet[Seal], service: Callable[..., Seal]) -> None:
    """Each selected seal in its own transaction: one refusal leaves the others done."""
    actor: User = request_user(request)
    for seal in queryset.only("pk", "name"):
        try:
            with transaction.atomic():
                service(actor=actor, seal_id=seal.pk)
        except ApplicationError as exc:
            messages.error(request, f"{seal.name}：{exc.message}")
        else:
            messages.success(request, f"{seal.name}：已完成。")


@admin.register(Seal)
class SealAdmin(_ReadOnlyAdmin):
    list_display = ("name", "kind", "owner_organisation", "status", "valid_from", "valid_until", "serial")
    list_filter = ("kind", "status")
    search_fields = ("name", "serial")
    exclude = (*_KEY_FIELDS, "image")
    readonly_fields = (
        "kind", "name", "lower_text", "owner_organisation", "owner_person", "custodians", "status",
        "valid_from", "valid_until", "authority", "key_type", "certificate_pem", "serial",
        "revoked_at", "revocation_reason", "revocation_note", "created_at", "created_by",
    )
    actions = ("activate", "suspend", "resume")

    # Actions carry no Django permission: the services they call check the actor.
    @admin.action(description="启用所选印章")
    def activate(self, request: HttpRequest, queryset: QuerySet[Seal]) -> None:
        _run(request, queryset, services.seal_activate)

    @admin.action(description="暂停所选印章")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Seal]) -> None:
        _run(request, queryset, services.seal_suspend)

    @admin.action(description="恢复所选印章")
    def resume(self, request: HttpRequest, queryset: QuerySet[Seal]) -> None:
        _run(request, queryset, services.seal_resume)


@admin.register(SealRecord)
class SealRecordAdmin(_ReadOnlyAdmin):
    list_display = ("title", "seal", "document_ref", "actor", "signing_time")
    search_fields = ("title", "document_ref", "sha256")
    exclude = ("sealed_docx", "signature")
    readonly_fields = ("seal", "document_ref", "title", "sha256", "signing_time", "actor", "created_at")
