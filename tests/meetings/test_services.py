"""Meeting scheduling, invitations, reminders and minutes (services and selectors).

Host: chenjie (head of 秘书处). Invitees vary; qianlei (大数据局) is the outsider unless
his whole bureau is invited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from messaging.meetings import jobs, minutes, room, selectors, services
from messaging.models import (
    Attendance,
    Invitation,
    InvitationRole,
    Meeting,
    MeetingStatus,
    Participant,
)
from officehub.audit.models import AuditEntry
from officehub.directory.models import Department
from officehub.errors import ApplicationError, NotFound
from officehub.realtime import user_group
from officehub.transactions import in_transaction
from officehub.workbench.models import TodoItem
from tests.layer_inbox import LayerInbox

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def inbox() -> Iterator[Callable[..., LayerInbox]]:
    """``inbox(user, ...)`` listens to those users' groups on the real Redis layer."""
    opened: list[LayerInbox] = []

    def open_inbox(*users: Any) -> LayerInbox:
        opened.append(LayerInbox(*(user_group(user.pk) for user in users)))
        return opened[-1]

    yield open_inbox
    for listener in opened:
        listener.close()


def events(frames: list[dict[str, Any]]) -> list[str]:
    return sorted(frame["event"] for frame in frames)


def invitee_names(meeting: Meeting) -> dict[str, str]:
    return dict(Invitation.objects.filter(meeting=meeting).values_list("user__username", "role"))


def at(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=SHANGHAI)


# --------------------------------------------------------------------------- scheduling


def test_schedule_invites_named_users_whole_department_subtrees_and_observers(
    personas: Any, django_capture_on_commit_callbacks: Any, inbox: Any
) -> None:
    bureau = Department.objects.get(name="浙江省大数据发展管理局")
    division = personas.head2.department  # 综合处
    listener = inbox(personas.drafter, personas.staff)
    start = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        meeting = services.meeting_schedule(
            actor=personas.head,
            title="  数据共享专题会  ",
            agenda="一、数据目录\n二、共享接口",
            start_at=start,
            end_at=start + timedelta(hours=1),
            user_ids=[personas.drafter.pk, personas.head.pk],  # the host is never his own invitee
            department_ids=[bureau.pk, division.pk],
            observer_ids=[personas.leader.pk],
        )
        assert listener.read() == []  # nothing leaves before the commit
    assert callbacks
    assert meeting.title == "数据共享专题会"
    assert meeting.status == MeetingStatus.SCHEDULED
    assert invitee_names(meeting) == {
        "wangfang": "attendee",
        "zhouqiang": "attendee",
        "heli": "attendee",
        "machao": "attendee",
        "admin": "attendee",  # the demo administrator sits in 综合处
        "weidong": "attendee",
        "qianlei": "attendee",
        "fengxue": "attendee",
        "shenjing": "attendee",
        "chuyi": "attendee",
        "liuyang": InvitationRole.OBSERVER,
    }
    todos = TodoItem.objects.filter(target_id=str(meeting.pk), kind="meeting", done_at__isnull=True)
    assert todos.count() == 11
    assert set(todos.values_list("url", flat=True)) == {f"/messages/meetings/{meeting.pk}/"}
    pushed = listener.read()
    assert events(pushed) == ["todo.new", "todo.new"]
    assert all("数据共享专题会" in frame["title"] for frame in pushed)
    assert AuditEntry.objects.filter(action="meeting.scheduled", target_id=str(meeting.pk)).count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"title": "   "}, "meeting.invalid"),
        ({"end_in": timedelta(minutes=-30)}, "meeting.invalid_window"),
        ({"end_in": timedelta(hours=13)}, "meeting.invalid_window"),
        ({"start_in": timedelta(hours=-1), "end_in": timedelta(minutes=30)}, "meeting.start_in_past"),
        ({"user_ids": [999_999]}, "meeting.unknown_user"),
        ({"department_ids": [999_999]}, "meeting.unknown_department"),
        ({"document_id": 999_999}, "meeting.document_not_found"),
    ],
)
def test_bad_schedule_input_is_refused_with_a_code_and_creates_nothing(personas: Any, change: dict[str, Any], code: str) -> None:
    now = timezone.now()
    start = now + change.pop("start_in", timedelta(hours=1))
    arguments = {
        "actor": personas.head,
        "title": "周例会",
        "start_at": start,
        "end_at": start + change.pop("end_in", timedelta(hours=1)),
        "user_ids": [personas.drafter.pk],
        **change,
    }
    with pytest.raises(ApplicationError) as refused:
        services.meeting_schedule(**arguments)
    assert refused.value.code == code
    assert refused.value.status == 400
    assert refused.value.message  # a Chinese sentence for the user
    assert Meeting.objects.count() == 0
    assert Invitation.objects.count() == 0
    assert TodoItem.objects.count() == 0


def test_outsider_gets_the_same_404_as_for_a_missing_meeting(personas: Any, schedule: Any) -> None:
    meeting = schedule(invitees=(personas.drafter,))
    with pytest.raises(NotFound) as foreign:
        selectors.access_meeting(personas.outsider, meeting.pk)
    with pytest.raises(NotFound) as missing:
        selectors.access_meeting(personas.drafter, meeting.pk + 1000)
    assert (
        (foreign.value.code, foreign.value.message)
        == (missing.value.code, missing.value.message)
        == (
            "meeting.not_found",
            missing.value.message,
        )
    )
    with pytest.raises(NotFound):
        services.invitation_respond(meeting_id=meeting.pk, actor=personas.outsider, response="accepted")
    assert selectors.access_meeting(personas.drafter, meeting.pk) == meeting


def test_upcoming_meetings_are_mine_and_not_over(personas: Any, schedule: Any) -> None:
    later = schedule(invitees=(personas.drafter,), start_in=timedelta(days=2), title="后天的会")
    soon = schedule(invitees=(personas.drafter,), start_in=timedelta(hours=1), title="一小时后的会")
    schedule(invitees=(personas.reviewer,), title="与我无关的会")
    cancelled = schedule(invitees=(personas.drafter,), title="已取消的会")
    services.meeting_cancel(meeting_id=cancelled.pk, actor=personas.head)
    assert [m.title for m in selectors.upcoming_meetings(personas.drafter)] == ["一小时后的会", "后天的会"]
    assert [i.meeting_id for i in selectors.pending_invitations(personas.drafter)] == [soon.pk, later.pk]


# ------------------------------------------------------------------------- invitations


def test_decline_is_recorded_as_leave_and_the_host_is_told_after_commit(
    personas: Any, schedule: Any, django_capture_on_commit_callbacks: Any, inbox: Any
) -> None:
    meeting = schedule(invitees=(personas.drafter, personas.reviewer))
    listener = inbox(personas.head)
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_respond(meeting_id=meeting.pk, actor=personas.reviewer, response="declined", note="出差")
        services.invitation_respond(meeting_id=meeting.pk, actor=personas.drafter, response="accepted")
    declined = Invitation.objects.get(meeting=meeting, user=personas.reviewer)
    assert (declined.response, declined.attendance, declined.note) == ("declined", Attendance.ABSENT_WITH_LEAVE, "出差")
    assert Invitation.objects.get(meeting=meeting, user=personas.drafter).response == "accepted"
    pushed = listener.read()
    assert events(pushed) == ["meeting.response", "meeting.response"]
    assert any("赵敏" in frame["title"] and "请假" in frame["title"] for frame in pushed)
    assert not TodoItem.objects.filter(target_id=str(meeting.pk), user=personas.reviewer, done_at__isnull=True).exists()


def test_invalid_response_and_the_host_responding_are_refused(personas: Any, schedule: Any) -> None:
    meeting = schedule(invitees=(personas.drafter,))
    with pytest.raises(ApplicationError) as bad:
        services.invitation_respond(meeting_id=meeting.pk, actor=personas.drafter, response="maybe")
    assert bad.value.code == "meeting.invalid_response"
    with pytest.raises(ApplicationError) as host:
        services.invitation_respond(meeting_id=meeting.pk, actor=personas.head, response="accepted")
    assert host.value.code == "meeting.not_invited"
    assert Invitation.objects.get(meeting=meeting).response == "pending"


def test_reschedule_resets_answers_rearms_the_reminder_and_notifies(
    personas: Any, schedule: Any, django_capture_on_commit_callbacks: Any, inbox: Any
) -> None:
    meeting = schedule(invitees=(personas.drafter, personas.reviewer))
    services.invitation_respond(meeting_id=meeting.pk, actor=personas.drafter, response="accepted")
    Meeting.objects.filter(pk=meeting.pk).update(reminded_at=timezone.now())
    listener = inbox(personas.drafter, personas.reviewer)
    new_start = timezone.now() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_reschedule(
            meeting_id=meeting.pk, actor=personas.head, start_at=new_start, end_at=new_start + timedelta(hours=2)
        )
    meeting.refresh_from_db()
    assert (meeting.start_at, meeting.end_at, meeting.reminded_at) == (new_start, new_start + timedelta(hours=2), None)
    assert set(Invitation.objects.filter(meeting=meeting).values_list("response", flat=True)) == {"pending"}
    assert events(listener.read()) == ["meeting.rescheduled", "meeting.rescheduled"]
    assert TodoItem.objects.filter(target_id=str(meeting.pk), done_at__isnull=True).count() == 2


def test_only_the_host_reschedules_or_cancels(personas: Any, schedule: Any) -> None:
    meeting = schedule(invitees=(personas.drafter,))
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(ApplicationError) as reschedule:
        services.meeting_reschedule(
            meeting_id=meeting.pk, actor=personas.drafter, start_at=start, end_at=start + timedelta(hours=1)
        )
    with pytest.raises(ApplicationError) as cancel:
        services.meeting_cancel(meeting_id=meeting.pk, actor=personas.drafter)
    assert reschedule.value.code == cancel.value.code == "meeting.not_host"
    assert reschedule.value.status == 403
    unchanged = Meeting.objects.get(pk=meeting.pk)
    assert (unchanged.status, unchanged.start_at) == (MeetingStatus.SCHEDULED, meeting.start_at)


def test_cancel_tells_every_invitee_closes_their_todos_and_is_final(
    personas: Any, schedule: Any, django_capture_on_commit_callbacks: Any, inbox: Any
) -> None:
    meeting = schedule(invitees=(personas.drafter, personas.reviewer))
    listener = inbox(personas.drafter, personas.reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_cancel(meeting_id=meeting.pk, actor=personas.head, reason="与省委会议冲突")
    pushed = listener.read()
    assert events(pushed) == ["meeting.cancelled", "meeting.cancelled"]
    assert all("会议已取消" in frame["title"] for frame in pushed)
    assert not TodoItem.objects.filter(target_id=str(meeting.pk), done_at__isnull=True).exists()
    for call in (
        lambda: services.meeting_cancel(meeting_id=meeting.pk, actor=personas.head),
        lambda: services.meeting_open_early(meeting_id=meeting.pk, actor=personas.head),
        lambda: services.meeting_end(meeting_id=meeting.pk, actor=personas.head),
    ):
        with pytest.raises(ApplicationError) as refused:
            call()
        assert refused.value.code == "meeting.invalid_transition"
        assert refused.value.status == 409


def test_a_rolled_back_schedule_pushes_nothing(personas: Any, django_capture_on_commit_callbacks: Any, inbox: Any) -> None:
    listener = inbox(personas.drafter)
    start = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.meeting_schedule(
            actor=personas.head, title="会", start_at=start, end_at=start + timedelta(hours=1), user_ids=[personas.drafter.pk]
        )
    assert callbacks  # registered, but never run: the test transaction rolls back
    assert listener.read() == []


# --------------------------------------------------------------------------- reminders


def test_reminders_go_out_once_per_meeting_fifteen_minutes_before(
    personas: Any, django_capture_on_commit_callbacks: Any, inbox: Any
) -> None:
    with time_machine.travel(at(8, 0), tick=False):
        meeting = services.meeting_schedule(
            actor=personas.head,
            title="周一例会",
            start_at=at(9, 0),
            end_at=at(10, 0),
            user_ids=[personas.drafter.pk, personas.reviewer.pk],
        )
        services.invitation_respond(meeting_id=meeting.pk, actor=personas.reviewer, response="declined")
    listener = inbox(personas.head, personas.drafter, personas.reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.meeting_remind_upcoming(now=at(8, 44)) == 0
        assert jobs.meeting_remind_upcoming(now=at(8, 46)) == 1
        assert jobs.meeting_remind_upcoming(now=at(8, 50)) == 0
    pushed = listener.read()
    assert events(pushed) == ["meeting.reminder", "meeting.reminder"]  # host and wangfang, not the one on leave
    assert {frame["title"] for frame in pushed} == {"会议提醒：周一例会 将于 2026年1月5日 09:00 开始"}
    assert all(frame["url"] == f"/messages/meetings/{meeting.pk}/" for frame in pushed)


def test_a_rescheduled_meeting_is_reminded_again(personas: Any) -> None:
    with time_machine.travel(at(8, 0), tick=False):
        meeting = services.meeting_schedule(actor=personas.head, title="会", start_at=at(9, 0), end_at=at(10, 0))
        assert jobs.meeting_remind_upcoming(now=at(8, 50)) == 1
        services.meeting_reschedule(meeting_id=meeting.pk, actor=personas.head, start_at=at(14, 0), end_at=at(15, 0))
        assert jobs.meeting_remind_upcoming(now=at(8, 55)) == 0
        assert jobs.meeting_remind_upcoming(now=at(13, 50)) == 1
        assert jobs.meeting_remind_upcoming(now=at(13, 55)) == 0


# ----------------------------------------------------------------------------- minutes


def test_minutes_prefill_lists_time_host_and_attendance() -> None:
    draft = minutes.minutes_prefill(
        title="数据共享专题会",
        start_at=at(9, 0, day=6),
        end_at=at(10, 30, day=6),
        host_name="陈杰",
        agenda="一、数据目录",
        attendance={"attended": ["陈杰", "王芳"], "absent_with_leave": ["赵敏"], "observer": ["刘洋"], "absent": ["何丽"]},
    )
    assert draft.title == "数据共享专题会纪要"
    assert draft.body == (
        "时间：2026年1月6日 09:00—10:30\n"
        "主持：陈杰\n"
        "出席：陈杰、王芳\n"
        "请假：赵敏\n"
        "列席：刘洋\n"
        "\n"
        "会议议程：\n"
        "一、数据目录\n"
        "\n"
        "会议议定事项如下：\n"
        "一、"
    )


def _hold_meeting(personas: Any, schedule: Any) -> Meeting:
    """drafter attends, leader attends as 列席, reviewer declines (请假), staff never comes."""
    meeting = schedule(
        invitees=(personas.drafter, personas.reviewer, personas.staff), observers=(personas.leader,), title="专题会"
    )
    services.invitation_respond(meeting_id=meeting.pk, actor=personas.reviewer, response="declined", note="出差")
    for user in (personas.head, personas.drafter, personas.leader):
        room.participant_join(meeting_id=meeting.pk, user=user, channel_name=f"test.{user.username}")
    return meeting


def test_host_starts_minutes_after_the_meeting_and_they_enter_the_document_flow(personas: Any, schedule: Any) -> None:
    from documents.models import Document

    meeting = _hold_meeting(personas, schedule)
    with pytest.raises(ApplicationError) as too_early:
        minutes.meeting_start_minutes(meeting_id=meeting.pk, actor=personas.head)
    assert too_early.value.code == "meeting.not_over"
    services.meeting_end(meeting_id=meeting.pk, actor=personas.head)
    assert not Participant.objects.filter(meeting=meeting).exists()

    with pytest.raises(ApplicationError) as not_host:
        minutes.meeting_start_minutes(meeting_id=meeting.pk, actor=personas.drafter)
    assert not_host.value.code == "meeting.not_host"

    document_id = minutes.meeting_start_minutes(meeting_id=meeting.pk, actor=personas.head)
    document = Document.objects.get(pk=document_id)
    assert (document.doc_type, document.status, document.drafter_id) == ("minutes", "draft", personas.head.pk)
    assert document.title == "专题会纪要"
    assert "出席：陈杰、王芳\n" in document.body
    assert "请假：赵敏\n" in document.body
    assert "列席：刘洋\n" in document.body
    assert "何丽" not in document.body
    assert minutes.meeting_start_minutes(meeting_id=meeting.pk, actor=personas.head) == document_id
    assert Document.objects.filter(doc_type="minutes").count() == 1


def test_host_corrects_attendance_before_the_minutes(personas: Any, schedule: Any) -> None:
    meeting = _hold_meeting(personas, schedule)
    services.meeting_end(meeting_id=meeting.pk, actor=personas.head)
    services.invitation_set_attendance(
        meeting_id=meeting.pk, actor=personas.head, user_id=personas.staff.pk, attendance=Attendance.ABSENT_WITH_LEAVE
    )
    assert selectors.attendance_lists(Meeting.objects.get(pk=meeting.pk)) == {
        "attended": ["陈杰", "王芳"],
        "absent_with_leave": ["何丽", "赵敏"],
        "observer": ["刘洋"],
        "absent": [],
    }
    with pytest.raises(ApplicationError) as refused:
        services.invitation_set_attendance(
            meeting_id=meeting.pk, actor=personas.drafter, user_id=personas.staff.pk, attendance=Attendance.ATTENDED
        )
    assert refused.value.code == "meeting.not_host"


def test_joining_the_room_answers_a_pending_invitation_but_not_a_leave_request(personas: Any, schedule: Any) -> None:
    """An invitee in the room has come: the table must not say 待回复 beside 出席. A 请假
    answer stays as given (its reason is the record); the attendance shows they came."""
    meeting = schedule(invitees=(personas.drafter, personas.reviewer))
    services.invitation_respond(meeting_id=meeting.pk, actor=personas.reviewer, response="declined", note="出差")
    for user in (personas.drafter, personas.reviewer):
        room.participant_join(meeting_id=meeting.pk, user=user, channel_name=f"test.{user.username}")
    drafter = Invitation.objects.get(meeting=meeting, user=personas.drafter)
    assert (drafter.response, drafter.attendance) == ("accepted", "attended") and drafter.responded_at is not None
    reviewer = Invitation.objects.get(meeting=meeting, user=personas.reviewer)
    assert (reviewer.response, reviewer.note, reviewer.attendance) == ("declined", "出差", "attended")


# ------------------------------------------------------------------ roster housekeeping


def test_a_seat_left_by_a_dead_worker_is_swept_by_the_next_join(personas: Any, schedule: Any, settings: Any) -> None:
    settings.MEETING_CAPACITY = 2
    meeting = schedule(invitees=(personas.drafter, personas.reviewer))
    room.participant_join(meeting_id=meeting.pk, user=personas.head, channel_name="test.host")
    long_ago = timezone.now() - timedelta(minutes=5)
    Participant.objects.create(
        meeting=meeting, user=personas.drafter, channel_name="test.dead-worker", joined_at=long_ago, last_seen=long_ago
    )
    joined = room.participant_join(meeting_id=meeting.pk, user=personas.reviewer, channel_name="test.reviewer")
    assert [entry["name"] for entry in joined.roster] == ["陈杰"]
    assert sorted(Participant.objects.filter(meeting=meeting).values_list("channel_name", flat=True)) == [
        "test.host",
        "test.reviewer",
    ]


@pytest.mark.django_db(transaction=True)
def test_two_workers_reminding_at_once_remind_each_meeting_once(personas: Any) -> None:
    from tests.concurrency import run_at_once

    with time_machine.travel(at(8, 0), tick=False):
        in_transaction(services.meeting_schedule)(actor=personas.head, title="会", start_at=at(9, 0), end_at=at(10, 0))

    def remind() -> int:
        return jobs.meeting_remind_upcoming(now=at(8, 50))

    results = run_at_once([remind, remind], expected=())
    assert sorted(results) == [0, 1]
