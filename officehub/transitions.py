"""One idiom for state machines: a table ``{action: {from: to}}`` and one checker.

Every entity with a lifecycle (公文, 会议, 印章, 用印申请, a message's recall) declares its
allowed moves in one ``Transitions`` table beside its services; a service locks the row,
asks the table, and then changes the field. Nothing else decides whether a move is
allowed, so the table is the documentation and the tests' oracle at once.

    DOCUMENT_FLOW = Transitions(
        "document",
        {"submit": {S.DRAFT: S.REVIEW}, "review.approve": {S.REVIEW: (S.COUNTERSIGN, S.SIGN_OFF)}},
        describe=lambda status: DocumentStatus(status).label,
        message=_("公文当前处于“%(status)s”环节，不能执行该操作。"),
    )
    DOCUMENT_FLOW.move(document, "submit")                   # the one target
    DOCUMENT_FLOW.move(document, "review.approve", to=S.SIGN_OFF)  # one of several

A refused move raises ``InvalidTransition`` (HTTP 409) with the code
``<entity>.invalid_transition`` and ``extra = {"status", "action"}``; asking for a target
the table does not list for that action is a programming error (``AssertionError``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

from officehub.errors import InvalidTransition

Targets = str | tuple[str, ...]


@dataclass(frozen=True)
class Transitions:
    entity: str
    table: Mapping[str, Mapping[str, Targets]]
    describe: Callable[[str], str] = str
    message: str | Promise = "当前状态为“%(status)s”，不能执行该操作。"
    error: type[InvalidTransition] = InvalidTransition
    field_name: str = "status"
    _normalised: dict[str, dict[str, tuple[str, ...]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        normalised = {
            action: {str(source): (targets,) if isinstance(targets, str) else tuple(targets) for source, targets in moves.items()}
            for action, moves in self.table.items()
        }
        object.__setattr__(self, "_normalised", normalised)

    @property
    def code(self) -> str:
        return f"{self.entity}.invalid_transition"

    def actions(self) -> list[str]:
        return list(self._normalised)

    def allows(self, current: str, action: str) -> bool:
        return str(current) in self._moves(action)

    def targets(self, current: str, action: str) -> tuple[str, ...]:
        """The states ``action`` may lead to from ``current``; raises the coded error when
        the action is not allowed from there."""
        targets = self._moves(action).get(str(current))
        if targets is None:
            raise self.error(
                str(self.message) % {"status": self.describe(str(current)), "action": action},
                code=self.code,
                extra={"status": str(current), "action": action},
            )
        return targets

    def check(self, obj: Any, action: str) -> tuple[str, ...]:
        return self.targets(getattr(obj, self.field_name), action)

    def move(self, obj: Any, action: str, *, to: str | None = None) -> str:
        """Check and set ``obj.<field_name>``; ``to`` may be omitted when the action has a
        single target from the current state. Returns the new state (not saved)."""
        targets = self.check(obj, action)
        if to is None:
            if len(targets) != 1:
                raise AssertionError(f"{self.entity} {action}: choose one of {targets}")
            to = targets[0]
        if str(to) not in targets:
            raise AssertionError(f"{self.entity} {action}: {getattr(obj, self.field_name)} -> {to} is not in the table")
        setattr(obj, self.field_name, to)
        return str(to)

    def _moves(self, action: str) -> dict[str, tuple[str, ...]]:
        try:
            return self._normalised[action]
        except KeyError:
            raise AssertionError(f"{self.entity}: unknown action {action!r}") from None
