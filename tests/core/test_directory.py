"""The department tree, who may change it, the directory API and the 通讯录 page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from officehub.audit.models import AuditEntry
from officehub.directory.errors import (
    DepartmentCycle,
    DepartmentNotEmpty,
    DirectoryPermissionDenied,
)
from officehub.directory.models import Department, DepartmentKind
from officehub.directory.services import department_create, department_delete, department_move

pytestmark = pytest.mark.django_db


def _dept(path_names: list[str]) -> Department:
    node = None
    for name in path_names:
        node = Department.objects.get(parent=node, name=name)
    assert node is not None
    return node


def test_tree_of_any_depth_keeps_materialised_paths(personas: Any) -> None:
    office = _dept(["浙江省人民政府", "浙江省人民政府办公厅"])
    parent = office
    with transaction.atomic():
        for depth, name in enumerate(["一级", "二级", "三级", "四级", "五级"]):
            parent = department_create(actor=personas.admin, name=name, kind=DepartmentKind.DIVISION, parent=parent)
            assert parent.depth == office.depth + depth + 1
    assert parent.path.startswith(office.path)
    assert parent.ancestor_ids[: len(office.ancestor_ids)] == office.ancestor_ids
    assert parent.organisation() == office


def test_moving_a_department_moves_its_subtree(personas: Any) -> None:
    secretariat = _dept(["浙江省人民政府", "浙江省人民政府办公厅", "秘书处"])
    with transaction.atomic():
        child = department_create(actor=personas.admin, name="机要科", kind=DepartmentKind.DIVISION, parent=secretariat)
        grandchild = department_create(actor=personas.admin, name="收发组", kind=DepartmentKind.DIVISION, parent=child)
    bureau = _dept(["浙江省人民政府", "浙江省大数据发展管理局"])
    with transaction.atomic():
        department_move(actor=personas.admin, department_id=child.pk, new_parent_id=bureau.pk)
    grandchild.refresh_from_db()
    child.refresh_from_db()
    assert child.parent_id == bureau.pk
    assert grandchild.path == f"{bureau.path}{child.pk}/{grandchild.pk}/"
    assert grandchild.depth == bureau.depth + 2
    assert grandchild.organisation() == bureau
    assert AuditEntry.objects.filter(action="directory.department_moved", target_id=str(child.pk)).count() == 1


def test_moving_a_department_below_itself_is_refused(personas: Any) -> None:
    office = _dept(["浙江省人民政府", "浙江省人民政府办公厅"])
    secretariat = _dept(["浙江省人民政府", "浙江省人民政府办公厅", "秘书处"])
    before = office.path
    with pytest.raises(DepartmentCycle), transaction.atomic():
        department_move(actor=personas.admin, department_id=office.pk, new_parent_id=secretariat.pk)
    office.refresh_from_db()
    assert office.path == before


def test_only_administrators_change_the_tree(personas: Any) -> None:
    office = _dept(["浙江省人民政府", "浙江省人民政府办公厅"])
    for user in (personas.drafter, personas.leader, personas.archivist):
        with pytest.raises(DirectoryPermissionDenied), transaction.atomic():
            department_create(actor=user, name="新处室", kind=DepartmentKind.DIVISION, parent=office)
    assert not Department.objects.filter(name="新处室").exists()


def test_a_department_with_members_cannot_be_deleted(personas: Any) -> None:
    with pytest.raises(DepartmentNotEmpty), transaction.atomic():
        department_delete(actor=personas.admin, department_id=personas.drafter.department_id)


def test_api_tree_lists_the_whole_hierarchy(personas: Any, api_client: Any) -> None:
    api_client.force_authenticate(personas.staff)
    response = api_client.get("/api/directory/tree/")
    assert response.status_code == 200
    roots = {node["name"]: node for node in response.json()}
    assert set(roots) == {"浙江省人民政府", "杭州市人民政府"}
    office = next(c for c in roots["浙江省人民政府"]["children"] if c["name"] == "浙江省人民政府办公厅")
    assert office["issuer_code"] == "浙政办发"
    assert {child["name"] for child in office["children"]} >= {"秘书处", "文电处", "档案室"}


def test_api_members_and_name_search(personas: Any, api_client: Any) -> None:
    api_client.force_authenticate(personas.staff)
    response = api_client.get(f"/api/directory/departments/{personas.drafter.department_id}/members/")
    assert response.status_code == 200
    assert {row["username"] for row in response.json()} == {"wangfang", "lijun", "chenjie"}
    response = api_client.get("/api/directory/users/", {"q": "王芳"})
    assert [row["username"] for row in response.json()] == ["wangfang"]
    assert response.json()[0]["department"] == "秘书处"


def test_api_members_of_unknown_department_is_404(personas: Any, api_client: Any) -> None:
    api_client.force_authenticate(personas.staff)
    response = api_client.get("/api/directory/departments/999999/members/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_api_refuses_tree_changes_from_non_administrators(personas: Any, api_client: Any) -> None:
    office = _dept(["浙江省人民政府", "浙江省人民政府办公厅"])
    api_client.force_authenticate(personas.leader)
    response = api_client.post("/api/directory/departments/", {"name": "新处室", "kind": "division", "parent_id": office.pk})
    assert response.status_code == 403
    assert response.json()["code"] == "directory.permission_denied"
    api_client.force_authenticate(personas.admin)
    response = api_client.post("/api/directory/departments/", {"name": "新处室", "kind": "division", "parent_id": office.pk})
    assert response.status_code == 201
    assert response.json()["path"].startswith(office.path)


def test_api_validation_error_names_the_field(personas: Any, api_client: Any) -> None:
    api_client.force_authenticate(personas.admin)
    response = api_client.post("/api/directory/departments/", {"name": "", "kind": "planet"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["extra"]["fields"]) == {"name", "kind"}


def test_directory_page_shows_members_of_a_department(personas: Any, client: Any) -> None:
    client.force_login(personas.staff)
    response = client.get("/directory/", {"department": personas.drafter.department_id})
    content = response.content.decode()
    assert response.status_code == 200
    assert "通讯录" in content and "王芳" in content and "李军" in content
    assert "孙丽" not in content  # 文电处, not in 秘书处


def test_seed_demo_twice_changes_nothing(demo: Any) -> None:
    from officehub.demo import seed_demo
    from officehub.directory.models import User

    users, departments, entries = User.objects.count(), Department.objects.count(), AuditEntry.objects.count()
    report = seed_demo()
    assert (report.users_created, report.departments_created) == (0, 0)
    assert (User.objects.count(), Department.objects.count(), AuditEntry.objects.count()) == (users, departments, entries)
    assert users == 31  # the demo organisation's people (officehub/demo.py)
