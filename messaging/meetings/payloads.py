"""Typed payloads of the meeting socket ``/ws/meetings/<id>/``: the channel-layer events
the services publish to the room (``meeting.*``) and every frame the consumer
(``messaging.meetings.consumers``) sends."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from messaging.sockets import ErrorFrame, ResyncFrame

LeaveReason = Literal["left", "replaced", "removed", "timeout"]


class RosterEntry(TypedDict):
    peer_id: int
    user_id: int
    name: str
    department: str
    is_host: bool
    mic: bool
    camera: bool
    screen: bool
    hand_raised: bool


# ------------------------------------------------------------------ channel-layer events


class PeerJoinedEvent(TypedDict):
    type: Literal["meeting.peer_joined"]
    peer: RosterEntry
    channel: str


class PeerLeftEvent(TypedDict):
    type: Literal["meeting.peer_left"]
    peer_id: int
    user_id: int
    reason: LeaveReason


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


class AddressedEvent(TypedDict):
    """To the room, for one seat only (``peer_id``): ``meeting.muted`` /
    ``meeting.removed`` / ``meeting.replaced``. Every socket of the room receives it and
    only the addressed one acts, so the host's controls travel the same road as every
    other push (``publish_on_commit`` to the meeting group)."""

    type: Literal["meeting.muted", "meeting.removed", "meeting.replaced"]
    peer_id: int
    by: str


class Candidate(TypedDict, total=False):
    candidate: str
    sdpMid: str | None
    sdpMLineIndex: int | None
    usernameFragment: str | None


# ``from`` is a keyword, hence the functional form.
RelayFrame = TypedDict(
    "RelayFrame",
    {
        "type": Literal["offer", "answer", "ice"],
        "from": int,
        "sdp": NotRequired[str],
        "candidate": NotRequired["Candidate | None"],
    },
)


class RelayEvent(TypedDict):
    """Offer/answer/ICE, sent to the addressed peer's channel only (never the room)."""

    type: Literal["meeting.relay"]
    frame: RelayFrame


# -------------------------------------------------------------- frames to the client


class MeetingInfo(TypedDict):
    id: int
    title: str
    host_id: int
    host_name: str
    start_at: str
    end_at: str
    locked: bool


class WelcomeFrame(TypedDict):
    type: Literal["welcome"]
    peer_id: int
    me: RosterEntry
    is_host: bool
    meeting: MeetingInfo
    roster: list[RosterEntry]
    ice_servers: list[Any]
    capacity: int


class PeerJoinedFrame(TypedDict):
    type: Literal["peer_joined"]
    peer: RosterEntry


class PeerLeftFrame(TypedDict):
    type: Literal["peer_left"]
    peer_id: int
    user_id: int
    reason: LeaveReason


class MediaFrame(TypedDict):
    type: Literal["media"]
    peer_id: int
    mic: bool
    camera: bool
    screen: bool


class HandFrame(TypedDict):
    type: Literal["hand"]
    peer_id: int
    raised: bool


class ControlFrame(TypedDict):
    """The host muted or removed this seat."""

    type: Literal["muted", "removed"]
    by: str


class ReplacedFrame(TypedDict):
    type: Literal["replaced"]


class LockedFrame(TypedDict):
    type: Literal["locked"]
    locked: bool


class EndedFrame(TypedDict):
    type: Literal["ended"]
    meeting_id: int


class PongFrame(TypedDict):
    type: Literal["pong"]


MeetingFrame = (
    WelcomeFrame
    | PeerJoinedFrame
    | PeerLeftFrame
    | RelayFrame
    | MediaFrame
    | HandFrame
    | ControlFrame
    | ReplacedFrame
    | LockedFrame
    | EndedFrame
    | PongFrame
    | ResyncFrame
    | ErrorFrame
)
"""Every frame the meeting socket sends."""

# The frames after which the seat is gone and the socket closes.
GoneFrame = ControlFrame | ReplacedFrame | EndedFrame | ErrorFrame
