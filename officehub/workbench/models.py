from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TodoKind(models.TextChoices):
    DOCUMENT = "document", _("公文")
    SEAL_REQUEST = "seal_request", _("用印申请")
    MEETING = "meeting", _("会议")
    DING = "ding", _("DING")
    DISCLOSURE_REQUEST = "disclosure_request", _("依申请公开")


class TodoItem(models.Model):
    """One piece of work waiting on one person: a 待办 while open, an 已办 once done.

    Feature apps open and close items through ``officehub.workbench.services``; the
    workbench only lists them, so it never needs to know any feature's rules.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="todos")
    kind = models.CharField(max_length=20, choices=TodoKind.choices)
    title = models.CharField(_("事项"), max_length=300)
    step = models.CharField(_("环节"), max_length=50, blank=True)
    url = models.CharField(max_length=300)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    done_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    outcome = models.CharField(_("办理结果"), max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "done_at", "-created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]
        constraints = [
            # At most one open item per person, target and step.
            models.UniqueConstraint(
                fields=["user", "target_type", "target_id", "step"],
                condition=Q(done_at__isnull=True),
                name="todo_one_open_per_step",
            )
        ]

    def __str__(self) -> str:
        return self.title
