"""End to end: three demo users open the meeting page in three headless Chromiums (fake
camera and microphone), reach a connected WebRTC mesh through the live Daphne with
remote video playing; the host mutes one and ends the meeting for all; an uninvited user
is refused."""

from __future__ import annotations

from typing import Any

import pytest

from messaging.models import Meeting, MeetingStatus
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MESH_READY = """(n) => {
  const m = window.OfficeHubMeeting;
  if (!m) return false;
  const states = m.connectionStates();
  const videos = m.remoteVideos();
  return states.length === n && states.every((s) => s === "connected")
    && videos.length === n && videos.every((v) => v.readyState >= 2 && v.width > 0);
}"""


def open_room(browser: Any, base_url: str, username: str, meeting_id: int) -> Any:
    page = browser_login(browser, base_url, username)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base_url}/messages/meetings/{meeting_id}/")
    return page


def wait_for_mesh(page: Any, remote_peers: int) -> None:
    page.wait_for_function(MESH_READY, arg=remote_peers, timeout=30_000)


def test_three_browsers_meet_then_host_mutes_one_and_ends_for_all(
    live_daphne: str, chromium: Any, personas: Any, schedule: Any
) -> None:
    meeting = schedule(invitees=(personas.drafter, personas.reviewer), title="视频会议联调")
    pages: list[Any] = []
    try:
        host = open_room(chromium, live_daphne, "chenjie", meeting.pk)
        pages.append(host)
        drafter = open_room(chromium, live_daphne, "wangfang", meeting.pk)
        pages.append(drafter)
        wait_for_mesh(host, 1)
        wait_for_mesh(drafter, 1)

        reviewer = open_room(chromium, live_daphne, "zhaomin", meeting.pk)
        pages.append(reviewer)
        for page in pages:
            wait_for_mesh(page, 2)
        for page in pages:
            names = page.locator("#roster li").all_inner_texts()
            assert len(names) == 3
            assert any("陈杰" in n and "主持人" in n for n in names)
        assert "王芳" in host.locator("#tiles").inner_text()

        # The host mutes wangfang: her microphone track stops sending, everyone sees 已静音.
        drafter_peer = drafter.evaluate("() => window.OfficeHubMeeting.state.peerId")
        host.locator(f'#roster li[data-peer-id="{drafter_peer}"] button.mute').click()
        drafter.wait_for_function(
            "() => window.OfficeHubMeeting.state.localStream.getAudioTracks().every((t) => !t.enabled)"
        )
        assert "静音" in drafter.locator("#room-status").inner_text()
        reviewer.wait_for_function(
            f"""() => document.querySelector('.tile.remote[data-peer-id="{drafter_peer}"] .flags').textContent.includes("已静音")"""
        )
        # Others still hear the reviewer: only the addressed peer was muted.
        assert reviewer.evaluate("() => window.OfficeHubMeeting.state.mic") is True

        # The host shares the screen: the outgoing video track is swapped on every
        # connection and the room sees the screen flag; the video keeps playing.
        host_peer = host.evaluate("() => window.OfficeHubMeeting.state.peerId")
        host_tile_flags = f"""() => document.querySelector('.tile.remote[data-peer-id="{host_peer}"] .flags').textContent"""
        host.locator("#btn-screen").click()
        drafter.wait_for_function(f"() => ({host_tile_flags})().includes('共享屏幕')")
        wait_for_mesh(drafter, 2)
        host.locator("#btn-screen").click()
        drafter.wait_for_function(f"() => !({host_tile_flags})().includes('共享屏幕')")

        # Joined pages show the meeting as running and hide the join button.
        assert host.locator("#meeting-status").inner_text() == "进行中"
        assert not host.locator("#btn-join").is_visible()

        # Non-hosts have no host menu.
        assert drafter.locator("#btn-end").count() == 0
        assert drafter.locator("#roster button.mute").count() == 0

        host.locator("#btn-end").click()
        for page in pages:
            page.wait_for_function("() => document.getElementById('meeting-room').dataset.finished === '1'")
            assert "会议已结束" in page.locator("#room-status").inner_text()
            assert page.evaluate("() => window.OfficeHubMeeting.connectionStates().length") == 0
        assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.ENDED

        # An uninvited user (another organisation) gets a 404 page and a refused socket.
        outsider = browser_login(chromium, live_daphne, "qianlei")
        pages.append(outsider)
        response = outsider.goto(f"{live_daphne}/messages/meetings/{meeting.pk}/")
        assert response is not None and response.status == 404
        refusal = outsider.evaluate(
            """(id) => new Promise((resolve) => {
                const ws = new WebSocket(`ws://${location.host}/ws/meetings/${id}/`);
                let first = null;
                ws.onmessage = (e) => { first = first || JSON.parse(e.data); };
                ws.onclose = (e) => resolve({ code: e.code, frame: first });
            })""",
            meeting.pk,
        )
        assert refusal["code"] == 4404
        assert refusal["frame"]["code"] == "meeting.not_found"
    finally:
        for page in pages:
            page.context.close()
