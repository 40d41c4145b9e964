"""Every write of 政务公开: publishing and withdrawing documents on the portal, the portal
index drain, and the handling of 依申请公开 requests.

Each service runs in the entry point's transaction (``require_transaction``), locks its
row first (``access_*(..., lock=True)``: the publication or the request; both come after
``Document`` in docs/locking.md and nothing here locks a document), asks its
``Transitions`` table, writes, closes and opens 待办, and audits last. Index writes leave
as ``PortalOutbox`` rows drained after commit; pushes leave through
``publish_on_commit`` (the workbench's ``todo_open``/``notify_user``).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from elasticsearch import ApiError, TransportError

from disclosure import index, selectors
from disclosure.errors import DisclosureInvalidInput, DisclosureInvalidTransition, DisclosureNotAllowed
from disclosure.models import (
    OPEN_STATUSES,
    DisclosureRequest,
    PortalOutbox,
    Publication,
    PublicationState,
    RequestEvent,
    RequestStatus,
)
from disclosure.workdays import EXTENSION_WORKING_DAYS, REPLY_WORKING_DAYS, calendar
from documents import selectors as document_selectors
from documents.models import Direction, Disclosure
from officehub.audit.services import audit
from officehub.directory.models import Clearance, Department, User
from officehub.transactions import in_transaction, require_transaction
from officehub.transitions import Transitions
from officehub.workbench.models import TodoKind
from officehub.workbench.services import notify_user, todo_close, todo_open
from search import es
from search.indexer import IdIn

if TYPE_CHECKING:
    from documents.models import Document

logger = logging.getLogger(__name__)

P = PublicationState
R = RequestStatus

PUBLICATION_FLOW: Final = Transitions(
    "publication",
    {"withdraw": {P.PUBLISHED: P.WITHDRAWN}},
    describe=lambda state: str(PublicationState(state).label),
    message="该公文当前“%(status)s”，不能执行该操作。",
    error=DisclosureInvalidTransition,
    field_name="state",
)

REQUEST_FLOW: Final = Transitions(
    "disclosure_request",
    {
        "register": {R.SUBMITTED: R.REGISTERED},
        "assign": {R.REGISTERED: R.HANDLING},
        "extend": {R.REGISTERED: R.REGISTERED, R.HANDLING: R.HANDLING},
        "reply": {R.HANDLING: R.REPLIED},
        "conclude": {R.REPLIED: R.CONCLUDED},
    },
    describe=lambda status: str(RequestStatus(status).label),
    message="该申请当前“%(status)s”，不能执行该操作。",
    error=DisclosureInvalidTransition,
)

# 待办 step names, one open item per person and step (officehub.workbench).
STEP_REGISTER: Final = "登记"
STEP_ASSIGN: Final = "分办"
STEP_REPLY: Final = "答复"
STEP_CONCLUDE: Final = "办结"


# ---------------------------------------------------------------------------- publications


def publication_on_distribute(*, document: Document, actor: User) -> Publication | None:
    """Hook ``document.distributed`` (settings.HOOKS, officehub/hooks.py), in the
    distribution's transaction: a 主动公开 outgoing document marked 公开 is published now —
    its metadata and text copied into a ``Publication``, a ``PortalOutbox`` row queued
    and drained after commit. Anything else (依申请公开, 不予公开, an incoming copy) is
    left alone and returns None. Inserts only, after the distribution's audit entry, so
    it takes no lock the distribution does not already hold (docs/locking.md)."""
    require_transaction()
    if (
        document.direction != Direction.OUTGOING
        or document.disclosure != Disclosure.PROACTIVE
        or document.classification != Clearance.PUBLIC
    ):
        return None
    now = timezone.now()
    issued_on = document.issued_on or timezone.localdate(now)
    text = document.body
    for number, attachment in enumerate(document_selectors.current_attachments(document), start=1):
        text += f"\n附件{number}：{attachment.name}\n{attachment.text}".rstrip()
    publication = Publication(
        document=document,
        state=PublicationState.PUBLISHED,
        issuer=document.issuer,
        issuer_name=document.signature_name or document.issuer.name,
        title=document.title,
        doc_number=document.doc_number,
        doc_type=document.doc_type,
        issued_on=issued_on,
        year=issued_on.year,
        body=text,
        published_at=now,
        changed_at=now,
    )
    publication.save(force_insert=True)
    _queue(publication, now)
    audit(actor=actor, action="disclosure.published", target=publication,
          data={"document": document.pk, "doc_number": document.doc_number})
    return publication


def publication_withdraw(*, publication_id: int, actor: User, reason: str) -> Publication:
    """撤回: take a document off the portal (it stays in the office's list, withdrawn).
    Only the issuer's office staff. Its pages answer 404 at once (every page and search
    hit is read from the published rows), the index delete follows after commit.
    Raises not_found, disclosure.required (no reason), publication.invalid_transition."""
    require_transaction()
    publication = selectors.access_publication(actor, publication_id, lock=True)
    PUBLICATION_FLOW.check(publication, "withdraw")
    reason = _required(reason, _("请填写撤回理由。"), "reason", limit=300)
    now = timezone.now()
    PUBLICATION_FLOW.move(publication, "withdraw")
    publication.withdrawn_at, publication.withdrawn_by, publication.withdraw_reason = now, actor, reason
    publication.changed_at = now
    publication.full_clean(exclude=["document", "issuer", "withdrawn_by"], validate_unique=False, validate_constraints=False)
    publication.save(update_fields=["state", "withdrawn_at", "withdrawn_by", "withdraw_reason", "changed_at"])
    _queue(publication, now)
    audit(actor=actor, action="disclosure.withdrawn", target=publication,
          data={"document": publication.document_id, "reason": reason})
    return publication


def _queue(publication: Publication, now: dt.datetime) -> None:
    outbox_id = PortalOutbox.objects.create(publication=publication, available_at=now).pk
    transaction.on_commit(lambda: portal_kick(outbox_ids=[outbox_id]))


# ---------------------------------------------------------------------------- the portal index


def portal_kick(*, outbox_ids: list[int] | None = None) -> None:
    """Best-effort indexing right after commit; never raises (the worker drains what is left)."""
    try:
        portal_drain(limit=100, outbox_ids=outbox_ids, refresh=True)
    except Exception:  # a side effect after commit must not fail the request
        logger.exception("portal index kick failed; the outbox keeps the work for the worker")


DRAIN_BATCH: Final = 2000
DRAIN_CHUNK: Final = 1000
MAX_BACKOFF_SECONDS: Final = 60


class _Claimed(NamedTuple):
    id: int
    publication_id: int
    attempts: int


def _claim(*, now: dt.datetime, limit: int, outbox_ids: list[int] | None) -> list[_Claimed]:
    """Due rows, SKIP LOCKED (concurrent drains take disjoint rows), in the order of the
    partial index ``portal_outbox_pending``."""
    pending = PortalOutbox.objects.filter(done_at__isnull=True, available_at__lte=now)
    if outbox_ids is not None:
        pending = pending.filter(pk__in=outbox_ids)
    claimed = pending.select_for_update(skip_locked=True).order_by("available_at", "id")[:limit]
    return [_Claimed._make(values) for values in claimed.values_list("id", "publication_id", "attempts")]


def _defer(rows: Iterable[_Claimed], errors: dict[int, str], now: dt.datetime) -> None:
    """Leave rows pending with attempts + 1, the error and an exponential backoff (at most
    a minute); one UPDATE per (attempts, error) group, so an outage costs a few statements."""
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        groups[(row.attempts, errors.get(row.publication_id, "not indexed")[:2000])].append(row.id)
    for (attempts, error), ids in groups.items():
        PortalOutbox.objects.filter(IdIn(F("pk"), ids)).update(
            attempts=attempts + 1,
            last_error=error,
            available_at=now + dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts + 1, 10))),
        )


@in_transaction
def portal_drain(*, limit: int = DRAIN_BATCH, outbox_ids: list[int] | None = None, refresh: bool = False) -> int:
    """Send due outbox rows to the portal index; returns how many rows are done.

    A worker entry point (its own transaction), as ``search.services.index_drain``: claim
    rows, build each publication's document (or a delete once withdrawn) with the newest
    outbox id as external version, ``_bulk`` them, mark acknowledged rows done and defer
    the rest with a backoff. ``refresh`` makes the writes searchable before returning.
    The publications written get ``changed_at`` = now afterwards, so the portal's
    Last-Modified (and every ETag built on it) moves when search answers can change."""
    now = timezone.now()
    rows = _claim(now=now, limit=limit, outbox_ids=outbox_ids)
    if not rows:
        return 0
    versions: dict[int, int] = {}
    for row in rows:
        versions[row.publication_id] = max(versions.get(row.publication_id, 0), row.id)
    try:
        client = es.client(timeout=30.0)
        index.ensure_index(client)
    except (es.SearchUnavailable, TransportError, ApiError) as exc:
        logger.warning("portal drain: Elasticsearch unavailable (%s); %d rows wait", exc, len(rows))
        _defer(rows, dict.fromkeys(versions, f"{type(exc).__name__}: {exc}"), now)
        return 0
    done: set[int] = set()
    failed: dict[int, str] = {}
    ids = sorted(versions)
    for start in range(0, len(ids), DRAIN_CHUNK):
        chunk = ids[start : start + DRAIN_CHUNK]
        try:
            outcome = index.send_bulk(client, index.bulk_body(index.build_actions(chunk, versions)))
        except (TransportError, ApiError) as exc:
            failed.update(dict.fromkeys(chunk, f"{type(exc).__name__}: {exc}"))
            continue
        done.update(outcome["ok"])
        failed.update(outcome["failed"])
    if done and refresh:
        try:
            client.indices.refresh(index=index.alias_name())
        except (TransportError, ApiError):
            logger.warning("portal drain: refresh failed; the writes show within a second anyway")
    finished = [row for row in rows if row.publication_id in done]
    if finished:
        PortalOutbox.objects.filter(IdIn(F("pk"), [row.id for row in finished])).update(done_at=now, last_error="")
        Publication.objects.filter(IdIn(F("pk"), sorted(done))).update(indexed_at=now, changed_at=timezone.now())
    _defer([row for row in rows if row.publication_id not in done], failed, now)
    return len(finished)


def portal_drain_backlog(*, batch: int = DRAIN_BATCH, budget_seconds: float = 10.0) -> int:
    """Drain claim after claim while full batches come back, for about ``budget_seconds``."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        drained = portal_drain(limit=batch, refresh=True)
        total += drained
        if drained < batch or time.monotonic() >= deadline:
            return total


# ---------------------------------------------------------------------------- 依申请公开


def _required(value: str, message: str, field: str, *, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DisclosureInvalidInput(message, code="disclosure.required", extra={"field": field})
    if len(value) > limit:
        raise DisclosureInvalidInput(_("内容过长（最多 %(n)s 字）。") % {"n": limit}, extra={"field": field})
    if "\x00" in value:
        raise DisclosureInvalidInput(_("内容中含有不允许的字符（NUL）。"), extra={"field": field})
    return value


def _new_tracking_number(year: int) -> str:
    alphabet = selectors.TRACKING_ALPHABET
    code = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{year:04d}-{code[:4]}-{code[4:]}"


def _staff_url(request: DisclosureRequest) -> str:
    return reverse("disclosure-request", args=[request.pk])


def _todo_title(request: DisclosureRequest) -> str:
    summary = request.description.replace("\n", " ")
    return f"依申请公开 {request.tracking_number}：{summary[:40]}"


def _due_at(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=timezone.get_current_timezone())


def _open_todos(request: DisclosureRequest, users: Iterable[User], step: str, *, notify: str = "todo.new") -> None:
    for user in users:
        todo_open(user=user, kind=TodoKind.DISCLOSURE_REQUEST, target=request, step=step, title=_todo_title(request),
                  url=_staff_url(request), due_at=_due_at(request.due_on), notify=notify)


def _office(request: DisclosureRequest) -> list[User]:
    from documents.selectors import office_staff

    return office_staff(request.organisation)


def _event(request: DisclosureRequest, action: str, actor: User | None, note: str, now: dt.datetime) -> None:
    RequestEvent.objects.create(request=request, action=action, actor=actor, note=note, created_at=now)


def request_file(*, organisation_id: int, name: str, contact: str, description: str) -> DisclosureRequest:
    """A citizen files a 依申请公开 request with an organisation (anonymous: no actor; the
    caller rate-limits by address). Returns it with its tracking number
    (``YYYY-XXXX-XXXX``, 40 random bits). The organisation's office staff get a 登记 待办.
    Raises disclosure.required, disclosure.invalid (unknown organisation, too long)."""
    require_transaction()
    name = _required(name, _("请填写申请人姓名或名称。"), "name", limit=100)
    contact = _required(contact, _("请填写联系方式。"), "contact", limit=100)
    description = _required(description, _("请描述所需的政府信息。"), "description", limit=5000)
    organisation = Department.objects.filter(pk=organisation_id, is_organisation=True).first()
    if organisation is None:
        raise DisclosureInvalidInput(_("请选择受理机关。"), extra={"field": "organisation_id"})
    from documents.selectors import office_staff

    staff = office_staff(organisation)
    if not staff:
        raise DisclosureInvalidInput(_("该机关暂不受理网上申请，请选择其他机关。"), code="disclosure.no_office",
                                     extra={"field": "organisation_id"})
    now = timezone.now()
    for attempt in range(5):
        candidate = DisclosureRequest(
            tracking_number=_new_tracking_number(timezone.localdate(now).year),
            organisation=organisation, name=name, contact=contact, description=description,
            status=RequestStatus.SUBMITTED, submitted_at=now,
        )
        try:
            # A savepoint only for the (1 in 10^12) clash of two random numbers.
            with transaction.atomic():
                candidate.save(force_insert=True)
        except IntegrityError:
            if attempt == 4:
                raise
            continue
        request = candidate
        break
    _event(request, "filed", None, "", now)
    _open_todos(request, staff, STEP_REGISTER)
    audit(actor=None, action="disclosure.request_filed", target=request,
          data={"organisation": organisation.pk, "tracking_number": request.tracking_number})
    return request


def _office_request(actor: User, request_id: int, action: str) -> DisclosureRequest:
    request = selectors.access_request(actor, request_id, lock=True)
    REQUEST_FLOW.check(request, action)
    if not selectors.is_office_staff(actor, request.organisation_id):
        raise DisclosureNotAllowed(_("只有受理机关的办公室（收文）人员可以执行该操作。"))
    return request


def request_register(*, request_id: int, actor: User, note: str = "") -> DisclosureRequest:
    """登记 by the office: the statutory deadline starts — 20 working days after today
    (disclosure/workdays.py) → 待分办. Raises not_found, disclosure.not_allowed,
    disclosure_request.invalid_transition."""
    require_transaction()
    request = _office_request(actor, request_id, "register")
    now = timezone.now()
    REQUEST_FLOW.move(request, "register")
    request.registered_at, request.registered_by = now, actor
    request.due_on = calendar().add(timezone.localdate(now), REPLY_WORKING_DAYS)
    request.save(update_fields=["status", "registered_at", "registered_by", "due_on"])
    _event(request, "register", actor, (note or "").strip()[:2000], now)
    todo_close(target=request, step=STEP_REGISTER, outcome="已登记")
    _open_todos(request, _office(request), STEP_ASSIGN)
    audit(actor=actor, action="disclosure.request_registered", target=request, data={"due_on": request.due_on.isoformat()})
    return request


def request_assign(*, request_id: int, actor: User, department_id: int, note: str = "") -> DisclosureRequest:
    """承办: the office names the department that answers (its heads, else its members,
    get the 答复 待办) → 承办中. Raises disclosure.invalid (not one of the organisation's
    divisions, or nobody in it), not_found, disclosure.not_allowed,
    disclosure_request.invalid_transition."""
    require_transaction()
    request = _office_request(actor, request_id, "assign")
    department = next(
        (dept for dept in selectors.assignable_departments(request.organisation) if dept.pk == department_id), None
    )
    if department is None:
        raise DisclosureInvalidInput(_("承办部门不存在或不属于本机关。"), extra={"field": "department_id"})
    handlers = selectors.department_handlers(department)
    if not handlers:
        raise DisclosureInvalidInput(_("承办部门“%(name)s”没有人员。") % {"name": department.name},
                                     code="disclosure.no_handler", extra={"field": "department_id"})
    now = timezone.now()
    REQUEST_FLOW.move(request, "assign")
    request.department, request.assigned_at, request.assigned_by = department, now, actor
    request.save(update_fields=["status", "department", "assigned_at", "assigned_by"])
    request.handlers.set(handlers)
    _event(request, "assign", actor, (note or "").strip()[:2000], now)
    todo_close(target=request, step=STEP_ASSIGN, outcome=f"已分办：{department.name}")
    _open_todos(request, handlers, STEP_REPLY)
    audit(actor=actor, action="disclosure.request_assigned", target=request,
          data={"department": department.pk, "handlers": [user.pk for user in handlers]})
    return request


def request_extend(*, request_id: int, actor: User, reason: str) -> DisclosureRequest:
    """延期 (条例 第三十三条): once, before the reply, by 20 working days after the current
    deadline, with a reason the applicant sees. Raises disclosure.already_extended (409),
    disclosure.required, not_found, disclosure.not_allowed, disclosure_request.invalid_transition."""
    require_transaction()
    request = _office_request(actor, request_id, "extend")
    if request.extended_at is not None:
        raise DisclosureInvalidTransition(
            _("答复期限只能延长一次。"), code="disclosure.already_extended",
            extra={"status": request.status, "action": "extend"},
        )
    reason = _required(reason, _("请填写延期理由。"), "reason", limit=300)
    assert request.due_on is not None  # registered: the database holds it
    now = timezone.now()
    previous = request.due_on
    request.due_on = calendar().add(previous, EXTENSION_WORKING_DAYS)
    request.extended_at, request.extended_by, request.extension_reason = now, actor, reason
    request.due_soon_reminded_at = None  # a new deadline gets its own early reminder
    request.save(update_fields=["due_on", "extended_at", "extended_by", "extension_reason", "due_soon_reminded_at"])
    _event(request, "extend", actor, reason, now)
    holders = list(request.handlers.all()) if request.status == R.HANDLING else _office(request)
    _open_todos(request, holders, STEP_REPLY if request.status == R.HANDLING else STEP_ASSIGN, notify="todo.extended")
    audit(actor=actor, action="disclosure.request_extended", target=request,
          data={"from": previous.isoformat(), "to": request.due_on.isoformat(), "reason": reason})
    return request


PDF_MAGIC: Final = b"%PDF-"


def request_reply(
    *, request_id: int, actor: User, reply: str, file_name: str = "", file_bytes: bytes | None = None
) -> DisclosureRequest:
    """答复 by a handler of the 承办 department: the text the applicant reads on the
    tracking page, with an optional PDF (checked by its signature, the caller bounds its
    size) → 已答复; the office gets the 办结 待办. Raises disclosure.required,
    disclosure.file_not_pdf, not_found, disclosure.not_allowed,
    disclosure_request.invalid_transition."""
    require_transaction()
    request = selectors.access_request(actor, request_id, lock=True)
    REQUEST_FLOW.check(request, "reply")
    if not request.handlers.filter(pk=actor.pk).exists():
        raise DisclosureNotAllowed(_("只有承办人可以答复。"))
    reply = _required(reply, _("请填写答复内容。"), "reply", limit=10000)
    if file_bytes is not None:
        if not file_bytes.startswith(PDF_MAGIC):
            raise DisclosureInvalidInput(_("答复附件须为 PDF 文件。"), code="disclosure.file_not_pdf", extra={"field": "file"})
        name = (file_name or "答复.pdf").replace("\x00", "").strip()[:150] or "答复.pdf"
        if not name.lower().endswith(".pdf"):
            name += ".pdf"
        request.reply_file, request.reply_file_name = file_bytes, name
    now = timezone.now()
    REQUEST_FLOW.move(request, "reply")
    request.reply, request.replied_at, request.replied_by = reply, now, actor
    request.save(update_fields=["status", "reply", "replied_at", "replied_by", "reply_file", "reply_file_name"])
    _event(request, "reply", actor, "", now)
    todo_close(target=request, step=STEP_REPLY, outcome="已答复")
    _open_todos(request, _office(request), STEP_CONCLUDE)
    audit(actor=actor, action="disclosure.request_replied", target=request,
          data={"file": request.reply_file_name, "late": bool(request.due_on and timezone.localdate(now) > request.due_on)})
    return request


def request_conclude(*, request_id: int, actor: User, note: str = "") -> DisclosureRequest:
    """办结 by the office after the reply. Raises not_found, disclosure.not_allowed,
    disclosure_request.invalid_transition."""
    require_transaction()
    request = _office_request(actor, request_id, "conclude")
    now = timezone.now()
    REQUEST_FLOW.move(request, "conclude")
    request.concluded_at, request.concluded_by = now, actor
    request.save(update_fields=["status", "concluded_at", "concluded_by"])
    _event(request, "conclude", actor, (note or "").strip()[:2000], now)
    todo_close(target=request, step=STEP_CONCLUDE, outcome="已办结")
    audit(actor=actor, action="disclosure.request_concluded", target=request)
    return request


def requests_remind(*, now: dt.datetime, interval: dt.timedelta, days_before: int, batch: int = 200) -> int:
    """The worker's reminders for open requests (待分办, 承办中), as 催办 does for steps:

    - once, ``days_before`` working days or fewer before the deadline: 【即将到期】 to
      whoever holds it (the office before 分办, the handlers after);
    - after the deadline, at most once per ``interval``: 【逾期】 to them and to the
      office.

    Rows are claimed with SKIP LOCKED (two workers never remind twice, and no request a
    person is handling is waited for). Returns the number of reminders sent."""
    require_transaction()
    today = timezone.localdate(now)
    work = calendar()
    horizon = work.add(today, days_before)
    count = 0
    due = (
        DisclosureRequest.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(status__in=OPEN_STATUSES, due_on__lte=horizon)
        .select_related("organisation")
        .order_by("due_on", "pk")[:batch]
    )
    for request in due:
        assert request.due_on is not None
        office = _office(request)
        holders = list(request.handlers.all()) if request.status == R.HANDLING else office
        overdue = request.due_on < today
        if overdue:
            if request.overdue_reminded_at and request.overdue_reminded_at > now - interval:
                continue
            recipients = {user.pk: user for user in [*holders, *office]}
            title = _("【逾期】%(title)s") % {"title": _todo_title(request)}
            request.overdue_reminded_at = now
            fields = ["overdue_reminded_at"]
            event = "todo.overdue"
        else:
            if request.due_soon_reminded_at is not None:
                continue
            recipients = {user.pk: user for user in holders}
            title = _("【即将到期】%(title)s") % {"title": _todo_title(request)}
            request.due_soon_reminded_at = now
            fields = ["due_soon_reminded_at"]
            event = "todo.reminder"
        request.save(update_fields=fields)
        for user_id in recipients:
            notify_user(user_id=user_id, event=event, title=title, url=_staff_url(request),
                        step=str(RequestStatus(request.status).label), due_on=request.due_on.isoformat())
        audit(actor=None, action="disclosure.request_overdue_reminded" if overdue else "disclosure.request_due_reminded",
              target=request, data={"due_on": request.due_on.isoformat(), "recipients": sorted(recipients)})
        count += 1
    return count
