"""Meetings REST API under /api/messaging/meetings/: parse, one service call in its own
transaction (``transaction.atomic()``, the entry point's), serialise.

Every meeting-scoped endpoint answers 404 ``meeting.not_found`` alike for a missing
meeting and for one the caller neither hosts nor is invited to. Live-room controls
(mute, remove, lock) are socket frames; ending is offered here too for clients without
the socket.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.http import actor_of
from messaging.meetings import minutes, selectors, services
from messaging.models.meetings import Attendance, InvitationResponse, Meeting
from officehub.directory.models import User

# ------------------------------------------------------------------------ serializers


class IdList(serializers.ListField):
    child = serializers.IntegerField(min_value=1)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", services.MAX_INVITEES)
        super().__init__(**kwargs)


class ScheduleInput(serializers.Serializer):
    title = serializers.CharField(max_length=services.TITLE_MAX)
    agenda = serializers.CharField(required=False, allow_blank=True, max_length=services.AGENDA_MAX, default="")
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField()
    user_ids = IdList(help_text="邀请的用户")
    department_ids = IdList(help_text="邀请的部门（含全部下级部门人员）")
    observer_ids = IdList(help_text="列席人员")
    document_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class InviteInput(serializers.Serializer):
    user_ids = IdList()
    department_ids = IdList()
    observer_ids = IdList()


class RescheduleInput(serializers.Serializer):
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField()
    title = serializers.CharField(required=False, max_length=services.TITLE_MAX)
    agenda = serializers.CharField(required=False, allow_blank=True, max_length=services.AGENDA_MAX)


class RespondInput(serializers.Serializer):
    response = serializers.ChoiceField(choices=[InvitationResponse.ACCEPTED, InvitationResponse.DECLINED])
    note = serializers.CharField(required=False, allow_blank=True, max_length=services.NOTE_MAX, default="")


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=services.NOTE_MAX, default="")


class AttendanceInput(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)
    attendance = serializers.ChoiceField(choices=Attendance.choices, allow_blank=True)


class PersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DocumentRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()


class InvitationOutput(serializers.Serializer):
    user = PersonOutput()
    department = serializers.CharField(allow_blank=True)
    role = serializers.CharField()
    response = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    attendance = serializers.CharField(allow_blank=True)


class MeetingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    agenda = serializers.CharField(allow_blank=True)
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField()
    status = serializers.CharField()
    opened_early = serializers.BooleanField()
    locked = serializers.BooleanField()
    host = PersonOutput()
    is_host = serializers.BooleanField()
    my_response = serializers.CharField(allow_null=True)
    joinable = serializers.BooleanField()
    socket_url = serializers.CharField()
    document = DocumentRefOutput(allow_null=True)
    minutes_document_id = serializers.IntegerField(allow_null=True)


class MeetingDetailOutput(MeetingOutput):
    invitations = InvitationOutput(many=True)


class RosterOutput(serializers.Serializer):
    peer_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    department = serializers.CharField(allow_blank=True)
    is_host = serializers.BooleanField()
    mic = serializers.BooleanField()
    camera = serializers.BooleanField()
    screen = serializers.BooleanField()
    hand_raised = serializers.BooleanField()


def _meeting_data(meeting: Meeting, user: User, *, detail: bool = False) -> dict[str, Any]:
    mine = getattr(meeting, "my_invitations", None)
    invitation = (mine[0] if mine else None) if mine is not None else selectors.invitation_of(meeting, user)
    document = selectors.linked_document(user, meeting.document_id)
    data: dict[str, Any] = {
        "id": meeting.pk,
        "title": meeting.title,
        "agenda": meeting.agenda,
        "start_at": meeting.start_at,
        "end_at": meeting.end_at,
        "status": meeting.status,
        "opened_early": meeting.opened_early,
        "locked": meeting.locked,
        "host": {"id": meeting.host_id, "name": meeting.host.display_name},
        "is_host": meeting.host_id == user.pk,
        "my_response": invitation.response if invitation else None,
        "joinable": selectors.is_joinable_now(meeting, now=timezone.now()),
        "socket_url": f"/ws/meetings/{meeting.pk}/",
        "document": document.__dict__ if document else None,
        "minutes_document_id": meeting.minutes_document_id if meeting.host_id == user.pk else None,
    }
    if detail:
        data["invitations"] = [
            {
                "user": {"id": inv.user_id, "name": inv.user.display_name},
                "department": inv.user.department.name if inv.user.department is not None else "",
                "role": inv.role,
                "response": inv.response,
                "note": inv.note,
                "attendance": inv.attendance,
            }
            for inv in selectors.meeting_invitations(meeting)
        ]
    return data


def _detail(request: Request, meeting_id: int, *, code: int = status.HTTP_200_OK) -> Response:
    meeting = selectors.access_meeting(actor_of(request), meeting_id)
    return Response(MeetingDetailOutput(_meeting_data(meeting, actor_of(request), detail=True)).data, status=code)


# -------------------------------------------------------------------------- endpoints


class MeetingListApi(APIView):
    @extend_schema(summary="我的会议（未结束的）", responses=MeetingOutput(many=True))
    def get(self, request: Request) -> Response:
        meetings = selectors.upcoming_meetings(actor_of(request))
        return Response(MeetingOutput([_meeting_data(m, actor_of(request)) for m in meetings], many=True).data)

    @extend_schema(summary="预约会议并发出邀请", request=ScheduleInput, responses={201: MeetingDetailOutput})
    def post(self, request: Request) -> Response:
        data = ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            meeting = services.meeting_schedule(actor=actor_of(request), **data.validated_data)
        return _detail(request, meeting.pk, code=status.HTTP_201_CREATED)


class MeetingDetailApi(APIView):
    @extend_schema(summary="会议详情与邀请名单", responses=MeetingDetailOutput)
    def get(self, request: Request, meeting_id: int) -> Response:
        return _detail(request, meeting_id)


class MeetingRosterApi(APIView):
    @extend_schema(summary="当前在会人员", responses=RosterOutput(many=True))
    def get(self, request: Request, meeting_id: int) -> Response:
        meeting = selectors.access_meeting(actor_of(request), meeting_id)
        return Response(RosterOutput(selectors.meeting_roster(meeting), many=True).data)


class MeetingInviteApi(APIView):
    @extend_schema(summary="追加邀请（主持人）", request=InviteInput, responses=MeetingDetailOutput)
    def post(self, request: Request, meeting_id: int) -> Response:
        data = InviteInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            services.meeting_invite(meeting_id=meeting_id, actor=actor_of(request), **data.validated_data)
        return _detail(request, meeting_id)


class MeetingRescheduleApi(APIView):
    @extend_schema(summary="修改会议时间（主持人），通知参会人员", request=RescheduleInput, responses=MeetingDetailOutput)
    def post(self, request: Request, meeting_id: int) -> Response:
        data = RescheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            services.meeting_reschedule(meeting_id=meeting_id, actor=actor_of(request), **data.validated_data)
        return _detail(request, meeting_id)


class MeetingCancelApi(APIView):
    @extend_schema(summary="取消会议（主持人），通知参会人员", request=CancelInput, responses=MeetingDetailOutput)
    def post(self, request: Request, meeting_id: int) -> Response:
        data = CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            services.meeting_cancel(meeting_id=meeting_id, actor=actor_of(request), reason=data.validated_data["reason"])
        return _detail(request, meeting_id)


class MeetingRespondApi(APIView):
    @extend_schema(summary="回复邀请：接受或请假", request=RespondInput, responses=MeetingDetailOutput)
    def post(self, request: Request, meeting_id: int) -> Response:
        data = RespondInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            services.invitation_respond(meeting_id=meeting_id, actor=actor_of(request), **data.validated_data)
        return _detail(request, meeting_id)


class MeetingOpenEarlyApi(APIView):
    @extend_schema(summary="提前开放入会（主持人）", request=None, responses=MeetingDetailOutput)
    def post(self, request: Request, meeting_id: int) -> Response:
        with transaction.atomic():
            services.meeting_open_early(meeting_id=meeting_id, actor=actor_of(request))
        return _detail(request, meeting_id)


class MeetingEndApi(APIView):
    @extend_schema(summary="结束会议（主持人），所有人离开", request=None, responses=MeetingDetailOutput)
    def post(self, request: Request, meeting_id: int) -> Response:
        with transaction.atomic():
            services.meeting_end(meeting_id=meeting_id, actor=actor_of(request))
        return _detail(request, meeting_id)


class MeetingAttendanceApi(APIView):
    @extend_schema(summary="更正出席情况（主持人，供纪要使用）", request=AttendanceInput, responses=MeetingDetailOutput)
    def post(self, request: Request, meeting_id: int) -> Response:
        data = AttendanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            services.invitation_set_attendance(meeting_id=meeting_id, actor=actor_of(request), **data.validated_data)
        return _detail(request, meeting_id)


class MeetingMinutesApi(APIView):
    @extend_schema(
        summary="起草会议纪要（主持人，会后）：生成纪要草稿并进入公文流转",
        request=None,
        responses={
            201: inline_serializer("MinutesStarted", {"document_id": serializers.IntegerField(), "url": serializers.CharField()})
        },
    )
    def post(self, request: Request, meeting_id: int) -> Response:
        with transaction.atomic():
            document_id = minutes.meeting_start_minutes(meeting_id=meeting_id, actor=actor_of(request))
        return Response({"document_id": document_id, "url": f"/documents/{document_id}/"}, status=status.HTTP_201_CREATED)
