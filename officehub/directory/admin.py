from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from officehub.directory import services
from officehub.directory.models import Department, Position, RoleAssignment, User
from officehub.edges import request_user

DEPARTMENT_FIELDS = (
    "name", "kind", "parent", "short_name", "is_organisation", "issuer_code", "issuer_mark", "fonds_code", "unit_code",
    "sort_order",
)


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
                    actor=request_user(request),
                    check_permission=False,
                    **{field: getattr(obj, field) for field in DEPARTMENT_FIELDS},
                )
                obj.pk = created.pk
                return
            parent_changed = "parent" in form.changed_data
            super().save_model(request, obj, form, change)
            if parent_changed:
                services.department_move(actor=request_user(request), department_id=obj.pk, new_parent_id=obj.parent_id)


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
        *(DjangoUserAdmin.fieldsets or ()),
        (_("组织信息"), {"fields": ("full_name", "department", "position", "clearance", "phone")}),
    )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Runs after save_model, in the admin's transaction: the roles inline is saved too.
        super().save_related(request, form, formsets, change)
        if not change:
            return
        fields = {name for name in form.changed_data if name in ("department", "is_active")}
        if any(formset.model is RoleAssignment and formset.has_changed() for formset in formsets):
            fields.add("roles")
        services.user_changed(actor=request_user(request), user=form.instance, fields=fields)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        # Django's view saves the form itself; compare the stored hash to learn whether it did.
        with transaction.atomic():
            before = User.objects.filter(pk=id).values_list("password", flat=True).first()
            response = super().user_change_password(request, id, form_url)
            user = User.objects.filter(pk=id).first()
            if user is not None and before is not None and user.password != before:
                services.user_changed(actor=request_user(request), user=user, fields={"password"})
        return response


admin.site.register(Position)
admin.site.site_header = "OfficeHub 管理后台"
admin.site.site_title = "OfficeHub"
