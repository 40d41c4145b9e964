"""REST API of 政务公开.

- ``/api/gk/…``: the public portal (no login, no session, no CSRF: nothing is read from
  cookies): search, a published document, filing a 依申请公开 request and tracking it.
  Rate-limited per address (token buckets, disclosure/edges.py); GETs of published
  content are conditional and publicly cacheable like the pages.
- ``/api/disclosure/…``: the office's handling of requests and its publications, for
  signed-in staff; each write opens its transaction here and calls the service the
  pages call.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from disclosure import selectors, services, views
from disclosure.edges import check_rate, parse_params
from disclosure.errors import RateLimited
from disclosure.models import DisclosureRequest, Publication, RequestStatus
from documents.models import DocType
from officehub.edges import download, request_user
from officehub.errors import NotFound
from officehub.parsers import BoundedJSONParser
from officehub.uploads import read_upload


def _limit(kind: str, request: Request) -> None:
    try:
        check_rate(kind, request._request)
    except RateLimited as exc:
        raise Throttled(wait=exc.extra.get("wait_seconds")) from None


class PublicApi(APIView):
    """No authentication (so no session and no CSRF), anyone may call; the per-address
    buckets replace DRF's throttles."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []


# --- public: documents --------------------------------------------------------------------


class PortalHitOutput(serializers.Serializer):
    document_id = serializers.IntegerField()
    title = serializers.CharField()
    title_html = serializers.CharField(help_text="标题，命中词以 <em> 标出（已转义）")
    snippets_html = serializers.ListField(child=serializers.CharField())
    doc_number = serializers.CharField()
    issuer = serializers.CharField()
    issuer_id = serializers.IntegerField()
    doc_type = serializers.CharField()
    doc_type_label = serializers.CharField()
    issued_on = serializers.DateField()
    year = serializers.IntegerField()


class FacetOutput(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label, as in search
    count = serializers.IntegerField()


class FacetsOutput(serializers.Serializer):
    issuer_id = FacetOutput(many=True, required=False)
    year = FacetOutput(many=True, required=False)
    doc_type = FacetOutput(many=True, required=False)


class PortalResultOutput(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    hits = PortalHitOutput(many=True)
    facets = FacetsOutput()
    degraded = serializers.BooleanField(help_text="全文检索不可用时为 true（数据库简易检索）")
    notice = serializers.CharField()


class PortalSearchApi(PublicApi):
    @extend_schema(
        summary="政务公开：检索已公开的公文（无需登录）",
        parameters=[
            OpenApiParameter("q", str, description="检索词；引号内为精确短语；可输入发文字号"),
            OpenApiParameter("issuer", int, description="发文机关 id"),
            OpenApiParameter("year", int),
            OpenApiParameter("doc_type", str, enum=DocType.values),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="1–50，默认 20"),
        ],
        responses=PortalResultOutput,
        auth=[],
    )
    def get(self, request: Request) -> Response:
        params = parse_params(request.query_params)
        if params.q:
            _limit("search", request)
        changed_at = views.portal_changed_at(request._request)
        return Response(PortalResultOutput(selectors.portal_search_shared(params, changed_at=changed_at)).data)


class PublicationOutput(serializers.Serializer):
    document_id = serializers.IntegerField()
    title = serializers.CharField()
    doc_number = serializers.CharField()
    issuer = serializers.CharField(source="issuer_name")
    issuer_id = serializers.IntegerField()
    doc_type = serializers.CharField()
    doc_type_label = serializers.SerializerMethodField()
    issued_on = serializers.DateField()
    year = serializers.IntegerField()
    body = serializers.CharField()
    published_at = serializers.DateTimeField()
    file_url = serializers.SerializerMethodField()

    def get_doc_type_label(self, publication: Publication) -> str:
        return selectors.doc_type_label(publication.doc_type)

    def get_file_url(self, publication: Publication) -> str:
        from django.urls import reverse

        return reverse("portal-document-file", args=[publication.document_id])


class PortalDocumentApi(PublicApi):
    @extend_schema(
        operation_id="gk_document_retrieve", summary="政务公开：已公开公文的元数据与正文（无需登录）",
        responses=PublicationOutput, auth=[],
    )
    def get(self, request: Request, document_id: int) -> Response:
        return Response(PublicationOutput(selectors.published(document_id)).data)


# --- public: 依申请公开 -------------------------------------------------------------------


class RequestFileInput(serializers.Serializer):
    organisation_id = serializers.IntegerField(help_text="受理机关 id")
    name = serializers.CharField(max_length=100, help_text="申请人姓名或名称")
    contact = serializers.CharField(max_length=100, help_text="联系电话或电子邮箱")
    description = serializers.CharField(max_length=5000, help_text="所需政府信息的名称、文号或便于查询的其他特征描述")


class RequestFiledOutput(serializers.Serializer):
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    status = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class TrackingStepOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    done = serializers.BooleanField()
    current = serializers.BooleanField()
    at = serializers.DateTimeField(allow_null=True)
    detail = serializers.CharField()


class TrackingOutput(serializers.Serializer):
    tracking_number = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    due_on = serializers.DateField(allow_null=True)
    extended = serializers.SerializerMethodField()
    extension_reason = serializers.CharField()
    reply = serializers.SerializerMethodField()
    reply_file_url = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()

    def get_extended(self, filed: DisclosureRequest) -> bool:
        return filed.extended_at is not None

    def get_reply(self, filed: DisclosureRequest) -> str:
        return filed.reply if filed.status in (RequestStatus.REPLIED, RequestStatus.CONCLUDED) else ""

    def get_reply_file_url(self, filed: DisclosureRequest) -> str | None:
        from django.urls import reverse

        if filed.reply_file is None or filed.status not in (RequestStatus.REPLIED, RequestStatus.CONCLUDED):
            return None
        return reverse("portal-track-file", args=[filed.tracking_number])

    def get_steps(self, filed: DisclosureRequest) -> list[dict[str, Any]]:
        return list(TrackingStepOutput(selectors.tracking_steps(filed), many=True).data)


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store, private"
    return response


class RequestFileApi(PublicApi):
    parser_classes = [BoundedJSONParser, FormParser]

    @extend_schema(summary="依申请公开：提交申请（无需登录，按地址限制频率），返回查询码", request=RequestFileInput,
                   responses={201: RequestFiledOutput}, auth=[])
    def post(self, request: Request) -> Response:
        _limit("file", request)
        data = RequestFileInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            filed = services.request_file(**data.validated_data)
        from django.urls import reverse

        return _no_store(Response({
            "tracking_number": filed.tracking_number,
            "tracking_url": reverse("portal-track", args=[filed.tracking_number]),
            "status": filed.status,
            "submitted_at": filed.submitted_at,
        }, status=201))


class RequestTrackApi(PublicApi):
    @extend_schema(summary="依申请公开：按查询码查询办理进度（无需登录）", responses=TrackingOutput, auth=[])
    def get(self, request: Request, tracking_number: str) -> Response:
        _limit("track", request)
        return _no_store(Response(TrackingOutput(selectors.tracked(tracking_number)).data))


# --- staff: requests ----------------------------------------------------------------------


class RequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    tracking_number = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")
    organisation_id = serializers.IntegerField()
    name = serializers.CharField()
    contact = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    submitted_at = serializers.DateTimeField()
    registered_at = serializers.DateTimeField(allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    working_days_left = serializers.SerializerMethodField()
    extended_at = serializers.DateTimeField(allow_null=True)
    extension_reason = serializers.CharField()
    department = serializers.CharField(source="department.name", allow_null=True, default=None)
    assigned_at = serializers.DateTimeField(allow_null=True)
    reply = serializers.CharField()
    has_reply_file = serializers.SerializerMethodField()
    replied_at = serializers.DateTimeField(allow_null=True)
    concluded_at = serializers.DateTimeField(allow_null=True)

    def get_working_days_left(self, filed: DisclosureRequest) -> int | None:
        return selectors.working_days_left(filed)

    def get_has_reply_file(self, filed: DisclosureRequest) -> bool:
        return filed.reply_file is not None


class RequestDetailOutput(RequestOutput):
    actions = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()

    def get_actions(self, filed: DisclosureRequest) -> list[str]:
        return selectors.request_actions(self.context["user"], filed)

    def get_events(self, filed: DisclosureRequest) -> list[dict[str, Any]]:
        return [
            {"action": event.action, "actor": event.actor.display_name if event.actor else None, "note": event.note,
             "at": event.created_at.isoformat()}
            for event in selectors.request_events(filed)
        ]


def _detail(request: Request, request_id: int) -> Response:
    user = request_user(request)
    return Response(RequestDetailOutput(selectors.access_request(user, request_id), context={"user": user}).data)


class RequestListApi(APIView):
    @extend_schema(
        summary="依申请公开：本人办理的申请（受理机关办公室人员、承办人）",
        parameters=[OpenApiParameter("status", str, enum=RequestStatus.values)],
        responses=RequestOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status", "")
        requests = selectors.request_list(request_user(request), status=status)[:500]
        return Response(RequestOutput(requests, many=True).data)


class RequestDetailApi(APIView):
    @extend_schema(summary="依申请公开：申请详情（含内部办理记录）", responses=RequestDetailOutput)
    def get(self, request: Request, request_id: int) -> Response:
        return _detail(request, request_id)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AssignInput(NoteInput):
    department_id = serializers.IntegerField()


class ExtendInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ReplyInput(serializers.Serializer):
    reply = serializers.CharField(max_length=10000)
    file = serializers.FileField(required=False, help_text="答复附件（PDF）")


class RequestRegisterApi(APIView):
    @extend_schema(summary="依申请公开：登记（开始计算 20 个工作日答复期限）", request=NoteInput,
                   responses=RequestDetailOutput, operation_id="disclosure_request_register")
    def post(self, request: Request, request_id: int) -> Response:
        data = NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.request_register(request_id=request_id, actor=request_user(request), **data.validated_data)
        return _detail(request, request_id)


class RequestAssignApi(APIView):
    @extend_schema(summary="依申请公开：分办（指定承办部门）", request=AssignInput, responses=RequestDetailOutput,
                   operation_id="disclosure_request_assign")
    def post(self, request: Request, request_id: int) -> Response:
        data = AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.request_assign(request_id=request_id, actor=request_user(request), **data.validated_data)
        return _detail(request, request_id)


class RequestExtendApi(APIView):
    @extend_schema(summary="依申请公开：延长答复期限（仅一次，20 个工作日）", request=ExtendInput,
                   responses=RequestDetailOutput, operation_id="disclosure_request_extend")
    def post(self, request: Request, request_id: int) -> Response:
        data = ExtendInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.request_extend(request_id=request_id, actor=request_user(request), **data.validated_data)
        return _detail(request, request_id)


class RequestReplyApi(APIView):
    parser_classes = [MultiPartParser, FormParser, BoundedJSONParser]

    @extend_schema(summary="依申请公开：答复（可附 PDF）", request={"multipart/form-data": ReplyInput,
                                                                 "application/json": ReplyInput},
                   responses=RequestDetailOutput, operation_id="disclosure_request_reply")
    def post(self, request: Request, request_id: int) -> Response:
        data = ReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data.get("file")
        file_bytes = read_upload(upload, limit=settings.DISCLOSURE_REPLY_FILE_MAX_BYTES) if upload else None
        with transaction.atomic(durable=True):
            services.request_reply(request_id=request_id, actor=request_user(request), reply=data.validated_data["reply"],
                                   file_name=upload.name if upload else "", file_bytes=file_bytes)
        return _detail(request, request_id)


class RequestConcludeApi(APIView):
    @extend_schema(summary="依申请公开：办结", request=NoteInput, responses=RequestDetailOutput,
                   operation_id="disclosure_request_conclude")
    def post(self, request: Request, request_id: int) -> Response:
        data = NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.request_conclude(request_id=request_id, actor=request_user(request), **data.validated_data)
        return _detail(request, request_id)


class RequestReplyFileApi(APIView):
    @extend_schema(summary="依申请公开：下载答复附件", responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, request_id: int) -> HttpResponse:
        filed = selectors.access_request(request_user(request), request_id)
        if filed.reply_file is None:
            raise NotFound()
        return download(bytes(filed.reply_file), filed.reply_file_name or "答复.pdf", "application/pdf",
                        ascii_filename="reply.pdf")


class OverdueApi(APIView):
    @extend_schema(summary="依申请公开：逾期未答复的申请（受理机关办公室人员）", responses=RequestOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(RequestOutput(selectors.overdue_requests(request_user(request))[:500], many=True).data)


# --- staff: publications ------------------------------------------------------------------


class StaffPublicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    title = serializers.CharField()
    doc_number = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    published_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdraw_reason = serializers.CharField()


class WithdrawInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class PublicationListApi(APIView):
    @extend_schema(summary="政务公开：本机关公开的公文（办公室人员）", responses=StaffPublicationOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(StaffPublicationOutput(selectors.staff_publications(request_user(request))[:500], many=True).data)


class PublicationWithdrawApi(APIView):
    @extend_schema(summary="政务公开：撤回已公开的公文（记入审计）", request=WithdrawInput,
                   responses=StaffPublicationOutput, operation_id="disclosure_publication_withdraw")
    def post(self, request: Request, publication_id: int) -> Response:
        data = WithdrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            publication = services.publication_withdraw(publication_id=publication_id, actor=request_user(request),
                                                        **data.validated_data)
        return Response(StaffPublicationOutput(publication).data)
