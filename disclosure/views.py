"""Pages of 政务公开: the public portal under ``/gk/`` (no login) and the office's handling
pages under ``/disclosure/``. Thin: parse, one selector or service call, render.

Public pages render ``disclosure/portal/…`` on their own base template (no staff shell,
no session, no inline script or style) and answer anything not published with the
same 404 page as a missing id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from disclosure import selectors, services
from disclosure.edges import (
    Validator,
    check_rate,
    parse_params,
    private_page,
    public_cache,
)
from disclosure.errors import DisclosureInvalidInput, RateLimited
from disclosure.models import OPEN_STATUSES, DisclosureRequest, RequestStatus
from disclosure.query import PortalParams
from documents.models import DocType
from officehub.directory.models import Department
from officehub.edges import download, flash_error, request_user
from officehub.errors import ApplicationError, NotFound
from officehub.uploads import read_upload

# ---------------------------------------------------------------------------- public portal


def _portal_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = render(request, "disclosure/portal/message.html", {"title": _ERROR_TITLES.get(exc.status, "请求有误"),
                                                                   "message": exc.message}, status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.extra.get("wait_seconds", 60))
    return response


_ERROR_TITLES = {404: "未找到", 429: "请求过于频繁", 400: "请求有误"}


def _not_found(request: HttpRequest) -> HttpResponse:
    return _portal_error(request, NotFound("您要查看的信息不存在或未公开。"))


def listing_validator(request: HttpRequest) -> Validator:
    changed = selectors.portal_changed_at()
    request._portal_changed_at = changed  # type: ignore[attr-defined]  # the search's cache key reuses it
    return Validator(f"list|{changed.isoformat() if changed else '-'}|{request.GET.urlencode()}", changed)


def portal_changed_at(request: HttpRequest) -> datetime | None:
    """The portal's Last-Modified, read once per request (the validator usually has)."""
    if not hasattr(request, "_portal_changed_at"):
        request._portal_changed_at = selectors.portal_changed_at()  # type: ignore[attr-defined]
    value: datetime | None = request._portal_changed_at  # type: ignore[attr-defined]
    return value


def _query_with(request: HttpRequest, **changes: Any) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    return query.urlencode()


def _facet_links(request: HttpRequest, facets: dict[str, list[selectors.Facet]], params: PortalParams) -> list[Any]:
    titles = {"issuer_id": ("发文机关", "issuer"), "year": ("年份", "year"), "doc_type": ("文种", "doc_type")}
    current = {"issuer": str(params.issuer_id or ""), "year": str(params.year or ""), "doc_type": params.doc_type}
    groups = []
    for name, buckets in facets.items():
        title, param = titles[name]
        items = []
        for bucket in buckets:
            selected = current[param] == bucket["value"]
            items.append({**bucket, "selected": selected,
                          "url": "?" + _query_with(request, **{param: None if selected else bucket["value"]})})
        if name == "year":
            items.sort(key=lambda item: str(item["value"]), reverse=True)
        groups.append({"name": name, "title": title, "items": items})
    return groups


@require_http_methods(["GET", "HEAD"])
@public_cache(listing_validator)
def portal_index(request: HttpRequest) -> HttpResponse:
    """The portal's front page and its search: newest first without a query, by
    relevance with one; narrowed by issuer, year and 文种 (facets with counts)."""
    context: dict[str, Any] = {"q": request.GET.get("q", ""), "doc_types": DocType.choices, "section": "documents"}
    try:
        params = parse_params(request.GET)
        if params.q:
            check_rate("search", request)
        result = selectors.portal_search_shared(params, changed_at=portal_changed_at(request))
    except RateLimited as exc:
        return _portal_error(request, exc)
    except ApplicationError as exc:
        context["error"] = exc.message
        return render(request, "disclosure/portal/index.html", context, status=exc.status)
    pages = max(1, -(-result["total"] // params.page_size))
    has_next = params.page < pages and params.page * params.page_size < 10_000
    context.update(
        params=params,
        result=result,
        facets=_facet_links(request, result["facets"], params),
        pages=pages,
        prev_url="?" + _query_with(request, page=str(params.page - 1)) if params.page > 1 else "",
        next_url="?" + _query_with(request, page=str(params.page + 1)) if has_next else "",
        filtered=bool(params.q or params.issuer_id or params.year or params.doc_type),
    )
    response = render(request, "disclosure/portal/index.html", context)
    if result["degraded"]:
        # The database fallback: not to be kept in place of the real search once it is back.
        response["Cache-Control"] = "no-cache"
    return response


def document_validator(request: HttpRequest, document_id: int) -> Validator | None:
    try:
        publication = selectors.published(document_id)
    except NotFound:
        return None
    request._portal_publication = publication  # type: ignore[attr-defined]  # read once per request
    return Validator(f"doc|{publication.pk}|{publication.changed_at.isoformat()}", publication.changed_at)


def _publication(request: HttpRequest, document_id: int) -> Any:
    found = getattr(request, "_portal_publication", None)
    return found if found is not None else selectors.published(document_id)


@require_http_methods(["GET", "HEAD"])
@public_cache(document_validator)
def portal_document(request: HttpRequest, document_id: int) -> HttpResponse:
    try:
        publication = _publication(request, document_id)
    except NotFound:
        return _not_found(request)
    return render(request, "disclosure/portal/document.html", {
        "publication": publication, "doc_type_label": selectors.doc_type_label(publication.doc_type),
        "section": "documents",
    })


@require_http_methods(["GET", "HEAD"])
@public_cache(document_validator)
def portal_document_file(request: HttpRequest, document_id: int) -> HttpResponse:
    """The issued copy (signed PDF; the sealed DOCX until the PDF copy exists)."""
    try:
        publication = _publication(request, document_id)
    except NotFound:
        return _not_found(request)
    file = selectors.published_file(publication)
    extension = file.filename.rsplit(".", 1)[-1]
    return download(file.data, file.filename, file.content_type, ascii_filename=f"document-{document_id}.{extension}")


def _organisations() -> list[Department]:
    return list(Department.objects.filter(is_organisation=True).order_by("path"))


@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    """依申请公开: the form, and filing it (rate-limited per address; no CAPTCHA)."""
    values = {key: request.POST.get(key, "") for key in ("organisation_id", "name", "contact", "description")}
    error = None
    status = 200
    if request.method == "POST":
        try:
            check_rate("file", request)
            organisation_id = values["organisation_id"].strip()
            if not (organisation_id.isascii() and organisation_id.isdigit()):
                raise DisclosureInvalidInput("请选择受理机关。", extra={"field": "organisation_id"})
            with transaction.atomic(durable=True):
                filed = services.request_file(organisation_id=int(organisation_id), name=values["name"],
                                              contact=values["contact"], description=values["description"])
        except RateLimited as exc:
            return _portal_error(request, exc)
        except ApplicationError as exc:
            error, status = exc.message, exc.status
        else:
            return redirect(reverse("portal-track", args=[filed.tracking_number]) + "?new=1")
    response = render(request, "disclosure/portal/request_form.html",
                      {"values": values, "error": error, "organisations": _organisations(), "section": "request"}, status=status)
    return private_page(response)


@require_http_methods(["GET", "HEAD"])
def request_lookup(request: HttpRequest) -> HttpResponse:
    """申请查询: a tracking number typed in → its page."""
    number = request.GET.get("number", "")
    if not number:
        return private_page(render(request, "disclosure/portal/track_form.html", {"section": "track"}))
    normalised = selectors.normalise_tracking_number(number)
    if not normalised:
        response = render(request, "disclosure/portal/track_form.html",
                          {"error": "查询码格式不正确，应为“年份-四位-四位”，如 2026-7K3M-9QXA。", "number": number,
                           "section": "track"}, status=400)
        return private_page(response)
    return redirect("portal-track", tracking_number=normalised)


def _tracked(request: HttpRequest, tracking_number: str) -> DisclosureRequest:
    check_rate("track", request)
    return selectors.tracked(tracking_number)


@require_http_methods(["GET", "HEAD"])
def request_track(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """Parcel-style progress: 提交 → 登记 → 承办 → 答复 → 办结 with dates, the deadline and
    the reply; no staff names, no internal notes. Never stored by caches."""
    try:
        filed = _tracked(request, tracking_number)
    except RateLimited as exc:
        return private_page(_portal_error(request, exc))
    except NotFound as exc:
        return private_page(_portal_error(request, exc))
    context = {
        "filed": filed,
        "steps": selectors.tracking_steps(filed),
        "masked_name": selectors.mask_name(filed.name),
        "new": request.GET.get("new") == "1",
        "replied": filed.status in (RequestStatus.REPLIED, RequestStatus.CONCLUDED),
        "section": "track",
    }
    return private_page(render(request, "disclosure/portal/track.html", context))


@require_http_methods(["GET", "HEAD"])
def request_reply_file(request: HttpRequest, tracking_number: str) -> HttpResponse:
    try:
        filed = _tracked(request, tracking_number)
    except (RateLimited, NotFound) as exc:
        return private_page(_portal_error(request, exc))
    if filed.status not in (RequestStatus.REPLIED, RequestStatus.CONCLUDED) or filed.reply_file is None:
        return private_page(_not_found(request))
    response = download(bytes(filed.reply_file), filed.reply_file_name or "答复.pdf", "application/pdf",
                        ascii_filename="reply.pdf")
    return private_page(response)


# ---------------------------------------------------------------------------- staff pages


def _staff_access(request: HttpRequest, request_id: int) -> DisclosureRequest:
    try:
        return selectors.access_request(request_user(request), request_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _forbidden(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "disclosure/staff/forbidden.html", {"message": exc.message}, status=exc.status)


def _rows(requests: Any) -> list[dict[str, Any]]:
    today = timezone.localdate()
    rows = []
    for item in requests:
        left = selectors.working_days_left(item, today=today)
        is_open = item.status in OPEN_STATUSES
        rows.append({"request": item, "left": left, "open": is_open, "overdue": is_open and left is not None and left < 0,
                     "late_by": -left if left is not None and left < 0 else 0})
    return rows


@login_required
def staff_request_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    status = request.GET.get("status", "")
    try:
        requests = selectors.request_list(user, status=status)
    except ApplicationError as exc:
        return _forbidden(request, exc)
    rows = _rows(requests[:300])
    return render(request, "disclosure/staff/list.html", {
        "rows": rows, "statuses": RequestStatus.choices, "status": status,
        "office": bool(selectors.served_organisations(user)),
    })


@login_required
def staff_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    user = request_user(request)
    filed = _staff_access(request, request_id)
    actions = selectors.request_actions(user, filed)
    context: dict[str, Any] = {
        "filed": filed,
        "actions": actions,
        "events": selectors.request_events(filed),
        "steps": selectors.tracking_steps(filed),
        "left": selectors.working_days_left(filed),
        "open": filed.status in OPEN_STATUSES,
        "handlers": filed.handlers.all(),
    }
    if "assign" in actions:
        context["departments"] = selectors.assignable_departments(filed.organisation)
    return render(request, "disclosure/staff/detail.html", context)


def _reply_file(request: HttpRequest) -> tuple[str, bytes | None]:
    from django.conf import settings

    upload = request.FILES.get("file")
    if upload is None:
        return "", None
    data = read_upload(upload, limit=settings.DISCLOSURE_REPLY_FILE_MAX_BYTES)
    return upload.name or "答复.pdf", data


def _act(request: HttpRequest, request_id: int, action: str) -> Any:
    user = request_user(request)
    post = request.POST
    if action == "register":
        return services.request_register(request_id=request_id, actor=user, note=post.get("note", ""))
    if action == "assign":
        raw = post.get("department_id", "").strip()
        if not (raw.isascii() and raw.isdigit()):
            raise DisclosureInvalidInput("请选择承办部门。", extra={"field": "department_id"})
        return services.request_assign(request_id=request_id, actor=user, department_id=int(raw), note=post.get("note", ""))
    if action == "extend":
        return services.request_extend(request_id=request_id, actor=user, reason=post.get("reason", ""))
    if action == "reply":
        name, data = _reply_file(request)
        return services.request_reply(request_id=request_id, actor=user, reply=post.get("reply", ""),
                                      file_name=name, file_bytes=data)
    if action == "conclude":
        return services.request_conclude(request_id=request_id, actor=user, note=post.get("note", ""))
    raise Http404("未知操作")


DONE_MESSAGES = {"register": "已登记。", "assign": "已分办。", "extend": "已延长答复期限。", "reply": "已答复。",
                 "conclude": "已办结。"}


@login_required
@require_POST
def staff_request_act(request: HttpRequest, request_id: int, action: str) -> HttpResponse:
    filed = _staff_access(request, request_id)
    if action not in DONE_MESSAGES:
        raise Http404("未知操作")
    try:
        with transaction.atomic(durable=True):
            _act(request, filed.pk, action)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, DONE_MESSAGES[action])
    return redirect("disclosure-request", request_id=filed.pk)


@login_required
def staff_request_file(request: HttpRequest, request_id: int) -> HttpResponse:
    filed = _staff_access(request, request_id)
    if filed.reply_file is None:
        raise Http404("没有答复附件")
    return download(bytes(filed.reply_file), filed.reply_file_name or "答复.pdf", "application/pdf", ascii_filename="reply.pdf")


@login_required
def staff_overdue(request: HttpRequest) -> HttpResponse:
    try:
        overdue = selectors.overdue_requests(request_user(request))
    except ApplicationError as exc:
        return _forbidden(request, exc)
    rows = _rows(overdue[:500])
    return render(request, "disclosure/staff/overdue.html", {"rows": rows})


@login_required
def staff_publications(request: HttpRequest) -> HttpResponse:
    try:
        publications = selectors.staff_publications(request_user(request))
    except ApplicationError as exc:
        return _forbidden(request, exc)
    return render(request, "disclosure/staff/publications.html", {"publications": publications[:300]})


@login_required
@require_POST
def staff_publication_withdraw(request: HttpRequest, publication_id: int) -> HttpResponse:
    try:
        with transaction.atomic(durable=True):
            services.publication_withdraw(publication_id=publication_id, actor=request_user(request),
                                          reason=request.POST.get("reason", ""))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, "已撤回，公众将不再看到该公文。")
    return redirect("disclosure-publications")

