"""The life of a DING after its message is sent (``services.ding_send``): each recipient
has a 待办 and is reminded until they confirm, the sender cancels or the message is
recalled. Every function runs inside the entry point's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.chat.payloads import DingUpdateEvent
from messaging.chat.selectors import access_ding
from messaging.errors import InvalidInput, InvalidTransition, PermissionDeniedError
from messaging.models import Ding, DingRecipient, Message
from officehub.audit.services import audit
from officehub.directory.models import User
from officehub.realtime import publish_on_commit, user_group
from officehub.transactions import require_transaction
from officehub.workbench.models import TodoKind
from officehub.workbench.services import notify_user, todo_close, todo_open


def _message_url(message: Message) -> str:
    return f"/messages/?c={message.conversation_id}&seq={message.seq}"


def ding_open(*, message: Message, sender: User, recipients: Sequence[User], now: datetime) -> Ding:
    """The DING of a message being sent (called by ``services.message_append`` under the
    conversation lock): its recipients, their 待办 (pushed after commit) and the audit."""
    require_transaction()
    ding = Ding.objects.create(message=message, sender=sender)
    next_at = now + timedelta(seconds=settings.DING_RENOTIFY_SECONDS)
    DingRecipient.objects.bulk_create(
        [DingRecipient(ding=ding, user=user, last_notified_at=now, next_notify_at=next_at) for user in recipients]
    )
    title = _("DING：%(sender)s：%(body)s") % {"sender": sender.display_name, "body": message.body[:60]}
    url = _message_url(message)
    for user in recipients:
        todo_open(user=user, kind=TodoKind.DING, target=ding, step="confirm", title=title, url=url, notify="ding")
    audit(
        actor=sender,
        action="ding.sent",
        target=ding,
        data={"conversation": message.conversation_id, "seq": message.seq, "recipients": [u.pk for u in recipients]},
    )
    return ding


def _publish_ding_update(ding: Ding, user_ids: Iterable[int]) -> None:
    rows = list(DingRecipient.objects.filter(ding=ding).values_list("user_id", "confirmed_at"))
    event: DingUpdateEvent = {
        "type": "chat.ding_update",
        "ding_id": ding.pk,
        "message_id": ding.message_id,
        "conversation_id": ding.message.conversation_id,
        "confirmed_ids": sorted(uid for uid, at in rows if at is not None),
        "total": len(rows),
        "cancelled": ding.cancelled_at is not None,
    }
    for user_id in set(user_ids):
        publish_on_commit(user_group(user_id), dict(event))


def ding_confirm(*, actor: User, ding_id: int) -> DingRecipient:
    """A recipient confirms a DING: reminders stop, the DING 待办 closes, the sender sees
    it live. Raises not_found, ding.not_recipient, ding.cancelled, ding.already_confirmed."""
    require_transaction()
    ding = access_ding(actor, ding_id)
    recipient = DingRecipient.objects.select_for_update(of=("self",)).filter(ding=ding, user_id=actor.pk).first()
    if recipient is None:
        raise InvalidInput(_("您不是这条 DING 的接收人。"), code="ding.not_recipient")
    if ding.cancelled_at is not None:
        raise InvalidTransition(_("发送人已取消这条 DING。"), code="ding.cancelled")
    if recipient.confirmed_at is not None:
        raise InvalidTransition(_("您已确认过这条 DING。"), code="ding.already_confirmed")
    recipient.confirmed_at = timezone.now()
    recipient.next_notify_at = None
    recipient.full_clean(exclude=["ding", "user"])
    recipient.save(update_fields=["confirmed_at", "next_notify_at"])
    todo_close(target=ding, users=[actor], outcome="已确认")
    audit(actor=actor, action="ding.confirmed", target=ding, data={"user": actor.pk})
    _publish_ding_update(ding, [ding.sender_id, actor.pk])
    return recipient


def _ding_stop(ding: Ding, *, now: datetime, outcome: str) -> None:
    ding.cancelled_at = now
    ding.save(update_fields=["cancelled_at"])
    DingRecipient.objects.filter(ding=ding, confirmed_at__isnull=True).update(next_notify_at=None)
    todo_close(target=ding, outcome=outcome)
    recipient_ids = list(DingRecipient.objects.filter(ding=ding).values_list("user_id", flat=True))
    _publish_ding_update(ding, [ding.sender_id, *recipient_ids])


def ding_stop_for_recall(*, message: Message, now: datetime) -> None:
    """A recalled message's DING (if any, and still running) stops like a cancelled one."""
    require_transaction()
    ding = Ding.objects.filter(message=message).first()
    if ding is not None and ding.cancelled_at is None:
        _ding_stop(ding, now=now, outcome="已撤回")


def ding_cancel(*, actor: User, ding_id: int) -> Ding:
    """The sender stops a DING: no more reminders, open DING 待办 close.
    Raises not_found, ding.not_sender, ding.cancelled."""
    require_transaction()
    visible = access_ding(actor, ding_id)
    ding = Ding.objects.select_for_update(of=("self",)).select_related("message").get(pk=visible.pk)
    if ding.sender_id != actor.pk:
        raise PermissionDeniedError(_("只有发送人可以取消 DING。"), code="ding.not_sender")
    if ding.cancelled_at is not None:
        raise InvalidTransition(_("这条 DING 已取消。"), code="ding.cancelled")
    _ding_stop(ding, now=timezone.now(), outcome="已取消")
    audit(actor=actor, action="ding.cancelled", target=ding)
    return ding


def ding_renotify_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Re-notify every unconfirmed DING recipient whose reminder is due, then schedule the
    next one settings.DING_RENOTIFY_SECONDS later. Returns how many reminders were sent.
    Rows are claimed with SKIP LOCKED, so two workers never remind the same person twice
    for one due time; the pushes leave only after commit. The worker runs it through
    ``messaging.chat.jobs``."""
    require_transaction()
    now = now or timezone.now()
    interval = timedelta(seconds=settings.DING_RENOTIFY_SECONDS)
    due = list(
        DingRecipient.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(next_notify_at__lte=now, confirmed_at__isnull=True)
        .select_related("ding", "ding__message", "ding__sender")
        .order_by("next_notify_at", "pk")[:batch]
    )
    for recipient in due:
        ding = recipient.ding
        recipient.notify_count += 1
        recipient.last_notified_at = now
        recipient.next_notify_at = now + interval
        message = ding.message
        notify_user(
            user_id=recipient.user_id,
            event="ding",
            title=_("DING 提醒（第 %(n)d 次）：%(sender)s：%(body)s")
            % {"n": recipient.notify_count, "sender": ding.sender.display_name, "body": message.body[:60]},
            url=_message_url(message),
            ding_id=ding.pk,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            count=recipient.notify_count,
        )
    DingRecipient.objects.bulk_update(due, ["notify_count", "last_notified_at", "next_notify_at"])
    return len(due)
