"""档案 pages: search (档案检索), record (with the 归档章), legacy upload, catalogue export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError as DrfValidationError

from officehub.directory.models import Clearance, Role
from officehub.edges import request_user
from officehub.errors import ApplicationError, NotFound
from search import services
from search.apis import (
    SORTS,
    LegacyUploadInput,
    catalogue_response,
    file_response,
    parse_global_search,
    parse_search,
    read_archive_upload,
)
from search.files import sha256_hex
from search.global_search import TAB_LABELS, TABS, global_search
from search.models import DOC_TYPES, Retention
from search.selectors import (
    FacetBucket,
    access_archive_record,
    archivable_documents,
    archive_export_rows,
    archive_search,
)

FACET_TITLES = {
    "year": "年度",
    "doc_type": "文种",
    "issuer": "责任者",
    "retention": "保管期限",
    "unit_code": "机构（问题）",
    "classification": "密级",
}
FACET_PARAMS = {name: name for name in ("doc_type", "issuer", "retention", "unit_code", "classification")}


def _first_error(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_error(value)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0])
    return str(detail)


def _query_without(request: HttpRequest, **changes: Any) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            if isinstance(value, list):
                query.setlist(key, value)
            else:
                query[key] = value
    return query.urlencode()


def _facet_links(request: HttpRequest, facets: dict[str, list[FacetBucket]]) -> list[dict[str, Any]]:
    groups = []
    for name, buckets in facets.items():
        if not buckets:
            continue
        items: list[dict[str, Any]] = []
        for bucket in buckets:
            if name == "year":
                selected = request.GET.get("year_from") == bucket["value"] == request.GET.get("year_to")
                year = None if selected else bucket["value"]
                url = _query_without(request, year_from=year, year_to=year)
            else:
                param = FACET_PARAMS[name]
                current = request.GET.getlist(param)
                selected = bucket["value"] in current
                values = [v for v in current if v != bucket["value"]] if selected else [*current, bucket["value"]]
                url = _query_without(request, **{param: values})
            items.append({**bucket, "selected": selected, "url": "?" + url})
        if name == "year":
            items.sort(key=lambda item: item["value"], reverse=True)
        groups.append({"name": name, "title": FACET_TITLES[name], "items": items})
    return groups


@login_required
def archive_search_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "q": request.GET.get("q", ""),
        "sorts": SORTS,
        "doc_types": DOC_TYPES.items(),
        "retentions": Retention.choices,
        "current": request.GET,
        "is_archivist": request_user(request).has_role(Role.ARCHIVIST),
    }
    status = 200
    try:
        params = parse_search(request.GET)
        result = archive_search(user=request_user(request), params=params)
    except DrfValidationError as exc:
        context["error"] = f"检索条件有误：{_first_error(exc.detail)}"
        status = 400
    except ApplicationError as exc:
        context["error"] = exc.message
        status = exc.status
    else:
        pages = max(1, -(-result["total"] // params.page_size))
        has_next = params.page < pages and params.page * params.page_size < 10000
        context.update(
            result=result,
            params=params,
            facets=_facet_links(request, result["facets"]),
            pages=pages,
            prev_url="?" + _query_without(request, page=str(params.page - 1)) if params.page > 1 else "",
            next_url="?" + _query_without(request, page=str(params.page + 1)) if has_next else "",
            export_url="export.csv?" + _query_without(request),
            searched=bool(request.GET),
        )
    return render(request, "search/search.html", context, status=status)


@login_required
def archive_export_page(request: HttpRequest) -> HttpResponse:
    try:
        params = parse_search(request.GET)
    except DrfValidationError as exc:
        return HttpResponse(f"检索条件有误：{_first_error(exc.detail)}", status=400, content_type="text/plain; charset=utf-8")
    hits, degraded = archive_export_rows(user=request_user(request), params=params)
    return catalogue_response(hits, degraded=degraded)


@login_required
def archive_record_page(request: HttpRequest, record_id: int) -> HttpResponse:
    try:
        record = access_archive_record(request.user, record_id, with_file=request.GET.get("check") == "1")
    except NotFound as exc:
        return render(request, "search/not_found.html", {"message": exc.message}, status=404)
    fixity = None
    if request.GET.get("check") == "1":
        fixity = sha256_hex(bytes(record.file_bytes)) == record.sha256
    return render(request, "search/record.html", {"record": record, "fixity": fixity})


@login_required
def archive_file_page(request: HttpRequest, record_id: int) -> HttpResponse:
    try:
        record = access_archive_record(request.user, record_id, with_file=True)
    except NotFound as exc:
        return render(request, "search/not_found.html", {"message": exc.message}, status=404)
    return file_response(record)


@login_required
@require_http_methods(["GET", "POST"])
def archive_upload_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "doc_types": DOC_TYPES.items(),
        "retentions": Retention.choices,
        "classifications": [c for c in Clearance.choices if c[0] <= Clearance.INTERNAL or settings.CLASSIFIED_NETWORK],
        "data": request.POST,
    }
    if request.method == "POST":
        form = request.POST.copy()
        # One QueryDict of fields and files, as DRF's multipart parser gives the API
        # (django-stubs type QueryDict values as str only).
        form.update(request.FILES)  # type: ignore[arg-type]
        serializer = LegacyUploadInput(data=form)
        if not serializer.is_valid():
            context["error"] = f"提交的内容有误：{_first_error(serializer.errors)}"
            return render(request, "search/upload.html", context, status=400)
        data = dict(serializer.validated_data)
        upload = data.pop("file")
        try:
            file_bytes = read_archive_upload(upload)
            with transaction.atomic():
                record = services.archive_legacy_upload(
                    actor=request_user(request),
                    file_name=upload.name,
                    file_bytes=file_bytes,
                    classification=int(data.pop("classification")),
                    **data,
                )
        except ApplicationError as exc:
            context["error"] = exc.message
            return render(request, "search/upload.html", context, status=exc.status)
        messages.success(request, f"已归档，档号 {record.archive_code}。")
        return redirect("search-record", record_id=record.pk)
    if not request_user(request).has_role(Role.ARCHIVIST):
        context["error"] = "只有本机关的档案员可以归档。"
        return render(request, "search/upload.html", context, status=403)
    return render(request, "search/upload.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def archive_pending_page(request: HttpRequest) -> HttpResponse:
    """待归档: finished documents of the archivist's organisation, each with a file form."""
    user = request_user(request)
    context: dict[str, Any] = {"retentions": Retention.choices}
    if not user.has_role(Role.ARCHIVIST):
        context["error"] = "只有本机关的档案员可以归档。"
        return render(request, "search/pending.html", context, status=403)
    status = 200
    if request.method == "POST":
        document_id = request.POST.get("document_id", "")
        try:
            if not document_id.isdigit():
                raise NotFound()
            with transaction.atomic():
                record = services.archive_document(
                    document_id=int(document_id),
                    actor=user,
                    retention=request.POST.get("retention", ""),
                    unit_code=request.POST.get("unit_code") or None,
                    note=request.POST.get("note", "")[:200],
                )
        except ApplicationError as exc:
            context["error"] = exc.message
            status = exc.status
        else:
            messages.success(request, f"已归档，档号 {record.archive_code}。")
            return redirect("search-record", record_id=record.pk)
    context["documents"] = archivable_documents(user)
    return render(request, "search/pending.html", context, status=status)


# ---------------------------------------------------------------------------- 全局搜索


@login_required
def global_search_page(request: HttpRequest) -> HttpResponse:
    """全局搜索: the shell's search box lands here. Without a chosen tab, the first tab
    that has results is shown (counts first, then that tab's page)."""
    q = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"q": q, "shell_search_q": q, "tab": request.GET.get("tab", "")}
    if not q:
        return render(request, "search/global.html", context)
    user = request_user(request)
    try:
        data = parse_global_search(request.GET)
        if "tab" not in request.GET:
            first = global_search(user=user, **{**data, "tab": "people"})
            data["tab"] = next((tab for tab in TABS if first["counts"][tab]), "people")
            result = first if data["tab"] == "people" else global_search(user=user, **data)
        else:
            result = global_search(user=user, **data)
    except DrfValidationError as exc:
        context["error"] = f"搜索条件有误：{_first_error(exc.detail)}"
        return render(request, "search/global.html", context, status=400)
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "search/global.html", context, status=exc.status)
    tab = result["tab"]
    pages = max(1, -(-result["total"] // result["page_size"]))
    page = result["page"]
    context.update(
        {
            "result": result,
            "tab": tab,
            "tabs": [
                {
                    "name": name,
                    "label": TAB_LABELS[name],
                    "count": result["counts"][name],
                    "url": "?" + urlencode({"q": q, "tab": name}),
                    "active": name == tab,
                }
                for name in TABS
            ],
            "pages": pages,
            "prev_url": "?" + urlencode({"q": q, "tab": tab, "page": page - 1}) if page > 1 else "",
            "next_url": "?" + urlencode({"q": q, "tab": tab, "page": page + 1}) if page < pages else "",
        }
    )
    return render(request, "search/global.html", context)
