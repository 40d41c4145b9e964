"""Seal API: thin views over selectors and services (parse, access, one call, serialise).
Every write opens its transaction here (officehub/transactions.py).

Key material never appears here: output serializers list their fields explicitly and none
of them reads ``wrapped_key``.
"""

from __future__ import annotations

import base64
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from seals import selectors, services
from seals.crypto import VerificationResult
from seals.edges import (
    VerifyThrottle,
    package_download,
    refresh_crl,
    request_user,
    verify_uploads,
)
from seals.errors import ca_missing
from seals.models import KeyType, RevocationReason, Seal, SealKind

# --------------------------------------------------------------------------- output


class PersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()


class SealOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    name = serializers.CharField()
    lower_text = serializers.CharField()
    organisation_id = serializers.IntegerField(source="owner_organisation_id")
    organisation = serializers.CharField(source="owner_organisation.name")
    owner_person_id = serializers.IntegerField(allow_null=True)
    status = serializers.SerializerMethodField(help_text="有效状态：已过有效期的印章显示为 expired")
    status_display = serializers.CharField(source="get_effective_status_display")
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    serial = serializers.CharField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revocation_reason = serializers.CharField()
    custodians = serializers.SerializerMethodField()

    def get_status(self, seal: Seal) -> str:
        return seal.effective_status()

    def get_custodians(self, seal: Seal) -> list[dict[str, Any]]:
        return list(PersonOutput(selectors.seal_custodians(seal), many=True).data)


class SealDetailOutput(SealOutput):
    certificate_pem = serializers.CharField()
    image_png_base64 = serializers.SerializerMethodField()

    def get_image_png_base64(self, seal: Seal) -> str:
        return base64.b64encode(bytes(seal.image)).decode("ascii")


class SealRecordOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seal_id = serializers.IntegerField()
    seal = serializers.CharField(source="seal.name")
    document_ref = serializers.CharField()
    title = serializers.CharField()
    sha256 = serializers.CharField()
    signing_time = serializers.DateTimeField()
    actor_id = serializers.IntegerField()
    actor = serializers.CharField(source="actor.display_name")
    created_at = serializers.DateTimeField()


class VerificationOutput(serializers.Serializer):
    valid = serializers.BooleanField(source="is_valid")
    status = serializers.CharField()
    reason = serializers.CharField(source="reason_code")
    message = serializers.CharField(source="message_zh")
    signer = serializers.CharField(source="signer_subject", allow_null=True)
    signer_serial = serializers.SerializerMethodField()
    signing_time = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    content_sha256 = serializers.CharField()
    seal = serializers.SerializerMethodField()

    def get_signer_serial(self, result: VerificationResult) -> str | None:
        return services.serial_hex(result.signer_serial) if result.signer_serial is not None else None

    def get_seal(self, result: VerificationResult) -> dict[str, Any] | None:
        if result.signer_serial is None:
            return None
        seal = (
            Seal.objects.filter(serial=services.serial_hex(result.signer_serial))
            .select_related("owner_organisation")
            .only("pk", "name", "owner_organisation__name")
            .first()
        )
        return {"id": seal.pk, "name": seal.name, "organisation": seal.owner_organisation.name} if seal else None


def verification_payload(result: VerificationResult) -> dict[str, Any]:
    return dict(VerificationOutput(result).data)


# --------------------------------------------------------------------------- seals


class SealIssueInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SealKind.choices)
    owner_organisation_id = serializers.IntegerField()
    owner_person_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    custodian_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=20)
    name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    lower_text = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    valid_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    key_type = serializers.ChoiceField(choices=KeyType.choices, required=False, default=KeyType.EC)
    activate = serializers.BooleanField(required=False, default=False)


class SealListApi(APIView):
    @extend_schema(summary="我管理的印章（管理员：全部印章）", responses=SealOutput(many=True))
    def get(self, request: Request) -> Response:
        seals = selectors.seals_visible_to(request_user(request)).prefetch_related("custodians")
        return Response(SealOutput(seals, many=True).data)

    @extend_schema(summary="签发印章（系统管理员）", request=SealIssueInput, responses={201: SealDetailOutput})
    def post(self, request: Request) -> Response:
        data = SealIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        activate = values.pop("activate")
        actor = request_user(request)
        with transaction.atomic(durable=True):
            seal = services.seal_issue(actor=actor, **values)
            if activate:
                seal = services.seal_activate(actor=actor, seal_id=seal.pk)
        return Response(SealDetailOutput(seal).data, status=201)


class SealDetailApi(APIView):
    @extend_schema(summary="印章详情（含证书与印模）", responses=SealDetailOutput)
    def get(self, request: Request, seal_id: int) -> Response:
        return Response(SealDetailOutput(selectors.access_seal(request_user(request), seal_id)).data)


class SealNoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class SealRevokeInput(SealNoteInput):
    reason = serializers.ChoiceField(choices=RevocationReason.choices, default=RevocationReason.UNSPECIFIED)


class SealActivateApi(APIView):
    @extend_schema(summary="启用印章（系统管理员）", request=SealNoteInput, responses=SealOutput)
    def post(self, request: Request, seal_id: int) -> Response:
        actor = request_user(request)
        selectors.access_seal(actor, seal_id)
        SealNoteInput(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            seal = services.seal_activate(actor=actor, seal_id=seal_id)
        return Response(SealOutput(seal).data)


class SealSuspendApi(APIView):
    @extend_schema(summary="暂停印章（系统管理员或本章管理员）", request=SealNoteInput, responses=SealOutput)
    def post(self, request: Request, seal_id: int) -> Response:
        actor = request_user(request)
        selectors.access_seal(actor, seal_id)
        data = SealNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            seal = services.seal_suspend(actor=actor, seal_id=seal_id, **data.validated_data)
        return Response(SealOutput(seal).data)


class SealResumeApi(APIView):
    @extend_schema(summary="恢复印章（系统管理员）", request=SealNoteInput, responses=SealOutput)
    def post(self, request: Request, seal_id: int) -> Response:
        actor = request_user(request)
        selectors.access_seal(actor, seal_id)
        data = SealNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            seal = services.seal_resume(actor=actor, seal_id=seal_id, **data.validated_data)
        return Response(SealOutput(seal).data)


class SealRevokeApi(APIView):
    @extend_schema(summary="吊销印章并更新CRL（系统管理员）", request=SealRevokeInput, responses=SealOutput)
    def post(self, request: Request, seal_id: int) -> Response:
        actor = request_user(request)
        selectors.access_seal(actor, seal_id)
        data = SealRevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            seal = services.seal_revoke(actor=actor, seal_id=seal_id, **data.validated_data)
        return Response(SealOutput(seal).data)


class SealCustodiansInput(serializers.Serializer):
    custodian_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=20)


class SealCustodiansApi(APIView):
    @extend_schema(summary="更换印章管理员（系统管理员）", request=SealCustodiansInput, responses=SealOutput)
    def put(self, request: Request, seal_id: int) -> Response:
        actor = request_user(request)
        selectors.access_seal(actor, seal_id)
        data = SealCustodiansInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic(durable=True):
            seal = services.seal_set_custodians(actor=actor, seal_id=seal_id, **data.validated_data)
        return Response(SealOutput(seal).data)


class SealRecordsApi(APIView):
    @extend_schema(summary="印章的用印记录", responses=SealRecordOutput(many=True))
    def get(self, request: Request, seal_id: int) -> Response:
        seal = selectors.access_seal(request_user(request), seal_id)
        return Response(SealRecordOutput(selectors.seal_records(seal)[:500], many=True).data)


# --------------------------------------------------------------------------- records


class SealRecordDetailApi(APIView):
    @extend_schema(
        summary="用印记录及其当前验证结果",
        responses=inline_serializer("SealRecordVerified", {"record": SealRecordOutput(), "verification": VerificationOutput()}),
    )
    def get(self, request: Request, record_id: int) -> Response:
        record = selectors.access_seal_record(request_user(request), record_id)
        result = services.seal_record_verify(record_id=record.pk)
        return Response({"record": SealRecordOutput(record).data, "verification": verification_payload(result)})


class SealRecordPackageApi(APIView):
    @extend_schema(
        summary="下载用印文件包（DOCX、.p7s、CA证书、CRL、说明）",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, record_id: int) -> HttpResponse:
        return package_download(selectors.access_seal_record(request_user(request), record_id))


# --------------------------------------------------------------------------- verification


class VerifyInput(serializers.Serializer):
    pdf = serializers.FileField(required=False, help_text="签章版式文件（PDF）")
    docx = serializers.FileField(required=False, help_text="用印后的 DOCX（与 p7s 一起）")
    p7s = serializers.FileField(required=False, help_text="分离式 CMS 签名（DER）")


class SealFindingOutput(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    valid = serializers.BooleanField()
    organisation = serializers.CharField(allow_null=True)
    seal = serializers.CharField(allow_null=True)
    signer = serializers.CharField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class UploadVerificationOutput(serializers.Serializer):
    kind = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField()
    valid = serializers.BooleanField()
    seals = SealFindingOutput(many=True)
    sha256 = serializers.CharField()


class VerifyApi(APIView):
    """Public: anyone a document reaches — another organisation, a citizen — verifies its
    seals here without an account. Rate-limited per address; stores nothing."""

    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [AllowAny]
    throttle_classes = [VerifyThrottle]

    @extend_schema(
        summary="验章：上传签章 PDF，或 DOCX 与 .p7s（无需登录）",
        request={"multipart/form-data": VerifyInput},
        responses={
            200: UploadVerificationOutput,
            400: OpenApiResponse(description="缺少文件"),
            413: OpenApiResponse(description="文件过大"),
            415: OpenApiResponse(description="不是 PDF，或不是 DOCX + .p7s"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(UploadVerificationOutput(verify_uploads(data.validated_data)).data)


class CaApi(APIView):
    @extend_schema(
        summary="印章CA证书与当前吊销列表（PEM）",
        responses=inline_serializer(
            "SealCa",
            {
                "certificate_pem": serializers.CharField(),
                "crl_pem": serializers.CharField(),
                "crl_number": serializers.IntegerField(),
                "serial": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        ca = selectors.active_ca()
        if ca is None:
            raise ca_missing()
        refresh_crl(ca.pk)
        ca.refresh_from_db()
        return Response(
            {"certificate_pem": ca.certificate_pem, "crl_pem": ca.crl_pem, "crl_number": ca.crl_number, "serial": ca.serial}
        )
