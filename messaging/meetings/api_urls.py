"""/api/messaging/meetings/ routes."""

from __future__ import annotations

from django.urls import path

from messaging.meetings import apis

urlpatterns = [
    path("", apis.MeetingListApi.as_view(), name="api-meetings"),
    path("<int:meeting_id>/", apis.MeetingDetailApi.as_view(), name="api-meeting"),
    path("<int:meeting_id>/roster/", apis.MeetingRosterApi.as_view(), name="api-meeting-roster"),
    path("<int:meeting_id>/invite/", apis.MeetingInviteApi.as_view(), name="api-meeting-invite"),
    path("<int:meeting_id>/reschedule/", apis.MeetingRescheduleApi.as_view(), name="api-meeting-reschedule"),
    path("<int:meeting_id>/cancel/", apis.MeetingCancelApi.as_view(), name="api-meeting-cancel"),
    path("<int:meeting_id>/respond/", apis.MeetingRespondApi.as_view(), name="api-meeting-respond"),
    path("<int:meeting_id>/open-early/", apis.MeetingOpenEarlyApi.as_view(), name="api-meeting-open-early"),
    path("<int:meeting_id>/end/", apis.MeetingEndApi.as_view(), name="api-meeting-end"),
    path("<int:meeting_id>/attendance/", apis.MeetingAttendanceApi.as_view(), name="api-meeting-attendance"),
    path("<int:meeting_id>/minutes/", apis.MeetingMinutesApi.as_view(), name="api-meeting-minutes"),
]
