"""REST API of the document flow. Each view is thin: parse the input, call one service (which
checks access) or one selector, serialise.

Every write opens its transaction here (``atomic(durable=True)``, officehub/transactions.py)
and calls the same service the pages call; each transition is one ``POST`` named after
the service's verb (``countersign`` → ``services.document_countersign``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import selectors, services
from documents.docx.importing import import_upload
from documents.edges import (
    DOCX_CONTENT_TYPE,
    attachment_download,
    docx_download,
    package_download,
    pdf_download,
    read_attachment_upload,
    request_user,
)
from documents.errors import DocumentInvalidInput, DocumentNotSealed
from documents.models import (
    Attachment,
    Disclosure,
    DocType,
    Document,
    DocumentStatus,
    DocumentVersion,
    SealRequest,
    Step,
    Urgency,
)
from documents.parsing import has_nul, parse_id
from officehub.directory.models import Clearance

# --- output -----------------------------------------------------------------------------


class RefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DocumentAttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(source="position", help_text="附件说明中的序号")
    name = serializers.CharField(help_text="附件名称（附件说明中显示）")
    kind = serializers.CharField(help_text="pdf/docx/xlsx/ofd/png/jpeg；text=随文附件（无文件，正文印在公文之后）")
    kind_label = serializers.CharField(source="get_kind_display")
    file_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    text = serializers.CharField()
    download_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_download_url(self, attachment: Attachment) -> str | None:
        if not attachment.is_file:
            return None
        return f"/api/documents/{attachment.document_id}/attachments/{attachment.pk}/file/"


class DocumentListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    direction = serializers.CharField()
    doc_type = serializers.CharField()
    doc_type_label = serializers.CharField(source="get_doc_type_display")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    title = serializers.CharField()
    doc_number = serializers.CharField()
    urgency = serializers.CharField()
    classification = serializers.IntegerField()
    issuer = RefOutput()
    recipient_organisation = RefOutput(allow_null=True)
    drafter = serializers.CharField(source="drafter.display_name")
    deadline = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class SealRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seal_id = serializers.IntegerField(allow_null=True)
    organisation = RefOutput(allow_null=True, help_text="用印机关（联合发文时各机关分别申请）")
    status = serializers.CharField()
    reason = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.display_name")
    decided_by = serializers.CharField(source="decided_by.display_name", allow_null=True, default=None)
    decision_reason = serializers.CharField()
    seal_record_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class JointIssuerOutput(serializers.Serializer):
    """联合发文: one issuing organisation, lead first, with its 签发 and 用印 status."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    signature_name = serializers.CharField()
    is_lead = serializers.BooleanField()
    sign_off = serializers.ChoiceField(
        choices=["pending", "open", "signed"], help_text="pending=未到签发，open=待签发，signed=已签发"
    )
    signed_by = serializers.CharField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    seal = serializers.ChoiceField(
        choices=["pending", "requested", "sealed", "rejected"],
        help_text="pending=未申请，requested=待用印，sealed=已用印，rejected=已驳回",
    )
    sealed_at = serializers.DateTimeField(allow_null=True)


class FeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    recipient_organisation = RefOutput()
    is_cc = serializers.BooleanField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    return_reason = serializers.CharField()
    reply = serializers.CharField()


class DocumentDetailOutput(DocumentListOutput):
    copy_number = serializers.CharField()
    secrecy_period = serializers.CharField()
    signer = serializers.CharField(source="signer.display_name", allow_null=True, default=None)
    body = serializers.CharField()
    attachments = serializers.SerializerMethodField()
    signature_name = serializers.CharField()
    issued_on = serializers.DateField(allow_null=True)
    note = serializers.CharField()
    disclosure = serializers.CharField()
    disclosure_label = serializers.CharField(source="get_disclosure_display")
    printing_office = serializers.CharField()
    printed_on = serializers.DateField(allow_null=True)
    # In the order the drafter entered them.
    primary_recipients = serializers.SerializerMethodField()
    cc_recipients = serializers.SerializerMethodField()
    countersign_departments = RefOutput(many=True)
    needs_seal = serializers.BooleanField()
    drafting_department = RefOutput()
    source_document_id = serializers.IntegerField(allow_null=True)
    is_cc = serializers.BooleanField()
    chaser = serializers.CharField(source="chaser.display_name", allow_null=True, default=None)
    lead_department = RefOutput(allow_null=True)
    return_reason = serializers.CharField()
    reply = serializers.CharField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    current_holders = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    seal_requests = SealRequestOutput(many=True)
    feedback = serializers.SerializerMethodField()
    joint_issuers = serializers.SerializerMethodField()

    @extend_schema_field(RefOutput(many=True))
    def get_primary_recipients(self, document: Document) -> list[dict[str, Any]]:
        return list(RefOutput(selectors.recipients(document, "primary"), many=True).data)

    @extend_schema_field(RefOutput(many=True))
    def get_cc_recipients(self, document: Document) -> list[dict[str, Any]]:
        return list(RefOutput(selectors.recipients(document, "cc"), many=True).data)

    @extend_schema_field(DocumentAttachmentOutput(many=True))
    def get_attachments(self, document: Document) -> list[dict[str, Any]]:
        return list(DocumentAttachmentOutput(selectors.current_attachments(document), many=True).data)

    def get_current_holders(self, document: Document) -> list[str]:
        return [user.display_name for user in selectors.current_holders(document)]

    def get_actions(self, document: Document) -> list[str]:
        return selectors.available_actions(self.context["user"], document)

    @extend_schema_field(JointIssuerOutput(many=True))
    def get_joint_issuers(self, document: Document) -> list[dict[str, Any]]:
        return list(JointIssuerOutput(selectors.joint_issuer_status(document), many=True).data)

    @extend_schema_field(FeedbackOutput(many=True))
    def get_feedback(self, document: Document) -> list[dict[str, Any]]:
        return list(FeedbackOutput(selectors.distribution_feedback(document), many=True).data)


def detail(document: Document, request: Request, status: int = 200) -> Response:
    document.refresh_from_db()
    return Response(DocumentDetailOutput(document, context={"user": request_user(request)}).data, status=status)


def detail_after_action(request: Request, document_id: int) -> Response:
    """The document as the actor sees it once the transition has committed."""
    return detail(selectors.access_document(request_user(request), document_id), request)


# --- list, create, read, update ------------------------------------------------------


class AttachmentInput(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)


class DocumentFieldsInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(required=False, allow_blank=True, max_length=200_000)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    classification = serializers.ChoiceField(choices=Clearance.choices, required=False)
    secrecy_period = serializers.CharField(max_length=20, required=False, allow_blank=True)
    copy_number = serializers.CharField(max_length=6, required=False, allow_blank=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)
    attachments = AttachmentInput(many=True, required=False)
    needs_seal = serializers.BooleanField(required=False)
    disclosure = serializers.ChoiceField(
        choices=Disclosure.choices, required=False,
        help_text="公开属性：proactive=主动公开（分发后自动在政务公开网站发布），on_request=依申请公开，withheld=不予公开（默认）；签发后不能修改",
    )
    primary_recipient_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=200)
    cc_recipient_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=200)
    countersign_department_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=50)
    co_issuer_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=10,
        help_text="联合发文机关（主办机关之后，按排列顺序）；空列表=单独发文；签发后不能修改",
    )


class DocumentCreateInput(DocumentFieldsInput):
    doc_type = serializers.ChoiceField(choices=DocType.choices)
    title = serializers.CharField(max_length=200)


class DocumentListApi(APIView):
    @extend_schema(
        summary="公文列表（发文 / 收文）",
        parameters=[
            OpenApiParameter("box", str, enum=["outgoing", "incoming"], description="outgoing=发文，incoming=收文"),
            OpenApiParameter("q", str, description="标题或发文字号"),
            OpenApiParameter("doc_type", str, enum=DocType.values),
            OpenApiParameter("status", str, enum=DocumentStatus.values),
        ],
        responses=DocumentListOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        box = request.query_params.get("box", "outgoing")
        if box not in ("outgoing", "incoming"):
            raise DocumentInvalidInput("box 只能是 outgoing 或 incoming。", extra={"field": "box"})
        filters = {key: request.query_params.get(key, "") for key in ("q", "doc_type", "status")}
        for key, value in filters.items():
            if has_nul(value):
                raise DocumentInvalidInput("查询条件中含有不允许的字符（NUL）。", extra={"field": key})
        user = request_user(request)
        documents = selectors.outgoing_list(user) if box == "outgoing" else selectors.incoming_inbox(user)
        documents = selectors.filter_documents(
            documents, query=filters["q"], doc_type=filters["doc_type"], status=filters["status"]
        ).select_related("issuer", "recipient_organisation", "drafter")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(documents, request, view=self)
        return paginator.get_paginated_response(DocumentListOutput(page, many=True).data)

    @extend_schema(summary="拟稿", request=DocumentCreateInput, responses={201: DocumentDetailOutput})
    def post(self, request: Request) -> Response:
        data = DocumentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        with transaction.atomic(durable=True):
            document = services.document_create_draft(actor=request_user(request), **values)
        return detail(document, request, status=201)


class DocumentDetailApi(APIView):
    @extend_schema(summary="公文详情", responses=DocumentDetailOutput)
    def get(self, request: Request, document_id: int) -> Response:
        return detail(selectors.access_document(request_user(request), document_id), request)

    @extend_schema(summary="修改公文（拟稿、核稿、复核环节）", request=DocumentFieldsInput, responses=DocumentDetailOutput)
    def patch(self, request: Request, document_id: int) -> Response:
        data = DocumentFieldsInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = services.DraftFields(**data.validated_data)
        with transaction.atomic(durable=True):
            document = services.document_update(document_id=document_id, actor=request_user(request), fields=fields)
        return detail(document, request)


# --- transitions ------------------------------------------------------------------------


class EmptyInput(serializers.Serializer):
    pass


class DecisionInput(serializers.Serializer):
    approve = serializers.BooleanField(help_text="true=同意，false=退回（须填写意见）")
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReviewInput(DecisionInput):
    countersign_department_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, allow_null=True, default=None, max_length=50
    )


class OpinionInput(serializers.Serializer):
    opinion = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class RegisterInput(serializers.Serializer):
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    chaser_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ScreenInput(serializers.Serializer):
    accept = serializers.BooleanField(help_text="true=通过，false=退回来文单位（须填写理由）")
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class InstructInput(serializers.Serializer):
    opinion = serializers.CharField(max_length=2000)
    lead_department_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    assisting_department_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=50
    )
    reader_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=500)


class ConcludeInput(serializers.Serializer):
    reply = serializers.CharField(max_length=5000)
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SealRequestInput(serializers.Serializer):
    seal_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class SealDecisionInput(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class RemindInput(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class ShareInput(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=200)


class SubmitApi(APIView):
    @extend_schema(
        summary="送审（拟稿 → 核稿）",
        request=EmptyInput,
        responses=DocumentDetailOutput,
        operation_id="documents_submit",
    )
    def post(self, request: Request, document_id: int) -> Response:
        EmptyInput(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_submit(document_id=document_id, actor=request_user(request))
        return detail_after_action(request, document_id)


class ReviewApi(APIView):
    @extend_schema(
        summary="核稿：同意或退回",
        request=ReviewInput,
        responses=DocumentDetailOutput,
        operation_id="documents_review",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_review(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class CountersignApi(APIView):
    @extend_schema(
        summary="会签：同意或退回",
        request=DecisionInput,
        responses=DocumentDetailOutput,
        operation_id="documents_countersign",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_countersign(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class SignOffApi(APIView):
    @extend_schema(
        summary="签发：同意（圈阅）或退回",
        request=DecisionInput,
        responses=DocumentDetailOutput,
        operation_id="documents_sign_off",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_sign_off(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class RecheckApi(APIView):
    @extend_schema(
        summary="复核：通过或退回",
        request=DecisionInput,
        responses=DocumentDetailOutput,
        operation_id="documents_recheck",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_recheck(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class AssignNumberApi(APIView):
    @extend_schema(
        summary="编号（发文字号）",
        request=EmptyInput,
        responses=DocumentDetailOutput,
        operation_id="documents_assign_number",
    )
    def post(self, request: Request, document_id: int) -> Response:
        EmptyInput(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_assign_number(document_id=document_id, actor=request_user(request))
        return detail_after_action(request, document_id)


class DistributeApi(APIView):
    @extend_schema(
        summary="分发：为每个主送、抄送机关生成收文",
        request=EmptyInput,
        responses=DocumentDetailOutput,
        operation_id="documents_distribute",
    )
    def post(self, request: Request, document_id: int) -> Response:
        EmptyInput(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_distribute(document_id=document_id, actor=request_user(request))
        return detail_after_action(request, document_id)


class ReceiveApi(APIView):
    @extend_schema(
        summary="签收",
        request=EmptyInput,
        responses=DocumentDetailOutput,
        operation_id="documents_receive",
    )
    def post(self, request: Request, document_id: int) -> Response:
        EmptyInput(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_receive(document_id=document_id, actor=request_user(request))
        return detail_after_action(request, document_id)


class RegisterApi(APIView):
    @extend_schema(
        summary="登记（办理时限、催办人）",
        request=RegisterInput,
        responses=DocumentDetailOutput,
        operation_id="documents_register",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_register(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class ScreenApi(APIView):
    @extend_schema(
        summary="初审：通过或退回来文单位",
        request=ScreenInput,
        responses=DocumentDetailOutput,
        operation_id="documents_screen",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = ScreenInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_screen(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class ProposeApi(APIView):
    @extend_schema(
        summary="拟办",
        request=OpinionInput,
        responses=DocumentDetailOutput,
        operation_id="documents_propose",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = OpinionInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_propose(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class InstructApi(APIView):
    @extend_schema(
        summary="批办：主办、协办部门与传阅人员",
        request=InstructInput,
        responses=DocumentDetailOutput,
        operation_id="documents_instruct",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = InstructInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_instruct(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class HandleApi(APIView):
    @extend_schema(
        summary="协办部门办理",
        request=OpinionInput,
        responses=DocumentDetailOutput,
        operation_id="documents_handle",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = OpinionInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_handle(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class ReadApi(APIView):
    @extend_schema(
        summary="传阅：标记已阅",
        request=EmptyInput,
        responses=DocumentDetailOutput,
        operation_id="documents_read",
    )
    def post(self, request: Request, document_id: int) -> Response:
        EmptyInput(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_read(document_id=document_id, actor=request_user(request))
        return detail_after_action(request, document_id)


class ConcludeApi(APIView):
    @extend_schema(
        summary="办结并答复来文单位",
        request=ConcludeInput,
        responses=DocumentDetailOutput,
        operation_id="documents_conclude",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = ConcludeInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_conclude(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class RemindApi(APIView):
    @extend_schema(
        summary="催办当前办理人",
        request=RemindInput,
        responses=DocumentDetailOutput,
        operation_id="documents_remind",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = RemindInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_remind(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class ShareApi(APIView):
    @extend_schema(
        summary="共享给指定人员",
        request=ShareInput,
        responses=DocumentDetailOutput,
        operation_id="documents_share",
    )
    def post(self, request: Request, document_id: int) -> Response:
        data = ShareInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            services.document_share(document_id=document_id, actor=request_user(request), **data.validated_data)
        return detail_after_action(request, document_id)


class SealRequestCreateApi(APIView):
    @extend_schema(summary="用印申请", request=SealRequestInput, responses={201: SealRequestOutput})
    def post(self, request: Request, document_id: int) -> Response:
        data = SealRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            seal_request = services.seal_request_create(
                document_id=document_id, actor=request_user(request), **data.validated_data
            )
        return Response(SealRequestOutput(seal_request).data, status=201)


class SealRequestDecideApi(APIView):
    @extend_schema(summary="印章管理员审批用印申请（同意即用印）", request=SealDecisionInput, responses=SealRequestOutput)
    def post(self, request: Request, seal_request_id: int) -> Response:
        data = SealDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            seal_request = services.seal_request_decide(
                seal_request_id=seal_request_id, actor=request_user(request), **data.validated_data
            )
        seal_request = SealRequest.objects.select_related("requested_by", "decided_by").get(pk=seal_request.pk)
        return Response(SealRequestOutput(seal_request).data)


# --- timeline, versions, comments, docx, import, overdue ------------------------------


class TimelineEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    role = serializers.CharField()
    round = serializers.IntegerField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    department = serializers.CharField(allow_null=True)
    holders = serializers.ListField(child=serializers.CharField())
    actor = serializers.CharField(allow_null=True)
    outcome = serializers.CharField()
    opinion = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    elapsed_seconds = serializers.IntegerField()
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    reminders = serializers.IntegerField()


class TimelineOutput(serializers.Serializer):
    status = serializers.CharField()
    status_label = serializers.CharField()
    current_holders = serializers.ListField(child=serializers.CharField())
    steps = TimelineEntryOutput(many=True)


class TimelineApi(APIView):
    @extend_schema(summary="流转跟踪（时间线）", responses=TimelineOutput)
    def get(self, request: Request, document_id: int) -> Response:
        document = selectors.access_document(request_user(request), document_id)
        return Response(
            TimelineOutput(
                {
                    "status": document.status,
                    "status_label": document.get_status_display(),
                    "current_holders": [u.display_name for u in selectors.current_holders(document)],
                    "steps": selectors.document_timeline(document),
                }
            ).data
        )


class VersionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    author = serializers.CharField(source="author.display_name")
    step_kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    attachments = serializers.SerializerMethodField(help_text="该版本当时的附件（按附件说明顺序）")

    @extend_schema_field(DocumentAttachmentOutput(many=True))
    def get_attachments(self, version: DocumentVersion) -> list[dict[str, Any]]:
        return list(DocumentAttachmentOutput(selectors.version_attachments(version), many=True).data)


class VersionsApi(APIView):
    @extend_schema(summary="版本列表", responses=VersionOutput(many=True))
    def get(self, request: Request, document_id: int) -> Response:
        document = selectors.access_document(request_user(request), document_id)
        return Response(VersionOutput(selectors.document_versions(document), many=True).data)


class DiffOpOutput(serializers.Serializer):
    op = serializers.ChoiceField(choices=["equal", "insert", "delete"])
    text = serializers.CharField()


class DiffOutput(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    title = DiffOpOutput(many=True)
    body = DiffOpOutput(many=True)
    body_html = serializers.CharField()


class DiffApi(APIView):
    @extend_schema(
        summary="修订痕迹（两个版本的差异）",
        parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int, required=True)],
        responses=DiffOutput,
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = selectors.access_document(request_user(request), document_id)
        numbers = []
        for key in ("from", "to"):
            number = parse_id(request.query_params.get(key, ""))
            if number is None:
                raise DocumentInvalidInput(f"请指定版本号参数 {key}。", extra={"field": key})
            numbers.append(number)
        diff = selectors.version_diff(document, numbers[0], numbers[1])
        return Response(
            {
                "from_version": diff["from"].number,
                "to_version": diff["to"].number,
                "title": [{"op": op.op, "text": op.text} for op in diff["title"]],
                "body": [{"op": op.op, "text": op.text} for op in diff["body"]],
                "body_html": selectors.diff_html(diff["body"]),
            }
        )


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version.number")
    author = serializers.CharField(source="author.display_name")
    quote = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class CommentInput(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    quote = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CommentsApi(APIView):
    @extend_schema(summary="某版本的批注", responses=CommentOutput(many=True))
    def get(self, request: Request, document_id: int, number: int) -> Response:
        document = selectors.access_document(request_user(request), document_id)
        version = selectors.version_of(document, number)
        comments = version.comments.select_related("author", "version")
        return Response(CommentOutput(comments, many=True).data)

    @extend_schema(summary="添加批注", request=CommentInput, responses={201: CommentOutput})
    def post(self, request: Request, document_id: int, number: int) -> Response:
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            comment = services.document_comment_add(
                document_id=document_id, actor=request_user(request), version_number=number, **data.validated_data
            )
        return Response(CommentOutput(comment).data, status=201)


class DocxApi(APIView):
    @extend_schema(
        summary="下载 DOCX（GB/T 9704 版式；已用印时为盖章签名版）",
        responses={(200, DOCX_CONTENT_TYPE): bytes},
    )
    def get(self, request: Request, document_id: int) -> HttpResponse:
        return docx_download(selectors.access_document(request_user(request), document_id))


class SealOptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()


class SealOptionsApi(APIView):
    @extend_schema(summary="用印申请可选的印章（发文机关当前可用、有印章管理员的印章；联合发文时为本人所在机关的）",
                   responses=SealOptionOutput(many=True))
    def get(self, request: Request, document_id: int) -> Response:
        document = selectors.access_document(request_user(request), document_id)
        return Response(SealOptionOutput(selectors.seal_options(document, request_user(request)), many=True).data)


class PdfApi(APIView):
    @extend_schema(summary="下载签章版式文件（PDF，印章签名在文件内；收文副本同样可下载）",
                   responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, document_id: int) -> HttpResponse:
        return pdf_download(selectors.access_document(request_user(request), document_id))


class PackageApi(APIView):
    @extend_schema(summary="下载验证文件包（签章 PDF、DOCX + .p7s、ca.pem、crl.pem、说明）",
                   responses={(200, "application/zip"): bytes})
    def get(self, request: Request, document_id: int) -> HttpResponse:
        return package_download(selectors.access_document(request_user(request), document_id))


class SealCheckOutput(serializers.Serializer):
    organisation = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField()
    valid = serializers.BooleanField()
    signed_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class SealVerificationOutput(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    valid = serializers.BooleanField()
    seals = SealCheckOutput(many=True)
    package_status = serializers.CharField()
    package_message = serializers.CharField()


class SealVerificationApi(APIView):
    @extend_schema(summary="验证公文的电子印章（从读者所持副本验证：签章 PDF 与 DOCX + .p7s）",
                   responses=SealVerificationOutput)
    def get(self, request: Request, document_id: int) -> Response:
        document = selectors.access_document(request_user(request), document_id)
        verification = selectors.document_seal_verification(document)
        if verification is None:
            raise DocumentNotSealed()
        return Response(SealVerificationOutput(verification).data)


# --- 附件 ---------------------------------------------------------------------------------


class DocumentAttachmentUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)  # the service says file.empty
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                 help_text="附件名称；不填则用文件名（不含扩展名）")


class AttachmentsApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(summary="附件列表（按附件说明顺序）", responses=DocumentAttachmentOutput(many=True))
    def get(self, request: Request, document_id: int) -> Response:
        document = selectors.access_document(request_user(request), document_id)
        return Response(DocumentAttachmentOutput(selectors.current_attachments(document), many=True).data)

    @extend_schema(
        summary="上传附件（仅拟稿人在拟稿环节；PDF、DOCX、XLSX、OFD、PNG/JPEG，按内容识别类型）",
        request={"multipart/form-data": DocumentAttachmentUploadInput}, responses={201: DocumentAttachmentOutput},
    )
    def post(self, request: Request, document_id: int) -> Response:
        actor = request_user(request)
        selectors.access_document(actor, document_id)  # outsiders: 404 before the file is read
        data = DocumentAttachmentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        content = read_attachment_upload(upload)
        if has_nul(data.validated_data["name"]):
            raise DocumentInvalidInput("内容中含有不允许的字符（NUL）。", extra={"field": "name"})
        with transaction.atomic(durable=True):
            attachment = services.attachment_upload(
                document_id=document_id, actor=actor, file_name=upload.name or "", data=content,
                name=data.validated_data["name"],
            )
        return Response(DocumentAttachmentOutput(attachment).data, status=201)


class AttachmentApi(APIView):
    @extend_schema(summary="移除附件（仅拟稿人在拟稿环节；历史版本仍保留该附件）", responses={204: None})
    def delete(self, request: Request, document_id: int, attachment_id: int) -> Response:
        with transaction.atomic(durable=True):
            services.attachment_remove(document_id=document_id, attachment_id=attachment_id, actor=request_user(request))
        return Response(status=204)


class AttachmentFileApi(APIView):
    @extend_schema(summary="下载附件文件（与公文相同的查看权限；含历史版本的附件）",
                   responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, document_id: int, attachment_id: int) -> HttpResponse:
        _document, attachment = selectors.access_attachment(request_user(request), document_id, attachment_id)
        return attachment_download(attachment)


class DocumentAttachmentOrderInput(serializers.Serializer):
    attachment_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), max_length=100)


class AttachmentOrderApi(APIView):
    @extend_schema(summary="调整附件顺序（列出全部附件 id 各一次）", request=DocumentAttachmentOrderInput,
                   responses=DocumentAttachmentOutput(many=True))
    def post(self, request: Request, document_id: int) -> Response:
        data = DocumentAttachmentOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            document = services.attachment_reorder(
                document_id=document_id, actor=request_user(request), attachment_ids=data.validated_data["attachment_ids"]
            )
        return Response(DocumentAttachmentOutput(selectors.current_attachments(document), many=True).data)


class ImportOutput(serializers.Serializer):
    title = serializers.CharField()
    body = serializers.CharField()


class ImportInput(serializers.Serializer):
    file = serializers.FileField()


class ImportDocxApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(summary="从 DOCX 导入标题和正文", request={"multipart/form-data": ImportInput}, responses=ImportOutput)
    def post(self, request: Request) -> Response:
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        imported = import_upload(data.validated_data["file"])
        return Response({"title": imported.title, "body": imported.body})


class OverdueOutput(serializers.Serializer):
    step_id = serializers.IntegerField(source="pk")
    document_id = serializers.IntegerField()
    title = serializers.CharField(source="document.title")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    due_at = serializers.DateTimeField()
    holders = serializers.SerializerMethodField()

    def get_holders(self, step: Step) -> list[str]:
        return [holder.display_name for holder in step.holders.all()]


class OverdueApi(APIView):
    @extend_schema(summary="本机关逾期事项", responses=OverdueOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(OverdueOutput(selectors.overdue_steps(request_user(request))[:500], many=True).data)
