"""Meeting writes outside the live room: scheduling, invitations and answers, the
host's lifecycle controls (open early, lock, end, cancel), attendance and reminders.
The room itself (seats, media, host controls on a seat, relay rules) is ``room``; the
纪要 is ``minutes``.

Pattern (STYLE §2), inside the entry point's transaction (``require_transaction()``):
lock the meeting row, ask ``MEETING_FLOW``, change, ``full_clean``,
``save(update_fields=...)``, ``audit``, then register pushes with ``on_commit`` — a
rolled-back change never reaches a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.meetings.payloads import EndedEvent, LockedEvent
from messaging.meetings.selectors import access_meeting, invitation_of, linked_document
from messaging.models.meetings import (
    Attendance,
    Invitation,
    InvitationResponse,
    InvitationRole,
    Meeting,
    MeetingStatus,
    Participant,
)
from officehub.audit.services import audit
from officehub.directory.models import Department, User
from officehub.errors import InvalidInput, InvalidTransition, PermissionDeniedError
from officehub.realtime import meeting_group, publish_on_commit
from officehub.transactions import require_transaction
from officehub.transitions import Transitions
from officehub.workbench.models import TodoKind
from officehub.workbench.services import notify_user, todo_close, todo_open

TITLE_MAX = 100
AGENDA_MAX = 5000
NOTE_MAX = 200
MAX_DURATION = timedelta(hours=12)
# Scheduling "now" is fine; a start more than this far in the past is a typo.
PAST_START_TOLERANCE = timedelta(minutes=5)
MAX_INVITEES = 500
REMIND_BEFORE = timedelta(minutes=15)

S = MeetingStatus
_STATE_WORDS = {
    S.SCHEDULED: gettext_lazy("尚未开始"),
    S.OPEN: gettext_lazy("正在进行中"),
    S.ENDED: gettext_lazy("已结束"),
    S.CANCELLED: gettext_lazy("已取消"),
}
# The one table of allowed moves, {action: {from: to}}. Actions that change nothing but
# are allowed only in some states map a state to itself.
MEETING_FLOW = Transitions(
    "meeting",
    {
        "reschedule": {S.SCHEDULED: S.SCHEDULED},
        "cancel": {S.SCHEDULED: S.CANCELLED},
        "open_early": {S.SCHEDULED: S.OPEN},
        "invite": {S.SCHEDULED: S.SCHEDULED, S.OPEN: S.OPEN},
        "respond": {S.SCHEDULED: S.SCHEDULED, S.OPEN: S.OPEN},
        "join": {S.SCHEDULED: S.OPEN, S.OPEN: S.OPEN},  # the first join opens the room
        "lock": {S.OPEN: S.OPEN},
        "end": {S.OPEN: S.ENDED},
        "control": {S.OPEN: S.OPEN},
        "attendance": {S.OPEN: S.OPEN, S.ENDED: S.ENDED},
        "minutes": {S.OPEN: S.OPEN, S.ENDED: S.ENDED},
    },
    describe=lambda status: str(_STATE_WORDS[MeetingStatus(status)]),
    message=gettext_lazy("会议%(status)s，不能执行此操作。"),
)


def require_host(meeting: Meeting, actor: User) -> None:
    if meeting.host_id != actor.pk:
        raise PermissionDeniedError(_("只有主持人可以执行此操作。"), code="meeting.not_host")


def meeting_url(meeting: Meeting) -> str:
    return f"/messages/meetings/{meeting.pk}/"


def local_time(value: datetime) -> str:
    local = timezone.localtime(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


# ---------------------------------------------------------------------- input cleaning


def _clean_text(value: Any, *, field: str, label: str, max_len: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("%(label)s必须是文本。") % {"label": label}, code="meeting.invalid", extra={"field": field})
    value = value.strip()
    if required and not value:
        raise InvalidInput(_("请填写%(label)s。") % {"label": label}, code="meeting.invalid", extra={"field": field})
    if len(value) > max_len:
        raise InvalidInput(
            _("%(label)s过长：最多 %(max)d 个字符。") % {"label": label, "max": max_len},
            code="meeting.invalid",
            extra={"field": field, "max_chars": max_len},
        )
    return value


def _clean_window(start_at: Any, end_at: Any, *, now: datetime) -> tuple[datetime, datetime]:
    for name, value in (("start_at", start_at), ("end_at", end_at)):
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise InvalidInput(_("会议时间格式不正确。"), code="meeting.invalid", extra={"field": name})
    if end_at <= start_at:
        raise InvalidInput(_("结束时间必须晚于开始时间。"), code="meeting.invalid_window", extra={"field": "end_at"})
    if end_at - start_at > MAX_DURATION:
        raise InvalidInput(
            _("会议时长不能超过 %(hours)d 小时。") % {"hours": MAX_DURATION.seconds // 3600 + MAX_DURATION.days * 24},
            code="meeting.invalid_window",
            extra={"field": "end_at"},
        )
    if start_at < now - PAST_START_TOLERANCE:
        raise InvalidInput(_("开始时间不能早于当前时间。"), code="meeting.start_in_past", extra={"field": "start_at"})
    return start_at, end_at


def _ids(values: Iterable[Any] | None, *, field: str) -> list[int]:
    if values is None:
        return []
    result = []
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise InvalidInput(_("%(field)s 必须是编号列表。") % {"field": field}, code="meeting.invalid", extra={"field": field})
        result.append(value)
    return sorted(set(result))


def _expand_invitees(
    *, user_ids: Sequence[int], department_ids: Sequence[int], observer_ids: Sequence[int]
) -> dict[int, str]:
    """user id -> role, from named users, whole department subtrees and observers (列席)."""
    user_ids = _ids(user_ids, field="user_ids")
    department_ids = _ids(department_ids, field="department_ids")
    observer_ids = _ids(observer_ids, field="observer_ids")
    named = set(user_ids) | set(observer_ids)
    found = set(User.objects.filter(pk__in=named, is_active=True).values_list("pk", flat=True))
    missing = sorted(named - found)
    if missing:
        raise InvalidInput(_("邀请的用户不存在或已停用。"), code="meeting.unknown_user", extra={"user_ids": missing})
    departments = list(Department.objects.filter(pk__in=department_ids))
    if len(departments) != len(department_ids):
        missing = sorted(set(department_ids) - {d.pk for d in departments})
        raise InvalidInput(_("邀请的部门不存在。"), code="meeting.unknown_department", extra={"department_ids": missing})
    roles: dict[int, str] = {}
    for department in departments:
        members = User.objects.filter(is_active=True, department__path__startswith=department.path)
        for pk in members.values_list("pk", flat=True):
            roles[pk] = InvitationRole.ATTENDEE
    for pk in user_ids:
        roles[pk] = InvitationRole.ATTENDEE
    for pk in observer_ids:
        roles[pk] = InvitationRole.OBSERVER
    if len(roles) > MAX_INVITEES:
        raise InvalidInput(
            _("一次最多邀请 %(max)d 人。") % {"max": MAX_INVITEES}, code="meeting.too_many_invitees", extra={"max": MAX_INVITEES}
        )
    return roles


def _invitation_todo(meeting: Meeting, user: User, *, notify: str = "todo.new") -> None:
    todo_open(
        user=user,
        kind=TodoKind.MEETING,
        target=meeting,
        step="invitation",
        title=_("会议邀请：%(title)s（%(when)s）") % {"title": meeting.title, "when": local_time(meeting.start_at)},
        url=meeting_url(meeting),
        due_at=meeting.start_at,
        notify=notify,
    )


def _add_invitations(meeting: Meeting, roles: dict[int, str]) -> list[Invitation]:
    roles = {pk: role for pk, role in roles.items() if pk != meeting.host_id}
    existing = set(Invitation.objects.filter(meeting=meeting, user_id__in=list(roles)).values_list("user_id", flat=True))
    created = Invitation.objects.bulk_create(
        [Invitation(meeting=meeting, user_id=pk, role=role) for pk, role in sorted(roles.items()) if pk not in existing]
    )
    users = User.objects.in_bulk([inv.user_id for inv in created])
    for invitation in created:
        _invitation_todo(meeting, users[invitation.user_id])
    return created


# -------------------------------------------------------------------------- scheduling


def meeting_schedule(
    *,
    actor: User,
    title: Any,
    start_at: Any,
    end_at: Any,
    agenda: Any = "",
    user_ids: Sequence[int] = (),
    department_ids: Sequence[int] = (),
    observer_ids: Sequence[int] = (),
    document_id: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    """Schedule a meeting hosted by the actor and invite users, whole department subtrees
    and observers (列席). Any signed-in user may host.

    Side effects: an Invitation and a 会议 待办 (pushed after commit) per invitee; audit
    ``meeting.scheduled``. Raises meeting.invalid, meeting.invalid_window,
    meeting.start_in_past, meeting.unknown_user, meeting.unknown_department,
    meeting.too_many_invitees, meeting.document_not_found.
    """
    require_transaction()
    now = now or timezone.now()
    title = _clean_text(title, field="title", label=_("会议主题"), max_len=TITLE_MAX, required=True)
    agenda = _clean_text(agenda, field="agenda", label=_("议程"), max_len=AGENDA_MAX, required=False)
    start_at, end_at = _clean_window(start_at, end_at, now=now)
    if document_id is not None and linked_document(actor, document_id) is None:
        raise InvalidInput(_("关联的公文不存在或您无权查看。"), code="meeting.document_not_found", extra={"field": "document_id"})
    roles = _expand_invitees(user_ids=user_ids, department_ids=department_ids, observer_ids=observer_ids)
    meeting = Meeting(title=title, agenda=agenda, start_at=start_at, end_at=end_at, host=actor, document_id=document_id)
    meeting.full_clean()
    meeting.save()
    invitations = _add_invitations(meeting, roles)
    audit(
        actor=actor,
        action="meeting.scheduled",
        target=meeting,
        data={"title": title, "start_at": start_at, "end_at": end_at, "invitees": sorted(i.user_id for i in invitations)},
    )
    return meeting


def meeting_invite(
    *,
    meeting_id: int,
    actor: User,
    user_ids: Sequence[int] = (),
    department_ids: Sequence[int] = (),
    observer_ids: Sequence[int] = (),
) -> list[Invitation]:
    """Host adds invitees to a scheduled or open meeting. Raises meeting.not_host,
    meeting.invalid_transition and the invitee codes of ``meeting_schedule``."""
    require_transaction()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "invite")
    roles = _expand_invitees(user_ids=user_ids, department_ids=department_ids, observer_ids=observer_ids)
    if Invitation.objects.filter(meeting=meeting).count() + len(roles) > MAX_INVITEES:
        raise InvalidInput(
            _("一次最多邀请 %(max)d 人。") % {"max": MAX_INVITEES}, code="meeting.too_many_invitees", extra={"max": MAX_INVITEES}
        )
    created = _add_invitations(meeting, roles)
    if created:
        audit(actor=actor, action="meeting.invited", target=meeting, data={"user_ids": sorted(i.user_id for i in created)})
    return created


def meeting_reschedule(
    *,
    meeting_id: int,
    actor: User,
    start_at: Any,
    end_at: Any,
    title: Any = None,
    agenda: Any = None,
    now: datetime | None = None,
) -> Meeting:
    """Host moves a scheduled meeting. Every answer goes back to 待回复 and each invitee
    gets a refreshed 待办 pushed as ``meeting.rescheduled``; the reminder will fire again.
    Raises meeting.not_host, meeting.invalid_transition and the window codes."""
    require_transaction()
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "reschedule")
    start_at, end_at = _clean_window(start_at, end_at, now=now)
    old = {"start_at": meeting.start_at, "end_at": meeting.end_at}
    fields = ["start_at", "end_at", "reminded_at"]
    meeting.start_at, meeting.end_at, meeting.reminded_at = start_at, end_at, None
    if title is not None:
        meeting.title = _clean_text(title, field="title", label=_("会议主题"), max_len=TITLE_MAX, required=True)
        fields.append("title")
    if agenda is not None:
        meeting.agenda = _clean_text(agenda, field="agenda", label=_("议程"), max_len=AGENDA_MAX, required=False)
        fields.append("agenda")
    meeting.full_clean()
    meeting.save(update_fields=fields)
    invitations = list(Invitation.objects.filter(meeting=meeting).select_related("user"))
    Invitation.objects.filter(meeting=meeting).update(
        response=InvitationResponse.PENDING, responded_at=None, attendance=Attendance.UNKNOWN
    )
    for invitation in invitations:
        _invitation_todo(meeting, invitation.user, notify="meeting.rescheduled")
    audit(actor=actor, action="meeting.rescheduled", target=meeting, data={"from": old, "start_at": start_at, "end_at": end_at})
    return meeting


def meeting_cancel(*, meeting_id: int, actor: User, reason: Any = "") -> Meeting:
    """Host cancels a meeting that has not opened. Invitees' 待办 close and each gets a
    ``meeting.cancelled`` notification after commit. Raises meeting.not_host,
    meeting.invalid_transition, meeting.invalid."""
    require_transaction()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.move(meeting, "cancel")
    meeting.cancel_reason = _clean_text(reason, field="reason", label=_("取消原因"), max_len=NOTE_MAX, required=False)
    meeting.full_clean()
    meeting.save(update_fields=["status", "cancel_reason"])
    todo_close(target=meeting, outcome="cancelled")
    title = _("会议已取消：%(title)s（原定%(when)s）") % {"title": meeting.title, "when": local_time(meeting.start_at)}
    for user_id in Invitation.objects.filter(meeting=meeting).values_list("user_id", flat=True):
        notify_user(user_id=user_id, event="meeting.cancelled", title=title, url=meeting_url(meeting), meeting_id=meeting.pk)
    audit(actor=actor, action="meeting.cancelled", target=meeting, data={"reason": meeting.cancel_reason})
    return meeting


def invitation_respond(*, meeting_id: int, actor: User, response: Any, note: Any = "") -> Invitation:
    """An invitee accepts or declines (请假, with an optional reason). Closes their 待办 and
    tells the host. Raises meeting.not_invited (the host has no invitation),
    meeting.invalid_response, meeting.invalid_transition."""
    require_transaction()
    meeting = access_meeting(actor, meeting_id, lock=True)
    MEETING_FLOW.check(meeting, "respond")
    if response not in (InvitationResponse.ACCEPTED, InvitationResponse.DECLINED):
        raise InvalidInput(_("回复只能是接受或请假。"), code="meeting.invalid_response", extra={"field": "response"})
    invitation = invitation_of(meeting, actor)
    if invitation is None:
        raise InvalidInput(_("您是主持人，无需回复邀请。"), code="meeting.not_invited")
    invitation.response = response
    invitation.note = _clean_text(note, field="note", label=_("说明"), max_len=NOTE_MAX, required=False)
    invitation.responded_at = timezone.now()
    if response == InvitationResponse.DECLINED and invitation.first_joined_at is None:
        invitation.attendance = Attendance.ABSENT_WITH_LEAVE
    elif invitation.attendance == Attendance.ABSENT_WITH_LEAVE:
        invitation.attendance = Attendance.UNKNOWN
    invitation.full_clean()
    invitation.save(update_fields=["response", "note", "responded_at", "attendance"])
    todo_close(target=meeting, users=[actor], step="invitation", outcome=response)
    verb = _("接受了") if response == InvitationResponse.ACCEPTED else _("请假，未能参加")
    notify_user(
        user_id=meeting.host_id,
        event="meeting.response",
        title=_("%(name)s %(verb)s会议：%(title)s") % {"name": actor.display_name, "verb": verb, "title": meeting.title},
        url=meeting_url(meeting),
        meeting_id=meeting.pk,
    )
    audit(actor=actor, action=f"meeting.invitation_{response}", target=meeting, data={"note": invitation.note})
    return invitation


def meeting_open_early(*, meeting_id: int, actor: User, now: datetime | None = None) -> Meeting:
    """Host opens the room before its window; invitees are told ``meeting.opened``.
    Raises meeting.not_host, meeting.invalid_transition, meeting.window_over."""
    require_transaction()
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "open_early")
    if now >= meeting.end_at:
        raise InvalidTransition(_("会议时间已过，不能再开放。"), code="meeting.window_over")
    MEETING_FLOW.move(meeting, "open_early")
    meeting.opened_early, meeting.opened_at = True, now
    meeting.full_clean()
    meeting.save(update_fields=["status", "opened_early", "opened_at"])
    title = _("会议已开放入会：%(title)s") % {"title": meeting.title}
    for user_id in Invitation.objects.filter(meeting=meeting).exclude(
        response=InvitationResponse.DECLINED
    ).values_list("user_id", flat=True):
        notify_user(user_id=user_id, event="meeting.opened", title=title, url=meeting_url(meeting), meeting_id=meeting.pk)
    audit(actor=actor, action="meeting.opened_early", target=meeting)
    return meeting


def meeting_end(*, meeting_id: int, actor: User, now: datetime | None = None) -> Meeting:
    """Host ends the meeting for everyone: the roster empties and every socket gets an
    ``ended`` frame and is closed. Raises meeting.not_host, meeting.invalid_transition."""
    require_transaction()
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.move(meeting, "end")
    meeting.ended_at = now
    meeting.full_clean()
    meeting.save(update_fields=["status", "ended_at"])
    Participant.objects.filter(meeting=meeting).delete()
    todo_close(target=meeting, outcome="ended")
    event: EndedEvent = {"type": "meeting.ended", "meeting_id": meeting.pk}
    publish_on_commit(meeting_group(meeting.pk), dict(event))
    audit(actor=actor, action="meeting.ended", target=meeting)
    return meeting


def meeting_lock(*, meeting_id: int, actor: User, locked: bool) -> Meeting:
    """Host locks (no newcomers; those in the room may still rejoin) or unlocks.
    Raises meeting.not_host, meeting.invalid_transition."""
    require_transaction()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "lock")
    if not isinstance(locked, bool):
        raise InvalidInput(_("locked 必须是布尔值。"), code="meeting.invalid", extra={"field": "locked"})
    if meeting.locked != locked:
        meeting.locked = locked
        meeting.full_clean()
        meeting.save(update_fields=["locked"])
        audit(actor=actor, action="meeting.locked" if locked else "meeting.unlocked", target=meeting)
    event: LockedEvent = {"type": "meeting.locked", "locked": locked}
    publish_on_commit(meeting_group(meeting.pk), dict(event))
    return meeting


def invitation_set_attendance(*, meeting_id: int, actor: User, user_id: int, attendance: Any) -> Invitation:
    """Host corrects the attendance the minutes will list (出席/请假/列席/未出席).
    Raises meeting.not_host, meeting.invalid_transition, meeting.invalid, meeting.not_invited."""
    require_transaction()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "attendance")
    if attendance not in Attendance.values:
        raise InvalidInput(_("出席情况不正确。"), code="meeting.invalid", extra={"field": "attendance"})
    invitation = Invitation.objects.select_for_update(of=("self",)).filter(meeting=meeting, user_id=user_id).first()
    if invitation is None:
        raise InvalidInput(_("该用户未被邀请参加本次会议。"), code="meeting.not_invited", extra={"user_id": user_id})
    invitation.attendance = attendance
    invitation.full_clean()
    invitation.save(update_fields=["attendance"])
    audit(actor=actor, action="meeting.attendance_set", target=meeting, data={"user_id": user_id, "attendance": attendance})
    return invitation


# -------------------------------------------------------------------------- reminders


def meeting_remind_upcoming(*, now: datetime | None = None, batch: int = 200) -> int:
    """Remind host and invitees (not those who declined) of meetings that
    start within ``REMIND_BEFORE``, once per meeting (``reminded_at``; a reschedule
    clears it). Rows are claimed with SKIP LOCKED, so two workers never remind twice.
    Returns the number of meetings reminded. The worker runs it through
    ``messaging.meetings.jobs``."""
    require_transaction()
    now = now or timezone.now()
    reminded = 0
    meetings = list(
        Meeting.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(
            status__in=[MeetingStatus.SCHEDULED, MeetingStatus.OPEN],
            reminded_at__isnull=True,
            start_at__lte=now + REMIND_BEFORE,
            end_at__gt=now,
        )
        .order_by("start_at", "pk")[:batch]
    )
    for meeting in meetings:
        title = _("会议提醒：%(title)s 将于 %(when)s 开始") % {"title": meeting.title, "when": local_time(meeting.start_at)}
        recipients = [meeting.host_id, *Invitation.objects.filter(meeting=meeting).exclude(
            response=InvitationResponse.DECLINED
        ).values_list("user_id", flat=True)]
        for user_id in recipients:
            notify_user(
                user_id=user_id,
                event="meeting.reminder",
                title=title,
                url=meeting_url(meeting),
                meeting_id=meeting.pk,
                start_at=meeting.start_at.isoformat(),
            )
        meeting.reminded_at = now
        meeting.save(update_fields=["reminded_at"])
        reminded += 1
    return reminded


