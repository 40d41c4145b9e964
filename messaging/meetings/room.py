"""The live room of a meeting: who holds a seat (the ``Participant`` table), media and
hands, the host's controls on a seat, and the rules a relayed signaling frame obeys.

Joins lock the meeting row, so two newcomers racing for the last seat of the mesh are
serialised and the capacity holds. High-rate frames (offer/answer/ICE relay) never touch
the database: ``relay_frame`` only checks them, and the consumer sends them to the
addressed peer's channel, which it learnt from the roster events
(``messaging.meetings.consumers``). Every write runs inside the entry point's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.meetings.payloads import (
    AddressedEvent,
    Candidate,
    HandEvent,
    LeaveReason,
    MediaEvent,
    PeerJoinedEvent,
    PeerLeftEvent,
    RelayFrame,
    RosterEntry,
)
from messaging.meetings.selectors import (
    STALE_AFTER,
    access_meeting,
    invitation_of,
    is_joinable_now,
    join_window,
    roster_entry,
)
from messaging.meetings.services import MEETING_FLOW, local_time, require_host
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
from officehub.directory.models import User
from officehub.errors import ApplicationError, InvalidInput
from officehub.realtime import meeting_group, publish_on_commit
from officehub.transactions import require_transaction
from officehub.workbench.services import todo_close

HEARTBEAT_WRITE_EVERY = timedelta(seconds=20)
MAX_SDP_CHARS = 48 * 1024
MAX_CANDIDATE_CHARS = 2 * 1024
CANDIDATE_KEYS = {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}


def _peer_left(participant: Participant, reason: LeaveReason) -> None:
    event: PeerLeftEvent = {
        "type": "meeting.peer_left",
        "peer_id": participant.pk,
        "user_id": participant.user_id,
        "reason": reason,
    }
    publish_on_commit(meeting_group(participant.meeting_id), dict(event))


def _tell_seat(
    participant: Participant, kind: Literal["meeting.muted", "meeting.removed", "meeting.replaced"], *, by: str = ""
) -> None:
    """After commit, tell one seat it was muted, removed or replaced (see AddressedEvent)."""
    event: AddressedEvent = {"type": kind, "peer_id": participant.pk, "by": by}
    publish_on_commit(meeting_group(participant.meeting_id), dict(event))


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


def participant_join(*, meeting_id: int, user: User, channel_name: str, now: datetime | None = None) -> JoinResult:
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
    require_transaction()
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
            _("会议不在开放时间内：可于 %(opens)s 至 %(closes)s 入会。")
            % {"opens": local_time(opens), "closes": local_time(closes)},
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
        _tell_seat(participant, "meeting.replaced")
    if stale or mine:
        Participant.objects.filter(pk__in=[p.pk for p in stale + mine]).delete()
    # No full_clean here: every value comes from rows just loaded under the lock or from
    # Channels itself, and its FK/unique probes would cost three queries on the hot join
    # path; the database constraints still hold the invariants.
    participant = Participant.objects.create(
        meeting=meeting, user=user, channel_name=channel_name, joined_at=now, last_seen=now, mic=True, camera=True
    )
    if meeting.status == MeetingStatus.SCHEDULED:
        MEETING_FLOW.move(meeting, "join")
        meeting.opened_at = now
        meeting.full_clean()
        meeting.save(update_fields=["status", "opened_at"])
        audit(actor=user, action="meeting.opened", target=meeting)
    if invitation is not None and invitation.first_joined_at is None:
        invitation.first_joined_at = now
        invitation.attendance = Attendance.OBSERVER if invitation.role == InvitationRole.OBSERVER else Attendance.ATTENDED
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


def participant_leave(*, channel_name: str) -> bool:
    """Free the socket's seat (its disconnect). False when it had none any more (it was
    replaced, removed, swept or the meeting ended) — then nobody is told twice."""
    require_transaction()
    participant = Participant.objects.filter(channel_name=channel_name).first()
    if participant is None:
        return False
    deleted, _rows = Participant.objects.filter(pk=participant.pk).delete()
    if deleted:
        _peer_left(participant, "left")
    return bool(deleted)


def participant_heartbeat(*, channel_name: str, now: datetime | None = None) -> bool:
    """Keep the seat alive; False when the seat is gone (the socket should close)."""
    require_transaction()
    now = now or timezone.now()
    seat = Participant.objects.filter(channel_name=channel_name)
    if seat.filter(last_seen__gte=now - HEARTBEAT_WRITE_EVERY).exists():
        return True
    return seat.update(last_seen=now) == 1


def _not_in_room() -> ApplicationError:
    return _refuse(_("您已不在会议中。"), "meeting.not_in_room", status=409)


def participant_set_media(*, channel_name: str, mic: Any, camera: Any, screen: Any) -> MediaEvent:
    """Record and broadcast the socket's microphone / camera / screen-share state."""
    require_transaction()
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


def participant_raise_hand(*, channel_name: str, raised: Any) -> HandEvent:
    require_transaction()
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
        Participant.objects.select_for_update(of=("self",)).select_related("user").filter(meeting=meeting, pk=peer_id).first()
    )
    if participant is None:
        raise _refuse(_("对方不在会议中。"), "meeting.peer_not_in_room", status=409, peer=peer_id)
    return participant


def participant_mute(*, meeting_id: int, actor: User, peer_id: Any) -> Participant:
    """Host turns someone's microphone off: the target socket gets ``muted`` (its page
    stops the track) and the room sees the new media state. Raises meeting.not_host,
    meeting.peer_not_in_room, meeting.invalid_transition."""
    require_transaction()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "control")
    participant = _target(meeting, peer_id)
    participant.mic = False
    participant.save(update_fields=["mic"])
    _tell_seat(participant, "meeting.muted", by=actor.display_name)
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


def participant_remove(*, meeting_id: int, actor: User, peer_id: Any, now: datetime | None = None) -> Participant:
    """Host removes someone: the seat goes, the socket gets ``removed`` and is closed, and
    the user may not come back to this meeting. Raises meeting.not_host,
    meeting.peer_not_in_room, meeting.cannot_remove_self, meeting.invalid_transition."""
    require_transaction()
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "control")
    participant = _target(meeting, peer_id)
    if participant.user_id == actor.pk:
        raise InvalidInput(_("主持人不能移出自己。"), code="meeting.cannot_remove_self")
    Invitation.objects.filter(meeting=meeting, user_id=participant.user_id).update(removed_at=now)
    Participant.objects.filter(pk=participant.pk).delete()
    _tell_seat(participant, "meeting.removed", by=actor.display_name)
    _peer_left(participant, "removed")
    audit(actor=actor, action="meeting.participant_removed", target=meeting, data={"user_id": participant.user_id})
    return participant


# ------------------------------------------------------------------------ relay rules


def bad_frame(message: str, **extra: Any) -> ApplicationError:
    return ApplicationError(message, code="meeting.bad_frame", extra=extra)


def peer_field(content: dict[str, Any], name: str) -> int:
    value = content.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise bad_frame(f"字段 {name} 必须是参会连接编号。", field=name)
    return value


def relay_frame(content: dict[str, Any], *, sender: int) -> tuple[int, RelayFrame]:
    """Check an offer/answer/ICE frame from seat ``sender`` and build what the addressed
    peer receives: ``(to, frame)``. The server relays, it does not interpret: an SDP is a
    bounded non-empty text, a candidate a small object of the browser's four keys (or
    null, the end of candidates). Raises meeting.bad_frame."""
    kind = content["type"]
    to = peer_field(content, "to")
    frame: RelayFrame = {"type": kind, "from": sender}
    if kind in ("offer", "answer"):
        sdp = content.get("sdp")
        if not isinstance(sdp, str) or not sdp or len(sdp) > MAX_SDP_CHARS:
            raise bad_frame("sdp 必须是非空文本。", field="sdp")
        frame["sdp"] = sdp
    else:
        candidate = content.get("candidate")
        if candidate is not None and (
            not isinstance(candidate, dict)
            or not set(candidate) <= CANDIDATE_KEYS
            or len(json.dumps(candidate)) > MAX_CANDIDATE_CHARS
        ):
            raise bad_frame("candidate 格式不正确。", field="candidate")
        frame["candidate"] = cast(Candidate | None, candidate)
    if to == sender:
        raise bad_frame("不能向自己发送信令。", field="to")
    return to, frame
