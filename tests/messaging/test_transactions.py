"""One transaction convention (officehub/transactions.py): the entry point (API view,
page, socket handler, job) opens the transaction; a messaging service called outside
one refuses at once and writes nothing, instead of committing half a change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from messaging.chat import announcements, attachments, department_groups, dings, forwarding, jobs, reactions, services
from messaging.meetings import jobs as meeting_jobs
from messaging.meetings import minutes, room
from messaging.meetings import services as meeting_services
from messaging.models import Conversation, Ding, HiddenMessage, Meeting, Membership, Message, Reaction
from officehub.audit.models import AuditEntry
from officehub.transactions import in_transaction
from tests.messaging.conftest import new_client_id

pytestmark = pytest.mark.django_db(transaction=True)


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Conversation, Message, Ding, Meeting, AuditEntry, Reaction, HiddenMessage))


def _calls(p: Any, group: Conversation, meeting: Meeting, existing: Message) -> dict[str, Callable[[], Any]]:
    return {
        "message_send": lambda: services.message_send(
            actor=p.drafter, conversation_id=group.pk, client_id=new_client_id(), body="你好"
        ),
        "ding_send": lambda: services.ding_send(
            actor=p.drafter, conversation_id=group.pk, client_id=new_client_id(), body="急", recipient_ids=[p.head.pk]
        ),
        "conversation_mark_read": lambda: services.conversation_mark_read(actor=p.head, conversation_id=group.pk, seq=0),
        "conversation_direct_open": lambda: services.conversation_direct_open(actor=p.drafter, peer_id=p.reviewer.pk),
        "conversation_group_create": lambda: services.conversation_group_create(
            actor=p.drafter, title="新群", member_ids=[p.head.pk]
        ),
        "conversation_members_add": lambda: services.conversation_members_add(
            actor=p.drafter, conversation_id=group.pk, user_ids=[p.staff.pk]
        ),
        "messages_forward": lambda: forwarding.messages_forward(
            actor=p.drafter, client_id=new_client_id(), message_ids=[existing.pk], user_ids=[p.reviewer.pk]
        ),
        "reaction_toggle": lambda: reactions.reaction_toggle(actor=p.head, message_id=existing.pk, emoji="👍"),
        "conversation_settings_set": lambda: services.conversation_settings_set(
            actor=p.head, conversation_id=group.pk, pinned=True, muted=True
        ),
        "messages_hide": lambda: services.messages_hide(actor=p.head, message_ids=[existing.pk]),
        "announcement_set": lambda: announcements.announcement_set(
            actor=p.drafter, conversation_id=group.pk, client_id=new_client_id(), body="公告"
        ),
        "announcement_mark_read": lambda: announcements.announcement_mark_read(actor=p.head, conversation_id=group.pk, version=1),
        "ding_renotify_due": lambda: dings.ding_renotify_due(),
        "department_group_sync": lambda: department_groups.department_group_sync(department_id=p.drafter.department_id),
        "meeting_schedule": lambda: meeting_services.meeting_schedule(
            actor=p.head, title="会", start_at=timezone.now() + timedelta(hours=1), end_at=timezone.now() + timedelta(hours=2)
        ),
        "meeting_cancel": lambda: meeting_services.meeting_cancel(meeting_id=meeting.pk, actor=p.head),
        "meeting_remind_upcoming": lambda: meeting_services.meeting_remind_upcoming(),
        "participant_join": lambda: room.participant_join(meeting_id=meeting.pk, user=p.head, channel_name="test.outside"),
        "meeting_start_minutes": lambda: minutes.meeting_start_minutes(meeting_id=meeting.pk, actor=p.head),
    }


def test_every_messaging_service_refuses_to_run_outside_a_transaction_and_writes_nothing(personas: Any, group: Any) -> None:
    p = personas
    now = timezone.now()
    meeting = in_transaction(meeting_services.meeting_schedule)(
        actor=p.head,
        title="周例会",
        start_at=now + timedelta(minutes=1),
        end_at=now + timedelta(hours=1),
        user_ids=[p.drafter.pk],
    )
    existing = in_transaction(services.message_send)(
        actor=p.drafter, conversation_id=group.pk, client_id=new_client_id(), body="已有的消息"
    ).message
    in_transaction(announcements.announcement_set)(
        actor=p.drafter, conversation_id=group.pk, client_id=new_client_id(), body="旧公告"
    )
    before = _counts()
    settings_before = list(Membership.objects.order_by("pk").values_list("pinned_at", "muted", "announcement_read_version"))
    for name, call in _calls(p, group, meeting, existing).items():
        with pytest.raises(transaction.TransactionManagementError):
            call()
        assert _counts() == before, name
    meeting.refresh_from_db()
    assert meeting.status == "scheduled"
    assert list(Membership.objects.order_by("pk").values_list("pinned_at", "muted", "announcement_read_version")) == (
        settings_before
    )


def test_inside_the_entry_points_transaction_the_same_calls_work(personas: Any, group: Any) -> None:
    with transaction.atomic():
        result = services.message_send(actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="你好")
    assert result.created and Message.objects.filter(pk=result.message.pk).exists()


def test_the_jobs_and_the_attachment_send_are_entry_points_that_open_their_own(
    personas: Any, group: Any, settings: Any, tmp_path: Any
) -> None:
    """Worker jobs open their transaction(s); a chat attachment opens its own on purpose
    (the stored file is deleted again if the database part does not commit)."""
    settings.MEDIA_ROOT = str(tmp_path)
    assert jobs.ding_renotify_due() == 0
    assert jobs.department_groups_sync_all() >= 1
    assert meeting_jobs.meeting_remind_upcoming() == 0
    sent = attachments.attachment_send(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), name="名单.txt", data="张三".encode()
    )
    assert sent.created and sent.message.attachment is not None
