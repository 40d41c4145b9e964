"""Meetings: scheduling, invitations and the live roster of the signaling socket.

The roster lives in the database (one ``Participant`` row per live socket, with its
channel name), not in a consumer's memory: several Daphne workers may serve one meeting
(DESIGN §11), and every one of them must see the same room.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

__all__ = [
    "Attendance",
    "Invitation",
    "InvitationResponse",
    "InvitationRole",
    "Meeting",
    "MeetingStatus",
    "Participant",
]


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("未开始")
    OPEN = "open", _("进行中")
    ENDED = "ended", _("已结束")
    CANCELLED = "cancelled", _("已取消")


class Meeting(models.Model):
    title = models.CharField(_("会议主题"), max_length=100)
    agenda = models.TextField(_("议程"), blank=True)
    start_at = models.DateTimeField(_("开始时间"))
    end_at = models.DateTimeField(_("结束时间"))
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("主持人"), on_delete=models.PROTECT, related_name="hosted_meetings"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    opened_early = models.BooleanField(_("提前开放"), default=False)
    locked = models.BooleanField(_("已锁定"), default=False)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    # The documents app is optional to this one: a plain id, checked with
    # documents.selectors at display time so nobody sees a title they may not read.
    document_id = models.PositiveBigIntegerField(_("关联公文"), null=True, blank=True)
    minutes_document_id = models.PositiveBigIntegerField(_("会议纪要"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("会议")
        verbose_name_plural = _("会议")
        ordering = ["start_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="meeting_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["status", "start_at"], name="meeting_status_start"),
        ]

    def __str__(self) -> str:
        return self.title


class InvitationResponse(models.TextChoices):
    PENDING = "pending", _("待回复")
    ACCEPTED = "accepted", _("接受")
    DECLINED = "declined", _("请假")


class InvitationRole(models.TextChoices):
    ATTENDEE = "attendee", _("参会")
    OBSERVER = "observer", _("列席")


class Attendance(models.TextChoices):
    """What the minutes record: 出席 / 请假 / 列席 (blank: not yet known, i.e. 缺席)."""

    UNKNOWN = "", _("未出席")
    ATTENDED = "attended", _("出席")
    ABSENT_WITH_LEAVE = "absent_with_leave", _("请假")
    OBSERVER = "observer", _("列席")


class Invitation(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="meeting_invitations")
    role = models.CharField(_("身份"), max_length=10, choices=InvitationRole.choices, default=InvitationRole.ATTENDEE)
    response = models.CharField(
        _("回复"), max_length=10, choices=InvitationResponse.choices, default=InvitationResponse.PENDING
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    attendance = models.CharField(_("出席情况"), max_length=20, choices=Attendance.choices, blank=True, default="")
    responded_at = models.DateTimeField(null=True, blank=True)
    first_joined_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("会议邀请")
        verbose_name_plural = _("会议邀请")
        ordering = ["meeting", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="invitation_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}:{self.user_id}"


class Participant(models.Model):
    """One live socket in a meeting room. Deleted when the socket leaves; rows whose
    heartbeat stopped (a worker that died) are swept as stale by the next join."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    mic = models.BooleanField(default=True)
    camera = models.BooleanField(default=True)
    screen = models.BooleanField(default=False)
    hand_raised = models.BooleanField(default=False)
    joined_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("参会连接")
        verbose_name_plural = _("参会连接")
        ordering = ["joined_at", "pk"]
        constraints = [
            # A rejoin replaces the stale connection inside the join transaction, so one
            # user never holds two seats of the mesh.
            models.UniqueConstraint(fields=["meeting", "user"], name="participant_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}:{self.user_id}@{self.channel_name}"
