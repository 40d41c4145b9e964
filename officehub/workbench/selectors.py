from __future__ import annotations

from django.db.models import QuerySet

from officehub.directory.models import User
from officehub.workbench.models import TodoItem


def todo_list(*, user: User) -> QuerySet[TodoItem]:
    return TodoItem.objects.filter(user=user, done_at__isnull=True).order_by("due_at", "-created_at")


def done_list(*, user: User, limit: int = 50) -> QuerySet[TodoItem]:
    return TodoItem.objects.filter(user=user, done_at__isnull=False).order_by("-done_at")[:limit]
