from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from officehub.directory import services
from officehub.directory.models import Department, Position, RoleAssignment, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["indented_name", "kind", "is_organisation", "issuer_code", "fonds_code", "unit_code"]
    list_filter = ["kind", "is_organisation"]
    search_fields = ["name", "issuer_code"]
    readonly_fields = ["path", "depth"]

    @admin.display(description=_("名称"), ordering="path")
    def indented_name(self, obj: Department) -> str:
        return "　" * obj.depth + obj.name

    def save_model(self, request: HttpRequest, obj: Department, form: Any, change: bool) -> None:
        # Paths of the subtree must follow a change of parent: route through the services.
        with transaction.atomic():
            if not change:
                created = services.department_create(
                    actor=request.user,
                    check_permission=False,
                    **{f: getattr(obj, f) for f in ("name", "kind", "parent", "short_name", "is_organisation", "issuer_code", "issuer_mark", "fonds_code", "unit_code", "sort_order")},
                )
                obj.pk = created.pk
                return
            parent_changed = "parent" in form.changed_data
            super().save_model(request, obj, form, change)
            if parent_changed:
                services.department_move(actor=request.user, department_id=obj.pk, new_parent_id=obj.parent_id)


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "full_name", "department", "position", "clearance", "is_active"]
    list_filter = ["is_active", "clearance", "role_assignments__role"]
    search_fields = ["username", "full_name"]
    inlines = [RoleInline]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("组织信息"), {"fields": ("full_name", "department", "position", "clearance", "phone")}),
    )


admin.site.register(Position)
admin.site.site_header = "OfficeHub 管理后台"
admin.site.site_title = "OfficeHub"
