"""收文: 签收 → 登记 → 初审 → 拟办 → 批办 → 承办 (主办, 协办) / 传阅 → 办结 (条例 第二十四条)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from documents import selectors
from documents.errors import DocumentInvalidInput, DocumentInvalidTransition
from documents.models import Document, DocumentStatus, Step, StepKind, StepState, Urgency
from documents.services.flow import (
    DOCUMENT_FLOW,
    HANDLING_DUE,
    close_step,
    document_url,
    holder_step,
    open_step,
    own_departments,
    require_text,
    save,
)
from officehub.audit.services import audit
from officehub.directory.models import Department, Role, User
from officehub.transactions import require_transaction
from officehub.workbench.services import notify_user

S = DocumentStatus


def _recipient_staff(document: Document, role: str = Role.REVIEWER) -> list[User]:
    assert document.recipient_organisation is not None  # an incoming copy always has one
    return selectors.office_staff(document.recipient_organisation, role=role)


def _simple_step(document: Document, actor: User, *, action: str, kind: str, outcome: str, opinion: str,
                 next_kind: str, next_holders: list[User] | None = None) -> Step:
    """Close the actor's ``kind`` step, move the document by ``action`` and open
    ``next_kind`` for ``next_holders`` (by default, whoever held this step)."""
    step = holder_step(document, actor, kind)
    now = timezone.now()
    close_step(step, actor=actor, now=now, outcome=outcome, opinion=opinion.strip())
    DOCUMENT_FLOW.move(document, action)
    holders = next_holders if next_holders is not None else list(step.holders.all())
    return open_step(document, next_kind, holders, now=now)


def document_receive(*, document_id: int, actor: User) -> Document:
    """签收 by the recipient organisation's office → 登记."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "receive")
    _simple_step(document, actor, action="receive", kind=StepKind.RECEIVE, outcome="received", opinion="",
                 next_kind=StepKind.REGISTER)
    save(document, ["status"])
    audit(actor=actor, action="document.received", target=document)
    return document


def document_register(
    *, document_id: int, actor: User, deadline: datetime | None = None, chaser_id: int | None = None, note: str = ""
) -> Document:
    """登记: record the 办理时限 and (for urgent documents, defaulting to the registrar) a
    named 催办人 → 初审. Raises document.invalid for a past deadline or a chaser from
    another organisation."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "register")
    now = timezone.now()
    if deadline is not None and deadline <= now:
        raise DocumentInvalidInput(_("办理时限必须晚于当前时间。"), extra={"field": "deadline"})
    chaser = None
    if chaser_id is not None:
        assert document.recipient_organisation is not None
        chaser = selectors.organisation_users(document.recipient_organisation).filter(pk=chaser_id).first()
        if chaser is None:
            raise DocumentInvalidInput(_("催办人必须是本机关人员。"), extra={"field": "chaser_id"})
    if deadline is None:
        deadline = now + HANDLING_DUE[Urgency(document.urgency)]
    if chaser is None and document.urgency != Urgency.NORMAL:
        chaser = actor
    document.deadline, document.chaser = deadline, chaser
    _simple_step(document, actor, action="register", kind=StepKind.REGISTER, outcome="registered", opinion=note,
                 next_kind=StepKind.SCREEN)
    save(document, ["status", "deadline", "chaser"])
    audit(actor=actor, action="document.registered", target=document,
          data={"deadline": deadline.isoformat(), "chaser": chaser.pk if chaser else None})
    return document


def document_screen(*, document_id: int, actor: User, accept: bool, opinion: str = "") -> Document:
    """初审: accept (→ 拟办) or return to the sender with a reason the sender sees."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "screen.accept" if accept else "screen.return")
    if accept:
        _simple_step(document, actor, action="screen.accept", kind=StepKind.SCREEN, outcome="accepted",
                     opinion=opinion, next_kind=StepKind.PROPOSE)
        save(document, ["status"])
        audit(actor=actor, action="document.screened", target=document, data={"opinion": opinion.strip()})
        return document
    step = holder_step(document, actor, StepKind.SCREEN)
    reason = require_text(opinion, _("退回来文单位时请填写理由。"), "opinion")
    now = timezone.now()
    close_step(step, actor=actor, now=now, outcome="returned", opinion=reason, state=StepState.RETURNED)
    DOCUMENT_FLOW.move(document, "screen.return")
    document.return_reason = reason
    save(document, ["status", "return_reason"])
    source = document.source_document
    if source is not None:
        assert document.recipient_organisation is not None
        notify_user(
            user_id=source.drafter_id, event="todo.returned",
            title=_("%(org)s 退回了《%(title)s》：%(reason)s")
            % {"org": document.recipient_organisation.name, "title": source.title, "reason": reason},
            url=document_url(source),
        )
    audit(actor=actor, action="document.returned_to_sender", target=document, data={"reason": reason})
    return document


def document_propose(*, document_id: int, actor: User, opinion: str) -> Document:
    """拟办: the office proposes how to handle it → 批办 by a leader of the organisation."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "propose")
    opinion = require_text(opinion, _("请填写拟办意见。"), "opinion")
    leaders = _recipient_staff(document, Role.SIGNING_LEADER) or _recipient_staff(document)
    _simple_step(document, actor, action="propose", kind=StepKind.PROPOSE, outcome="proposed", opinion=opinion,
                 next_kind=StepKind.INSTRUCT, next_holders=leaders)
    save(document, ["status"])
    audit(actor=actor, action="document.proposed", target=document, data={"opinion": opinion})
    return document


def _department_handlers(department: Department) -> list[User]:
    return selectors.department_heads(department) or list(
        User.objects.filter(is_active=True, department=department).order_by("pk")
    )


def document_instruct(
    *,
    document_id: int,
    actor: User,
    opinion: str,
    lead_department_id: int | None = None,
    assisting_department_ids: Sequence[int] = (),
    reader_ids: Sequence[int] = (),
) -> Document:
    """批办: the leader names a 主办部门 (plus 协办) and/or 传阅 readers → 承办.

    Without a lead department the office concludes it once read. Raises
    document.unknown_department, document.invalid (reader not in the organisation).
    """
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "instruct")
    step = holder_step(document, actor, StepKind.INSTRUCT)
    opinion = require_text(opinion, _("请填写批办意见。"), "opinion")
    organisation = document.recipient_organisation
    assert organisation is not None
    lead = None
    if lead_department_id is not None:
        lead = own_departments([lead_department_id], field="lead_department_id", organisation=organisation)[0]
    assisting = own_departments(assisting_department_ids, field="assisting_department_ids", organisation=organisation)
    if lead is not None:
        assisting = [dept for dept in assisting if dept.pk != lead.pk]
    elif assisting:
        raise DocumentInvalidInput(_("指定协办部门时必须指定主办部门。"), extra={"field": "lead_department_id"})
    wanted = list(dict.fromkeys(int(pk) for pk in reader_ids))
    readers = list(selectors.organisation_users(organisation).filter(pk__in=wanted))
    if len(readers) != len(wanted):
        bad = sorted(set(wanted) - {user.pk for user in readers})
        raise DocumentInvalidInput(_("传阅人员必须是本机关人员：%(ids)s。") % {"ids": "、".join(map(str, bad))},
                                   extra={"field": "reader_ids", "ids": bad})
    if lead is None and not readers:
        raise DocumentInvalidInput(_("请指定主办部门或传阅人员。"), extra={"field": "lead_department_id"})
    lead_handlers = _department_handlers(lead) if lead else _recipient_staff(document)
    for department in assisting:
        if not _department_handlers(department):
            raise DocumentInvalidInput(_("协办部门“%(name)s”没有人员。") % {"name": department.name},
                                       code="document.no_handler")
    now = timezone.now()
    close_step(step, actor=actor, now=now, outcome="instructed", opinion=opinion)
    DOCUMENT_FLOW.move(document, "instruct")
    document.lead_department = lead
    open_step(document, StepKind.HANDLE, lead_handlers, now=now, department=lead, role="lead")
    for department in assisting:
        open_step(document, StepKind.HANDLE, _department_handlers(department), now=now, department=department, role="assist")
    for reader in readers:
        open_step(document, StepKind.CIRCULATE, [reader], now=now, department=reader.department)
    save(document, ["status", "lead_department"])
    audit(actor=actor, action="document.instructed", target=document, data={
        "opinion": opinion, "lead": lead.pk if lead else None,
        "assisting": [d.pk for d in assisting], "readers": [u.pk for u in readers],
    })
    return document


def document_handle(*, document_id: int, actor: User, opinion: str) -> Document:
    """协办: an assisting department records its handling opinion."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "handle")
    step = holder_step(document, actor, StepKind.HANDLE, role="assist")
    opinion = require_text(opinion, _("请填写办理意见。"), "opinion")
    close_step(step, actor=actor, now=timezone.now(), outcome="handled", opinion=opinion)
    document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.handled", target=document,
          data={"department": step.department_id, "opinion": opinion})
    return document


def document_read(*, document_id: int, actor: User) -> Document:
    """传阅: the reader marks the document read; the timeline shows who has read."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "read")
    step = holder_step(document, actor, StepKind.CIRCULATE)
    close_step(step, actor=actor, now=timezone.now(), outcome="read")
    document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.read", target=document)
    return document


def document_conclude(*, document_id: int, actor: User, reply: str, opinion: str = "") -> Document:
    """办结 by the lead department (or the office) with a 答复 the sender sees.

    Every assisting department must have handled it first (document.assist_pending).
    """
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "conclude")
    step = holder_step(document, actor, StepKind.HANDLE, role="lead")
    reply = require_text(reply, _("办结时请填写答复意见。"), "reply")
    pending = document.steps.filter(kind=StepKind.HANDLE, role="assist", state=StepState.OPEN)
    if pending.exists():
        names = "、".join(step.department.name for step in pending.select_related("department") if step.department)
        raise DocumentInvalidTransition(
            _("协办部门尚未办理完毕：%(names)s。") % {"names": names},
            status=document.status, action="conclude", code="document.assist_pending",
        )
    now = timezone.now()
    close_step(step, actor=actor, now=now, outcome="concluded", opinion=(opinion or reply).strip())
    DOCUMENT_FLOW.move(document, "conclude")
    document.reply = reply
    save(document, ["status", "reply"])
    source = document.source_document
    if source is not None:
        assert document.recipient_organisation is not None
        notify_user(
            user_id=source.drafter_id, event="document.replied",
            title=_("%(org)s 已办结《%(title)s》") % {"org": document.recipient_organisation.name, "title": source.title},
            url=document_url(source),
        )
    audit(actor=actor, action="document.concluded", target=document, data={"reply": reply})
    return document
