"""Archive API: search, catalogue export, legacy upload, document archiving, records."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from officehub.directory.models import Clearance
from officehub.edges import download, request_user
from officehub.uploads import read_upload
from search import services
from search.exports import catalogue_csv
from search.files import sha256_hex
from search.global_search import PAGE_SIZE, QUERY_MAX_CHARS, TAB_LABELS, TABS, global_search
from search.models import DOC_TYPES, ArchiveRecord, Retention
from search.query import SearchParams
from search.selectors import SearchHit, access_archive_record, archive_export_rows, archive_search

SORTS = [("relevance", "相关度"), ("date", "日期（新→旧）"), ("date_asc", "日期（旧→新）")]


class SearchInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    year_from = serializers.IntegerField(required=False, min_value=1900, max_value=2100, allow_null=True, default=None)
    year_to = serializers.IntegerField(required=False, min_value=1900, max_value=2100, allow_null=True, default=None)
    doc_type = serializers.ListField(child=serializers.ChoiceField(choices=list(DOC_TYPES.items())), required=False, default=list)
    issuer = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    retention = serializers.ListField(child=serializers.ChoiceField(choices=Retention.choices), required=False, default=list)
    unit_code = serializers.ListField(child=serializers.CharField(max_length=10), required=False, default=list)
    classification = serializers.ListField(child=serializers.ChoiceField(choices=Clearance.choices), required=False, default=list)
    sort = serializers.ChoiceField(choices=SORTS, required=False, default="relevance")
    page = serializers.IntegerField(required=False, min_value=1, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("year_from") and attrs.get("year_to") and attrs["year_from"] > attrs["year_to"]:
            raise serializers.ValidationError({"year_from": "起始年度不能晚于截止年度。"})
        return attrs

    def to_params(self) -> SearchParams:
        data = self.validated_data
        return SearchParams(
            q=data["q"].strip(),
            year_from=data["year_from"],
            year_to=data["year_to"],
            doc_types=list(data["doc_type"]),
            issuers=list(data["issuer"]),
            retentions=list(data["retention"]),
            unit_codes=list(data["unit_code"]),
            classifications=[int(c) for c in data["classification"]],
            sort=data["sort"],
            page=data["page"],
            page_size=data["page_size"],
        )


def parse_search(query: Any) -> SearchParams:
    serializer = SearchInput(data=query)
    serializer.is_valid(raise_exception=True)
    return serializer.to_params()


class FacetBucketOutput(serializers.Serializer):
    value = serializers.CharField()
    # A field named like Field.label: DRF pops declared fields off the class, so it is safe.
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class SearchHitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    archive_code = serializers.CharField()
    doc_number = serializers.CharField()
    title = serializers.CharField()
    title_html = serializers.CharField(help_text="escaped title; only <em> tags mark matches")
    snippets_html = serializers.ListField(child=serializers.CharField())
    responsible_party = serializers.CharField()
    record_date = serializers.DateField()
    catalogue_date = serializers.CharField()
    year = serializers.IntegerField()
    page_count = serializers.IntegerField()
    classification = serializers.IntegerField()
    classification_label = serializers.CharField()
    doc_type = serializers.CharField()
    doc_type_label = serializers.CharField()
    retention = serializers.CharField()
    retention_label = serializers.CharField()
    unit_code = serializers.CharField()
    note = serializers.CharField()
    score = serializers.FloatField(allow_null=True)


class SearchOutput(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    hits = SearchHitOutput(many=True)
    facets = serializers.DictField(child=FacetBucketOutput(many=True))
    degraded = serializers.BooleanField()
    notice = serializers.CharField(allow_blank=True)


class ArchiveSearchApi(APIView):
    @extend_schema(parameters=[SearchInput], responses=SearchOutput, summary="档案检索")
    def get(self, request: Request) -> Response:
        result = archive_search(user=request_user(request), params=parse_search(request.query_params))
        # The result is a SearchResult TypedDict of plain JSON values (SearchOutput documents
        # it); skipping the output serializer saves several ms on every search.
        return Response(result)


def catalogue_response(hits: list[SearchHit], *, degraded: bool) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    response = download(
        catalogue_csv(hits).encode(),
        f"归档文件目录-{stamp}.csv",
        "text/csv; charset=utf-8",
        ascii_filename=f"archive-catalogue-{stamp}.csv",
    )
    response["X-Search-Degraded"] = "true" if degraded else "false"
    return response


class ArchiveExportApi(APIView):
    @extend_schema(parameters=[SearchInput], responses={(200, "text/csv"): OpenApiTypes.STR}, summary="导出归档文件目录（CSV）")
    def get(self, request: Request) -> HttpResponse:
        hits, degraded = archive_export_rows(user=request_user(request), params=parse_search(request.query_params))
        return catalogue_response(hits, degraded=degraded)


class RecordOutput(serializers.ModelSerializer):
    catalogue_date = serializers.CharField()
    classification_label = serializers.CharField(source="get_classification_display")
    retention_label = serializers.CharField(source="get_retention_display")
    doc_type_label = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")
    archived_by = serializers.CharField(source="archived_by.display_name")
    stamp = serializers.SerializerMethodField()

    class Meta:
        model = ArchiveRecord
        fields = [
            "id", "archive_code", "fonds_code", "category", "year", "retention", "retention_label", "unit_code",
            "item_number", "page_count", "responsible_party", "title", "record_date", "catalogue_date",
            "classification", "classification_label", "doc_number", "doc_type", "doc_type_label", "note", "source",
            "file_name", "content_type", "sha256", "organisation", "archived_by", "archived_at", "stamp",
        ]

    def get_stamp(self, record: ArchiveRecord) -> dict[str, Any]:
        return {
            "fonds_code": record.fonds_code,
            "year": record.year,
            "item_number": record.item_number,
            "unit_code": record.unit_code,
            "retention": record.get_retention_display(),
            "page_count": record.page_count,
        }


class LegacyUploadInput(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(max_length=500)
    record_date = serializers.DateField()
    retention = serializers.ChoiceField(choices=Retention.choices)
    classification = serializers.ChoiceField(choices=Clearance.choices, default=Clearance.PUBLIC)
    responsible_party = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    doc_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    doc_type = serializers.ChoiceField(choices=list(DOC_TYPES.items()), required=False, allow_blank=True, default="")
    unit_code = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    page_count = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    content_text = serializers.CharField(required=False, allow_null=True, default=None, help_text="PDF 的全文（可选）")
    scope_department_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    reader_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


def read_archive_upload(upload: UploadedFile) -> bytes:
    """The uploaded file's bytes, at most ``DOCX_IMPORT_MAX_BYTES`` (413 ``archive.file_too_large``)."""
    return read_upload(upload, limit=settings.DOCX_IMPORT_MAX_BYTES, code="archive.file_too_large")


class ArchiveRecordCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=LegacyUploadInput, responses={201: RecordOutput}, summary="上传历史档案")
    def post(self, request: Request) -> Response:
        serializer = LegacyUploadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        upload = data.pop("file")
        file_bytes = read_archive_upload(upload)
        with transaction.atomic():
            record = services.archive_legacy_upload(
                actor=request_user(request),
                file_name=upload.name,
                file_bytes=file_bytes,
                classification=int(data.pop("classification")),
                **data,
            )
        return Response(RecordOutput(record).data, status=status.HTTP_201_CREATED)


class ArchiveDocumentInput(serializers.Serializer):
    retention = serializers.ChoiceField(choices=Retention.choices)
    unit_code = serializers.CharField(max_length=10, required=False, allow_blank=True, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ArchiveDocumentApi(APIView):
    @extend_schema(request=ArchiveDocumentInput, responses={201: RecordOutput}, summary="公文归档")
    def post(self, request: Request, document_id: int) -> Response:
        serializer = ArchiveDocumentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            record = services.archive_document(
                document_id=document_id, actor=request_user(request), **serializer.validated_data
            )
        return Response(RecordOutput(record).data, status=status.HTTP_201_CREATED)


class ArchiveRecordApi(APIView):
    @extend_schema(responses=RecordOutput, summary="档案详情")
    def get(self, request: Request, record_id: int) -> Response:
        return Response(RecordOutput(access_archive_record(request.user, record_id)).data)

    @extend_schema(request=None, responses={409: None}, summary="修改档案（总是拒绝：archive.immutable）")
    def patch(self, request: Request, record_id: int) -> Response:
        changes = {str(key): value for key, value in request.data.items()} if hasattr(request.data, "items") else {}
        services.archive_record_update(record_id=record_id, actor=request_user(request), **changes)
        return Response(status=status.HTTP_409_CONFLICT)  # unreachable: the service raises

    put = patch

    @extend_schema(responses={409: None}, summary="删除档案（总是拒绝：archive.immutable）")
    def delete(self, request: Request, record_id: int) -> Response:
        services.archive_record_delete(record_id=record_id, actor=request_user(request))
        return Response(status=status.HTTP_409_CONFLICT)


class FixityOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    sha256 = serializers.CharField()
    computed = serializers.CharField()


class ArchiveFixityApi(APIView):
    @extend_schema(responses=FixityOutput, summary="校验档案文件摘要（SHA-256）")
    def get(self, request: Request, record_id: int) -> Response:
        record = access_archive_record(request.user, record_id, with_file=True)
        computed = sha256_hex(bytes(record.file_bytes))
        return Response({"ok": computed == record.sha256, "sha256": record.sha256, "computed": computed})


class ArchiveFileApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("record_id", int, OpenApiParameter.PATH)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="下载归档文件（含归档章）",
    )
    def get(self, request: Request, record_id: int) -> HttpResponse:
        record = access_archive_record(request.user, record_id, with_file=True)
        return file_response(record)


def file_response(record: ArchiveRecord) -> HttpResponse:
    extension = ".docx" if record.content_type.endswith("document") else ".pdf"
    response = download(
        bytes(record.file_bytes),
        record.archive_code + extension,
        record.content_type,
        ascii_filename=f"{record.archive_code.replace('·', '.')}{extension}",
    )
    response["X-Content-SHA256"] = record.sha256
    return response


# ---------------------------------------------------------------------------- 全局搜索


class GlobalSearchInput(serializers.Serializer):
    q = serializers.CharField(max_length=QUERY_MAX_CHARS, help_text="搜索内容（姓名、群名称、消息、公文标题/正文/文号、档案）")
    tab = serializers.ChoiceField(
        choices=[(tab, TAB_LABELS[tab]) for tab in TABS], required=False, default="messages", help_text="结果分类"
    )
    page = serializers.IntegerField(required=False, min_value=1, max_value=500, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=50, default=PAGE_SIZE)


class GlobalHitOutput(serializers.Serializer):
    """One result; which fields it has depends on ``type`` (person, group, message,
    document, archive). ``*_html`` fields are escaped text where only <em> marks a match."""

    type = serializers.ChoiceField(choices=["person", "group", "message", "document", "archive"])
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="打开：发起单聊、会话、定位到该消息的会话、公文或档案页面")
    name = serializers.CharField(required=False)
    username = serializers.CharField(required=False)
    department = serializers.CharField(required=False, allow_blank=True)
    position = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    title_html = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.CharField(required=False)
    member_count = serializers.IntegerField(required=False)
    conversation_id = serializers.IntegerField(required=False)
    conversation_title = serializers.CharField(required=False, allow_blank=True)
    conversation_kind = serializers.CharField(required=False)
    seq = serializers.IntegerField(required=False)
    sender_name = serializers.CharField(required=False)
    created_at = serializers.CharField(required=False)
    time_label = serializers.CharField(required=False)
    snippet_html = serializers.CharField(required=False, allow_blank=True)
    snippets_html = serializers.ListField(child=serializers.CharField(), required=False)
    doc_number = serializers.CharField(required=False, allow_blank=True)
    doc_type_label = serializers.CharField(required=False, allow_blank=True)
    direction_label = serializers.CharField(required=False)
    status_label = serializers.CharField(required=False)
    updated_at = serializers.CharField(required=False)
    archive_code = serializers.CharField(required=False)
    record_date = serializers.CharField(required=False)


class GlobalCountsOutput(serializers.Serializer):
    people = serializers.IntegerField()
    groups = serializers.IntegerField()
    messages = serializers.IntegerField()
    documents = serializers.IntegerField()
    archives = serializers.IntegerField()


class GlobalSearchOutput(serializers.Serializer):
    q = serializers.CharField()
    tab = serializers.CharField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    counts = GlobalCountsOutput(help_text="每个分类的结果数（均已按权限过滤）")
    total = serializers.IntegerField(help_text="当前分类的结果数")
    results = GlobalHitOutput(many=True)
    degraded = serializers.BooleanField(help_text="全文检索不可用，结果来自数据库简易检索")
    notice = serializers.CharField(allow_blank=True)


def parse_global_search(query: Any) -> dict[str, Any]:
    serializer = GlobalSearchInput(data=query)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class GlobalSearchApi(APIView):
    @extend_schema(
        parameters=[GlobalSearchInput], responses=GlobalSearchOutput, summary="全局搜索（联系人/群聊/聊天记录/公文/档案）"
    )
    def get(self, request: Request) -> Response:
        data = parse_global_search(request.query_params)
        # A GlobalSearchResult of plain JSON values (GlobalSearchOutput documents it).
        return Response(global_search(user=request_user(request), **data))
