"""Open and close 待办 items; called by feature services inside their transactions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, TypedDict

from django.db import models
from django.utils import timezone

from officehub.directory.models import User
from officehub.realtime import publish_on_commit, user_group
from officehub.transactions import require_transaction
from officehub.workbench.models import TodoItem


class TodoNotification(TypedDict):
    """The user socket's ``notify`` event for a new (or refreshed) 待办."""

    type: Literal["notify"]
    event: str  # "todo.new" unless the caller names another
    todo_id: int
    title: str
    step: str
    url: str
    due_at: str | None


def todo_open(
    *,
    user: User,
    kind: str,
    target: models.Model,
    step: str,
    title: str,
    url: str,
    due_at: datetime | None = None,
    notify: str = "todo.new",
) -> TodoItem:
    """Open (or refresh) the user's todo for this target and step, and push it after commit."""
    require_transaction()
    item, created = TodoItem.objects.get_or_create(
        user=user,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        step=step,
        done_at__isnull=True,
        defaults={"kind": kind, "title": title, "url": url, "due_at": due_at},
    )
    if not created:
        item.title, item.url, item.due_at = title, url, due_at
        item.save(update_fields=["title", "url", "due_at"])
    event: TodoNotification = {
        "type": "notify",
        "event": notify,
        "todo_id": item.pk,
        "title": title,
        "step": step,
        "url": url,
        "due_at": due_at.isoformat() if due_at else None,
    }
    publish_on_commit(user_group(user.pk), event)
    return item


def todo_close(
    *, target: models.Model, users: Iterable[User] | None = None, step: str | None = None, outcome: str = ""
) -> int:
    """Mark open todos on a target done (optionally only some users or one step)."""
    require_transaction()
    items = TodoItem.objects.filter(
        target_type=target._meta.label_lower, target_id=str(target.pk), done_at__isnull=True
    )
    if users is not None:
        items = items.filter(user__in=[user.pk for user in users])
    if step is not None:
        items = items.filter(step=step)
    return items.update(done_at=timezone.now(), outcome=outcome)


def notify_user(*, user_id: int, event: str, **payload: Any) -> None:
    """Push a notification (e.g. returned, overdue reminder) to the user's socket after commit."""
    publish_on_commit(user_group(user_id), {"type": "notify", "event": event, **payload})
