"""Messaging fixtures: a small group chat among the demo personas, and helpers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

_ids = itertools.count(1)


def new_client_id() -> str:
    return f"t-{next(_ids)}"


@pytest.fixture
def group(personas: Any) -> Any:
    """A group owned by the drafter with drafter2, the head and the reviewer; the outsider
    (another organisation) and the low-clearance staff member are not in it."""
    from messaging.chat.services import conversation_group_create
    from officehub.transactions import in_transaction

    p = personas
    return in_transaction(conversation_group_create)(
        actor=p.drafter, title="秘书处工作群", member_ids=[p.drafter2.pk, p.head.pk, p.reviewer.pk]
    )


def send(user: Any, conversation: Any, body: str = "你好", **kwargs: Any) -> Any:
    from messaging.chat.services import message_send
    from officehub.transactions import in_transaction

    kwargs.setdefault("client_id", new_client_id())
    return in_transaction(message_send)(actor=user, conversation_id=conversation.pk, body=body, **kwargs).message
