"""Concurrent senders: seq stays dense and unique, a doubled resend stores one message."""

from __future__ import annotations

from typing import Any

import pytest

from messaging.chat import services
from messaging.models import Message
from officehub.transactions import in_transaction
from tests.concurrency import run_at_once
from tests.messaging.conftest import new_client_id

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_senders_get_dense_unique_sequence_numbers(personas: Any, group: Any, settings: Any) -> None:
    settings.MESSAGE_RATE_PER_MINUTE = 100000
    settings.MESSAGE_BURST = 100000
    senders = [personas.drafter, personas.drafter2, personas.head, personas.reviewer]

    def burst(user: Any) -> list[int]:
        return [
            in_transaction(services.message_send)(
                actor=user, conversation_id=group.pk, client_id=f"cc-{user.pk}-{i}", body=str(i)
            ).message.seq
            for i in range(8)
        ]

    results = run_at_once([lambda u=u: burst(u) for u in senders])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(seq for seqs in results for seq in seqs) == list(range(1, 33))
    for seqs in results:  # each sender's own messages keep their order
        assert seqs == sorted(seqs)
    group.refresh_from_db()
    assert group.last_seq == 32


def test_simultaneous_resends_store_one_message(personas: Any, group: Any) -> None:
    def resend() -> Any:
        return in_transaction(services.message_send)(
            actor=personas.drafter, conversation_id=group.pk, client_id="twice", body="只存一次"
        )

    results = run_at_once([resend, resend, resend])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.message.pk for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, True]
    assert Message.objects.filter(conversation=group).count() == 1


def test_many_members_reacting_at_once_each_count_once(personas: Any, group: Any) -> None:
    """Toggles of one message take its row lock in turn: every reaction lands, and the
    last event's ``user_ids`` is the committed truth."""
    from messaging.chat import reactions
    from messaging.models import Reaction

    message = in_transaction(services.message_send)(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="同意请回应"
    ).message
    people = [personas.drafter, personas.drafter2, personas.head, personas.reviewer]
    results = run_at_once(
        [lambda u=u: reactions.reaction_toggle(actor=u, message_id=message.pk, emoji="👍") for u in people],
        lock_timeout="10s",
    )
    assert all(not isinstance(r, BaseException) and r["on"] for r in results), results
    assert sorted(r["count"] for r in results if not isinstance(r, BaseException)) == [1, 2, 3, 4]
    assert Reaction.objects.filter(message=message, emoji="👍").count() == 4


def test_the_same_forward_sent_twice_at_once_is_stored_once(personas: Any, group: Any) -> None:
    from messaging.chat import forwarding
    from messaging.models import Message

    source = in_transaction(services.message_send)(
        actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body="请转发"
    ).message
    target = in_transaction(services.conversation_group_create)(
        actor=personas.drafter, title="目标群", member_ids=[personas.staff.pk]
    )

    def forward() -> Any:
        return forwarding.messages_forward(
            actor=personas.drafter, client_id="race-1", message_ids=[source.pk], conversation_ids=[target.pk], mode="merged"
        )

    results = run_at_once([forward, forward], lock_timeout="10s")
    assert all(not isinstance(r, BaseException) for r in results), results
    assert sorted(r.created for r in results if not isinstance(r, BaseException)) == [False, True]
    assert Message.objects.filter(conversation=target).count() == 1
