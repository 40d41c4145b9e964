"""Bulk onboarding from CSV: validate every row first, import all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from officehub.directory.models import Clearance, Department, Position, Role, User
from officehub.directory.services import user_create
from officehub.transactions import require_transaction

REQUIRED_COLUMNS = ("username", "full_name", "department")
OPTIONAL_COLUMNS = ("position", "roles", "clearance", "phone", "email", "password")
_ROLE_BY_LABEL = {str(label): value for value, label in Role.choices} | {value: value for value in Role.values}
_CLEARANCE_BY_LABEL = {str(label): value for value, label in Clearance.choices} | {str(v): v for v in Clearance.values}


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    """One good row, ready to create."""

    username: str
    full_name: str
    department: Department
    position_name: str
    roles: list[str]
    clearance: int
    phone: str
    email: str
    password: str | None


def _department_by_path(path: str, cache: dict[str, Department | None]) -> Department | None:
    """Resolve "浙江省人民政府/办公厅/秘书处" from the root down, one level per name."""
    if path in cache:
        return cache[path]
    parent: Department | None = None
    for name in [part.strip() for part in path.split("/") if part.strip()]:
        parent = Department.objects.filter(parent=parent, name=name).first()
        if parent is None:
            break
    cache[path] = parent
    return parent


def import_users_csv(text: str, *, actor: User | None) -> ImportReport:
    """Import users from CSV text; on any bad row, import nothing and report every bad row.

    Runs in the caller's transaction (the ``import_users`` command opens it), so the rows
    are created all together or not at all. Line numbers count the header as line 1, as
    a spreadsheet shows them.
    """
    require_transaction()
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        report.errors.append((1, f"缺少必填列：{'、'.join(missing)}"))
        return report
    unknown = [column for column in header if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        report.errors.append((1, f"无法识别的列：{'、'.join(unknown)}"))
        return report

    dept_cache: dict[str, Department | None] = {}
    seen: dict[str, int] = {}
    rows: list[_Row] = []
    for row in reader:
        line = reader.line_num
        problems: list[str] = []
        values = {key: (value or "").strip() for key, value in row.items() if key is not None}
        if None in row:
            problems.append("列数多于表头")
        for column in REQUIRED_COLUMNS:
            if not values.get(column):
                problems.append(f"{column} 不能为空")
        username = values.get("username", "")
        if username:
            if username.lower() in seen:
                problems.append(f"用户名 {username} 与第 {seen[username.lower()]} 行重复")
            seen[username.lower()] = line
            if User.objects.filter(username__iexact=username).exists():
                problems.append(f"用户名 {username} 已存在")
        department = _department_by_path(values["department"], dept_cache) if values.get("department") else None
        if values.get("department") and department is None:
            problems.append(f"部门不存在：{values['department']}")
        roles: list[str] = []
        for raw_role in filter(None, (part.strip() for part in values.get("roles", "").replace("；", ";").split(";"))):
            if raw_role in _ROLE_BY_LABEL:
                roles.append(_ROLE_BY_LABEL[raw_role])
            else:
                problems.append(f"未知角色：{raw_role}")
        clearance_raw = values.get("clearance") or str(Clearance.INTERNAL)
        clearance = _CLEARANCE_BY_LABEL.get(clearance_raw)
        if clearance is None:
            problems.append(f"未知涉密等级：{clearance_raw}")
        password = values.get("password") or None
        if password:
            try:
                validate_password(password, User(username=username, full_name=values.get("full_name", "")))
            except ValidationError as exc:
                problems.append("密码不符合要求：" + "；".join(exc.messages))
        if problems:
            report.errors.append((line, "；".join(problems)))
            continue
        assert department is not None and clearance is not None  # a row without them has problems
        rows.append(
            _Row(
                username=username,
                full_name=values["full_name"],
                department=department,
                position_name=values.get("position", ""),
                roles=roles,
                clearance=clearance,
                phone=values.get("phone", ""),
                email=values.get("email", ""),
                password=password,
            )
        )
    if report.errors:
        return report
    if not rows:
        report.errors.append((1, "文件中没有数据行"))
        return report
    for good in rows:
        position = Position.objects.get_or_create(name=good.position_name)[0] if good.position_name else None
        user_create(
            actor=actor,
            username=good.username,
            full_name=good.full_name,
            department=good.department,
            password=good.password,
            position=position,
            roles=good.roles,
            clearance=good.clearance,
            phone=good.phone,
            email=good.email,
            check_permission=False,
        )
        report.created += 1
    return report
