"""Every change to the department tree and user directory goes through here.

Services run inside the caller's transaction (``officehub/transactions.py``): the API
view, the admin, the CSV import or ``seed_demo`` opens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext as _

from officehub.accounts.sessions import user_sessions_revoke
from officehub.audit.services import audit
from officehub.directory.errors import (
    DepartmentCycle,
    DepartmentNotEmpty,
    DirectoryError,
    DirectoryPermissionDenied,
    DivisionAtTop,
)
from officehub.directory.models import Department, DepartmentKind, Position, Role, RoleAssignment, User
from officehub.transactions import require_transaction


def can_manage_directory(user: User | AnonymousUser | None) -> bool:
    return isinstance(user, User) and (user.is_superuser or user.has_role(Role.ADMINISTRATOR))


def _require_manager(actor: User | None) -> None:
    if not can_manage_directory(actor):
        raise DirectoryPermissionDenied(_("只有系统管理员可以维护通讯录。"))


def _path_for(parent: Department | None, pk: int) -> tuple[str, int]:
    if parent is None:
        return f"/{pk}/", 0
    return f"{parent.path}{pk}/", parent.depth + 1


def department_create(
    *,
    actor: User | None,
    name: str,
    kind: str,
    parent: Department | None = None,
    short_name: str = "",
    is_organisation: bool = False,
    issuer_code: str = "",
    issuer_mark: str = "",
    fonds_code: str = "",
    unit_code: str = "",
    sort_order: int = 0,
    check_permission: bool = True,
) -> Department:
    """Create a department under ``parent`` (or a root).

    Raises directory.permission_denied, directory.division_at_top (a 处室 needs a parent).
    """
    require_transaction()
    if check_permission:
        _require_manager(actor)
    if parent is None and kind == DepartmentKind.DIVISION:
        raise DivisionAtTop(_("处室必须隶属于上级部门，不能设为顶级部门。"))
    department = Department(
        name=name,
        kind=kind,
        parent=parent,
        short_name=short_name,
        is_organisation=is_organisation,
        issuer_code=issuer_code,
        issuer_mark=issuer_mark,
        fonds_code=fonds_code,
        unit_code=unit_code,
        sort_order=sort_order,
    )
    department.full_clean(exclude=["path", "depth"])
    department.save()
    department.path, department.depth = _path_for(parent, department.pk)
    department.save(update_fields=["path", "depth"])
    audit(
        actor=actor,
        action="directory.department_created",
        target=department,
        data={"name": name, "parent": parent.pk if parent else None},
    )
    return department


def department_move(*, actor: User | None, department_id: int, new_parent_id: int | None) -> Department:
    """Move a department (and its whole subtree) under a new parent.

    Raises directory.cycle when the new parent is the department itself or below it, and
    directory.division_at_top when a 处室 would become a root.
    """
    require_transaction()
    _require_manager(actor)
    department = Department.objects.select_for_update().get(pk=department_id)
    new_parent = Department.objects.get(pk=new_parent_id) if new_parent_id is not None else None
    if new_parent is None and department.kind == DepartmentKind.DIVISION:
        raise DivisionAtTop(_("处室必须隶属于上级部门，不能设为顶级部门。"))
    if new_parent is not None and new_parent.path.startswith(department.path):
        raise DepartmentCycle(_("不能把部门移动到它自己或其下级部门之下。"))
    old_path, old_depth = department.path, department.depth
    new_path, new_depth = _path_for(new_parent, department.pk)
    # Lock the subtree in primary-key order, then rewrite every descendant's path prefix.
    subtree = list(Department.objects.select_for_update().filter(path__startswith=old_path).order_by("pk"))
    for node in subtree:
        node.path = new_path + node.path[len(old_path):]
        node.depth = node.depth - old_depth + new_depth
        if node.pk == department.pk:
            node.parent = new_parent
    Department.objects.bulk_update(subtree, ["path", "depth", "parent"])
    audit(
        actor=actor,
        action="directory.department_moved",
        target=department,
        data={"from": old_path, "to": new_path},
    )
    department.refresh_from_db()
    return department


def department_delete(*, actor: User | None, department_id: int) -> None:
    """Delete an empty department. Raises directory.not_empty when it has members or children."""
    require_transaction()
    _require_manager(actor)
    department = Department.objects.select_for_update().get(pk=department_id)
    if department.children.exists() or department.members.exists():
        raise DepartmentNotEmpty(_("部门下还有下级部门或人员，不能删除。"))
    audit(actor=actor, action="directory.department_deleted", target=department, data={"name": department.name})
    department.delete()


def user_create(
    *,
    actor: User | None,
    username: str,
    full_name: str,
    department: Department,
    password: str | None,
    position: Position | None = None,
    roles: list[str] | tuple[str, ...] = (),
    clearance: int = 1,
    phone: str = "",
    email: str = "",
    check_permission: bool = True,
) -> User:
    """Create a user with roles; the password is validated by Django's validators."""
    require_transaction()
    if check_permission:
        _require_manager(actor)
    user = User(
        username=username,
        full_name=full_name,
        department=department,
        position=position,
        clearance=clearance,
        phone=phone,
        email=email,
    )
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise DirectoryError(_("未知角色：%(roles)s") % {"roles": "、".join(sorted(unknown))})
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    RoleAssignment.objects.bulk_create([RoleAssignment(user=user, role=role) for role in sorted(set(roles))])
    audit(
        actor=actor,
        action="directory.user_created",
        target=user,
        data={"username": username, "department": department.pk, "roles": sorted(set(roles))},
    )
    return user


# Feature apps that keep data derived from a user's place in the directory register a
# function ``f(*, user)`` here by dotted path (the core imports no feature app, as with
# WORKER_JOBS and the socket routes). It runs in the transaction of the change; an import
# error fails the change rather than silently leaving the derived data stale.
USER_CHANGED_HOOKS = ["messaging.chat.department_groups.department_groups_sync_for_user"]

USER_CHANGE_FIELDS = frozenset({"department", "roles", "is_active", "password"})


def user_changed(*, actor: User | None, user: User, fields: Iterable[str]) -> None:
    """Follow-ups of a change already saved on ``user`` (the admin's forms save it), in
    the same transaction. ``fields`` names what changed; only department, roles,
    is_active and password matter here.

    - deactivation or password change: every socket of the user re-checks its session
      after commit and closes (a password change keeps the session that made it);
    - department, roles or active flag: the registered hooks re-derive their data (the
      user joins and leaves department chat groups at once, and their open sockets are
      told ``conversation.left``);
    - audited as ``directory.user_changed``.
    """
    require_transaction()
    changed = set(fields) & USER_CHANGE_FIELDS
    if not changed:
        return
    if "is_active" in changed and not user.is_active:
        user_sessions_revoke(user_id=user.pk, reason="deactivated")
    if "password" in changed:
        user_sessions_revoke(user_id=user.pk, reason="password_changed")
    if changed & {"department", "roles", "is_active"}:
        for path in USER_CHANGED_HOOKS:
            module_name, _dot, attribute = path.rpartition(".")
            getattr(import_module(module_name), attribute)(user=user)
    audit(actor=actor, action="directory.user_changed", target=user, data={"fields": sorted(changed)})
