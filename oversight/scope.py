"""Who sees which part of the 督办 dashboard, and the filters a view is asked with.

- 签发领导 and 督查 staff see their organisation; when that organisation is a general
  office (办公厅) that works for a government (its parent organisation), they see the
  government's whole tree: every organisation under it (the 省政府办公厅督查处 follows
  up the province's bureaus).
- 部门负责人 see their own department: the work attributed to it (its 会签 and 承办
  steps, the documents it drafted) and its people's message counts. Seal use and
  依申请公开 are organisation figures and are not shown to them.
- Everyone else is refused with ``oversight.forbidden`` (403).

A figure is attributed to an *office*: the department of the step when it has one (会签,
承办, 传阅), otherwise the drafting department of an outgoing document, otherwise the
recipient organisation of an incoming copy (its office's work: 签收, 登记, 初审…).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from django.utils import timezone
from django.utils.translation import gettext as _

from officehub.directory.models import Department, DepartmentKind, Role, User
from oversight.errors import OversightForbidden, OversightInvalidFilter

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)

ORGANISATION_ROLES = frozenset({Role.SIGNING_LEADER, Role.SUPERVISOR})


@dataclass(frozen=True)
class OrganisationOption:
    id: int
    name: str


@dataclass(frozen=True)
class Scope:
    """What one viewer's dashboard covers."""

    kind: Literal["organisation", "department"]
    label: str
    # organisations whose document copies (outgoing: issuer; incoming: recipient) count
    organisation_ids: frozenset[int]
    # every department (organisations included) whose figures the viewer may see, with its
    # nearest organisation: the offices of the figures and the senders' departments
    department_organisation: Mapping[int, int] = field(default_factory=dict)
    # a department head's one office; None for an organisation scope
    office_id: int | None = None
    organisations: tuple[OrganisationOption, ...] = ()

    @property
    def department_ids(self) -> frozenset[int]:
        return frozenset(self.department_organisation)

    @property
    def shows_organisation_figures(self) -> bool:
        """Seal use and 依申请公开: organisation figures, not a department's."""
        return self.kind == "organisation"

    def covers_office(self, office_id: int) -> bool:
        if self.office_id is not None:
            return office_id == self.office_id
        return self.department_organisation.get(office_id) in self.organisation_ids


def _nearest_organisations(departments: list[Department]) -> dict[int, int]:
    """Department id → the id of its nearest organisation at or above it (within the list)."""
    nearest: dict[int, int] = {}
    for department in sorted(departments, key=lambda d: d.depth):
        if department.is_organisation:
            nearest[department.pk] = department.pk
        elif department.parent_id in nearest:
            nearest[department.pk] = nearest[department.parent_id]
    return nearest


def _organisation_root(organisation: Department) -> Department:
    """A general office (办公厅) works for the government above it: the tree starts there."""
    parent = organisation.parent
    if organisation.kind == DepartmentKind.OFFICE and parent is not None and parent.is_organisation:
        return parent
    return organisation


def dashboard_scope(user: User) -> Scope:
    """The viewer's scope; raises ``OversightForbidden`` (403) for anyone without the roles."""
    if not user.is_authenticated or not user.is_active:
        raise OversightForbidden(_("您无权查看督办看板。"))
    roles = user.role_codes()
    department = user.department
    organisation = department.organisation() if department is not None else None
    if roles & ORGANISATION_ROLES and organisation is not None:
        root = _organisation_root(organisation)
        tree = list(Department.objects.filter(path__startswith=root.path).only(
            "pk", "name", "parent_id", "depth", "is_organisation", "path", "sort_order"
        ))
        nearest = _nearest_organisations(tree)
        organisations = sorted((d for d in tree if d.is_organisation), key=lambda d: (d.path, d.sort_order))
        return Scope(
            kind="organisation",
            label=root.name,
            organisation_ids=frozenset(d.pk for d in organisations),
            department_organisation=nearest,
            organisations=tuple(OrganisationOption(d.pk, d.name) for d in organisations),
        )
    if Role.DEPARTMENT_HEAD in roles and department is not None and organisation is not None:
        return Scope(
            kind="department",
            label=f"{organisation.name} {department.name}" if department.pk != organisation.pk else department.name,
            organisation_ids=frozenset({organisation.pk}),
            department_organisation={department.pk: organisation.pk},
            office_id=department.pk,
            organisations=(OrganisationOption(organisation.pk, organisation.name),),
        )
    raise OversightForbidden(_("督办看板仅向签发领导、督查人员和部门负责人开放。"))


def narrow_to_organisation(scope: Scope, organisation_id: int | None) -> Scope:
    """The scope limited to one of its organisations (the organisation filter)."""
    if organisation_id is None:
        return scope
    if organisation_id not in scope.organisation_ids:
        raise OversightInvalidFilter(_("所选机关不在您的查看范围内。"), extra={"field": "organisation"})
    if scope.kind == "department":
        return scope
    departments = {pk: org for pk, org in scope.department_organisation.items() if org == organisation_id}
    return replace(scope, organisation_ids=frozenset({organisation_id}), department_organisation=departments)


@dataclass(frozen=True)
class Filters:
    """A date range (inclusive, local dates) and an optional organisation."""

    date_from: dt.date
    date_to: dt.date
    organisation_id: int | None = None

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """[date_from 00:00, date_to + 1 day 00:00) in the deployment's time zone."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.date_from, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end

    def as_query(self) -> dict[str, str]:
        query = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.organisation_id is not None:
            query["organisation"] = str(self.organisation_id)
        return query


def default_filters(*, today: dt.date | None = None) -> Filters:
    today = today or timezone.localdate()
    return Filters(date_from=today - dt.timedelta(days=DEFAULT_DAYS - 1), date_to=today)


def _date(params: Mapping[str, str], name: str, default: dt.date) -> dt.date:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise OversightInvalidFilter(_("日期格式应为 YYYY-MM-DD。"), extra={"field": name}) from None
    if not EARLIEST <= value <= LATEST:
        raise OversightInvalidFilter(_("日期超出可查询的范围。"), extra={"field": name})
    return value


def parse_filters(params: Mapping[str, str], *, today: dt.date | None = None) -> Filters:
    """Read ``date_from``, ``date_to`` (YYYY-MM-DD) and ``organisation`` (an id) from a
    query. Missing dates default to the last 30 days. Raises ``oversight.invalid_filter``
    with ``extra.field`` naming the bad parameter."""
    defaults = default_filters(today=today)
    date_to = _date(params, "date_to", defaults.date_to)
    date_from = _date(params, "date_from", date_to - dt.timedelta(days=DEFAULT_DAYS - 1))
    if date_from > date_to:
        raise OversightInvalidFilter(_("开始日期不能晚于结束日期。"), extra={"field": "date_from"})
    if (date_to - date_from).days >= MAX_DAYS:
        raise OversightInvalidFilter(_("日期范围不能超过三年。"), extra={"field": "date_from"})
    raw = (params.get("organisation") or "").strip()
    organisation_id: int | None = None
    if raw:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) < 1:
            raise OversightInvalidFilter(_("机关参数无效。"), extra={"field": "organisation"})
        organisation_id = int(raw)
    return Filters(date_from=date_from, date_to=date_to, organisation_id=organisation_id)
