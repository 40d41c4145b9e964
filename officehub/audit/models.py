from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditEntry(models.Model):
    """One append-only, hash-chained entry; see ``officehub.audit.chain`` for the hash."""

    seq = models.PositiveBigIntegerField(_("序号"), unique=True)
    created_at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", db_constraint=False,
    )
    # Kept verbatim so the chain still verifies if the user row is ever renamed or removed.
    actor_label = models.CharField(_("操作人"), max_length=200, blank=True)
    action = models.CharField(_("事件"), max_length=100, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True, db_index=True)
    data = models.JSONField(_("内容"), default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计日志")
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """Singleton row locked by every append, so the chain has exactly one tail."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"head #{self.last_seq}"
