from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from officehub.workbench.models import TodoItem


def todo_list(*, user: Any) -> QuerySet[TodoItem]:
    return TodoItem.objects.filter(user=user, done_at__isnull=True).order_by("due_at", "-created_at")


def done_list(*, user: Any, limit: int = 50) -> QuerySet[TodoItem]:
    return TodoItem.objects.filter(user=user, done_at__isnull=False).order_by("-done_at")[:limit]
