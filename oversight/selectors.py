"""The 督办 dashboard's figures: every one a SQL aggregation (GROUP BY, COUNT, AVG,
PERCENTILE_CONT), never a Python loop over rows. Read-only over documents, seals and
messaging; the scope (who sees what) is ``oversight.scope``.

Time: "now" figures (公文 in circulation, overdue steps) are a snapshot and take no date
range; the others count events inside the range — steps by when they were finished,
催办 by when they were sent, seal use by the sealing time, messages by when they were
sent, 依申请公开 requests by when they were filed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Avg,
    BigIntegerField,
    Case,
    Count,
    F,
    FloatField,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from documents.models import Direction, DocumentStatus, Reminder, Step, StepKind, StepState
from documents.selectors import visible_documents
from messaging.models import Message
from officehub.directory.models import Department, User
from oversight.errors import OversightOfficeNotFound
from oversight.scope import Filters, Scope
from seals.models import Seal

# Where a document waits while it is in circulation: submitted, not yet finished.
IN_FLOW_STATUSES = (
    DocumentStatus.REVIEW,
    DocumentStatus.COUNTERSIGN,
    DocumentStatus.SIGN_OFF,
    DocumentStatus.RECHECK,
    DocumentStatus.ASSIGN_NUMBER,
    DocumentStatus.SEAL,
    DocumentStatus.DISTRIBUTE,
    DocumentStatus.RECEIVE,
    DocumentStatus.REGISTER,
    DocumentStatus.SCREEN,
    DocumentStatus.PROPOSE,
    DocumentStatus.INSTRUCT,
    DocumentStatus.HANDLE,
)
# A step that was worked: approved/acted (done) or sent back (returned); a cancelled
# step (the flow moved on without it) took no handling.
HANDLED_STATES = (StepState.DONE, StepState.RETURNED)
STEP_ORDER = {kind: index for index, kind in enumerate(StepKind.values)}
DRILL_DOWN_LIMIT = 200


# --------------------------------------------------------------------------- the read session

# Settings for the dashboard's own transaction only (SET LOCAL), measured in
# bench/dashboard.py: the handling-time sorts (P90 over ~100,000 steps a month) stay in
# memory instead of spilling to disk, and the planner prices the index probes of a
# cached, SSD-backed database as such (the default 4.0 assumes spinning disks and chose
# a full scan of the step table to join a month's 催办).
READ_SETTINGS = ("SET LOCAL work_mem = '32MB'", "SET LOCAL random_page_cost = 1.1")


@contextmanager
def dashboard_reads() -> Iterator[None]:
    """One read-only transaction for a dashboard request (the entry point opens it): the
    views of one page see one moment, and the settings above apply to them alone."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if not connection.savepoint_ids:  # the request's own transaction, not a caller's
                    cursor.execute("SET TRANSACTION READ ONLY")
                for statement in READ_SETTINGS:
                    cursor.execute(statement)
        yield


# --------------------------------------------------------------------------- SQL pieces


class EpochSeconds(Func):
    """``finished - started`` in seconds, as a float (PostgreSQL; SQLite for a first run)."""

    output_field = FloatField()
    arg_joiner = " - "
    template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)", arg_joiner=") - julianday(", **extra
        )


class PercentileCont(Aggregate):
    """``PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY expression)`` — PostgreSQL's
    ordered-set aggregate (continuous: interpolated between the two nearest rows). On the
    SQLite first-run fallback there is none: the figure is NULL there and the page says so."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be within [0, 1]")
        # A float literal, checked above, is the only thing formatted into the SQL.
        super().__init__(expression, fraction=repr(fraction), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return "NULL", []


def _office(prefix: str = "") -> Coalesce:
    """The office a step's work is attributed to (see ``oversight.scope``)."""
    return Coalesce(
        F(f"{prefix}department_id"),
        Case(
            When(**{f"{prefix}document__direction": Direction.OUTGOING}, then=F(f"{prefix}document__drafting_department_id")),
            default=F(f"{prefix}document__recipient_organisation_id"),
        ),
        output_field=BigIntegerField(),
    )


def _in_scope(rows: QuerySet[Any], scope: Scope, prefix: str = "") -> QuerySet[Any]:
    """Steps (``prefix=""``) or rows hanging off a step (``"step__"``) of documents held by
    the scope's organisations, annotated with their ``office``; a department head's rows
    are those of their office only."""
    organisations = sorted(scope.organisation_ids)
    held = Q(**{f"{prefix}document__direction": Direction.OUTGOING, f"{prefix}document__issuer_id__in": organisations}) | Q(
        **{f"{prefix}document__direction": Direction.INCOMING, f"{prefix}document__recipient_organisation_id__in": organisations}
    )
    rows = rows.filter(held).annotate(office=_office(prefix))
    if scope.office_id is not None:
        rows = rows.filter(office=scope.office_id)
    return rows


def office_labels(ids: set[int]) -> dict[int, str]:
    """Office id → "浙江省人民政府办公厅 秘书处" (an organisation itself: "…（本级）")."""
    if not ids:
        return {}
    departments = {d.pk: d for d in Department.objects.filter(pk__in=ids).only("pk", "name", "path", "is_organisation")}
    ancestor_ids = {pk for d in departments.values() for pk in d.ancestor_ids}
    organisations = dict(
        Department.objects.filter(pk__in=ancestor_ids, is_organisation=True).values_list("pk", "name")
    )
    labels: dict[int, str] = {}
    for pk, department in departments.items():
        if department.is_organisation:
            labels[pk] = f"{department.name}（本级）"
            continue
        parents = [organisations[a] for a in department.ancestor_ids[:-1] if a in organisations]
        labels[pk] = f"{parents[-1]} {department.name}" if parents else department.name
    return labels


def _kind_label(kind: str) -> str:
    return str(StepKind(kind).label) if kind in StepKind.values else kind


# --------------------------------------------------------------------------- 在办公文


class StepCount(TypedDict):
    kind: str
    label: str
    documents: int


class OfficeCount(TypedDict):
    office_id: int
    office: str
    documents: int


class Circulation(TypedDict):
    total: int
    by_step: list[StepCount]
    by_office: list[OfficeCount]


def circulation(scope: Scope) -> Circulation:
    """Documents in circulation now, by the step they wait at and by the office holding it.

    From the open steps: a document at 会签 with three departments counts once under
    会签 and once under each of the three offices; ``total`` counts each document once.
    """
    open_steps = _in_scope(
        Step.objects.filter(state=StepState.OPEN, document__status__in=IN_FLOW_STATUSES), scope
    ).order_by()
    if connection.vendor == "postgresql":
        total, by_kind, by_office = _circulation_grouping_sets(open_steps)
    else:  # the SQLite first-run fallback has no GROUPING SETS: three queries
        total = open_steps.aggregate(n=Count("document_id", distinct=True))["n"] or 0
        by_kind = list(open_steps.values("kind").annotate(documents=Count("document_id", distinct=True)))
        by_office = list(open_steps.values("office").annotate(documents=Count("document_id", distinct=True)))
    labels = office_labels({row["office"] for row in by_office if row["office"] is not None})
    return {
        "total": total,
        "by_step": sorted(
            (StepCount(kind=row["kind"], label=_kind_label(row["kind"]), documents=row["documents"]) for row in by_kind),
            key=lambda row: STEP_ORDER.get(row["kind"], 99),
        ),
        "by_office": sorted(
            (
                OfficeCount(office_id=row["office"], office=labels.get(row["office"], ""), documents=row["documents"])
                for row in by_office
                if row["office"] is not None
            ),
            key=lambda row: (-row["documents"], row["office"]),
        ),
    }


def _circulation_grouping_sets(open_steps: QuerySet[Any]) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """The three counts of ``circulation`` in one pass over the open steps:
    ``GROUP BY GROUPING SETS ((kind), (office), ())`` around the ORM's scoped query."""
    inner, params = open_steps.values("kind", "office", "document_id").query.sql_with_params()
    query = (
        "SELECT kind, office, GROUPING(kind), GROUPING(office), COUNT(DISTINCT document_id) "  # noqa: S608 - the ORM's SQL
        f"FROM ({inner}) AS open_steps GROUP BY GROUPING SETS ((kind), (office), ())"
    )
    total = 0
    by_kind: list[dict[str, Any]] = []
    by_office: list[dict[str, Any]] = []
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for kind, office, kind_rolled_up, office_rolled_up, documents in cursor.fetchall():
            if kind_rolled_up and office_rolled_up:
                total = documents
            elif office_rolled_up:
                by_kind.append({"kind": kind, "documents": documents})
            else:
                by_office.append({"office": office, "documents": documents})
    return total, by_kind, by_office


# --------------------------------------------------------------------------- 办理用时


class HandlingTime(TypedDict):
    kind: str
    label: str
    steps: int
    average_seconds: float | None
    p90_seconds: float | None


def handling_times(scope: Scope, filters: Filters) -> list[HandlingTime]:
    """Average and 90th-percentile time from a step's start to its finish, per step kind,
    over the steps finished inside the date range."""
    start, end = filters.window()
    finished = _in_scope(
        Step.objects.filter(finished_at__gte=start, finished_at__lt=end, state__in=HANDLED_STATES), scope
    ).order_by()
    seconds = EpochSeconds(F("finished_at"), F("started_at"))
    rows = finished.values("kind").annotate(
        steps=Count("pk"), average_seconds=Avg(seconds), p90_seconds=PercentileCont(seconds, fraction=0.9)
    )
    return sorted(
        (
            HandlingTime(
                kind=row["kind"],
                label=_kind_label(row["kind"]),
                steps=row["steps"],
                average_seconds=row["average_seconds"],
                p90_seconds=row["p90_seconds"],
            )
            for row in rows
        ),
        key=lambda row: STEP_ORDER.get(row["kind"], 99),
    )


# --------------------------------------------------------------------------- 逾期


class OverdueOffice(TypedDict):
    office_id: int
    office: str
    steps: int
    documents: int
    oldest_due_at: dt.datetime


def _overdue_steps(scope: Scope, now: dt.datetime) -> QuerySet[Any]:
    """Open steps past due, annotated with their ``office`` (hence not typed as plain Steps)."""
    return _in_scope(Step.objects.filter(state=StepState.OPEN, due_at__lt=now), scope).order_by()


def overdue_by_office(scope: Scope, *, now: dt.datetime | None = None) -> list[OverdueOffice]:
    """Open steps past their due time now, per office (a snapshot: no date range)."""
    now = now or timezone.now()
    rows = list(
        _overdue_steps(scope, now)
        .values("office")
        .annotate(steps=Count("pk"), documents=Count("document_id", distinct=True), oldest_due_at=Min("due_at"))
    )
    labels = office_labels({row["office"] for row in rows if row["office"] is not None})
    return sorted(
        (
            OverdueOffice(
                office_id=row["office"],
                office=labels.get(row["office"], ""),
                steps=row["steps"],
                documents=row["documents"],
                oldest_due_at=row["oldest_due_at"],
            )
            for row in rows
            if row["office"] is not None
        ),
        key=lambda row: (-row["steps"], row["office"]),
    )


class OverdueItem(TypedDict):
    step_id: int
    document_id: int
    title: str
    doc_number: str
    kind: str
    label: str
    holders: list[str]
    started_at: dt.datetime
    due_at: dt.datetime
    overdue_seconds: int
    reminders: int


class OverdueDrillDown(TypedDict):
    office_id: int
    office: str
    total_steps: int
    visible_steps: int
    hidden_steps: int
    items: list[OverdueItem]


def overdue_items(
    scope: Scope, viewer: User, office_id: int, *, now: dt.datetime | None = None, limit: int = DRILL_DOWN_LIMIT
) -> OverdueDrillDown:
    """The overdue steps of one office, listing only documents the viewer may open
    (``documents.selectors.visible_documents``); the others are counted, not shown.

    Raises ``oversight.office_not_found`` (404) for an office outside the scope.
    """
    if not scope.covers_office(office_id):
        raise OversightOfficeNotFound()
    now = now or timezone.now()
    steps = _overdue_steps(scope, now).filter(office=office_id)
    total = steps.count()
    # The visibility rule runs only on this office's overdue documents, not the whole table.
    visible = visible_documents(viewer).filter(pk__in=steps.values("document_id")).values("pk")
    shown = steps.filter(document_id__in=visible)
    visible_count = shown.count()
    rows = (
        shown.select_related("document")
        .prefetch_related("holders")
        .annotate(reminder_count=Count("reminders"))
        .order_by("due_at", "pk")[:limit]
    )
    items: list[OverdueItem] = []
    for step in rows:
        assert step.due_at is not None  # filtered on due_at < now
        items.append(
            {
                "step_id": step.pk,
                "document_id": step.document_id,
                "title": step.document.title,
                "doc_number": step.document.doc_number,
                "kind": step.kind,
                "label": _kind_label(step.kind),
                "holders": sorted(holder.display_name for holder in step.holders.all()),
                "started_at": step.started_at,
                "due_at": step.due_at,
                "overdue_seconds": max(0, int((now - step.due_at).total_seconds())),
                "reminders": step.reminder_count,
            }
        )
    return {
        "office_id": office_id,
        "office": office_labels({office_id}).get(office_id, ""),
        "total_steps": total,
        "visible_steps": visible_count,
        "hidden_steps": total - visible_count,
        "items": items,
    }


# --------------------------------------------------------------------------- 催办


class ReminderCount(TypedDict):
    office_id: int
    office: str
    total: int
    manual: int
    automatic: int


def reminder_counts(scope: Scope, filters: Filters) -> list[ReminderCount]:
    """催办 sent inside the date range, per office of the step chased: by a person
    (the chaser, drafter or office) and automatically by the worker for an overdue step."""
    start, end = filters.window()
    rows = list(
        _in_scope(Reminder.objects.filter(created_at__gte=start, created_at__lt=end), scope, "step__")
        .order_by()
        .values("office")
        .annotate(
            total=Count("pk"),
            manual=Count("pk", filter=Q(automatic=False)),
            automatic=Count("pk", filter=Q(automatic=True)),
        )
    )
    labels = office_labels({row["office"] for row in rows if row["office"] is not None})
    return sorted(
        (
            ReminderCount(
                office_id=row["office"],
                office=labels.get(row["office"], ""),
                total=row["total"],
                manual=row["manual"],
                automatic=row["automatic"],
            )
            for row in rows
            if row["office"] is not None
        ),
        key=lambda row: (-row["total"], row["office"]),
    )


# --------------------------------------------------------------------------- 用印


class SealUse(TypedDict):
    seal_id: int
    seal: str
    kind: str
    organisation: str
    uses: int
    last_used_at: dt.datetime | None


def seal_use(scope: Scope, filters: Filters) -> list[SealUse]:
    """Sealings (``SealRecord``) inside the date range per seal of the scope's
    organisations; seals not used in the range are listed with 0. Organisation scopes
    only (a department head gets an empty list)."""
    if not scope.shows_organisation_figures:
        return []
    start, end = filters.window()
    in_range = Q(records__created_at__gte=start, records__created_at__lt=end)
    rows = (
        Seal.objects.filter(owner_organisation_id__in=sorted(scope.organisation_ids))
        .order_by()
        .values("pk", "name", "kind", "owner_organisation__name")
        .annotate(uses=Count("records", filter=in_range), last_used_at=Max("records__created_at", filter=in_range))
    )
    return sorted(
        (
            SealUse(
                seal_id=row["pk"],
                seal=row["name"],
                kind=row["kind"],
                organisation=row["owner_organisation__name"],
                uses=row["uses"],
                last_used_at=row["last_used_at"],
            )
            for row in rows
        ),
        key=lambda row: (-row["uses"], row["organisation"], row["seal"]),
    )


# --------------------------------------------------------------------------- 消息


class MessageActivity(TypedDict):
    department_id: int
    department: str
    messages: int
    senders: int
    conversations: int


def message_activity(scope: Scope, filters: Filters) -> list[MessageActivity]:
    """How many messages the people of each department sent inside the date range, from
    how many senders into how many conversations. Counts only: no message text, title
    or recipient is read."""
    start, end = filters.window()
    rows = list(
        Message.objects.filter(
            created_at__gte=start, created_at__lt=end, sender__department_id__in=sorted(scope.department_ids)
        )
        .order_by()
        .values("sender__department_id")
        .annotate(
            messages=Count("pk"),
            senders=Count("sender_id", distinct=True),
            conversations=Count("conversation_id", distinct=True),
        )
    )
    labels = office_labels({row["sender__department_id"] for row in rows})
    return sorted(
        (
            MessageActivity(
                department_id=row["sender__department_id"],
                department=labels.get(row["sender__department_id"], ""),
                messages=row["messages"],
                senders=row["senders"],
                conversations=row["conversations"],
            )
            for row in rows
        ),
        key=lambda row: (-row["messages"], row["department"]),
    )
