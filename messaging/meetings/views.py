"""Meeting pages: my meetings (with invitations and the schedule form) and the meeting
room. Thin: parse the form, one service call, redirect with a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from messaging.http import actor_of
from messaging.meetings import minutes, selectors, services
from messaging.models.meetings import Attendance, InvitationResponse, MeetingStatus
from officehub.directory.models import Department, User
from officehub.edges import flash_error
from officehub.errors import ApplicationError

T = TypeVar("T")

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PeopleField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        """姓名（机关·处室）: division names such as 办公室 repeat across organisations."""
        department = obj.department
        if department is None:
            return obj.display_name
        if department.parent is not None and not department.is_organisation:
            return f"{obj.display_name}（{department.parent.name}·{department.name}）"
        return f"{obj.display_name}（{department.name}）"


class DepartmentsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return "\u3000" * obj.depth + obj.name  # indented like the tree


class ScheduleForm(forms.Form):
    title = forms.CharField(label="会议主题", max_length=services.TITLE_MAX)
    agenda = forms.CharField(label="议程", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    start_at = forms.DateTimeField(label="开始时间", widget=DATETIME_INPUT, input_formats=["%Y-%m-%dT%H:%M"])
    end_at = forms.DateTimeField(label="结束时间", widget=DATETIME_INPUT, input_formats=["%Y-%m-%dT%H:%M"])
    users = PeopleField(
        label="邀请人员", required=False, queryset=User.objects.none(), widget=forms.SelectMultiple(attrs={"size": 8})
    )
    departments = DepartmentsField(
        label="邀请部门（含下级）",
        required=False,
        queryset=Department.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    observers = PeopleField(
        label="列席人员", required=False, queryset=User.objects.none(), widget=forms.SelectMultiple(attrs={"size": 4})
    )
    document_id = forms.IntegerField(label="关联公文编号", required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = (
            User.objects.filter(is_active=True)
            .select_related("department", "department__parent")
            .order_by("department__path", "username")
        )
        # Querysets per form, evaluated per request (class-level ones would be cached).
        for name, queryset in (("users", people), ("observers", people), ("departments", Department.objects.order_by("path"))):
            field = self.fields[name]
            assert isinstance(field, forms.ModelMultipleChoiceField)
            field.queryset = queryset


class RescheduleForm(forms.Form):
    start_at = forms.DateTimeField(label="开始时间", widget=DATETIME_INPUT, input_formats=["%Y-%m-%dT%H:%M"])
    end_at = forms.DateTimeField(label="结束时间", widget=DATETIME_INPUT, input_formats=["%Y-%m-%dT%H:%M"])


def _run(request: HttpRequest, call: Callable[[], T], success: str) -> T | None:
    """One service call in its own transaction (the page is the entry point); a coded
    error becomes the page's error message."""
    try:
        with transaction.atomic(durable=True):
            result = call()
    except (ApplicationError, ValidationError) as exc:
        flash_error(request, exc)
        return None
    messages.success(request, success)
    return result


@login_required
def meetings_index(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            meeting = _run(
                request,
                lambda: services.meeting_schedule(
                    actor=actor_of(request),
                    title=data["title"],
                    agenda=data["agenda"],
                    start_at=data["start_at"],
                    end_at=data["end_at"],
                    user_ids=[u.pk for u in data["users"]],
                    department_ids=[d.pk for d in data["departments"]],
                    observer_ids=[u.pk for u in data["observers"]],
                    document_id=data["document_id"],
                ),
                "会议已预约，邀请已发送。",
            )
            if meeting is not None:
                return redirect("meeting-room", meeting_id=meeting.pk)
        else:
            messages.error(request, "预约信息有误，请检查后重试。")
    now = timezone.now()
    user = actor_of(request)
    return render(
        request,
        "messaging/meetings/index.html",
        {
            "upcoming": selectors.upcoming_meetings(user, now=now),
            "invitations": selectors.pending_invitations(user, now=now),
            "recent": selectors.recent_meetings(user, now=now),
            "form": form,
            "now": now,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def meeting_room(request: HttpRequest, meeting_id: int) -> HttpResponse:
    user = actor_of(request)
    try:
        meeting = selectors.access_meeting(user, meeting_id)
    except ApplicationError:
        raise Http404 from None
    now = timezone.now()
    is_host = meeting.host_id == user.pk
    invitation = None if is_host else selectors.invitation_of(meeting, user)
    opens, closes = selectors.join_window(meeting)
    return render(
        request,
        "messaging/meetings/room.html",
        {
            "meeting": meeting,
            "is_host": is_host,
            "invitation": invitation,
            "invitations": selectors.meeting_invitations(meeting),
            "joinable": selectors.is_joinable_now(meeting, now=now),
            "opens_at": opens,
            "closes_at": closes,
            "document": selectors.linked_document(user, meeting.document_id),
            "minutes": selectors.linked_document(user, meeting.minutes_document_id),
            "can_start_minutes": is_host
            and not meeting.minutes_document_id
            and (meeting.status == MeetingStatus.ENDED or (meeting.status == MeetingStatus.OPEN and now >= meeting.end_at)),
            "reschedule_form": RescheduleForm(
                initial={"start_at": timezone.localtime(meeting.start_at), "end_at": timezone.localtime(meeting.end_at)}
            ),
            "attendance_choices": Attendance.choices,
            "attendance": Attendance,
            "statuses": MeetingStatus,
            "responses": InvitationResponse,
        },
    )


@login_required
@require_POST
def meeting_respond(request: HttpRequest, meeting_id: int) -> HttpResponse:
    response = request.POST.get("response", "")
    _run(
        request,
        lambda: services.invitation_respond(
            meeting_id=meeting_id, actor=actor_of(request), response=response, note=request.POST.get("note", "")
        ),
        "已接受会议邀请。" if response == InvitationResponse.ACCEPTED else "已请假。",
    )
    if request.POST.get("next") == "index":
        return redirect("meetings-index")
    return redirect("meeting-room", meeting_id=meeting_id)


@login_required
@require_POST
def meeting_action(request: HttpRequest, meeting_id: int, action: str) -> HttpResponse:
    user = actor_of(request)
    if action == "cancel":
        _run(
            request,
            lambda: services.meeting_cancel(meeting_id=meeting_id, actor=user, reason=request.POST.get("reason", "")),
            "会议已取消，已通知参会人员。",
        )
    elif action == "open-early":
        _run(request, lambda: services.meeting_open_early(meeting_id=meeting_id, actor=user), "会议已提前开放。")
    elif action == "end":
        _run(request, lambda: services.meeting_end(meeting_id=meeting_id, actor=user), "会议已结束。")
    elif action == "reschedule":
        form = RescheduleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "时间格式不正确。")
        else:
            _run(
                request,
                lambda: services.meeting_reschedule(
                    meeting_id=meeting_id, actor=user, start_at=form.cleaned_data["start_at"], end_at=form.cleaned_data["end_at"]
                ),
                "会议时间已修改，已通知参会人员。",
            )
    elif action == "attendance":
        user_id = request.POST.get("user_id", "")
        _run(
            request,
            lambda: services.invitation_set_attendance(
                meeting_id=meeting_id,
                actor=user,
                user_id=int(user_id) if user_id.isdigit() else 0,
                attendance=request.POST.get("attendance"),
            ),
            "出席情况已更新。",
        )
    elif action == "minutes":
        document_id = _run(
            request,
            lambda: minutes.meeting_start_minutes(meeting_id=meeting_id, actor=user),
            "会议纪要草稿已创建，已进入公文流转。",
        )
        if document_id:
            return redirect(f"/documents/{document_id}/")
    else:
        raise Http404
    return redirect("meeting-room", meeting_id=meeting_id)
