from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from officehub.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the chain is appended by services and never edited by hand."""

    list_display = ["seq", "created_at", "actor_label", "action", "target_type", "target_id"]
    list_filter = ["action"]
    search_fields = ["action", "target_id", "actor_label"]
    ordering = ["-seq"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
