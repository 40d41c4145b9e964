"""The index change outbox: one row per "object of kind K changed", drained by search."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class IndexKind(models.TextChoices):
    """What search indexes from this outbox (archives have their own outbox in search)."""

    MESSAGE = "message", "消息"
    DOCUMENT = "document", "公文"


class IndexChange(models.Model):
    """A pending (re)index of one object, inserted in the transaction that changed it.

    The row carries no content: the drain reads the object as it is when it drains, so
    several rows for one object collapse into one write. The row's id is the
    Elasticsearch external version of that write. Ids are handed out in insert order,
    and ``mark_for_index`` is called while the object's row is locked (or the object is
    new), so the rows of one object are also in commit order: a write built from an
    older state can never replace one built from a newer state.

    Drained rows are deleted (messages arrive at hundreds a second; the sequence keeps
    handing out larger ids whether rows are kept or not).
    """

    kind = models.CharField(max_length=20, choices=IndexKind.choices)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "索引变更"
        verbose_name_plural = "索引变更"
        ordering = ["id"]
        indexes = [models.Index(fields=["available_at", "id"], name="index_change_due")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["message", "document"]), name="index_change_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"index change {self.pk}: {self.kind} {self.object_id}"
