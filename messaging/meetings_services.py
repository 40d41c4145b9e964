"""Every meeting write: scheduling, invitations, the live room (join/leave, media, hand,
host controls), reminders and the 纪要 draft.

Pattern (STYLE §2): lock the meeting row, check the state against ``TRANSITIONS``, change,
``full_clean``, ``save(update_fields=...)``, ``audit``, then register pushes with
``on_commit`` — a rolled-back change never reaches a socket.

The roster is the ``Participant`` table. Joins lock the meeting row, so two newcomers
racing for the last seat of the mesh are serialised and the capacity holds. High-rate
frames (offer/answer/ICE relay) never touch the database: the consumer relays them with
the channel names it learnt from the roster events (see ``messaging.consumers.meeting``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from documents.services import document_create_draft
from messaging.meetings_selectors import (
    STALE_AFTER,
    AttendanceLists,
    RosterEntry,
    access_meeting,
    attendance_lists,
    invitation_of,
    is_joinable_now,
    join_window,
    linked_document,
    roster_entry,
)
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
from officehub.errors import (
    ApplicationError,
    InvalidInput,
    InvalidTransition,
    PermissionDeniedError,
)
from officehub.realtime import meeting_group, publish_on_commit
from officehub.workbench.models import TodoKind
from officehub.workbench.services import notify_user, todo_close, todo_open

logger = logging.getLogger(__name__)

TITLE_MAX = 100
AGENDA_MAX = 5000
NOTE_MAX = 200
MAX_DURATION = timedelta(hours=12)
# Scheduling "now" is fine; a start more than this far in the past is a typo.
PAST_START_TOLERANCE = timedelta(minutes=5)
MAX_INVITEES = 500
REMIND_BEFORE = timedelta(minutes=15)
HEARTBEAT_WRITE_EVERY = timedelta(seconds=20)

S = MeetingStatus
# The one table of allowed moves: action -> statuses it may start from.
TRANSITIONS: dict[str, frozenset[str]] = {
    "reschedule": frozenset({S.SCHEDULED}),
    "cancel": frozenset({S.SCHEDULED}),
    "open_early": frozenset({S.SCHEDULED}),
    "invite": frozenset({S.SCHEDULED, S.OPEN}),
    "respond": frozenset({S.SCHEDULED, S.OPEN}),
    "join": frozenset({S.SCHEDULED, S.OPEN}),
    "lock": frozenset({S.OPEN}),
    "end": frozenset({S.OPEN}),
    "control": frozenset({S.OPEN}),
    "attendance": frozenset({S.OPEN, S.ENDED}),
    "minutes": frozenset({S.OPEN, S.ENDED}),
}

_STATE_MESSAGES = {
    S.SCHEDULED: gettext_lazy("会议尚未开始，不能执行此操作。"),
    S.OPEN: gettext_lazy("会议正在进行中，不能执行此操作。"),
    S.ENDED: gettext_lazy("会议已结束，不能执行此操作。"),
    S.CANCELLED: gettext_lazy("会议已取消，不能执行此操作。"),
}


def _check_transition(meeting: Meeting, action: str) -> None:
    if meeting.status not in TRANSITIONS[action]:
        raise InvalidTransition(
            str(_STATE_MESSAGES[MeetingStatus(meeting.status)]),
            code="meeting.invalid_transition",
            extra={"status": meeting.status, "action": action},
        )


def _require_host(meeting: Meeting, actor: Any) -> None:
    if meeting.host_id != actor.pk:
        raise PermissionDeniedError(_("只有主持人可以执行此操作。"), code="meeting.not_host")


def _url(meeting: Meeting) -> str:
    return f"/messages/meetings/{meeting.pk}/"


def _local(value: datetime) -> str:
    local = timezone.localtime(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


# ------------------------------------------------------------------ channel-layer events


class PeerJoinedEvent(TypedDict):
    type: Literal["meeting.peer_joined"]
    peer: RosterEntry
    channel: str


class PeerLeftEvent(TypedDict):
    type: Literal["meeting.peer_left"]
    peer_id: int
    user_id: int
    reason: Literal["left", "replaced", "removed", "timeout"]


class MediaEvent(TypedDict):
    type: Literal["meeting.media"]
    peer_id: int
    mic: bool
    camera: bool
    screen: bool


class HandEvent(TypedDict):
    type: Literal["meeting.hand"]
    peer_id: int
    raised: bool


class LockedEvent(TypedDict):
    type: Literal["meeting.locked"]
    locked: bool


class EndedEvent(TypedDict):
    type: Literal["meeting.ended"]
    meeting_id: int


class DirectEvent(TypedDict):
    """To one socket: ``meeting.muted`` / ``meeting.removed`` / ``meeting.replaced``."""

    type: Literal["meeting.muted", "meeting.removed", "meeting.replaced"]
    by: str


def _send_now(channel_name: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.send)(channel_name, payload)
    except Exception:  # noqa: BLE001 - the state is committed; a lost push is a closed socket's
        logger.warning("channel layer send to %s failed", channel_name, exc_info=True)


def send_on_commit(channel_name: str, payload: DirectEvent) -> None:
    """Push to one socket (not a group) once the current transaction commits."""
    transaction.on_commit(lambda: _send_now(channel_name, dict(payload)))


def _peer_left(participant: Participant, reason: Literal["left", "replaced", "removed", "timeout"]) -> None:
    event: PeerLeftEvent = {
        "type": "meeting.peer_left",
        "peer_id": participant.pk,
        "user_id": participant.user_id,
        "reason": reason,
    }
    publish_on_commit(meeting_group(participant.meeting_id), dict(event))


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


def _invitation_todo(meeting: Meeting, user: Any, *, notify: str = "todo.new") -> None:
    todo_open(
        user=user,
        kind=TodoKind.MEETING,
        target=meeting,
        step="invitation",
        title=_("会议邀请：%(title)s（%(when)s）") % {"title": meeting.title, "when": _local(meeting.start_at)},
        url=_url(meeting),
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


@transaction.atomic
def meeting_schedule(
    *,
    actor: Any,
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


@transaction.atomic
def meeting_invite(
    *,
    meeting_id: int,
    actor: Any,
    user_ids: Sequence[int] = (),
    department_ids: Sequence[int] = (),
    observer_ids: Sequence[int] = (),
) -> list[Invitation]:
    """Host adds invitees to a scheduled or open meeting. Raises meeting.not_host,
    meeting.invalid_transition and the invitee codes of ``meeting_schedule``."""
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "invite")
    roles = _expand_invitees(user_ids=user_ids, department_ids=department_ids, observer_ids=observer_ids)
    if Invitation.objects.filter(meeting=meeting).count() + len(roles) > MAX_INVITEES:
        raise InvalidInput(
            _("一次最多邀请 %(max)d 人。") % {"max": MAX_INVITEES}, code="meeting.too_many_invitees", extra={"max": MAX_INVITEES}
        )
    created = _add_invitations(meeting, roles)
    if created:
        audit(actor=actor, action="meeting.invited", target=meeting, data={"user_ids": sorted(i.user_id for i in created)})
    return created


@transaction.atomic
def meeting_reschedule(
    *,
    meeting_id: int,
    actor: Any,
    start_at: Any,
    end_at: Any,
    title: Any = None,
    agenda: Any = None,
    now: datetime | None = None,
) -> Meeting:
    """Host moves a scheduled meeting. Every answer goes back to 待回复 and each invitee
    gets a refreshed 待办 pushed as ``meeting.rescheduled``; the reminder will fire again.
    Raises meeting.not_host, meeting.invalid_transition and the window codes."""
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "reschedule")
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


@transaction.atomic
def meeting_cancel(*, meeting_id: int, actor: Any, reason: Any = "") -> Meeting:
    """Host cancels a meeting that has not opened. Invitees' 待办 close and each gets a
    ``meeting.cancelled`` notification after commit. Raises meeting.not_host,
    meeting.invalid_transition, meeting.invalid."""
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "cancel")
    meeting.cancel_reason = _clean_text(reason, field="reason", label=_("取消原因"), max_len=NOTE_MAX, required=False)
    meeting.status = MeetingStatus.CANCELLED
    meeting.full_clean()
    meeting.save(update_fields=["status", "cancel_reason"])
    todo_close(target=meeting, outcome="cancelled")
    title = _("会议已取消：%(title)s（原定%(when)s）") % {"title": meeting.title, "when": _local(meeting.start_at)}
    for user_id in Invitation.objects.filter(meeting=meeting).values_list("user_id", flat=True):
        notify_user(user_id=user_id, event="meeting.cancelled", title=title, url=_url(meeting), meeting_id=meeting.pk)
    audit(actor=actor, action="meeting.cancelled", target=meeting, data={"reason": meeting.cancel_reason})
    return meeting


@transaction.atomic
def invitation_respond(*, meeting_id: int, actor: Any, response: Any, note: Any = "") -> Invitation:
    """An invitee accepts or declines (请假, with an optional reason). Closes their 待办 and
    tells the host. Raises meeting.not_invited (the host has no invitation),
    meeting.invalid_response, meeting.invalid_transition."""
    meeting = access_meeting(actor, meeting_id, lock=True)
    _check_transition(meeting, "respond")
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
        url=_url(meeting),
        meeting_id=meeting.pk,
    )
    audit(actor=actor, action=f"meeting.invitation_{response}", target=meeting, data={"note": invitation.note})
    return invitation


@transaction.atomic
def meeting_open_early(*, meeting_id: int, actor: Any, now: datetime | None = None) -> Meeting:
    """Host opens the room before its window; invitees are told ``meeting.opened``.
    Raises meeting.not_host, meeting.invalid_transition, meeting.window_over."""
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "open_early")
    if now >= meeting.end_at:
        raise InvalidTransition(_("会议时间已过，不能再开放。"), code="meeting.window_over")
    meeting.status, meeting.opened_early, meeting.opened_at = MeetingStatus.OPEN, True, now
    meeting.full_clean()
    meeting.save(update_fields=["status", "opened_early", "opened_at"])
    title = _("会议已开放入会：%(title)s") % {"title": meeting.title}
    for user_id in Invitation.objects.filter(meeting=meeting).exclude(
        response=InvitationResponse.DECLINED
    ).values_list("user_id", flat=True):
        notify_user(user_id=user_id, event="meeting.opened", title=title, url=_url(meeting), meeting_id=meeting.pk)
    audit(actor=actor, action="meeting.opened_early", target=meeting)
    return meeting


@transaction.atomic
def meeting_end(*, meeting_id: int, actor: Any, now: datetime | None = None) -> Meeting:
    """Host ends the meeting for everyone: the roster empties and every socket gets an
    ``ended`` frame and is closed. Raises meeting.not_host, meeting.invalid_transition."""
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "end")
    meeting.status, meeting.ended_at = MeetingStatus.ENDED, now
    meeting.full_clean()
    meeting.save(update_fields=["status", "ended_at"])
    Participant.objects.filter(meeting=meeting).delete()
    todo_close(target=meeting, outcome="ended")
    event: EndedEvent = {"type": "meeting.ended", "meeting_id": meeting.pk}
    publish_on_commit(meeting_group(meeting.pk), dict(event))
    audit(actor=actor, action="meeting.ended", target=meeting)
    return meeting


@transaction.atomic
def meeting_lock(*, meeting_id: int, actor: Any, locked: bool) -> Meeting:
    """Host locks (no newcomers; those in the room may still rejoin) or unlocks.
    Raises meeting.not_host, meeting.invalid_transition."""
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "lock")
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


@transaction.atomic
def invitation_set_attendance(*, meeting_id: int, actor: Any, user_id: int, attendance: Any) -> Invitation:
    """Host corrects the attendance the minutes will list (出席/请假/列席/未出席).
    Raises meeting.not_host, meeting.invalid_transition, meeting.invalid, meeting.not_invited."""
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "attendance")
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


# ----------------------------------------------------------------------- the live room


def _refuse(message: str, code: str, *, status: int = 403, **extra: Any) -> ApplicationError:
    return ApplicationError(message, code=code, status=status, extra=extra)


@dataclass
class JoinResult:
    meeting: Meeting
    participant: Participant
    is_host: bool
    me: RosterEntry
    roster: list[RosterEntry]  # the others in the room
    channels: dict[int, str]  # peer id -> channel name of the others


@transaction.atomic
def participant_join(*, meeting_id: int, user: Any, channel_name: str, now: datetime | None = None) -> JoinResult:
    """Seat a socket in the meeting room. An invitee's first join records attendance
    (出席, or 列席 for observers) and answers a pending invitation as accepted.

    Only the host and invitees (404 ``meeting.not_found`` for anyone else, as for a
    missing meeting); only while joinable (``meeting.cancelled``, ``meeting.ended``,
    ``meeting.not_open`` outside start−10 min..end unless opened early); newcomers not
    while locked (``meeting.locked``; the host and users already in the room may rejoin);
    not a removed user (``meeting.removed``); at most ``MEETING_CAPACITY`` people
    (``meeting.full``). A rejoin replaces the user's stale socket, which is told
    ``replaced`` and closed. The first join inside the window opens the meeting.
    """
    now = now or timezone.now()
    # The row lock serialises joins of this meeting: the capacity check and the insert
    # below cannot interleave with another newcomer's.
    meeting = access_meeting(user, meeting_id, lock=True)
    is_host = meeting.host_id == user.pk
    invitation = None if is_host else invitation_of(meeting, user)
    if meeting.status == MeetingStatus.CANCELLED:
        raise _refuse(_("会议已取消。"), "meeting.cancelled", status=409)
    if meeting.status == MeetingStatus.ENDED:
        raise _refuse(_("会议已结束。"), "meeting.ended", status=409)
    if not is_joinable_now(meeting, now=now):
        opens, closes = join_window(meeting)
        raise _refuse(
            _("会议不在开放时间内：可于 %(opens)s 至 %(closes)s 入会。") % {"opens": _local(opens), "closes": _local(closes)},
            "meeting.not_open",
            status=409,
            opens_at=opens.isoformat(),
            closes_at=closes.isoformat(),
        )
    if invitation is not None and invitation.removed_at is not None:
        raise _refuse(_("您已被主持人移出本次会议。"), "meeting.removed")
    room = list(Participant.objects.filter(meeting=meeting).select_related("user"))
    stale = [p for p in room if p.user_id != user.pk and p.last_seen < now - STALE_AFTER]
    mine = [p for p in room if p.user_id == user.pk]
    others = [p for p in room if p.user_id != user.pk and p not in stale]
    if meeting.locked and not is_host and not mine:
        raise _refuse(_("会议已被主持人锁定，暂不允许新成员加入。"), "meeting.locked")
    capacity = settings.MEETING_CAPACITY
    if len(others) >= capacity:
        raise _refuse(
            _("会议人数已满（最多 %(capacity)d 人同时在线），请稍后再试。") % {"capacity": capacity},
            "meeting.full",
            status=409,
            capacity=capacity,
        )
    for participant in stale:
        _peer_left(participant, "timeout")
    for participant in mine:
        _peer_left(participant, "replaced")
        send_on_commit(participant.channel_name, {"type": "meeting.replaced", "by": ""})
    if stale or mine:
        Participant.objects.filter(pk__in=[p.pk for p in stale + mine]).delete()
    # No full_clean here: every value comes from rows just loaded under the lock or from
    # Channels itself, and its FK/unique probes would cost three queries on the hot join
    # path; the database constraints still hold the invariants.
    participant = Participant.objects.create(
        meeting=meeting, user=user, channel_name=channel_name, joined_at=now, last_seen=now, mic=True, camera=True
    )
    if meeting.status == MeetingStatus.SCHEDULED:
        meeting.status, meeting.opened_at = MeetingStatus.OPEN, now
        meeting.full_clean()
        meeting.save(update_fields=["status", "opened_at"])
        audit(actor=user, action="meeting.opened", target=meeting)
    if invitation is not None and invitation.first_joined_at is None:
        invitation.first_joined_at = now
        invitation.attendance = (
            Attendance.OBSERVER if invitation.role == InvitationRole.OBSERVER else Attendance.ATTENDED
        )
        fields = ["first_joined_at", "attendance"]
        if invitation.response == InvitationResponse.PENDING:
            # Coming is the answer; a 请假 answer stays as given, with its reason.
            invitation.response, invitation.responded_at = InvitationResponse.ACCEPTED, now
            fields += ["response", "responded_at"]
        invitation.save(update_fields=fields)
        todo_close(target=meeting, users=[user], step="invitation", outcome="attended")
    participant.user = user
    me = roster_entry(participant, host_id=meeting.host_id)
    event: PeerJoinedEvent = {"type": "meeting.peer_joined", "peer": me, "channel": channel_name}
    publish_on_commit(meeting_group(meeting.pk), dict(event))
    return JoinResult(
        meeting=meeting,
        participant=participant,
        is_host=is_host,
        me=me,
        roster=[roster_entry(p, host_id=meeting.host_id) for p in others],
        channels={p.pk: p.channel_name for p in others},
    )


@transaction.atomic
def participant_leave(*, channel_name: str) -> bool:
    """Free the socket's seat (its disconnect). False when it had none any more (it was
    replaced, removed, swept or the meeting ended) — then nobody is told twice."""
    participant = Participant.objects.filter(channel_name=channel_name).first()
    if participant is None:
        return False
    deleted, _rows = Participant.objects.filter(pk=participant.pk).delete()
    if deleted:
        _peer_left(participant, "left")
    return bool(deleted)


def participant_heartbeat(*, channel_name: str, now: datetime | None = None) -> bool:
    """Keep the seat alive; False when the seat is gone (the socket should close)."""
    now = now or timezone.now()
    seat = Participant.objects.filter(channel_name=channel_name)
    if seat.filter(last_seen__gte=now - HEARTBEAT_WRITE_EVERY).exists():
        return True
    return seat.update(last_seen=now) == 1


def _not_in_room() -> ApplicationError:
    return _refuse(_("您已不在会议中。"), "meeting.not_in_room", status=409)


@transaction.atomic
def participant_set_media(*, channel_name: str, mic: Any, camera: Any, screen: Any) -> MediaEvent:
    """Record and broadcast the socket's microphone / camera / screen-share state."""
    for name, value in (("mic", mic), ("camera", camera), ("screen", screen)):
        if not isinstance(value, bool):
            raise InvalidInput(_("%(name)s 必须是布尔值。") % {"name": name}, code="meeting.bad_frame", extra={"field": name})
    participant = Participant.objects.select_for_update().filter(channel_name=channel_name).first()
    if participant is None:
        raise _not_in_room()
    participant.mic, participant.camera, participant.screen = mic, camera, screen
    participant.save(update_fields=["mic", "camera", "screen"])
    event: MediaEvent = {"type": "meeting.media", "peer_id": participant.pk, "mic": mic, "camera": camera, "screen": screen}
    publish_on_commit(meeting_group(participant.meeting_id), dict(event))
    return event


@transaction.atomic
def participant_raise_hand(*, channel_name: str, raised: Any) -> HandEvent:
    if not isinstance(raised, bool):
        raise InvalidInput(_("raised 必须是布尔值。"), code="meeting.bad_frame", extra={"field": "raised"})
    updated = Participant.objects.filter(channel_name=channel_name).update(hand_raised=raised)
    if not updated:
        raise _not_in_room()
    participant = Participant.objects.get(channel_name=channel_name)
    event: HandEvent = {"type": "meeting.hand", "peer_id": participant.pk, "raised": raised}
    publish_on_commit(meeting_group(participant.meeting_id), dict(event))
    return event


def _target(meeting: Meeting, peer_id: Any) -> Participant:
    if not isinstance(peer_id, int) or isinstance(peer_id, bool):
        raise InvalidInput(_("peer 必须是参会连接编号。"), code="meeting.bad_frame", extra={"field": "peer"})
    participant = (
        Participant.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(meeting=meeting, pk=peer_id)
        .first()
    )
    if participant is None:
        raise _refuse(_("对方不在会议中。"), "meeting.peer_not_in_room", status=409, peer=peer_id)
    return participant


@transaction.atomic
def participant_mute(*, meeting_id: int, actor: Any, peer_id: Any) -> Participant:
    """Host turns someone's microphone off: the target socket gets ``muted`` (its page
    stops the track) and the room sees the new media state. Raises meeting.not_host,
    meeting.peer_not_in_room, meeting.invalid_transition."""
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "control")
    participant = _target(meeting, peer_id)
    participant.mic = False
    participant.save(update_fields=["mic"])
    send_on_commit(participant.channel_name, {"type": "meeting.muted", "by": actor.display_name})
    event: MediaEvent = {
        "type": "meeting.media",
        "peer_id": participant.pk,
        "mic": False,
        "camera": participant.camera,
        "screen": participant.screen,
    }
    publish_on_commit(meeting_group(meeting.pk), dict(event))
    audit(actor=actor, action="meeting.participant_muted", target=meeting, data={"user_id": participant.user_id})
    return participant


@transaction.atomic
def participant_remove(*, meeting_id: int, actor: Any, peer_id: Any, now: datetime | None = None) -> Participant:
    """Host removes someone: the seat goes, the socket gets ``removed`` and is closed, and
    the user may not come back to this meeting. Raises meeting.not_host,
    meeting.peer_not_in_room, meeting.cannot_remove_self, meeting.invalid_transition."""
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "control")
    participant = _target(meeting, peer_id)
    if participant.user_id == actor.pk:
        raise InvalidInput(_("主持人不能移出自己。"), code="meeting.cannot_remove_self")
    Invitation.objects.filter(meeting=meeting, user_id=participant.user_id).update(removed_at=now)
    Participant.objects.filter(pk=participant.pk).delete()
    send_on_commit(participant.channel_name, {"type": "meeting.removed", "by": actor.display_name})
    _peer_left(participant, "removed")
    audit(actor=actor, action="meeting.participant_removed", target=meeting, data={"user_id": participant.user_id})
    return participant


# -------------------------------------------------------------------------- reminders


def meeting_remind_upcoming(*, now: datetime | None = None, batch: int = 200) -> int:
    """Worker job: remind host and invitees (not those who declined) of meetings that
    start within ``REMIND_BEFORE``, once per meeting (``reminded_at``; a reschedule
    clears it). Rows are claimed with SKIP LOCKED, so two workers never remind twice.
    Returns the number of meetings reminded."""
    now = now or timezone.now()
    reminded = 0
    with transaction.atomic():
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
            title = _("会议提醒：%(title)s 将于 %(when)s 开始") % {"title": meeting.title, "when": _local(meeting.start_at)}
            recipients = [meeting.host_id, *Invitation.objects.filter(meeting=meeting).exclude(
                response=InvitationResponse.DECLINED
            ).values_list("user_id", flat=True)]
            for user_id in recipients:
                notify_user(
                    user_id=user_id,
                    event="meeting.reminder",
                    title=title,
                    url=_url(meeting),
                    meeting_id=meeting.pk,
                    start_at=meeting.start_at.isoformat(),
                )
            meeting.reminded_at = now
            meeting.save(update_fields=["reminded_at"])
            reminded += 1
    return reminded


# ---------------------------------------------------------------------------- minutes


@dataclass(frozen=True)
class MinutesDraft:
    title: str
    body: str


def minutes_prefill(
    *, title: str, start_at: datetime, end_at: datetime, host_name: str, agenda: str, attendance: AttendanceLists
) -> MinutesDraft:
    """The 纪要 draft text: title, time, host and the 出席 / 请假 / 列席 lists
    (the order 《党政机关公文格式》 GB/T 9704 §10.3 gives for minutes)."""
    start, end = timezone.localtime(start_at), timezone.localtime(end_at)
    when = f"{start.year}年{start.month}月{start.day}日 {start:%H:%M}—{end:%H:%M}"
    if end.date() != start.date():
        when = f"{_local(start_at)}—{_local(end_at)}"
    lines = [f"时间：{when}", f"主持：{host_name}"]
    labels = (("attended", "出席"), ("absent_with_leave", "请假"), ("observer", "列席"))
    for key, label in labels:
        names = attendance[key]  # type: ignore[literal-required]
        if names:
            lines.append(f"{label}：{'、'.join(names)}")
    if agenda.strip():
        lines += ["", "会议议程：", agenda.strip()]
    lines += ["", "会议议定事项如下：", "一、"]
    return MinutesDraft(title=f"{title}纪要", body="\n".join(lines))


def _create_minutes_document(*, actor: Any, draft: MinutesDraft) -> int:
    """Adapter to the documents app: the 纪要 enters the document flow as a draft."""
    document = document_create_draft(actor=actor, doc_type="minutes", title=draft.title, body=draft.body)
    return int(document.pk)


@transaction.atomic
def meeting_start_minutes(*, meeting_id: int, actor: Any, now: datetime | None = None) -> int:
    """Host starts the 纪要 draft after the meeting (ended, or open past its end time);
    it enters the document flow as the host's draft. Idempotent: a second call returns
    the same document. Raises meeting.not_host, meeting.invalid_transition,
    meeting.not_over and the documents app's draft codes."""
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    _require_host(meeting, actor)
    _check_transition(meeting, "minutes")
    if meeting.minutes_document_id:
        return int(meeting.minutes_document_id)
    if meeting.status == MeetingStatus.OPEN and now < meeting.end_at:
        raise InvalidTransition(_("会议尚未结束，结束后才能起草纪要。"), code="meeting.not_over")
    draft = minutes_prefill(
        title=meeting.title,
        start_at=meeting.start_at,
        end_at=meeting.end_at,
        host_name=meeting.host.display_name,
        agenda=meeting.agenda,
        attendance=attendance_lists(meeting),
    )
    document_id = _create_minutes_document(actor=actor, draft=draft)
    meeting.minutes_document_id = document_id
    meeting.save(update_fields=["minutes_document_id"])
    audit(actor=actor, action="meeting.minutes_started", target=meeting, data={"document_id": document_id})
    return document_id
