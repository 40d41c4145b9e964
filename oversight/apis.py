"""督办 dashboard API: one read-only endpoint per view, the same selectors as the page.

Every endpoint answers 401 to anonymous callers, 403 ``oversight.forbidden`` to a user
without the dashboard's roles, 400 ``oversight.invalid_filter`` to a bad date range or
an organisation outside the viewer's scope. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from officehub.edges import request_user
from oversight import selectors
from oversight.disclosure import disclosure_requests
from oversight.scope import Filters, Scope, dashboard_scope, narrow_to_organisation, parse_filters


class FiltersInput(serializers.Serializer):
    """Documents the query (parsed by ``oversight.scope.parse_filters``)."""

    date_from = serializers.DateField(required=False, help_text="开始日期（含），默认为30天前")
    date_to = serializers.DateField(required=False, help_text="结束日期（含），默认为今天")
    organisation = serializers.IntegerField(required=False, min_value=1, help_text="只看查看范围内的某一机关")


class StepCountOutput(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    documents = serializers.IntegerField()


class OfficeCountOutput(serializers.Serializer):
    office_id = serializers.IntegerField()
    office = serializers.CharField()
    documents = serializers.IntegerField()


class CirculationOutput(serializers.Serializer):
    total = serializers.IntegerField()
    by_step = StepCountOutput(many=True)
    by_office = OfficeCountOutput(many=True)


class HandlingTimeOutput(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    steps = serializers.IntegerField()
    average_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)


class OverdueOfficeOutput(serializers.Serializer):
    office_id = serializers.IntegerField()
    office = serializers.CharField()
    steps = serializers.IntegerField()
    documents = serializers.IntegerField()
    oldest_due_at = serializers.DateTimeField()


class OverdueItemOutput(serializers.Serializer):
    step_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    title = serializers.CharField()
    doc_number = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    holders = serializers.ListField(child=serializers.CharField())
    started_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    overdue_seconds = serializers.IntegerField()
    reminders = serializers.IntegerField()


class OverdueDrillDownOutput(serializers.Serializer):
    office_id = serializers.IntegerField()
    office = serializers.CharField()
    total_steps = serializers.IntegerField()
    visible_steps = serializers.IntegerField()
    hidden_steps = serializers.IntegerField(help_text="所属公文您无权查看的逾期环节：只计数")
    items = OverdueItemOutput(many=True)


class ReminderCountOutput(serializers.Serializer):
    office_id = serializers.IntegerField()
    office = serializers.CharField()
    total = serializers.IntegerField()
    manual = serializers.IntegerField()
    automatic = serializers.IntegerField()


class SealUseOutput(serializers.Serializer):
    seal_id = serializers.IntegerField()
    seal = serializers.CharField()
    kind = serializers.CharField()
    organisation = serializers.CharField()
    uses = serializers.IntegerField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class DisclosureRowOutput(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    total = serializers.IntegerField()
    overdue = serializers.IntegerField()
    due_soon = serializers.IntegerField()


class DisclosureOutput(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="false：未启用（本系统没有政务公开模块，或查看范围为部门）")
    rows = DisclosureRowOutput(many=True)


class MessageActivityOutput(serializers.Serializer):
    department_id = serializers.IntegerField()
    department = serializers.CharField()
    messages = serializers.IntegerField()
    senders = serializers.IntegerField()
    conversations = serializers.IntegerField()


def _rows(serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """``{"rows": [...]}`` around one row serializer (for the schema)."""
    name = serializer.__name__.removesuffix("Output") + "List"
    return inline_serializer(name=name, fields={"rows": serializer(many=True)})


class _DashboardApi(APIView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # the entry point's transaction: read-only, one snapshot (selectors.dashboard_reads)
        with selectors.dashboard_reads():
            return super().dispatch(request, *args, **kwargs)

    def scope_and_filters(self, request: Request) -> tuple[Scope, Filters, dt.datetime]:
        scope = dashboard_scope(request_user(request))
        filters = parse_filters(request.query_params)
        return narrow_to_organisation(scope, filters.organisation_id), filters, timezone.now()


class CirculationApi(_DashboardApi):
    @extend_schema(parameters=[FiltersInput], responses=CirculationOutput, summary="督办：在办公文（按环节、按部门）")
    def get(self, request: Request) -> Response:
        scope, _filters, _now = self.scope_and_filters(request)
        return Response(CirculationOutput(selectors.circulation(scope)).data)


class HandlingTimesApi(_DashboardApi):
    @extend_schema(parameters=[FiltersInput], responses=_rows(HandlingTimeOutput), summary="督办：各环节平均与P90办理用时")
    def get(self, request: Request) -> Response:
        scope, filters, _now = self.scope_and_filters(request)
        return Response({"rows": HandlingTimeOutput(selectors.handling_times(scope, filters), many=True).data})


class OverdueApi(_DashboardApi):
    @extend_schema(
        operation_id="oversight_overdue_list", parameters=[FiltersInput], responses=_rows(OverdueOfficeOutput),
        summary="督办：逾期未办（按部门）",
    )
    def get(self, request: Request) -> Response:
        scope, _filters, now = self.scope_and_filters(request)
        return Response({"rows": OverdueOfficeOutput(selectors.overdue_by_office(scope, now=now), many=True).data})


class OverdueItemsApi(_DashboardApi):
    @extend_schema(
        parameters=[FiltersInput, OpenApiParameter("office_id", int, OpenApiParameter.PATH)],
        responses=OverdueDrillDownOutput,
        summary="督办：某部门的逾期明细（只列出有权查看的公文，其余计数）",
    )
    def get(self, request: Request, office_id: int) -> Response:
        scope, _filters, now = self.scope_and_filters(request)
        data = selectors.overdue_items(scope, request_user(request), office_id, now=now)
        return Response(OverdueDrillDownOutput(data).data)


class RemindersApi(_DashboardApi):
    @extend_schema(parameters=[FiltersInput], responses=_rows(ReminderCountOutput), summary="督办：催办次数（按部门）")
    def get(self, request: Request) -> Response:
        scope, filters, _now = self.scope_and_filters(request)
        return Response({"rows": ReminderCountOutput(selectors.reminder_counts(scope, filters), many=True).data})


class SealUseApi(_DashboardApi):
    @extend_schema(parameters=[FiltersInput], responses=_rows(SealUseOutput), summary="督办：印章使用（按印章）")
    def get(self, request: Request) -> Response:
        scope, filters, _now = self.scope_and_filters(request)
        return Response({"rows": SealUseOutput(selectors.seal_use(scope, filters), many=True).data})


class DisclosureApi(_DashboardApi):
    @extend_schema(parameters=[FiltersInput], responses=DisclosureOutput, summary="督办：依申请公开（按状态与时限）")
    def get(self, request: Request) -> Response:
        scope, filters, now = self.scope_and_filters(request)
        return Response(DisclosureOutput(disclosure_requests(scope, filters, now=now)).data)


class MessageActivityApi(_DashboardApi):
    @extend_schema(
        parameters=[FiltersInput], responses=_rows(MessageActivityOutput), summary="督办：消息活跃度（按部门，仅计数）"
    )
    def get(self, request: Request) -> Response:
        scope, filters, _now = self.scope_and_filters(request)
        return Response({"rows": MessageActivityOutput(selectors.message_activity(scope, filters), many=True).data})
