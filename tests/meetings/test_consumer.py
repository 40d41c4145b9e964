"""The signaling socket /ws/meetings/<id>/ on the real Redis channel layer.

Personas: host chenjie (head of 秘书处) schedules; drafter wangfang, reviewer zhaomin and
staff heli are invited; qianlei (大数据局, another organisation) is never invited.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from messaging.meetings import services
from messaging.models import Attendance, Invitation, Meeting, MeetingStatus, Participant
from officehub.transactions import in_transaction

pytestmark = pytest.mark.django_db(transaction=True)

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}


@pytest.fixture
def room(personas: Any, schedule: Any) -> Any:
    return schedule(invitees=(personas.drafter, personas.reviewer, personas.staff))


async def joined(ws: Any, user: Any, meeting_id: int) -> tuple[Any, dict[str, Any]]:
    socket = await ws(user, meeting_id)
    welcome = await socket.recv()
    assert welcome["type"] == "welcome", welcome
    return socket, welcome


async def refused(ws: Any, user: Any, meeting_id: int) -> tuple[dict[str, Any], int]:
    socket = await ws(user, meeting_id)
    frame = await socket.recv()
    assert frame["type"] == "error", frame
    return frame, await socket.closed_with()


@database_sync_to_async
def participants(meeting_id: int) -> list[tuple[int, str]]:
    return list(Participant.objects.filter(meeting_id=meeting_id).order_by("pk").values_list("user__username", "channel_name"))


@database_sync_to_async
def meeting_state(meeting_id: int) -> Meeting:
    return Meeting.objects.get(pk=meeting_id)


# ------------------------------------------------------------------------ joining, roster


async def test_host_and_invitee_join_and_see_each_other_by_name(ws: Any, personas: Any, room: Any) -> None:
    host, welcome = await joined(ws, personas.head, room.pk)
    assert welcome["is_host"] is True
    assert welcome["roster"] == []
    assert welcome["ice_servers"] == settings.ICE_SERVERS
    assert welcome["capacity"] == 6
    assert welcome["meeting"]["title"] == "周工作例会"
    assert welcome["me"]["name"] == "陈杰"

    _guest, guest_welcome = await joined(ws, personas.drafter, room.pk)
    assert guest_welcome["is_host"] is False
    assert [(p["peer_id"], p["name"], p["is_host"]) for p in guest_welcome["roster"]] == [
        (welcome["peer_id"], "陈杰", True)
    ]
    joined_frame = await host.recv_type("peer_joined")
    assert joined_frame["peer"]["peer_id"] == guest_welcome["peer_id"]
    assert joined_frame["peer"]["name"] == "王芳"
    assert joined_frame["peer"]["department"] == "秘书处"
    assert "channel" not in joined_frame["peer"]

    state = await meeting_state(room.pk)
    assert state.status == MeetingStatus.OPEN
    invitation = await database_sync_to_async(Invitation.objects.get)(meeting=room, user=personas.drafter)
    assert invitation.attendance == Attendance.ATTENDED


async def test_leaving_is_announced_and_frees_the_seat(ws: Any, personas: Any, room: Any) -> None:
    host, _ = await joined(ws, personas.head, room.pk)
    guest, guest_welcome = await joined(ws, personas.drafter, room.pk)
    await host.recv_type("peer_joined")
    await guest.send({"type": "leave"})
    assert await guest.closed_with() == 1000
    await guest.close()
    left = await host.recv_type("peer_left")
    assert left == {"type": "peer_left", "peer_id": guest_welcome["peer_id"], "user_id": personas.drafter.pk, "reason": "left"}
    assert [name for name, _ in await participants(room.pk)] == ["chenjie"]


async def test_anonymous_and_uninvited_users_are_refused(ws: Any, personas: Any, room: Any) -> None:
    anonymous, anonymous_code = await refused(ws, None, room.pk)
    assert (anonymous["code"], anonymous_code) == ("auth.not_authenticated", 4401)
    # Not invited answers exactly like a meeting that does not exist.
    foreign, foreign_code = await refused(ws, personas.outsider, room.pk)
    missing, missing_code = await refused(ws, personas.drafter, room.pk + 10_000)
    assert foreign["code"] == missing["code"] == "meeting.not_found"
    assert foreign["message"] == missing["message"]
    assert foreign_code == missing_code == 4404
    assert await participants(room.pk) == []


async def test_joining_only_inside_the_window_or_once_opened_early_and_never_when_cancelled(
    ws: Any, personas: Any, schedule: Any
) -> None:
    later = await database_sync_to_async(schedule)(invitees=(personas.drafter,), start_in=timedelta(hours=2))
    frame, code = await refused(ws, personas.drafter, later.pk)
    assert frame["code"] == "meeting.not_open"
    assert code == 4403
    host_frame, _ = await refused(ws, personas.head, later.pk)
    assert host_frame["code"] == "meeting.not_open"

    await database_sync_to_async(in_transaction(services.meeting_open_early))(meeting_id=later.pk, actor=personas.head)
    _, welcome = await joined(ws, personas.drafter, later.pk)
    assert welcome["meeting"]["id"] == later.pk

    # The window opens ten minutes before the start.
    soon = await database_sync_to_async(schedule)(invitees=(personas.drafter,), start_in=timedelta(minutes=9))
    await joined(ws, personas.drafter, soon.pk)
    not_yet = await database_sync_to_async(schedule)(invitees=(personas.drafter,), start_in=timedelta(minutes=11))
    frame, _ = await refused(ws, personas.drafter, not_yet.pk)
    assert frame["code"] == "meeting.not_open"

    # A cancelled meeting never opens.
    await database_sync_to_async(in_transaction(services.meeting_cancel))(meeting_id=not_yet.pk, actor=personas.head)
    frame, _ = await refused(ws, personas.head, not_yet.pk)
    assert frame["code"] == "meeting.cancelled"


async def test_over_capacity_is_refused_clearly(ws: Any, personas: Any, room: Any, settings: Any) -> None:
    settings.MEETING_CAPACITY = 2
    await joined(ws, personas.head, room.pk)
    second, _ = await joined(ws, personas.drafter, room.pk)
    frame, code = await refused(ws, personas.reviewer, room.pk)
    assert frame["code"] == "meeting.full"
    assert "最多 2 人" in frame["message"]
    assert frame["extra"]["capacity"] == 2
    assert code == 4403
    # A seat that frees up can be taken.
    await second.send({"type": "leave"})
    await second.closed_with()
    await second.close()
    await joined(ws, personas.reviewer, room.pk)


async def test_two_newcomers_racing_for_the_last_seat_get_one_seat(
    ws: Any, personas: Any, room: Any, settings: Any
) -> None:
    settings.MEETING_CAPACITY = 2
    await joined(ws, personas.head, room.pk)
    first, second = await asyncio.gather(ws(personas.drafter, room.pk), ws(personas.reviewer, room.pk))
    frames = sorted([(await first.recv())["type"], (await second.recv())["type"]])
    assert frames == ["error", "welcome"]
    assert len(await participants(room.pk)) == 2


async def test_rejoin_replaces_the_stale_connection(ws: Any, personas: Any, room: Any) -> None:
    host, _ = await joined(ws, personas.head, room.pk)
    old, old_welcome = await joined(ws, personas.drafter, room.pk)
    await host.recv_type("peer_joined")
    _new, new_welcome = await joined(ws, personas.drafter, room.pk)
    assert await old.recv() == {"type": "replaced"}
    assert await old.closed_with() == 4000
    left = await host.recv_type("peer_left")
    assert (left["peer_id"], left["reason"]) == (old_welcome["peer_id"], "replaced")
    rejoined = await host.recv_type("peer_joined")
    assert rejoined["peer"]["peer_id"] == new_welcome["peer_id"] != old_welcome["peer_id"]
    rows = await participants(room.pk)
    assert [name for name, _ in rows] == ["chenjie", "wangfang"]
    # The old socket's late disconnect must not take the new seat with it.
    await old.close()
    assert [name for name, _ in await participants(room.pk)] == ["chenjie", "wangfang"]
    assert await host.silent()


# --------------------------------------------------------------------------- signaling


async def test_offer_answer_and_ice_reach_only_the_addressed_peer(ws: Any, personas: Any, room: Any) -> None:
    a, a_welcome = await joined(ws, personas.head, room.pk)
    b, b_welcome = await joined(ws, personas.drafter, room.pk)
    c, c_welcome = await joined(ws, personas.reviewer, room.pk)
    await a.recv_type("peer_joined")
    await a.recv_type("peer_joined")
    await b.recv_type("peer_joined")
    a_id, b_id = a_welcome["peer_id"], b_welcome["peer_id"]

    await c.send({"type": "offer", "to": a_id, "sdp": SDP})
    assert await a.recv() == {"type": "offer", "from": c_welcome["peer_id"], "sdp": SDP}
    await b.send({"type": "offer", "to": a_id, "sdp": SDP})
    assert await a.recv() == {"type": "offer", "from": b_id, "sdp": SDP}
    await a.send({"type": "answer", "to": b_id, "sdp": SDP + "a=answer\r\n"})
    assert await b.recv() == {"type": "answer", "from": a_id, "sdp": SDP + "a=answer\r\n"}
    await b.send({"type": "ice", "to": a_id, "candidate": CANDIDATE})
    assert await a.recv() == {"type": "ice", "from": b_id, "candidate": CANDIDATE}
    await b.send({"type": "ice", "to": a_id, "candidate": None})  # end of candidates
    assert await a.recv() == {"type": "ice", "from": b_id, "candidate": None}
    assert await c.silent()
    assert await b.silent(0.05)


async def test_frame_to_someone_not_in_the_room_is_refused(ws: Any, personas: Any, room: Any, schedule: Any) -> None:
    other = await database_sync_to_async(schedule)(host=personas.head2, invitees=(personas.staff,))
    stranger, stranger_welcome = await joined(ws, personas.staff, other.pk)
    a, _ = await joined(ws, personas.head, room.pk)
    gone, gone_welcome = await joined(ws, personas.drafter, room.pk)
    await a.recv_type("peer_joined")
    await gone.send({"type": "leave"})
    await gone.closed_with()
    await gone.close()
    await a.recv_type("peer_left")

    for to in (gone_welcome["peer_id"], stranger_welcome["peer_id"], 987_654):
        await a.send({"type": "offer", "to": to, "sdp": SDP})
        error = await a.recv()
        assert error["type"] == "error"
        assert error["code"] == "meeting.peer_not_in_room"
        assert error["extra"]["to"] == to
    assert await stranger.silent()


async def test_malformed_frames_get_coded_errors_and_ping_gets_pong(ws: Any, personas: Any, room: Any) -> None:
    a, a_welcome = await joined(ws, personas.head, room.pk)
    b, b_welcome = await joined(ws, personas.drafter, room.pk)
    await a.recv_type("peer_joined")
    cases = [
        {"type": "dance"},
        {"type": "offer", "to": b_welcome["peer_id"]},
        {"type": "offer", "to": "b", "sdp": SDP},
        {"type": "offer", "to": a_welcome["peer_id"], "sdp": SDP},
        {"type": "ice", "to": b_welcome["peer_id"], "candidate": {"evil": 1}},
        {"type": "media", "mic": "off", "camera": True},
        {"type": "hand", "raised": 1},
    ]
    for frame in cases:
        await a.send(frame)
        error = await a.recv()
        assert (error["type"], error["code"]) == ("error", "meeting.bad_frame"), frame
    await a.communicator.send_to(text_data="{not json")
    assert (await a.recv())["code"] == "meeting.bad_frame"
    await a.send({"type": "ping"})  # the heartbeat keeps the seat
    assert await a.recv() == {"type": "pong"}
    assert await b.silent()


# ------------------------------------------------------------------ media state, hand


async def test_media_state_and_raised_hands_are_broadcast(ws: Any, personas: Any, room: Any) -> None:
    a, _ = await joined(ws, personas.head, room.pk)
    b, b_welcome = await joined(ws, personas.drafter, room.pk)
    await a.recv_type("peer_joined")
    await b.send({"type": "media", "mic": False, "camera": True, "screen": True})
    expected = {"type": "media", "peer_id": b_welcome["peer_id"], "mic": False, "camera": True, "screen": True}
    assert await a.recv() == expected
    assert await b.recv() == expected
    _, c_welcome = await joined(ws, personas.reviewer, room.pk)
    seen = {p["name"]: (p["mic"], p["camera"], p["screen"]) for p in c_welcome["roster"]}
    assert seen == {"陈杰": (True, True, False), "王芳": (False, True, True)}
    await a.recv_type("peer_joined")
    await b.recv_type("peer_joined")

    await b.send({"type": "hand", "raised": True})
    assert await a.recv() == {"type": "hand", "peer_id": b_welcome["peer_id"], "raised": True}
    assert (await b.recv())["raised"] is True
    await b.send({"type": "hand", "raised": False})
    assert (await a.recv())["raised"] is False


# ----------------------------------------------------------------------- host controls


async def test_host_mutes_one_participant(ws: Any, personas: Any, room: Any) -> None:
    a, _ = await joined(ws, personas.head, room.pk)
    b, b_welcome = await joined(ws, personas.drafter, room.pk)
    c, _ = await joined(ws, personas.reviewer, room.pk)
    await a.recv_type("peer_joined")
    await a.recv_type("peer_joined")
    await b.recv_type("peer_joined")
    await a.send({"type": "mute", "peer": b_welcome["peer_id"]})
    assert await b.recv() == {"type": "muted", "by": "陈杰"}
    media = {"type": "media", "peer_id": b_welcome["peer_id"], "mic": False, "camera": True, "screen": False}
    assert await b.recv() == media
    assert await a.recv() == media
    assert await c.recv() == media
    assert await c.silent()


async def test_participants_cannot_use_host_controls(ws: Any, personas: Any, room: Any) -> None:
    a, a_welcome = await joined(ws, personas.head, room.pk)
    b, _ = await joined(ws, personas.drafter, room.pk)
    await a.recv_type("peer_joined")
    for frame in (
        {"type": "mute", "peer": a_welcome["peer_id"]},
        {"type": "remove", "peer": a_welcome["peer_id"]},
        {"type": "lock", "locked": True},
        {"type": "end"},
    ):
        await b.send(frame)
        error = await b.recv()
        assert (error["type"], error["code"]) == ("error", "meeting.not_host"), frame
    assert await a.silent()
    state = await meeting_state(room.pk)
    assert (state.status, state.locked) == (MeetingStatus.OPEN, False)
    assert [name for name, _ in await participants(room.pk)] == ["chenjie", "wangfang"]


async def test_host_removes_someone_who_cannot_come_back(ws: Any, personas: Any, room: Any) -> None:
    a, _ = await joined(ws, personas.head, room.pk)
    b, b_welcome = await joined(ws, personas.drafter, room.pk)
    await a.recv_type("peer_joined")
    await a.send({"type": "remove", "peer": b_welcome["peer_id"]})
    assert await b.recv() == {"type": "removed", "by": "陈杰"}
    assert await b.closed_with() == 4000
    left = await a.recv_type("peer_left")
    assert (left["peer_id"], left["reason"]) == (b_welcome["peer_id"], "removed")
    frame, _ = await refused(ws, personas.drafter, room.pk)
    assert frame["code"] == "meeting.removed"


async def test_lock_refuses_newcomers_but_lets_people_in_the_room_rejoin(ws: Any, personas: Any, room: Any) -> None:
    a, _ = await joined(ws, personas.head, room.pk)
    b, _ = await joined(ws, personas.drafter, room.pk)
    await a.send({"type": "lock", "locked": True})
    assert await b.recv_type("locked") == {"type": "locked", "locked": True}
    frame, _ = await refused(ws, personas.reviewer, room.pk)
    assert frame["code"] == "meeting.locked"
    await joined(ws, personas.drafter, room.pk)  # a rejoin of someone inside
    assert await b.recv() == {"type": "replaced"}
    await a.send({"type": "lock", "locked": False})
    await a.recv_type("locked")
    await joined(ws, personas.reviewer, room.pk)


async def test_host_ends_the_meeting_for_everyone(ws: Any, personas: Any, room: Any) -> None:
    a, _ = await joined(ws, personas.head, room.pk)
    b, _ = await joined(ws, personas.drafter, room.pk)
    await a.recv_type("peer_joined")
    await a.send({"type": "end"})
    assert await a.recv() == {"type": "ended", "meeting_id": room.pk}
    assert await b.recv() == {"type": "ended", "meeting_id": room.pk}
    assert await a.closed_with() == 4000
    assert await b.closed_with() == 4000
    state = await meeting_state(room.pk)
    assert state.status == MeetingStatus.ENDED
    assert await participants(room.pk) == []
    frame, _ = await refused(ws, personas.drafter, room.pk)
    assert frame["code"] == "meeting.ended"


async def test_a_flood_of_frames_is_cut_off_with_one_rate_limit_error(
    ws: Any, personas: Any, room: Any, monkeypatch: Any
) -> None:
    from messaging.meetings import consumers as consumer_module

    monkeypatch.setattr(consumer_module, "MAX_FRAMES_PER_SECOND", 5)
    a, _ = await joined(ws, personas.head, room.pk)
    for _ in range(8):
        await a.send({"type": "dance"})
    codes = [(await a.recv())["code"] for _ in range(6)]
    assert codes == ["meeting.bad_frame"] * 5 + ["meeting.rate_limited"]
    assert await a.silent()


# ------------------------------------------------------------ the socket ends with its session


def _browser(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


browser_of = database_sync_to_async(_browser)


async def _ended(socket: Any) -> int:
    """The end of a session: one error frame saying so, then close 4401."""
    frame = await socket.recv_type("error")
    assert frame["code"] == "auth.session_ended", frame
    return await socket.closed_with()


async def test_logout_frees_the_seat_and_closes_the_meeting_socket(ws: Any, personas: Any, room: Any) -> None:
    host, _ = await joined(ws, personas.head, room.pk)
    browser = await browser_of(personas.drafter)
    guest = await ws(personas.drafter, room.pk, client=browser)
    guest_welcome = await guest.recv()
    await host.recv_type("peer_joined")
    response = await database_sync_to_async(browser.post)("/logout/")
    assert response.status_code == 302
    assert await _ended(guest) == 4401
    left = await host.recv_type("peer_left")
    assert left["peer_id"] == guest_welcome["peer_id"]
    assert [name for name, _ in await participants(room.pk)] == ["chenjie"]


async def test_password_change_and_deactivation_close_meeting_sockets(ws: Any, personas: Any, room: Any) -> None:
    from tests.admin_forms import admin_user_change, admin_user_set_password

    admin = await browser_of(personas.admin)
    drafter, _ = await joined(ws, personas.drafter, room.pk)
    response = await database_sync_to_async(admin_user_set_password)(admin, personas.drafter, "Xin-Mima#2026-wf")
    assert response.status_code == 302
    assert await _ended(drafter) == 4401
    reviewer, _ = await joined(ws, personas.reviewer, room.pk)
    response = await database_sync_to_async(admin_user_change)(admin, personas.reviewer, is_active=False)
    assert response.status_code == 302
    assert await _ended(reviewer) == 4401
    assert await participants(room.pk) == []


async def test_a_meeting_frame_after_a_lost_push_ends_the_socket(ws: Any, personas: Any, room: Any) -> None:
    from django.contrib.sessions.models import Session

    browser = await browser_of(personas.drafter)
    socket = await ws(personas.drafter, room.pk, client=browser)
    assert (await socket.recv())["type"] == "welcome"
    await database_sync_to_async(Session.objects.filter(session_key=browser.session.session_key).delete)()  # no push
    await asyncio.sleep(1.1)  # relay-heavy sockets re-check at most once a second
    await socket.send({"type": "ping"})
    assert await _ended(socket) == 4401


async def test_a_silent_meeting_socket_is_closed_by_the_periodic_check(
    ws: Any, personas: Any, room: Any, settings: Any
) -> None:
    from officehub.directory.models import User

    settings.SOCKET_REVALIDATE_SECONDS = 0.5
    socket, _ = await joined(ws, personas.drafter, room.pk)
    await database_sync_to_async(User.objects.filter(pk=personas.drafter.pk).update)(is_active=False)  # no push
    assert await _ended(socket) == 4401
    assert await participants(room.pk) == []
