"""A 处室 (division) always sits under an office or a bureau: never at the top of the tree,
whether created or moved, through the services, the API, the Django admin or the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from officehub.directory.errors import DivisionAtTop
from officehub.directory.models import Department, DepartmentKind
from officehub.directory.services import department_create, department_move

pytestmark = pytest.mark.django_db


def _secretariat() -> Department:
    return Department.objects.get(name="秘书处", parent__name="浙江省人民政府办公厅")


def test_service_refuses_a_division_at_the_top(personas: Any) -> None:
    with pytest.raises(DivisionAtTop), transaction.atomic():
        department_create(actor=personas.admin, name="游离处", kind=DepartmentKind.DIVISION, parent=None)
    assert not Department.objects.filter(name="游离处").exists()


def test_service_refuses_to_move_a_division_to_the_top(personas: Any) -> None:
    secretariat = _secretariat()
    before = (secretariat.parent_id, secretariat.path)
    with pytest.raises(DivisionAtTop), transaction.atomic():
        department_move(actor=personas.admin, department_id=secretariat.pk, new_parent_id=None)
    secretariat.refresh_from_db()
    assert (secretariat.parent_id, secretariat.path) == before


def test_other_kinds_may_still_be_roots(personas: Any) -> None:
    with transaction.atomic():
        root = department_create(actor=personas.admin, name="浙江省人民政府参事室", kind=DepartmentKind.OFFICE, parent=None)
    assert root.depth == 0 and root.path == f"/{root.pk}/"


def test_api_refuses_a_top_level_division_with_a_code(personas: Any, client: Any) -> None:
    client.force_login(personas.admin)
    response = client.post("/api/directory/departments/", {"name": "游离处", "kind": "division"}, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "directory.division_at_top"
    response = client.post(
        f"/api/directory/departments/{_secretariat().pk}/move/", {"parent_id": None}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "directory.division_at_top"


def _admin_form(department: Department | None = None, **changes: Any) -> dict[str, Any]:
    fields = (
        "name", "short_name", "kind", "parent", "sort_order", "is_organisation", "issuer_code", "issuer_mark", "fonds_code",
        "unit_code",
    )
    values: dict[str, Any] = {field: "" for field in fields}
    values["sort_order"] = 0
    if department is not None:
        for field in fields:
            value = getattr(department, field + "_id" if field == "parent" else field)
            values[field] = "" if value is None else value
    values.update(changes)
    if not values.get("is_organisation"):
        values.pop("is_organisation", None)  # an unchecked checkbox is absent
    return values


def test_admin_refuses_to_add_a_top_level_division(personas: Any, client: Any) -> None:
    client.force_login(personas.admin)
    response = client.post("/admin/directory/department/add/", _admin_form(name="游离处", kind="division", unit_code="YLC"))
    assert response.status_code == 200  # the form again, with the error
    assert "不能设为顶级部门" in response.content.decode()
    assert not Department.objects.filter(name="游离处").exists()


def test_admin_refuses_to_move_a_division_to_the_top(personas: Any, client: Any) -> None:
    secretariat = _secretariat()
    client.force_login(personas.admin)
    response = client.post(f"/admin/directory/department/{secretariat.pk}/change/", _admin_form(secretariat, parent=""))
    assert response.status_code == 200
    assert "不能设为顶级部门" in response.content.decode()
    secretariat.refresh_from_db()
    assert secretariat.parent_id is not None


def test_the_database_refuses_a_top_level_division_even_past_the_services(personas: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Department.objects.filter(pk=_secretariat().pk).update(parent=None)
