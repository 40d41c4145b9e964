"""Django admin manages the directory; the audit log is shown read-only."""

from __future__ import annotations

from typing import Any

import pytest

from officehub.audit.models import AuditEntry
from officehub.directory.models import Department

pytestmark = pytest.mark.django_db


def test_admin_lists_departments_as_an_indented_tree_and_users(personas: Any, client: Any) -> None:
    client.force_login(personas.admin)
    departments = client.get("/admin/directory/department/")
    assert departments.status_code == 200
    assert "浙江省人民政府办公厅" in departments.content.decode()
    users = client.get("/admin/directory/user/", {"q": "王芳"})
    assert users.status_code == 200 and "wangfang" in users.content.decode()


def test_admin_creates_a_department_through_the_service(personas: Any, client: Any) -> None:
    office = Department.objects.get(name="浙江省人民政府办公厅")
    client.force_login(personas.admin)
    response = client.post(
        "/admin/directory/department/add/",
        {"name": "机要处", "kind": "division", "parent": office.pk, "sort_order": 0, "short_name": "",
         "issuer_code": "", "issuer_mark": "", "fonds_code": "", "unit_code": "JYC"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Department.objects.get(name="机要处")
    assert created.path == f"{office.path}{created.pk}/"
    assert AuditEntry.objects.filter(action="directory.department_created", target_id=str(created.pk)).exists()


def test_audit_log_in_admin_is_read_only(personas: Any, client: Any) -> None:
    client.force_login(personas.admin)
    entry = AuditEntry.objects.order_by("seq").first()
    assert entry is not None
    assert client.get("/admin/audit/auditentry/").status_code == 200
    detail = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_staff_without_admin_rights_cannot_open_the_admin(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    response = client.get("/admin/directory/department/")
    assert response.status_code == 302 and "/admin/login/" in response.headers["Location"]
