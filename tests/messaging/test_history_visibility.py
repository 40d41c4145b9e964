"""新成员可查看历史消息: a group setting (on by default) that owners and admins turn off;
then members who join later see only what came after they joined — in the history page,
on resume over the socket and in the conversation list's preview (search: see
tests/search/test_global_search.py)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from messaging.chat import forwarding, services
from messaging.chat.selectors import conversation_list
from messaging.errors import InvalidInput, NotFound, PermissionDeniedError
from officehub.audit.models import AuditEntry
from officehub.transactions import in_transaction
from tests.messaging.conftest import new_client_id, send
from tests.messaging.sockets import open_socket, resume


def add(actor: Any, group: Any, *users: Any) -> None:
    with transaction.atomic():
        services.conversation_members_add(actor=actor, conversation_id=group.pk, user_ids=[u.pk for u in users])


def set_visible(actor: Any, conversation: Any, visible: bool) -> None:
    with transaction.atomic():
        services.conversation_set_history_visible(actor=actor, conversation_id=conversation.pk, visible=visible)


def history_seqs(api_client: Any, user: Any, conversation: Any) -> list[int]:
    api_client.force_authenticate(user)
    response = api_client.get(f"/api/messaging/conversations/{conversation.pk}/messages/")
    assert response.status_code == 200
    return [m["seq"] for m in response.json()["messages"]]


def test_by_default_a_new_member_sees_the_whole_history(api_client, personas, group):
    send(personas.drafter, group, "入群前的消息")
    add(personas.drafter, group, personas.staff)
    assert history_seqs(api_client, personas.staff, group) == [1]
    api_client.force_authenticate(personas.staff)
    assert api_client.get(f"/api/messaging/conversations/{group.pk}/").json()["history_visible"] is True


def test_with_history_hidden_a_later_member_sees_only_what_came_after_joining(api_client, personas, group):
    send(personas.drafter, group, "入群前的消息")
    set_visible(personas.drafter, group, False)
    add(personas.drafter, group, personas.staff)
    # The conversation list shows no preview of a message the newcomer may not read.
    row = next(r for r in conversation_list(personas.staff) if r["id"] == group.pk)
    assert row["last_message"] == "" and row["unread"] == 0
    send(personas.drafter, group, "入群后的消息")
    assert history_seqs(api_client, personas.staff, group) == [2]
    assert history_seqs(api_client, personas.head, group) == [1, 2]  # the members who were there keep it
    assert AuditEntry.objects.filter(action="conversation.history_visibility_changed").exists()


def test_only_owners_and_admins_of_a_group_may_change_it(personas, group):
    with pytest.raises(PermissionDeniedError) as refused, transaction.atomic():
        services.conversation_set_history_visible(actor=personas.head, conversation_id=group.pk, visible=False)
    assert refused.value.code == "conversation.not_manager"
    with transaction.atomic():
        services.conversation_member_set_role(actor=personas.drafter, conversation_id=group.pk, user_id=personas.head.pk,
                                              role="admin")
    set_visible(personas.head, group, False)
    with transaction.atomic():
        direct = services.conversation_direct_open(actor=personas.drafter, peer_id=personas.head.pk)
    with pytest.raises(InvalidInput) as fixed, transaction.atomic():
        services.conversation_set_history_visible(actor=personas.drafter, conversation_id=direct.pk, visible=False)
    assert fixed.value.code == "conversation.direct_fixed"


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_resume_from_zero_gives_a_later_member_only_what_came_after_joining(personas: Any, group: Any) -> None:
    @database_sync_to_async
    def prepare() -> None:
        in_transaction(services.message_send)(
            actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="入群前"
        )
        set_visible(personas.drafter, group, False)
        add(personas.drafter, group, personas.staff)
        in_transaction(services.message_send)(
            actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="入群后"
        )

    await prepare()
    staff = await open_socket(personas.staff)
    missed = await resume(staff, {group.pk: 0})
    assert [m["body"] for m in missed] == ["入群后"]
    await staff.disconnect()


def test_a_later_member_cannot_forward_or_quote_what_came_before_joining(personas, group):
    before = send(personas.drafter, group, "入群前的机密安排")
    set_visible(personas.drafter, group, False)
    add(personas.drafter, group, personas.staff)
    after = send(personas.drafter, group, "入群后的消息")
    with transaction.atomic():
        own = services.conversation_direct_open(actor=personas.staff, peer_id=personas.head.pk)
    with pytest.raises(NotFound) as hidden_source, transaction.atomic():
        forwarding.messages_forward(actor=personas.staff, client_id=new_client_id(), message_ids=[before.pk],
                                    conversation_ids=[own.pk])
    assert hidden_source.value.code == "forward.source_unavailable"
    with pytest.raises(NotFound) as hidden_quote, transaction.atomic():
        services.message_send(actor=personas.staff, conversation_id=group.pk, client_id=new_client_id(),
                              body="回复", reply_to=before.pk)
    assert hidden_quote.value.code == "message.reply_unavailable"
    # What came after joining is theirs to forward and quote; the founders keep the rest.
    with transaction.atomic():
        forwarding.messages_forward(actor=personas.staff, client_id=new_client_id(), message_ids=[after.pk],
                                    conversation_ids=[own.pk])
        services.message_send(actor=personas.staff, conversation_id=group.pk, client_id=new_client_id(),
                              body="回复", reply_to=after.pk)
        forwarding.messages_forward(actor=personas.drafter, client_id=new_client_id(), message_ids=[before.pk],
                                    conversation_ids=[group.pk])
