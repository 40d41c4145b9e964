"""The 纪要 of a meeting: its draft text (time, host, attendance, agenda) and the host's
start of it, which enters the document flow as a draft of the documents app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from documents.services import document_create_draft
from messaging.meetings.selectors import AttendanceLists, access_meeting, attendance_lists
from messaging.meetings.services import MEETING_FLOW, local_time, require_host
from messaging.models.meetings import MeetingStatus
from officehub.audit.services import audit
from officehub.directory.models import User
from officehub.errors import InvalidTransition
from officehub.transactions import require_transaction


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
        when = f"{local_time(start_at)}—{local_time(end_at)}"
    lines = [f"时间：{when}", f"主持：{host_name}"]
    listed = ((attendance["attended"], "出席"), (attendance["absent_with_leave"], "请假"), (attendance["observer"], "列席"))
    for names, label in listed:
        if names:
            lines.append(f"{label}：{'、'.join(names)}")
    if agenda.strip():
        lines += ["", "会议议程：", agenda.strip()]
    lines += ["", "会议议定事项如下：", "一、"]
    return MinutesDraft(title=f"{title}纪要", body="\n".join(lines))


def _create_minutes_document(*, actor: User, draft: MinutesDraft) -> int:
    """Adapter to the documents app: the 纪要 enters the document flow as a draft."""
    document = document_create_draft(actor=actor, doc_type="minutes", title=draft.title, body=draft.body)
    return int(document.pk)


def meeting_start_minutes(*, meeting_id: int, actor: User, now: datetime | None = None) -> int:
    """Host starts the 纪要 draft after the meeting (ended, or open past its end time);
    it enters the document flow as the host's draft. Idempotent: a second call returns
    the same document. Raises meeting.not_host, meeting.invalid_transition,
    meeting.not_over and the documents app's draft codes."""
    require_transaction()
    now = now or timezone.now()
    meeting = access_meeting(actor, meeting_id, lock=True)
    require_host(meeting, actor)
    MEETING_FLOW.check(meeting, "minutes")
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
