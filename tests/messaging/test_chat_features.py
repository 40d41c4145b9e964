"""Issue 14 chat features over the services and the REST API: reply with quote, forward
(one by one and 合并转发), 置顶/免打扰, 群公告 with read tracking, reactions and
delete-for-me — each with who may NOT do it, and the outsider's 404 on every new path."""

from __future__ import annotations

import io
from typing import Any

import pytest

from messaging.chat import announcements, attachments, forwarding, reactions, selectors, services
from messaging.models import Attachment, BundleItem, Conversation, HiddenMessage, Membership, Message, Reaction
from tests.messaging.conftest import new_client_id, send

pytestmark = pytest.mark.django_db

API = "/api/messaging"


def _client(api_client: Any, user: Any) -> Any:
    """A client of its own per user (the fixture's one would be re-authenticated)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def _history(client: Any, conversation: Conversation) -> list[dict[str, Any]]:
    return client.get(f"{API}/conversations/{conversation.pk}/messages/?limit=100").json()["messages"]


# ------------------------------------------------------------------------------ reply


def test_a_reply_quotes_the_message_as_it_was_and_shows_recalled_once_recalled(
    personas: Any, group: Any, api_client: Any
) -> None:
    original = send(personas.drafter, group, "下午三点开会，地点302")
    client = _client(api_client, personas.head)
    reply = client.post(
        f"{API}/conversations/{group.pk}/messages/", {"client_id": "r-1", "body": "收到", "reply_to": original.pk}, format="json"
    )
    assert reply.status_code == 201
    quote = reply.json()["message"]["reply_to"]
    assert quote == {
        "id": original.pk,
        "seq": 1,
        "sender_id": personas.drafter.pk,
        "sender_name": "王芳",
        "kind": "text",
        "snippet": "下午三点开会，地点302",
        "recalled": False,
    }
    services.message_recall(actor=personas.drafter, message_id=original.pk)
    rows = _history(_client(api_client, personas.drafter2), group)
    assert rows[1]["reply_to"]["snippet"] == "原消息已撤回" and rows[1]["reply_to"]["recalled"] is True
    assert rows[1]["body"] == "收到"


def test_a_reply_only_quotes_a_message_of_the_same_conversation(personas: Any, group: Any) -> None:
    elsewhere = services.conversation_direct_open(actor=personas.drafter, peer_id=personas.head.pk)
    foreign = send(personas.drafter, elsewhere, "私聊内容")
    with pytest.raises(services.NotFound) as refused:
        send(personas.drafter, group, "引用", reply_to=foreign.pk)
    assert refused.value.code == "message.reply_unavailable"
    with pytest.raises(services.NotFound):
        send(personas.drafter, group, "引用", reply_to=10**9)
    recalled = send(personas.drafter, group, "撤回的")
    services.message_recall(actor=personas.drafter, message_id=recalled.pk)
    with pytest.raises(services.InvalidTransition) as gone:
        send(personas.head, group, "引用", reply_to=recalled.pk)
    assert gone.value.code == "message.reply_recalled"
    assert not Message.objects.filter(conversation=group, body="引用").exists()


# ------------------------------------------------------------------------------ forward


def test_forward_one_by_one_to_a_person_and_a_group(personas: Any, group: Any, api_client: Any) -> None:
    first = send(personas.head, group, "第一条")
    second = send(personas.drafter, group, "第二条")
    other = services.conversation_group_create(actor=personas.drafter, title="另一个群", member_ids=[personas.reviewer.pk])
    client = _client(api_client, personas.drafter)
    body = {
        "client_id": "fw-1",
        "message_ids": [second.pk, first.pk],
        "conversation_ids": [other.pk],
        "user_ids": [personas.staff.pk],
    }
    created = client.post(f"{API}/messages/forward/", body, format="json")
    assert created.status_code == 201, created.json()
    messages = created.json()["messages"]
    direct = Conversation.objects.get(kind="direct", memberships__user=personas.staff)
    assert Membership.objects.filter(conversation=direct, user=personas.drafter).exists()
    by_conversation: dict[int, list[tuple[str, str | None]]] = {}
    for message in messages:
        by_conversation.setdefault(message["conversation_id"], []).append((message["body"], message["forwarded_from"]))
    expected = [("第一条", "陈杰"), ("第二条", "王芳")]  # in their original order
    assert by_conversation == {other.pk: expected, direct.pk: expected}
    # The same frame again stores nothing twice.
    again = client.post(f"{API}/messages/forward/", body, format="json")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert [m["id"] for m in again.json()["messages"]] == [m["id"] for m in messages]
    assert Message.objects.filter(conversation__in=[other, direct]).count() == 4


def test_merged_forward_is_one_record_that_opens_as_a_list(personas: Any, group: Any, api_client: Any) -> None:
    sources = [send(personas.drafter, group, "通知：明天检查"), send(personas.head, group, "好的")]
    target = services.conversation_group_create(actor=personas.head, title="督办群", member_ids=[personas.staff.pk])
    result = forwarding.messages_forward(
        actor=personas.head,
        client_id="fw-m",
        message_ids=[m.pk for m in sources],
        conversation_ids=[target.pk],
        mode="merged",
    )
    (record,) = result.messages
    assert record.kind == "bundle" and record.body == "秘书处工作群的聊天记录" and record.seq == 1
    staff = _client(api_client, personas.staff)
    row = _history(staff, target)[0]
    assert row["bundle"] == {"count": 2, "preview": ["王芳：通知：明天检查", "陈杰：好的"]}
    opened = staff.get(f"{API}/messages/{record.pk}/bundle/").json()
    assert opened["title"] == "秘书处工作群的聊天记录"
    assert [(i["sender_name"], i["body"]) for i in opened["items"]] == [("王芳", "通知：明天检查"), ("陈杰", "好的")]
    # The staff member reads the record, not the group it came from.
    assert staff.get(f"{API}/conversations/{group.pk}/messages/").status_code == 404
    # A merged forward takes messages of one conversation only.
    elsewhere = send(personas.head, target, "别处")
    with pytest.raises(services.InvalidInput) as mixed:
        forwarding.messages_forward(
            actor=personas.head,
            client_id="fw-x",
            message_ids=[sources[0].pk, elsewhere.pk],
            conversation_ids=[target.pk],
            mode="merged",
        )
    assert mixed.value.code == "forward.mixed_conversations"


def test_forward_to_a_conversation_the_sender_is_not_in_is_refused(personas: Any, group: Any, api_client: Any) -> None:
    message = send(personas.drafter, group, "内部")
    theirs = services.conversation_group_create(actor=personas.outsider, title="大数据局群", member_ids=[personas.staff.pk])
    before = Message.objects.count()
    response = _client(api_client, personas.drafter).post(
        f"{API}/messages/forward/",
        {"client_id": "fw-2", "message_ids": [message.pk], "conversation_ids": [theirs.pk]},
        format="json",
    )
    assert response.status_code == 404 and response.json()["code"] == "forward.target_unavailable"
    missing = _client(api_client, personas.drafter).post(
        f"{API}/messages/forward/",
        {"client_id": "fw-3", "message_ids": [message.pk], "conversation_ids": [10**9]},
        format="json",
    )
    assert missing.json() == response.json()  # not a member and missing: one answer
    assert Message.objects.count() == before


def test_forward_from_a_conversation_the_sender_cannot_read_is_refused(personas: Any, group: Any, api_client: Any) -> None:
    secret = send(personas.drafter, group, "内部讨论")
    mine = services.conversation_direct_open(actor=personas.outsider, peer_id=personas.staff.pk)
    before = Message.objects.count()
    response = _client(api_client, personas.outsider).post(
        f"{API}/messages/forward/",
        {"client_id": "fw-4", "message_ids": [secret.pk], "conversation_ids": [mine.pk], "mode": "merged"},
        format="json",
    )
    assert response.status_code == 404 and response.json()["code"] == "forward.source_unavailable"
    assert Message.objects.count() == before
    recalled = send(personas.drafter, group, "撤回的")
    services.message_recall(actor=personas.drafter, message_id=recalled.pk)
    with pytest.raises(services.InvalidInput) as refused:
        forwarding.messages_forward(
            actor=personas.head, client_id="fw-5", message_ids=[recalled.pk], user_ids=[personas.staff.pk]
        )
    assert refused.value.code == "forward.source_recalled"


def test_a_forwarded_file_is_shared_by_reference_and_readable_only_where_it_was_forwarded(
    personas: Any, group: Any, api_client: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    sent = attachments.attachment_send(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), name="名单.txt", data="张三".encode()
    ).message
    staff = _client(api_client, personas.staff)
    url = f"{API}/attachments/{sent.attachment_id}/download/"
    assert staff.get(url).status_code == 404
    result = forwarding.messages_forward(
        actor=personas.head, client_id="fw-f", message_ids=[sent.pk], user_ids=[personas.staff.pk], mode="merged"
    )
    assert Attachment.objects.count() == 1  # no copy
    assert BundleItem.objects.get(message=result.messages[0]).attachment_id == sent.attachment_id
    assert staff.get(url).status_code == 200
    assert _client(api_client, personas.outsider).get(url).status_code == 404
    # Recalling the record takes the file away from that conversation only.
    services.message_recall(actor=personas.head, message_id=result.messages[0].pk)
    assert _client(api_client, personas.staff).get(url).status_code == 404
    assert _client(api_client, personas.drafter2).get(url).status_code == 200


# ------------------------------------------------------------------------------ pin and mute


def test_pin_and_mute_are_per_member_persist_and_shape_the_list_and_the_badge(personas: Any, group: Any, api_client: Any) -> None:
    direct = services.conversation_direct_open(actor=personas.drafter, peer_id=personas.head.pk)
    send(personas.drafter, direct, "单聊一条")  # the direct chat is the most recent
    send(personas.drafter, group, "群里一条")
    send(personas.drafter, group, "群里两条")
    send(personas.drafter, direct, "单聊两条")
    head = _client(api_client, personas.head)
    assert [r["id"] for r in head.get(f"{API}/conversations/").json()][:2] == [direct.pk, group.pk]
    changed = head.patch(f"{API}/conversations/{group.pk}/settings/", {"pinned": True, "muted": True}, format="json")
    assert changed.status_code == 200 and changed.json()["pinned"] is True and changed.json()["muted"] is True
    rows = head.get(f"{API}/conversations/").json()
    assert rows[0]["id"] == group.pk and rows[0]["pinned"] and rows[0]["muted"]
    assert rows[0]["unread"] == 2  # still counted in the list, shown as a dot
    assert head.get(f"{API}/unread/").json() == {"unread": 2, "conversations": 1, "muted_conversation_ids": [group.pk]}
    # Only for the head: the drafter's list and badge are unchanged.
    drafter_rows = {r["id"]: r for r in _client(api_client, personas.drafter).get(f"{API}/conversations/").json()}
    assert not drafter_rows[group.pk]["pinned"] and not drafter_rows[group.pk]["muted"]
    # Receipts still count a muted member.
    services.conversation_mark_read(actor=personas.head, conversation_id=group.pk, seq=2)
    assert selectors.read_counts(conversation_id=group.pk, messages=[Message.objects.get(conversation=group, seq=2)]) == {
        2: (1, 2)
    }
    head.patch(f"{API}/conversations/{group.pk}/settings/", {"pinned": False}, format="json")
    membership = Membership.objects.get(conversation=group, user=personas.head)
    assert membership.pinned_at is None and membership.muted is True
    bad = head.patch(f"{API}/conversations/{group.pk}/settings/", {"muted": "maybe"}, format="json")
    assert bad.status_code == 400


# ------------------------------------------------------------------------------ 群公告


def test_only_owners_and_admins_set_the_announcement_and_reading_is_tracked(personas: Any, group: Any, api_client: Any) -> None:
    member = _client(api_client, personas.head)  # a plain member of the drafter's group
    refused = member.put(f"{API}/conversations/{group.pk}/announcement/", {"client_id": "a-0", "body": "我来"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "announcement.not_manager"
    result = announcements.announcement_set(
        actor=personas.drafter, conversation_id=group.pk, client_id="a-1", body="本周五前报送材料"
    )
    assert result.message.kind == "announcement" and result.message.seq == 1  # in the seq stream
    detail = member.get(f"{API}/conversations/{group.pk}/").json()
    assert detail["announcement"]["body"] == "本周五前报送材料" and detail["announcement"]["version"] == 1
    assert detail["announcement_read_version"] == 0  # not seen yet: shown on entry
    readers = _client(api_client, personas.drafter).get(f"{API}/conversations/{group.pk}/announcement/readers/").json()
    assert (readers["read_count"], readers["unread_count"]) == (0, 3)
    member.post(f"{API}/conversations/{group.pk}/announcement/read/", {"version": 1}, format="json")
    member.post(f"{API}/conversations/{group.pk}/announcement/read/", {"version": 0}, format="json")  # never back
    readers = _client(api_client, personas.drafter).get(f"{API}/conversations/{group.pk}/announcement/readers/").json()
    assert [r["name"] for r in readers["read"]] == ["陈杰"] and readers["unread_count"] == 2
    assert member.get(f"{API}/conversations/{group.pk}/announcement/readers/").status_code == 403
    # A new text is unread again for everyone but its author.
    announcements.announcement_set(actor=personas.drafter, conversation_id=group.pk, client_id="a-2", body="改为周四")
    assert member.get(f"{API}/conversations/{group.pk}/").json()["announcement_read_version"] == 1
    rows = {r["id"]: r for r in member.get(f"{API}/conversations/").json()}
    assert rows[group.pk]["announcement_unread"] is True
    direct = services.conversation_direct_open(actor=personas.drafter, peer_id=personas.head.pk)
    with pytest.raises(services.InvalidInput):
        announcements.announcement_set(actor=personas.drafter, conversation_id=direct.pk, client_id="a-3", body="x")


# ------------------------------------------------------------------------------ reactions


def test_reactions_toggle_per_user_per_emoji_and_persist(personas: Any, group: Any, api_client: Any) -> None:
    message = send(personas.drafter, group, "方案已发")
    head = _client(api_client, personas.head)
    on = head.post(f"{API}/messages/{message.pk}/reactions/", {"emoji": "👍"}, format="json").json()
    assert (on["on"], on["count"], on["user_ids"]) == (True, 1, [personas.head.pk])
    reactions.reaction_toggle(actor=personas.drafter2, message_id=message.pk, emoji="👍")
    reactions.reaction_toggle(actor=personas.drafter2, message_id=message.pk, emoji="🎉")
    row = _history(head, group)[0]
    assert row["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": sorted([personas.head.pk, personas.drafter2.pk])},
        {"emoji": "🎉", "count": 1, "user_ids": [personas.drafter2.pk]},
    ]
    who = head.get(f"{API}/messages/{message.pk}/reactions/").json()
    assert [(d["emoji"], [u["name"] for u in d["users"]]) for d in who] == [("👍", ["陈杰", "李军"]), ("🎉", ["李军"])]
    off = head.post(f"{API}/messages/{message.pk}/reactions/", {"emoji": "👍"}, format="json").json()
    assert (off["on"], off["count"]) == (False, 1)
    bad = head.post(f"{API}/messages/{message.pk}/reactions/", {"emoji": "<b>"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "reaction.invalid_emoji"
    assert Reaction.objects.filter(message=message).count() == 2


# ------------------------------------------------------------------------------ delete for me


def test_delete_for_me_hides_for_that_user_only(personas: Any, group: Any, api_client: Any) -> None:
    keep = send(personas.drafter, group, "保留")
    gone = send(personas.drafter, group, "不想看到")
    head = _client(api_client, personas.head)
    assert head.post(f"{API}/messages/hide/", {"message_ids": [gone.pk]}, format="json").json() == {"hidden": [gone.pk]}
    mine = _history(head, group)
    assert [(m["seq"], m["hidden"], m["body"]) for m in mine] == [(1, False, "保留"), (2, True, "")]
    others = _history(_client(api_client, personas.drafter2), group)
    assert [(m["seq"], m["hidden"], m["body"]) for m in others] == [(1, False, "保留"), (2, False, "不想看到")]
    payloads, _more = selectors.resume_payloads(user=personas.head, conversation_id=group.pk, after_seq=0)
    assert [(p["seq"], p["hidden"]) for p in payloads] == [(1, False), (2, True)]  # no gap in the stream
    # Idempotent; and a message the user cannot read hides nothing at all.
    head.post(f"{API}/messages/hide/", {"message_ids": [gone.pk]}, format="json")
    assert HiddenMessage.objects.filter(user=personas.head).count() == 1
    foreign = send(personas.outsider, services.conversation_direct_open(actor=personas.outsider, peer_id=personas.staff.pk), "x")
    refused = head.post(f"{API}/messages/hide/", {"message_ids": [keep.pk, foreign.pk]}, format="json")
    assert refused.status_code == 404
    assert HiddenMessage.objects.filter(user=personas.head).count() == 1


# ------------------------------------------------------------------------------ outsiders


def test_outsider_gets_404_on_every_new_path(personas: Any, group: Any, api_client: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    image = attachments.attachment_send(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), name="图.png", data=_png()
    ).message
    message = send(personas.drafter, group, "内部")
    record = forwarding.messages_forward(
        actor=personas.drafter, client_id="fw-o", message_ids=[message.pk], conversation_ids=[group.pk], mode="merged"
    ).messages[0]
    announcements.announcement_set(actor=personas.drafter, conversation_id=group.pk, client_id="a-o", body="公告")
    client = _client(api_client, personas.outsider)
    own = services.conversation_direct_open(actor=personas.outsider, peer_id=personas.staff.pk)
    calls = [
        ("post", f"{API}/conversations/{group.pk}/messages/", {"client_id": "o-r", "body": "hi", "reply_to": message.pk}),
        ("post", f"{API}/messages/forward/", {"client_id": "o-f", "message_ids": [message.pk], "conversation_ids": [own.pk]}),
        ("post", f"{API}/messages/forward/", {"client_id": "o-g", "message_ids": [message.pk], "user_ids": [personas.staff.pk]}),
        ("get", f"{API}/messages/{record.pk}/bundle/", None),
        ("get", f"{API}/messages/{message.pk}/reactions/", None),
        ("post", f"{API}/messages/{message.pk}/reactions/", {"emoji": "👍"}),
        ("patch", f"{API}/conversations/{group.pk}/settings/", {"pinned": True}),
        ("post", f"{API}/messages/hide/", {"message_ids": [message.pk]}),
        ("get", f"{API}/conversations/{group.pk}/announcement/", None),
        ("put", f"{API}/conversations/{group.pk}/announcement/", {"client_id": "o-a", "body": "x"}),
        ("post", f"{API}/conversations/{group.pk}/announcement/read/", {"version": 1}),
        ("get", f"{API}/conversations/{group.pk}/announcement/readers/", None),
        ("get", f"{API}/attachments/{image.attachment_id}/thumbnail/", None),
        ("get", f"{API}/attachments/{image.attachment_id}/preview/", None),
        ("get", f"{API}/attachments/{image.attachment_id}/preview/1/", None),
    ]
    before = (Message.objects.count(), Reaction.objects.count(), HiddenMessage.objects.count())
    for method, url, data in calls:
        response = getattr(client, method)(url, data, format="json") if data is not None else getattr(client, method)(url)
        assert response.status_code == 404, (url, response.content)
    assert (Message.objects.count(), Reaction.objects.count(), HiddenMessage.objects.count()) == before
    assert not Membership.objects.filter(conversation=group, user=personas.outsider).exists()
