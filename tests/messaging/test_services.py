"""Chat services: seq allocation, idempotency, read pointers, recall, DING, mentions,
department groups, rate limit — and who may not."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.chat import department_groups, dings, jobs, selectors, services
from messaging.errors import ApplicationError, NotFound
from messaging.models import Conversation, DingRecipient, Membership, Message
from officehub.audit.models import AuditEntry
from officehub.realtime import conversation_group, user_group
from officehub.workbench.models import TodoItem
from tests.messaging.conftest import new_client_id, send

pytestmark = pytest.mark.django_db


def test_direct_conversation_is_one_per_pair(personas: Any) -> None:
    first = services.conversation_direct_open(actor=personas.drafter, peer_id=personas.head.pk)
    again = services.conversation_direct_open(actor=personas.head, peer_id=personas.drafter.pk)
    assert first.pk == again.pk
    assert set(first.memberships.values_list("user_id", flat=True)) == {personas.drafter.pk, personas.head.pk}


def test_direct_conversation_with_self_is_refused(personas: Any) -> None:
    with pytest.raises(ApplicationError) as exc:
        services.conversation_direct_open(actor=personas.drafter, peer_id=personas.drafter.pk)
    assert exc.value.code == "conversation.self_direct"


def test_messages_get_dense_sequence_numbers(personas: Any, group: Any) -> None:
    seqs = [send(personas.drafter, group, f"第{i}条").seq for i in range(3)]
    seqs.append(send(personas.head, group, "收到").seq)
    assert seqs == [1, 2, 3, 4]
    group.refresh_from_db()
    assert group.last_seq == 4


def test_resend_with_same_client_id_returns_stored_message(personas: Any, group: Any) -> None:
    first = services.message_send(actor=personas.drafter, conversation_id=group.pk, client_id="abc-1", body="一次")
    again = services.message_send(actor=personas.drafter, conversation_id=group.pk, client_id="abc-1", body="一次")
    assert first.created and not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.filter(conversation=group).count() == 1


def test_client_id_reused_in_another_conversation_is_refused(personas: Any, group: Any) -> None:
    direct = services.conversation_direct_open(actor=personas.drafter, peer_id=personas.head.pk)
    send(personas.drafter, group, client_id="same")
    with pytest.raises(ApplicationError) as exc:
        send(personas.drafter, direct, client_id="same")
    assert exc.value.code == "message.client_id_reused"


def test_fanout_happens_only_after_commit(
    personas: Any, group: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    published: list[tuple[str, dict]] = []
    monkeypatch.setattr("officehub.realtime.publish_now", lambda g, p: published.append((g, p)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(personas.drafter, group, "通知")
        assert published == []
    for callback in callbacks:
        callback()
    frames = [p for g, p in published if g == conversation_group(group.pk)]
    assert [f["type"] for f in frames] == ["chat.message"]
    frame = json.loads(frames[0]["text"])
    assert frame["type"] == "message" and frame["message"]["body"] == "通知" and frame["message"]["seq"] == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"body": ""}, "message.empty"),
        ({"body": "   "}, "message.empty"),
        ({"body": "长" * 4001}, "message.too_long"),
        ({"body": "ok", "client_id": ""}, "message.invalid_client_id"),
        ({"body": "ok", "client_id": "有空格 的id"}, "message.invalid_client_id"),
        ({"body": "ok", "mentions": ["x"]}, "invalid"),
        ({"body": "ok", "mention_all": True}, "message.mention_all_forbidden"),
    ],
)
def test_bad_input_gets_a_code_and_changes_nothing(personas: Any, group: Any, kwargs: dict, code: str) -> None:
    with pytest.raises(ApplicationError) as exc:
        send(personas.drafter2, group, **kwargs)
    assert exc.value.code == code
    group.refresh_from_db()
    assert group.last_seq == 0
    assert not Message.objects.filter(conversation=group).exists()


def test_outsider_gets_the_same_not_found_as_a_missing_conversation(personas: Any, group: Any) -> None:
    with pytest.raises(NotFound) as outsider:
        send(personas.outsider, group)
    with pytest.raises(NotFound) as missing:
        services.message_send(actor=personas.drafter, conversation_id=10**9, client_id="x", body="hi")
    assert outsider.value.as_payload() == missing.value.as_payload()
    message = send(personas.drafter, group)
    for call in (
        lambda: services.conversation_mark_read(actor=personas.outsider, conversation_id=group.pk, seq=1),
        lambda: services.message_recall(actor=personas.outsider, message_id=message.pk),
        lambda: selectors.access_message(personas.outsider, message.pk),
        lambda: selectors.access_conversation(personas.outsider, group.pk),
    ):
        with pytest.raises(NotFound):
            call()
    assert Message.objects.get(pk=message.pk).recalled_at is None


def test_mention_of_non_member_is_refused(personas: Any, group: Any) -> None:
    with pytest.raises(ApplicationError) as exc:
        send(personas.drafter, group, "@钱磊", mentions=[personas.outsider.pk])
    assert exc.value.code == "message.mention_not_member"


def test_mentions_are_counted_apart_from_unread(personas: Any, group: Any) -> None:
    p = personas
    send(p.drafter, group, "大家好")
    send(p.drafter2, group, "@陈杰 请看一下", mentions=[p.head.pk])
    send(p.drafter, group, "@所有人 开会", mention_all=True)  # the owner may @all
    summary = {c["id"]: c for c in selectors.conversation_list(p.head)}[group.pk]
    assert (summary["unread"], summary["mentions"]) == (3, 2)
    reviewer_summary = {c["id"]: c for c in selectors.conversation_list(p.reviewer)}[group.pk]
    assert (reviewer_summary["unread"], reviewer_summary["mentions"]) == (3, 1)
    services.conversation_mark_read(actor=p.head, conversation_id=group.pk, seq=3)
    summary = {c["id"]: c for c in selectors.conversation_list(p.head)}[group.pk]
    assert (summary["unread"], summary["mentions"]) == (0, 0)


def test_read_receipts_count_members_whose_pointer_passed_the_message(personas: Any, group: Any) -> None:
    p = personas
    first = send(p.drafter, group, "一")
    second = send(p.drafter, group, "二")
    services.conversation_mark_read(actor=p.head, conversation_id=group.pk, seq=2)
    services.conversation_mark_read(actor=p.drafter2, conversation_id=group.pk, seq=1)
    counts = selectors.read_counts(conversation_id=group.pk, messages=[first, second])
    # three other members: head read both, drafter2 read the first, reviewer none
    assert counts[first.seq] == (2, 1)
    assert counts[second.seq] == (1, 2)
    receipts = selectors.message_receipts(second)
    assert [r["name"] for r in receipts.read] == ["陈杰"]
    assert sorted(r["name"] for r in receipts.unread) == sorted(["李军", "赵敏"])


def test_read_pointer_never_moves_back_and_is_clamped(personas: Any, group: Any) -> None:
    send(personas.drafter, group)
    send(personas.drafter, group)
    services.conversation_mark_read(actor=personas.head, conversation_id=group.pk, seq=99)
    assert Membership.objects.get(conversation=group, user=personas.head).last_read_seq == 2
    services.conversation_mark_read(actor=personas.head, conversation_id=group.pk, seq=1)
    assert Membership.objects.get(conversation=group, user=personas.head).last_read_seq == 2


def _mark_read_queries(actor: Any, conversation: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        services.conversation_mark_read(actor=actor, conversation_id=conversation.pk, seq=conversation.last_seq)
    return len(ctx.captured_queries)


def test_marking_read_costs_the_same_in_a_big_group(personas: Any) -> None:
    from officehub.directory.models import User

    p = personas
    crowd = [User.objects.create(username=f"crowd{i}", full_name=f"群众{i}", department=p.drafter.department) for i in range(120)]
    small = services.conversation_group_create(actor=p.drafter, title="小群", member_ids=[p.head.pk])
    big = services.conversation_group_create(actor=p.drafter, title="大群", member_ids=[p.head.pk] + [u.pk for u in crowd])
    for conversation in (small, big):
        send(p.drafter, conversation)
        conversation.refresh_from_db()
    assert _mark_read_queries(p.head, small) == _mark_read_queries(p.head, big)


def test_sender_recalls_within_the_window_only(personas: Any, group: Any, settings: Any) -> None:
    settings.MESSAGE_RECALL_SECONDS = 120
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        early = send(personas.drafter2, group, "发错了")
        late = send(personas.drafter2, group, "这条留着")
        traveller.shift(timedelta(seconds=119))
        services.message_recall(actor=personas.drafter2, message_id=early.pk)
        traveller.shift(timedelta(seconds=2))
        with pytest.raises(ApplicationError) as exc:
            services.message_recall(actor=personas.drafter2, message_id=late.pk)
    assert exc.value.code == "message.recall_window_closed"
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.recalled_at is not None and late.recalled_at is None
    payload = selectors.history_payloads(user=personas.head, conversation_id=group.pk, messages=[early])[0]
    assert payload["body"] == "消息已撤回" and payload["recalled"] is True
    assert AuditEntry.objects.filter(action="message.recalled", target_id=str(early.pk)).exists()


def test_owner_recalls_any_time_and_others_never(personas: Any, group: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        message = send(personas.drafter2, group, "旧消息")
        traveller.shift(timedelta(days=3))
        with pytest.raises(ApplicationError) as exc:
            services.message_recall(actor=personas.head, message_id=message.pk)
        assert exc.value.code == "message.recall_forbidden"
        services.message_recall(actor=personas.drafter, message_id=message.pk)  # the owner
        with pytest.raises(ApplicationError) as again:
            services.message_recall(actor=personas.drafter, message_id=message.pk)
    assert again.value.code == "message.already_recalled"


def test_ding_renotifies_unconfirmed_recipients_at_the_interval(personas: Any, group: Any, settings: Any) -> None:
    settings.DING_RENOTIFY_SECONDS = 300
    p = personas
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        result = services.ding_send(
            actor=p.drafter,
            conversation_id=group.pk,
            client_id=new_client_id(),
            body="十点开会",
            recipient_ids=[p.head.pk, p.reviewer.pk],
        )
        ding = result.message.ding
        assert TodoItem.objects.filter(kind="ding", done_at__isnull=True).count() == 2
        traveller.shift(timedelta(seconds=299))
        assert jobs.ding_renotify_due() == 0
        traveller.shift(timedelta(seconds=1))
        assert jobs.ding_renotify_due() == 2
        assert jobs.ding_renotify_due() == 0  # rescheduled, not due again
        dings.ding_confirm(actor=p.head, ding_id=ding.pk)
        traveller.shift(timedelta(seconds=300))
        assert jobs.ding_renotify_due() == 1  # only the reviewer is still reminded
        dings.ding_cancel(actor=p.drafter, ding_id=ding.pk)
        traveller.shift(timedelta(seconds=3000))
        assert jobs.ding_renotify_due() == 0
    head_row = DingRecipient.objects.get(ding=ding, user=p.head)
    reviewer_row = DingRecipient.objects.get(ding=ding, user=p.reviewer)
    assert (head_row.notify_count, reviewer_row.notify_count) == (2, 3)
    assert TodoItem.objects.filter(kind="ding", done_at__isnull=True).count() == 0


def test_ding_confirm_rules(personas: Any, group: Any) -> None:
    p = personas
    ding = services.ding_send(
        actor=p.drafter, conversation_id=group.pk, client_id=new_client_id(), body="急", recipient_ids=[p.head.pk]
    ).message.ding
    with pytest.raises(ApplicationError) as not_recipient:
        dings.ding_confirm(actor=p.drafter, ding_id=ding.pk)
    assert not_recipient.value.code == "ding.not_recipient"
    with pytest.raises(NotFound):
        dings.ding_confirm(actor=p.reviewer, ding_id=ding.pk)  # a member, but not addressed
    with pytest.raises(NotFound):
        dings.ding_confirm(actor=p.outsider, ding_id=ding.pk)
    with pytest.raises(ApplicationError) as not_sender:
        dings.ding_cancel(actor=p.head, ding_id=ding.pk)
    assert not_sender.value.code == "ding.not_sender"
    dings.ding_confirm(actor=p.head, ding_id=ding.pk)
    with pytest.raises(ApplicationError) as twice:
        dings.ding_confirm(actor=p.head, ding_id=ding.pk)
    assert twice.value.code == "ding.already_confirmed"
    assert selectors.ding_status(ding)["confirmed"][0]["name"] == "陈杰"


def test_ding_only_to_members(personas: Any, group: Any) -> None:
    with pytest.raises(ApplicationError) as exc:
        services.ding_send(
            actor=personas.drafter,
            conversation_id=group.pk,
            client_id=new_client_id(),
            body="急",
            recipient_ids=[personas.outsider.pk],
        )
    assert exc.value.code == "ding.recipient_not_member"
    assert not Message.objects.filter(conversation=group).exists()


def test_ding_confirmation_is_pushed_to_the_sender(
    personas: Any, group: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    published: list[tuple[str, dict]] = []
    monkeypatch.setattr("officehub.realtime.publish_now", lambda g, p: published.append((g, p)))
    ding = services.ding_send(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="急", recipient_ids=[personas.head.pk]
    ).message.ding
    with django_capture_on_commit_callbacks(execute=True):
        dings.ding_confirm(actor=personas.head, ding_id=ding.pk)
    updates = [p for g, p in published if g == user_group(personas.drafter.pk) and p["type"] == "chat.ding_update"]
    assert updates and updates[-1]["confirmed_ids"] == [personas.head.pk] and updates[-1]["total"] == 1


def test_rate_limit_is_a_bucket_per_user_with_retry_after(personas: Any, group: Any, settings: Any) -> None:
    settings.MESSAGE_RATE_PER_MINUTE = 6  # one token every 10 s
    settings.MESSAGE_BURST = 3
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(3):
            send(personas.drafter, group)
        with pytest.raises(ApplicationError) as exc:
            send(personas.drafter, group)
        send(personas.head, group)  # the limit is per user
        assert exc.value.code == "message.rate_limited" and exc.value.status == 429
        assert exc.value.extra["retry_after"] == pytest.approx(10, abs=0.01)
        clock.shift(9)
        with pytest.raises(ApplicationError):
            send(personas.drafter, group)
        clock.shift(1.01)
        send(personas.drafter, group)  # a token has come back
    group.refresh_from_db()
    assert group.last_seq == 5


def test_default_limit_admits_a_program_posting_a_burst_of_50(personas: Any, group: Any) -> None:
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(50):
            send(personas.drafter, group)
    group.refresh_from_db()
    assert group.last_seq == 50


def test_group_membership_rules(personas: Any, group: Any) -> None:
    p = personas
    with pytest.raises(ApplicationError) as exc:
        services.conversation_members_add(actor=p.head, conversation_id=group.pk, user_ids=[p.staff.pk])
    assert exc.value.code == "conversation.not_manager"
    services.conversation_member_set_role(actor=p.drafter, conversation_id=group.pk, user_id=p.head.pk, role="admin")
    assert services.conversation_members_add(actor=p.head, conversation_id=group.pk, user_ids=[p.staff.pk]) == [p.staff.pk]
    with pytest.raises(ApplicationError) as exc:
        services.conversation_member_remove(actor=p.head, conversation_id=group.pk, user_id=p.drafter.pk)
    assert exc.value.code == "conversation.not_manager"
    services.conversation_member_remove(actor=p.head, conversation_id=group.pk, user_id=p.staff.pk)
    services.conversation_member_remove(actor=p.reviewer, conversation_id=group.pk, user_id=p.reviewer.pk)  # leaves
    with pytest.raises(ApplicationError) as exc:
        services.conversation_member_remove(actor=p.drafter, conversation_id=group.pk, user_id=p.drafter.pk)
    assert exc.value.code == "conversation.owner_cannot_leave"
    assert set(group.memberships.values_list("user_id", flat=True)) == {p.drafter.pk, p.drafter2.pk, p.head.pk}
    with pytest.raises(NotFound):
        send(p.reviewer, group)


def test_department_groups_follow_the_directory(personas: Any) -> None:
    from officehub.directory.models import Department

    p = personas
    call_command("sync_department_groups", verbosity=0)
    office = p.drafter.department.parent  # 浙江省人民政府办公厅
    secretariat = Conversation.objects.get(kind="department", department=p.drafter.department)
    office_group = Conversation.objects.get(kind="department", department=office)
    members = set(secretariat.memberships.values_list("user_id", flat=True))
    assert {p.drafter.pk, p.drafter2.pk, p.head.pk} <= members and p.staff.pk not in members
    assert p.outsider.pk not in set(office_group.memberships.values_list("user_id", flat=True))
    assert Membership.objects.get(conversation=secretariat, user=p.head).role == "admin"
    # The provincial government spans several organisations: no group for it.
    assert not Conversation.objects.filter(kind="department", department=office.parent).exists()
    # Moving a person: the directory's change hook (or the worker's next sync) follows.
    p.drafter2.department = Department.objects.get(parent=office, name="综合处")
    p.drafter2.save(update_fields=["department"])
    department_groups.department_groups_sync_for_user(user=p.drafter2)
    assert not secretariat.memberships.filter(user=p.drafter2).exists()
    assert (
        Conversation.objects.get(kind="department", department=p.drafter2.department).memberships.filter(user=p.drafter2).exists()
    )
    assert office_group.memberships.filter(user=p.drafter2).exists()
    # Idempotent: a second full sync changes nothing.
    before = AuditEntry.objects.count()
    call_command("sync_department_groups", verbosity=0)
    assert AuditEntry.objects.count() == before


def test_department_group_membership_is_not_edited_by_hand(personas: Any) -> None:
    conversation = department_groups.department_group_sync(department_id=personas.head.department_id)
    with pytest.raises(ApplicationError) as exc:
        services.conversation_members_add(actor=personas.head, conversation_id=conversation.pk, user_ids=[personas.staff.pk])
    assert exc.value.code == "conversation.managed_by_directory"


def test_conversation_list_costs_the_same_queries_for_more_conversations(personas: Any, group: Any) -> None:
    p = personas

    def list_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = selectors.conversation_list(p.drafter)
        assert rows
        return len(ctx.captured_queries)

    send(p.drafter, group)
    first = services.conversation_direct_open(actor=p.drafter, peer_id=p.drafter2.pk)
    send(p.drafter2, first, "在吗")
    few = list_queries()
    for peer in (p.head, p.reviewer, p.staff, p.leader):
        direct = services.conversation_direct_open(actor=p.drafter, peer_id=peer.pk)
        send(peer, direct, "@王芳 你好", mentions=[p.drafter.pk])
    many = list_queries()
    assert few == many
    rows = {row["title"]: row for row in selectors.conversation_list(p.drafter)}
    assert (rows["陈杰"]["unread"], rows["陈杰"]["mentions"], rows["陈杰"]["last_message"]) == (1, 1, "陈杰：@王芳 你好")


def test_document_cards_and_meeting_links_do_not_hide_a_broken_documents_app(personas: Any, group: Any, monkeypatch: Any) -> None:
    """documents is a hard dependency of messaging (公文 cards, meeting links, 纪要): a
    failing import must not quietly turn every card into "unavailable"."""
    import sys

    from documents.services import document_create_draft
    from messaging.meetings import selectors as meetings_selectors

    document = document_create_draft(actor=personas.drafter, doc_type="notice", title="关于开展安全生产检查的通知")
    for module in ("documents.models", "documents.selectors", "documents.services"):
        monkeypatch.setitem(sys.modules, module, None)  # any import of it now raises ImportError
    assert selectors.document_for_card(personas.drafter, document.pk) == document
    linked = meetings_selectors.linked_document(personas.drafter, document.pk)
    assert linked is not None and linked.id == document.pk
