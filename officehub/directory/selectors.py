"""Reads of the directory. Every signed-in civil servant may read the 通讯录."""

from __future__ import annotations

from typing import Any, TypedDict

from django.db.models import Count, Q, QuerySet

from officehub.directory.models import Department, User


class DepartmentNode(TypedDict):
    id: int
    name: str
    kind: str
    is_organisation: bool
    issuer_code: str
    member_count: int
    children: list[DepartmentNode]


def department_tree(*, root_id: int | None = None) -> list[DepartmentNode]:
    """The whole tree (or one subtree) in two queries, children sorted by sort_order, name."""
    departments = Department.objects.order_by("depth", "sort_order", "name")
    if root_id is not None:
        root = Department.objects.get(pk=root_id)
        departments = departments.filter(path__startswith=root.path)
    rows = list(departments.annotate(member_count=Count("members", filter=Q(members__is_active=True))))
    nodes: dict[int, DepartmentNode] = {}
    roots: list[DepartmentNode] = []
    for dept in rows:
        node: DepartmentNode = {
            "id": dept.pk,
            "name": dept.name,
            "kind": dept.kind,
            "is_organisation": dept.is_organisation,
            "issuer_code": dept.issuer_code,
            "member_count": dept.member_count,
            "children": [],
        }
        nodes[dept.pk] = node
        parent = nodes.get(dept.parent_id) if dept.parent_id else None
        if parent is None:
            roots.append(node)
        else:
            parent["children"].append(node)
    return roots


def department_members(*, department_id: int, include_subtree: bool = False) -> QuerySet[User]:
    department = Department.objects.get(pk=department_id)
    users = User.objects.filter(is_active=True).select_related("department", "position").prefetch_related("role_assignments")
    if include_subtree:
        subtree = users.filter(department__path__startswith=department.path)
        return subtree.order_by("department__path", "-position__rank", "username")
    return users.filter(department=department).order_by("-position__rank", "username")


def user_search(*, query: str, limit: int = 50) -> QuerySet[User]:
    query = query.strip()
    users = User.objects.filter(is_active=True).select_related("department", "position").prefetch_related("role_assignments")
    if not query:
        return users.none()
    return users.filter(Q(full_name__icontains=query) | Q(username__icontains=query)).order_by("full_name")[:limit]


def users_with_role(*, role: str, department: Department | None = None) -> QuerySet[User]:
    users = User.objects.filter(is_active=True, role_assignments__role=role)
    if department is not None:
        users = users.filter(department=department)
    return users.distinct()


def organisation_of(user: Any) -> Department | None:
    return user.department.organisation() if getattr(user, "department_id", None) else None
