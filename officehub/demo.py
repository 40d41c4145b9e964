"""Demo organisation and people for ``manage.py seed_demo`` (idempotent).

Every demo account uses DEMO_PASSWORD; the README lists them by role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from officehub.directory.models import Clearance, Department, DepartmentKind, Position, Role, User
from officehub.directory.services import department_create, user_create
from officehub.transactions import require_transaction

DEMO_PASSWORD = "OfficeHub#2026"  # noqa: S105 - documented demo credential, demo data only

# A node: (name, kind, fields, children). Issuing organisations (with a 全宗号) come from
# _org(); a 处室's fields carry only its 机构(问题) code.
OrgNode = tuple[str, str, dict[str, str], list["OrgNode"]]


def _org(issuer_code: str, issuer_mark: str, fonds_code: str, unit_code: str = "") -> dict[str, str]:
    fields = {"issuer_code": issuer_code, "issuer_mark": issuer_mark, "fonds_code": fonds_code}
    return fields | ({"unit_code": unit_code} if unit_code else {})


def _division(name: str, unit_code: str) -> OrgNode:
    return (name, DepartmentKind.DIVISION, {"unit_code": unit_code}, [])


ORG_TREE: list[OrgNode] = [
    ("浙江省人民政府", DepartmentKind.PROVINCE, _org("浙政发", "浙江省人民政府文件", "Z001"), [
        ("浙江省人民政府办公厅", DepartmentKind.OFFICE, _org("浙政办发", "浙江省人民政府办公厅文件", "Z109", "BGS"), [
            _division("秘书处", "MSC"),
            _division("综合处", "ZHC"),
            _division("督查处", "DCC"),
            _division("文电处", "WDC"),
            _division("档案室", "DAS"),
        ]),
        ("浙江省大数据发展管理局", DepartmentKind.BUREAU, _org("浙数局发", "浙江省大数据发展管理局文件", "Z210", "DSJ"), [
            _division("办公室", "BGS"),
            _division("数据资源处", "SJZ"),
        ]),
        ("浙江省财政厅", DepartmentKind.BUREAU, _org("浙财发", "浙江省财政厅文件", "Z150", "CZT"), [
            _division("办公室", "BGS"),
            _division("预算处", "YSC"),
        ]),
    ]),
    ("杭州市人民政府", DepartmentKind.CITY, _org("杭政发", "杭州市人民政府文件", "H001"), [
        ("杭州市人民政府办公厅", DepartmentKind.OFFICE, _org("杭政办发", "杭州市人民政府办公厅文件", "H009", "BGT"), [
            _division("秘书处", "MSC"),
            _division("综合处", "ZHC"),
        ]),
        ("西湖区人民政府", DepartmentKind.COUNTY, _org("西政发", "杭州市西湖区人民政府文件", "H101"), []),
    ]),
]

POSITIONS = [
    ("主任", 90), ("副主任", 80), ("局长", 90), ("厅长", 95), ("处长", 60), ("副处长", 50), ("主任科员", 30), ("科员", 20),
    ("档案管理员", 20),
]

D, R, H, S = (Role.DRAFTER, Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.SIGNING_LEADER)
C, A, M = (Role.SEAL_CUSTODIAN, Role.ARCHIVIST, Role.ADMINISTRATOR)
V = Role.SUPERVISOR
GOV_OFFICE = "浙江省人民政府/浙江省人民政府办公厅"
BIG_DATA = "浙江省人民政府/浙江省大数据发展管理局"
FINANCE = "浙江省人民政府/浙江省财政厅"
HZ_OFFICE = "杭州市人民政府/杭州市人民政府办公厅"

# username, name, department path, position, roles, clearance
PEOPLE: list[tuple[str, str, str, str, tuple[str, ...], int]] = [
    ("admin", "系统管理员", f"{GOV_OFFICE}/综合处", "主任科员", (M,), Clearance.INTERNAL),
    ("liuyang", "刘洋", GOV_OFFICE, "主任", (S,), Clearance.SECRET),
    ("zhengwei", "郑伟", GOV_OFFICE, "副主任", (S,), Clearance.SECRET),
    ("wangfang", "王芳", f"{GOV_OFFICE}/秘书处", "科员", (D,), Clearance.INTERNAL),
    ("lijun", "李军", f"{GOV_OFFICE}/秘书处", "主任科员", (D,), Clearance.INTERNAL),
    ("chenjie", "陈杰", f"{GOV_OFFICE}/秘书处", "处长", (H, D), Clearance.INTERNAL),
    ("zhouqiang", "周强", f"{GOV_OFFICE}/综合处", "处长", (H,), Clearance.INTERNAL),
    ("heli", "何丽", f"{GOV_OFFICE}/综合处", "科员", (D,), Clearance.INTERNAL),
    ("machao", "马超", f"{GOV_OFFICE}/综合处", "科员", (), Clearance.PUBLIC),
    ("wuhao", "吴昊", f"{GOV_OFFICE}/督查处", "处长", (H,), Clearance.INTERNAL),
    ("zhaomin", "赵敏", f"{GOV_OFFICE}/文电处", "副处长", (R,), Clearance.INTERNAL),
    ("sunli", "孙丽", f"{GOV_OFFICE}/文电处", "主任科员", (R,), Clearance.INTERNAL),
    ("huangyan", "黄燕", f"{GOV_OFFICE}/文电处", "主任科员", (C,), Clearance.INTERNAL),
    ("xuhui", "徐慧", f"{GOV_OFFICE}/档案室", "档案管理员", (A,), Clearance.SECRET),
    ("weidong", "卫东", BIG_DATA, "局长", (S,), Clearance.SECRET),
    ("qianlei", "钱磊", f"{BIG_DATA}/办公室", "科员", (D,), Clearance.INTERNAL),
    ("fengxue", "冯雪", f"{BIG_DATA}/办公室", "主任科员", (R, C), Clearance.INTERNAL),
    ("chuyi", "褚毅", f"{BIG_DATA}/数据资源处", "处长", (H,), Clearance.INTERNAL),
    ("shenjing", "沈静", f"{BIG_DATA}/办公室", "档案管理员", (A,), Clearance.INTERNAL),
    ("zhuwen", "朱文", FINANCE, "厅长", (S,), Clearance.SECRET),
    ("hanmei", "韩梅", f"{FINANCE}/办公室", "科员", (D, R), Clearance.INTERNAL),
    ("yangfan", "杨帆", f"{FINANCE}/预算处", "处长", (H,), Clearance.INTERNAL),
    ("qinyu", "秦宇", f"{FINANCE}/办公室", "主任科员", (C, A), Clearance.INTERNAL),
    ("lvbin", "吕斌", HZ_OFFICE, "主任", (S,), Clearance.SECRET),
    ("youli", "尤丽", f"{HZ_OFFICE}/秘书处", "科员", (D,), Clearance.INTERNAL),
    ("xuming", "许明", f"{HZ_OFFICE}/秘书处", "副处长", (R,), Clearance.INTERNAL),
    ("hejun", "何军", f"{HZ_OFFICE}/综合处", "处长", (H,), Clearance.INTERNAL),
    ("shiyan", "施燕", f"{HZ_OFFICE}/综合处", "主任科员", (C,), Clearance.INTERNAL),
    ("zhangqing", "张青", f"{HZ_OFFICE}/综合处", "档案管理员", (A,), Clearance.INTERNAL),
    ("kongming", "孔明", "杭州市人民政府/西湖区人民政府", "科员", (D,), Clearance.INTERNAL),
    ("tangning", "唐宁", f"{GOV_OFFICE}/督查处", "主任科员", (V,), Clearance.INTERNAL),
]


@dataclass
class SeedReport:
    departments_created: int = 0
    users_created: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)


def _ensure_tree(
    nodes: list[OrgNode], parent: Department | None, report: SeedReport, index: dict[str, Department], prefix: str
) -> None:
    for order, (name, kind, extra, children) in enumerate(nodes):
        department = Department.objects.filter(parent=parent, name=name).first()
        if department is None:
            is_org = "fonds_code" in extra
            department = department_create(
                actor=None, name=name, kind=kind, parent=parent, is_organisation=is_org,
                sort_order=order, check_permission=False, **extra,
            )
            report.departments_created += 1
        path = f"{prefix}/{name}" if prefix else name
        index[path] = department
        _ensure_tree(children, department, report, index, path)


def seed_demo() -> SeedReport:
    """Create whatever of the demo organisation is missing, in the caller's transaction."""
    require_transaction()
    report = SeedReport()
    index: dict[str, Department] = {}
    _ensure_tree(ORG_TREE, None, report, index, "")
    positions = {name: Position.objects.get_or_create(name=name, defaults={"rank": rank})[0] for name, rank in POSITIONS}
    for username, name, path, position, roles, clearance in PEOPLE:
        if not User.objects.filter(username=username).exists():
            user_create(
                actor=None, username=username, full_name=name, department=index[path], password=DEMO_PASSWORD,
                position=positions[position], roles=roles, clearance=clearance, check_permission=False,
                phone="0571-8705" + f"{len(report.logins):04d}",
            )
            report.users_created += 1
        report.logins.append((username, name, "、".join(str(Role(role).label) for role in roles) or "普通工作人员"))
    admin = User.objects.get(username="admin")
    if not admin.is_staff:
        User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    return report
