"""Meetings REST API (/api/messaging/meetings/) and pages (/messages/meetings/)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from messaging.meetings import room, services
from messaging.models import Invitation, Meeting, MeetingStatus

API = "/api/messaging/meetings/"


def iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


def test_schedule_through_the_api_and_read_it_back(api_client: Any, personas: Any) -> None:
    api_client.force_authenticate(personas.head)
    response = api_client.post(
        API,
        {
            "title": "预算编制协调会",
            "start_at": iso(timedelta(hours=2)),
            "end_at": iso(timedelta(hours=3)),
            "user_ids": [personas.drafter.pk],
            "observer_ids": [personas.leader.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["title"], body["status"], body["is_host"], body["joinable"]) == ("预算编制协调会", "scheduled", True, False)
    assert body["socket_url"] == f"/ws/meetings/{body['id']}/"
    assert [(i["user"]["name"], i["role"], i["response"]) for i in body["invitations"]] == [
        ("刘洋", "observer", "pending"),
        ("王芳", "attendee", "pending"),
    ]
    api_client.force_authenticate(personas.drafter)
    listed = api_client.get(API).json()
    assert [(m["id"], m["my_response"], m["is_host"]) for m in listed] == [(body["id"], "pending", False)]
    answered = api_client.post(f"{API}{body['id']}/respond/", {"response": "declined", "note": "外出调研"}, format="json")
    assert answered.status_code == 200
    assert Invitation.objects.get(meeting_id=body["id"], user=personas.drafter).response == "declined"


def test_bad_api_input_gets_a_coded_400_and_creates_nothing(api_client: Any, personas: Any) -> None:
    api_client.force_authenticate(personas.head)
    backwards = api_client.post(
        API, {"title": "会", "start_at": iso(timedelta(hours=3)), "end_at": iso(timedelta(hours=2))}, format="json"
    )
    assert backwards.status_code == 400
    assert backwards.json()["code"] == "meeting.invalid_window"
    assert backwards.json()["message"] == "结束时间必须晚于开始时间。"
    malformed = api_client.post(API, {"title": "会", "start_at": "明天上午", "end_at": iso(timedelta(hours=2))}, format="json")
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "invalid"
    assert "start_at" in malformed.json()["extra"]["fields"]
    assert Meeting.objects.count() == 0


def test_outsider_and_anonymous_are_refused_by_the_api(api_client: Any, personas: Any, schedule: Any) -> None:
    meeting = schedule(invitees=(personas.drafter,))
    assert api_client.get(f"{API}{meeting.pk}/").status_code == 401
    api_client.force_authenticate(personas.outsider)
    foreign = api_client.get(f"{API}{meeting.pk}/")
    missing = api_client.get(f"{API}{meeting.pk + 1000}/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert foreign.json()["code"] == "meeting.not_found"
    for action in ("respond", "cancel", "end", "open-early", "minutes"):
        assert api_client.post(f"{API}{meeting.pk}/{action}/", {"response": "accepted"}, format="json").status_code == 404
    assert api_client.get(f"{API}{meeting.pk}/roster/").status_code == 404


def test_invitee_cannot_use_host_endpoints(api_client: Any, personas: Any, schedule: Any) -> None:
    meeting = schedule(invitees=(personas.drafter,))
    api_client.force_authenticate(personas.drafter)
    for action in ("cancel", "open-early", "minutes"):
        response = api_client.post(f"{API}{meeting.pk}/{action}/", {}, format="json")
        assert response.status_code == 403, action
        assert response.json()["code"] == "meeting.not_host"
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.SCHEDULED


def test_host_opens_early_ends_and_drafts_minutes_through_the_api(api_client: Any, personas: Any, schedule: Any) -> None:
    meeting = schedule(invitees=(personas.drafter,), start_in=timedelta(hours=1))
    api_client.force_authenticate(personas.head)
    opened = api_client.post(f"{API}{meeting.pk}/open-early/")
    assert opened.status_code == 200
    assert (opened.json()["status"], opened.json()["opened_early"], opened.json()["joinable"]) == ("open", True, True)
    room.participant_join(meeting_id=meeting.pk, user=personas.drafter, channel_name="test.api.drafter")
    roster = api_client.get(f"{API}{meeting.pk}/roster/").json()
    assert [(p["name"], p["mic"], p["is_host"]) for p in roster] == [("王芳", True, False)]
    assert api_client.post(f"{API}{meeting.pk}/end/").json()["status"] == "ended"
    minutes = api_client.post(f"{API}{meeting.pk}/minutes/")
    assert minutes.status_code == 201
    assert minutes.json()["url"] == f"/documents/{minutes.json()['document_id']}/"
    again = api_client.post(f"{API}{meeting.pk}/end/")
    assert (again.status_code, again.json()["code"]) == (409, "meeting.invalid_transition")


# ------------------------------------------------------------------------------- pages


def test_meetings_page_lists_my_meetings_and_invitations(client: Any, personas: Any, schedule: Any) -> None:
    schedule(invitees=(personas.drafter,), title="月度工作例会")
    schedule(invitees=(personas.reviewer,), title="别人的会")
    client.force_login(personas.drafter)
    page = client.get("/messages/meetings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "月度工作例会" in html
    assert "别人的会" not in html
    assert "待回复的邀请" in html and "请假" in html
    assert 'id="schedule-form"' in html


def test_schedule_form_creates_the_meeting_and_opens_its_page(client: Any, personas: Any) -> None:
    client.force_login(personas.head)
    start = timezone.localtime() + timedelta(days=1)
    response = client.post(
        "/messages/meetings/",
        {
            "title": "专题研究会",
            "agenda": "研究数据共享",
            "start_at": start.strftime("%Y-%m-%dT%H:%M"),
            "end_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "users": [personas.drafter.pk],
            "departments": [personas.head2.department_id],
        },
    )
    meeting = Meeting.objects.get(title="专题研究会")
    assert response.status_code == 302
    assert response["Location"] == f"/messages/meetings/{meeting.pk}/"
    assert set(Invitation.objects.filter(meeting=meeting).values_list("user__username", flat=True)) == {
        "wangfang",
        "zhouqiang",
        "heli",
        "machao",
        "admin",
    }
    bad = client.post("/messages/meetings/", {"title": "", "start_at": "x", "end_at": "y"})
    assert bad.status_code == 400
    assert Meeting.objects.count() == 1


def test_room_page_is_for_host_and_invitees_only(client: Any, personas: Any, schedule: Any) -> None:
    meeting = schedule(invitees=(personas.drafter,))
    client.force_login(personas.drafter)
    page = client.get(f"/messages/meetings/{meeting.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-meeting-id="{meeting.pk}"' in html and 'data-autojoin="1"' in html
    assert "messaging/meeting.js" in html
    assert 'id="btn-end"' not in html  # host menu only for the host
    client.post(f"/messages/meetings/{meeting.pk}/respond/", {"response": "accepted"})
    assert Invitation.objects.get(meeting=meeting).response == "accepted"
    client.force_login(personas.outsider)
    assert client.get(f"/messages/meetings/{meeting.pk}/").status_code == 404
    client.force_login(personas.head)
    assert 'id="btn-end"' in client.get(f"/messages/meetings/{meeting.pk}/").content.decode()


def test_linked_document_is_shown_only_to_those_who_may_read_it(api_client: Any, personas: Any) -> None:
    from documents.services import document_create_draft

    document = document_create_draft(actor=personas.drafter, doc_type="notice", title="关于开展数据共享工作的通知")
    start = timezone.now() + timedelta(hours=1)
    meeting = services.meeting_schedule(
        actor=personas.drafter,
        title="通知起草碰头会",
        start_at=start,
        end_at=start + timedelta(hours=1),
        user_ids=[personas.drafter2.pk, personas.outsider.pk],
        document_id=document.pk,
    )
    api_client.force_authenticate(personas.drafter2)  # same division as the drafter: may read the draft
    assert api_client.get(f"{API}{meeting.pk}/").json()["document"] == {
        "id": document.pk,
        "title": "关于开展数据共享工作的通知",
        "url": f"/documents/{document.pk}/",
    }
    api_client.force_authenticate(personas.outsider)  # invited, but the draft is not his to read
    assert api_client.get(f"{API}{meeting.pk}/").json()["document"] is None
