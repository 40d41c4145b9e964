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
        drafter.wait_for_function("() => window.OfficeHubMeeting.state.localStream.getAudioTracks().every((t) => !t.enabled)")
        assert "静音" in drafter.locator("#room-status").inner_text()
        reviewer.wait_for_function(
            f"""() => document.querySelector('.tile.remote[data-peer-id="{drafter_peer}"] .flags')"""
            """.textContent.includes("已静音")"""
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


def _in_viewport(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (selector, box, viewport)
    return box


def test_room_fits_1400x950_and_its_invitation_table_follows_who_joins(
    live_daphne: str, chromium: Any, personas: Any, schedule: Any
) -> None:
    meeting = schedule(
        invitees=(personas.drafter, personas.reviewer),
        title="防汛防台工作调度会",
        agenda="\n".join(
            f"{n}、{item}"
            for n, item in zip(
                "一二三四五六七八九十",
                [
                    "通报近期汛情和台风动态",
                    "水利厅汇报水库山塘安全",
                    "自然资源厅汇报地质灾害隐患点",
                    "住建厅汇报危旧房和在建工地",
                    "交通运输厅汇报航运和道路",
                    "应急管理厅汇报救援力量预置",
                    "气象局通报未来一周天气",
                    "各市汇报转移安置准备",
                    "部署各地防御工作",
                    "明确值班值守要求",
                ],
                strict=True,
            )
        ),
    )
    drafter_row = f"#invitees tr[data-user-id='{personas.drafter.pk}']"
    reviewer_row = f"#invitees tr[data-user-id='{personas.reviewer.pk}']"
    pages: list[Any] = []
    try:
        host = browser_login(chromium, live_daphne, "chenjie")
        pages.append(host)
        host.set_viewport_size({"width": 1400, "height": 950})
        host.goto(f"{live_daphne}/messages/meetings/{meeting.pk}/")
        host.wait_for_selector("#btn-leave:enabled", timeout=15000)
        # The meeting's controls are on screen without scrolling, with a long agenda...
        _in_viewport(host, ".toolbar")
        _in_viewport(host, "#btn-leave")
        # ...and in a full room (capacity 6: five more video tiles, a second row).
        host.evaluate(
            """() => {
                const local = document.getElementById("tile-local");
                for (let i = 0; i < 5; i += 1) {
                    const tile = local.cloneNode(true);
                    tile.id = "";
                    tile.classList.add("probe");
                    document.getElementById("tiles").append(tile);
                }
            }"""
        )
        _in_viewport(host, ".toolbar")
        _in_viewport(host, "#btn-end")
        host.evaluate("() => document.querySelectorAll('.tile.probe').forEach((tile) => tile.remove())")
        assert host.inner_text(f"{drafter_row} [data-field='response']") == "待回复"

        guest = browser_login(chromium, live_daphne, "wangfang")
        pages.append(guest)
        guest.set_viewport_size({"width": 1400, "height": 950})
        guest.goto(f"{live_daphne}/messages/meetings/{meeting.pk}/")
        guest.wait_for_selector("#btn-leave:enabled", timeout=15000)
        _in_viewport(guest, ".toolbar")
        # In the room, 接受邀请 / 请假 are gone: being there is the answer.
        assert guest.locator("button[value='accepted']").is_hidden()
        assert guest.locator("button[value='declined']").is_hidden()
        # The host's invitation table follows at once: accepted and attending.
        host.wait_for_function(
            f"""() => document.querySelector("{drafter_row} [data-field='response']").textContent.trim() === '接受'
                   && document.querySelector("{drafter_row} [data-field='attendance']").textContent.includes('出席')""",
            timeout=10000,
        )
        assert host.inner_text(f"{reviewer_row} [data-field='response']") == "待回复"  # not here
        guest.wait_for_function(
            f"""() => document.querySelector("{drafter_row} [data-field='response']").textContent.trim() === '接受'""",
            timeout=10000,
        )
        # ...and so does the record: a reload shows the same, without the response buttons.
        guest.reload()
        guest.wait_for_selector("#btn-leave:enabled", timeout=15000)
        assert guest.inner_text(f"{drafter_row} [data-field='response']") == "接受"
        assert guest.locator("button[value='accepted']").count() == 0
    finally:
        for page in pages:
            page.context.close()
