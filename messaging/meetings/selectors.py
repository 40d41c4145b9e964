"""Every read of meetings: access checks, my upcoming meetings, the live roster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from documents import selectors as document_selectors
from messaging.meetings.payloads import RosterEntry
from messaging.models.meetings import (
    Attendance,
    Invitation,
    InvitationResponse,
    InvitationRole,
    Meeting,
    MeetingStatus,
    Participant,
)
from officehub.directory.models import User
from officehub.errors import NotFound

# Invitees may enter ten minutes before the start (the host can open earlier).
JOIN_LEAD = timedelta(minutes=10)
# A participant whose socket has not sent a heartbeat for this long belongs to a worker
# that died without running its disconnect handler: the next join sweeps it.
STALE_AFTER = timedelta(seconds=90)
LIVE_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.OPEN)


def meeting_not_found() -> NotFound:
    return NotFound(code="meeting.not_found")


def _member_q(user: User) -> Q:
    return Q(host_id=user.pk) | Q(Exists(Invitation.objects.filter(meeting=OuterRef("pk"), user_id=user.pk)))


def visible_meetings(user: User) -> QuerySet[Meeting]:
    """Meetings the user hosts or is invited to."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Meeting.objects.none()
    return Meeting.objects.filter(_member_q(user))


def access_meeting(user: User, meeting_id: int, *, lock: bool = False) -> Meeting:
    """The meeting, if the user is its host or an invitee, optionally row-locked.

    Raises ``meeting.not_found`` (404) alike for a missing meeting and a foreign one.
    """
    meetings = visible_meetings(user).select_related("host")
    if lock:
        meetings = meetings.select_for_update(of=("self",))
    meeting = meetings.filter(pk=meeting_id).first()
    if meeting is None:
        raise meeting_not_found()
    return meeting


def invitation_of(meeting: Meeting, user: User) -> Invitation | None:
    return Invitation.objects.filter(meeting=meeting, user_id=user.pk).first()


def join_window(meeting: Meeting) -> tuple[datetime, datetime]:
    return meeting.start_at - JOIN_LEAD, meeting.end_at


def is_joinable_now(meeting: Meeting, *, now: datetime | None = None) -> bool:
    """Open for joining: not ended or cancelled, and inside its window (start − 10 min
    .. end) or opened early by the host (then from the opening until the end)."""
    now = now or timezone.now()
    if meeting.status not in LIVE_STATUSES:
        return False
    opens, closes = join_window(meeting)
    if now > closes:
        return False
    return now >= opens or (meeting.status == MeetingStatus.OPEN and meeting.opened_early)


def upcoming_meetings(user: User, *, now: datetime | None = None) -> QuerySet[Meeting]:
    """My meetings that have not finished: scheduled or open, end in the future."""
    now = now or timezone.now()
    mine = Invitation.objects.filter(user_id=user.pk)
    return (
        visible_meetings(user)
        .filter(status__in=LIVE_STATUSES, end_at__gt=now)
        .select_related("host")
        .prefetch_related(Prefetch("invitations", queryset=mine, to_attr="my_invitations"))
        .order_by("start_at", "pk")
    )


def recent_meetings(user: User, *, now: datetime | None = None, limit: int = 20) -> QuerySet[Meeting]:
    """My finished meetings (ended, cancelled, or past their end), newest first."""
    now = now or timezone.now()
    return (
        visible_meetings(user)
        .filter(Q(status__in=[MeetingStatus.ENDED, MeetingStatus.CANCELLED]) | Q(end_at__lte=now))
        .select_related("host")
        .order_by("-start_at", "-pk")[:limit]
    )


def pending_invitations(user: User, *, now: datetime | None = None) -> QuerySet[Invitation]:
    now = now or timezone.now()
    return (
        Invitation.objects.filter(
            user_id=user.pk,
            response=InvitationResponse.PENDING,
            meeting__status__in=LIVE_STATUSES,
            meeting__end_at__gt=now,
        )
        .select_related("meeting", "meeting__host")
        .order_by("meeting__start_at", "pk")
    )


def meeting_invitations(meeting: Meeting) -> QuerySet[Invitation]:
    return meeting.invitations.select_related("user", "user__department").order_by(
        "user__department__path", "user__username"
    )


def roster_entry(participant: Participant, *, host_id: int) -> RosterEntry:
    user = participant.user
    return {
        "peer_id": participant.pk,
        "user_id": participant.user_id,
        "name": user.display_name,
        "department": user.department.name if user.department is not None else "",
        "is_host": participant.user_id == host_id,
        "mic": participant.mic,
        "camera": participant.camera,
        "screen": participant.screen,
        "hand_raised": participant.hand_raised,
    }


def live_participants(meeting_id: int) -> QuerySet[Participant]:
    return Participant.objects.filter(meeting_id=meeting_id).select_related("user", "user__department")


def meeting_roster(meeting: Meeting) -> list[RosterEntry]:
    return [roster_entry(p, host_id=meeting.host_id) for p in live_participants(meeting.pk)]


def peer_channel(*, meeting_id: int, peer_id: int) -> str | None:
    """The channel of a peer in this meeting's room, or None when it is not there."""
    return (
        Participant.objects.filter(meeting_id=meeting_id, pk=peer_id).values_list("channel_name", flat=True).first()
    )


@dataclass(frozen=True)
class LinkedDocument:
    id: int
    title: str
    url: str


def linked_document(user: User, document_id: int | None) -> LinkedDocument | None:
    """The linked 公文 if the user may see it (documents.selectors decides), else None."""
    if not document_id:
        return None
    try:
        document = document_selectors.access_document(user, document_id)
    except NotFound:
        return None
    if not document_selectors.can_view_document(user, document):
        return None
    return LinkedDocument(id=document.pk, title=document.title, url=f"/documents/{document.pk}/")


class AttendanceLists(TypedDict):
    attended: list[str]
    absent_with_leave: list[str]
    observer: list[str]
    absent: list[str]


def attendance_lists(meeting: Meeting) -> AttendanceLists:
    """Names for the minutes: the host always attended; invitees by recorded attendance."""
    lists: AttendanceLists = {"attended": [meeting.host.display_name], "absent_with_leave": [], "observer": [], "absent": []}
    for invitation in meeting_invitations(meeting):
        name = invitation.user.display_name
        if invitation.attendance == Attendance.ATTENDED:
            lists["attended"].append(name)
        elif invitation.attendance == Attendance.OBSERVER:
            lists["observer"].append(name)
        elif invitation.attendance == Attendance.ABSENT_WITH_LEAVE or invitation.response == InvitationResponse.DECLINED:
            lists["absent_with_leave"].append(name)
        elif invitation.role == InvitationRole.OBSERVER and invitation.first_joined_at is not None:
            lists["observer"].append(name)
        else:
            lists["absent"].append(name)
    return lists
