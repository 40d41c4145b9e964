"""催办: a chaser's reminder to the current holders, and the worker's overdue reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from documents import selectors
from documents.errors import DocumentInvalidTransition, DocumentNotHolder
from documents.models import Reminder, Step, StepKind, StepState
from documents.services.flow import document_url
from officehub.audit.services import audit
from officehub.directory.models import User
from officehub.transactions import require_transaction
from officehub.workbench.services import notify_user


def _remind_step(step: Step, *, actor: User | None, message: str, now: datetime, automatic: bool) -> Reminder:
    holders = list(step.holders.all())
    reminder = Reminder.objects.create(
        step=step, actor=actor, message=message[:300], automatic=automatic,
        recipient_ids=[holder.pk for holder in holders], created_at=now,
    )
    step.last_reminded_at = now
    step.save(update_fields=["last_reminded_at"])
    document = step.document
    event = "todo.overdue" if automatic else "todo.reminder"
    title = (_("【逾期】%(title)s") if automatic else _("【催办】%(title)s")) % {"title": document.title}
    for holder in holders:
        notify_user(user_id=holder.pk, event=event, title=title, url=document_url(document),
                    step=str(StepKind(step.kind).label), message=message)
    return reminder


def document_remind(*, document_id: int, actor: User, message: str = "") -> list[Reminder]:
    """催办 by the named chaser, the drafter or the office: notify every current holder.
    Raises not_found, document.not_chaser, document.invalid_transition (nothing open)."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    if not selectors.can_remind(actor, document):
        raise DocumentNotHolder(_("只有催办人、拟稿人或办公室人员可以催办。"), code="document.not_chaser")
    steps = list(document.steps.filter(state=StepState.OPEN).exclude(kind=StepKind.CIRCULATE).select_related("document"))
    if not steps:
        raise DocumentInvalidTransition(_("当前没有待办理的环节。"), status=document.status, action="remind")
    now = timezone.now()
    reminders = [_remind_step(step, actor=actor, message=message.strip(), now=now, automatic=False) for step in steps]
    audit(actor=actor, action="document.reminded", target=document, data={"steps": [s.pk for s in steps]})
    return reminders


def document_remind_overdue(*, now: datetime, batch: int = 200) -> int:
    """Record a 催办 for every overdue open step and notify its holders (and the
    document's chaser), at most once per ``DOCUMENT_REMIND_INTERVAL_SECONDS`` per step.
    Rows are claimed with SKIP LOCKED, so two workers never remind twice, and no entity
    row is waited for (docs/locking.md). The worker runs it through ``documents.jobs``.
    Returns the number of reminders recorded."""
    require_transaction()
    interval = timedelta(seconds=settings.DOCUMENT_REMIND_INTERVAL_SECONDS)
    count = 0
    steps = (
        Step.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(state=StepState.OPEN, due_at__lt=now)
        .exclude(last_reminded_at__gt=now - interval)
        .select_related("document")
        .order_by("due_at", "pk")[:batch]
    )
    for step in steps:
        _remind_step(step, actor=None, message=_("已超过办理时限，请尽快办理。"), now=now, automatic=True)
        chaser_id = step.document.chaser_id
        if chaser_id:
            notify_user(user_id=chaser_id, event="todo.overdue",
                        title=_("【逾期】%(title)s") % {"title": step.document.title},
                        url=document_url(step.document), step=str(StepKind(step.kind).label))
        audit(actor=None, action="document.overdue_reminded", target=step.document,
              data={"step": step.pk, "kind": step.kind})
        count += 1
    return count
