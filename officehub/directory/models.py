"""The org directory: the department tree, positions, users, roles and clearance."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DepartmentKind(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")
    BUREAU = "bureau", _("厅局")
    OFFICE = "office", _("办公厅（室）")
    DIVISION = "division", _("处室")


class Clearance(models.IntegerChoices):
    """Ordered levels: a user reads material whose level is at most theirs."""

    PUBLIC = 0, _("公开")
    INTERNAL = 1, _("内部")
    SECRET = 2, _("秘密")
    CONFIDENTIAL = 3, _("机密")
    TOP_SECRET = 4, _("绝密")


class Role(models.TextChoices):
    DRAFTER = "drafter", _("拟稿人")
    REVIEWER = "reviewer", _("核稿人")
    DEPARTMENT_HEAD = "department_head", _("部门负责人")
    SIGNING_LEADER = "signing_leader", _("签发领导")
    SEAL_CUSTODIAN = "seal_custodian", _("印章管理员")
    ARCHIVIST = "archivist", _("档案员")
    # 督查处 staff: read the 督办 dashboard of their organisation (oversight/).
    SUPERVISOR = "supervisor", _("督查")
    ADMINISTRATOR = "administrator", _("系统管理员")


# Who may open the 督办 dashboard (oversight/): leaders and 督查 staff for their
# organisation, department heads for their own department.
OVERSIGHT_ROLES = frozenset({Role.SIGNING_LEADER, Role.SUPERVISOR, Role.DEPARTMENT_HEAD})


class Department(models.Model):
    """A node of the department tree, any depth (province → city → county → bureau → division).

    ``path`` is a materialised path of primary keys ("/1/4/9/") kept by the directory
    services, so a whole subtree is one indexed prefix query.
    """

    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    kind = models.CharField(_("类型"), max_length=20, choices=DepartmentKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    # An organisation issues documents and keeps its own archive fonds.
    is_organisation = models.BooleanField(_("发文机关"), default=False)
    issuer_code = models.CharField(_("机关代字"), max_length=20, blank=True)
    issuer_mark = models.CharField(_("发文机关标志"), max_length=100, blank=True)
    fonds_code = models.CharField(_("全宗号"), max_length=20, blank=True)
    unit_code = models.CharField(_("机构代码"), max_length=10, blank=True, help_text=_("档号中的机构（问题）代码，如 BGS"))

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="department_unique_name_per_parent"),
            models.UniqueConstraint(
                fields=["issuer_code"], condition=~Q(issuer_code=""), name="department_unique_issuer_code"
            ),
            models.CheckConstraint(
                condition=Q(is_organisation=False) | ~Q(fonds_code=""),
                name="organisation_has_fonds_code",
            ),
            # A 处室 is always part of an office or a bureau: never a root of the tree.
            models.CheckConstraint(
                condition=Q(parent__isnull=False) | ~Q(kind="division"),
                name="department_division_has_parent",
                violation_error_code="division_at_top",
                violation_error_message=_("处室必须隶属于上级部门，不能设为顶级部门。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def organisation(self) -> Department | None:
        """The nearest issuing organisation at or above this department."""
        if self.is_organisation:
            return self
        ids = self.ancestor_ids[:-1]
        return (
            Department.objects.filter(pk__in=ids, is_organisation=True).order_by("-depth").first() if ids else None
        )


class Position(models.Model):
    name = models.CharField(_("职务"), max_length=50, unique=True)
    rank = models.PositiveSmallIntegerField(_("级别"), default=0, help_text=_("数字越大级别越高，用于排序"))

    class Meta:
        verbose_name = _("职务")
        verbose_name_plural = _("职务")
        ordering = ["-rank", "name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50)
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    position = models.ForeignKey(
        Position, verbose_name=_("职务"), null=True, blank=True, on_delete=models.SET_NULL, related_name="holders"
    )
    clearance = models.PositiveSmallIntegerField(_("涉密等级"), choices=Clearance.choices, default=Clearance.INTERNAL)
    phone = models.CharField(_("电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["department__path", "username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def role_codes(self) -> set[str]:
        cached = getattr(self, "_role_codes", None)
        if cached is None:
            cached = {assignment.role for assignment in self.role_assignments.all()}
            self._role_codes = cached
        return cached

    def has_role(self, role: str) -> bool:
        return role in self.role_codes()


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="role_assignment_unique")]

    def __str__(self) -> str:
        return self.get_role_display()
