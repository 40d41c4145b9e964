"""officehub/transitions.py and officehub/transactions.py: the two conventions every app uses."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import transaction

from officehub.errors import InvalidTransition
from officehub.transactions import in_transaction, require_transaction
from officehub.transitions import Transitions

FLOW = Transitions(
    "thing",
    {"start": {"new": "running"}, "finish": {"running": ("done", "failed")}, "reopen": {"done": "running", "failed": "running"}},
    describe=lambda status: {"new": "新建", "running": "进行中", "done": "完成", "failed": "失败"}.get(status, status),
    message="当前为“%(status)s”，不能执行该操作。",
)


@dataclass
class Thing:
    status: str


def test_a_move_the_table_allows_sets_the_state() -> None:
    thing = Thing("new")
    assert FLOW.move(thing, "start") == "running" and thing.status == "running"
    assert FLOW.move(thing, "finish", to="failed") == "failed"
    assert FLOW.targets("failed", "reopen") == ("running",)


def test_a_move_from_the_wrong_state_is_a_coded_409_and_changes_nothing() -> None:
    thing = Thing("new")
    with pytest.raises(InvalidTransition) as caught:
        FLOW.move(thing, "finish", to="done")
    error = caught.value
    assert (error.code, error.status) == ("thing.invalid_transition", 409)
    assert error.extra == {"status": "new", "action": "finish"}
    assert error.message == "当前为“新建”，不能执行该操作。"
    assert thing.status == "new"


def test_asking_for_a_target_the_table_does_not_list_is_a_programming_error() -> None:
    with pytest.raises(AssertionError):
        FLOW.move(Thing("running"), "finish")  # two targets: the caller must choose
    with pytest.raises(AssertionError):
        FLOW.move(Thing("running"), "finish", to="new")
    with pytest.raises(AssertionError):
        FLOW.allows("new", "launch")


@pytest.mark.django_db(transaction=True)
def test_require_transaction_passes_inside_atomic_and_in_transaction_opens_one() -> None:
    with pytest.raises(transaction.TransactionManagementError):
        require_transaction()
    with transaction.atomic():
        require_transaction()

    @in_transaction
    def job() -> bool:
        require_transaction()
        return True

    assert job() is True
