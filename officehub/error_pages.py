"""Error answers for requests that never reach (or fall out of) a view.

Under ``/api/`` every error is ``{code, message, extra}`` JSON; pages get a Chinese page
in the page shell. Django calls the ``handler400/403/404/500`` below (wired in
``officehub/urls.py``); ``ErrorResponseMiddleware`` catches the rest.

A traceback page is never sent to a client, not even with ``OFFICEHUB_DEBUG=true`` (the
run command's mode): Django's debug 500 page shows settings and request META to whoever
triggered the error. ``PlainExceptionReporter`` (``DEFAULT_EXCEPTION_REPORTER``) renders
the same Chinese page instead; the traceback goes to the log as before.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template import loader
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter

from officehub.errors import ErrorPayload

# status → (code, message) for errors that carry nothing more precise.
STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求有误，无法处理。"),
    401: ("auth.not_authenticated", "请先登录。"),
    403: ("permission_denied", "您无权执行此操作。"),
    404: ("not_found", "未找到该对象，或您无权查看。"),
    405: ("method_not_allowed", "不支持该请求方法。"),
    406: ("not_acceptable", "无法提供所请求的内容格式。"),
    408: ("request.timeout", "请求超时。"),
    409: ("conflict", "操作冲突，请刷新后重试。"),
    410: ("gone", "该对象已不存在。"),
    411: ("request.length_required", "请求缺少内容长度。"),
    413: ("request.too_large", "请求内容过大。"),
    414: ("request.uri_too_long", "请求地址过长。"),
    415: ("unsupported_media_type", "不支持该请求内容类型。"),
    429: ("throttled", "请求过于频繁，请稍后再试。"),
    431: ("request.headers_too_large", "请求头过大。"),
    500: ("server_error", "服务器内部错误，请稍后再试。"),
    502: ("service_unavailable", "服务暂时不可用，请稍后再试。"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试。"),
    504: ("service_unavailable", "服务暂时不可用，请稍后再试。"),
}

PAGE_TITLES = {400: "请求有误", 403: "无权访问", 404: "页面不存在", 500: "服务器内部错误"}
PAGE_TEXTS = {
    400: "请求的内容有误，无法处理。请返回上一页检查后重试。",
    403: "您无权访问该页面或执行该操作。如需权限，请联系本单位系统管理员。",
    404: "您要找的页面不存在，或您无权查看。",
    500: "服务器处理请求时出错，我们已记录此问题。请稍后再试。",
}


def is_api(request: HttpRequest) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def status_payload(
    status: int, *, code: str | None = None, message: str | None = None, extra: dict[str, Any] | None = None
) -> ErrorPayload:
    default_code, default_message = STATUS_ERRORS.get(status, (f"http_{status}", "请求未能完成。"))
    return {"code": code or default_code, "message": message or default_message, "extra": extra or {}}


def api_error(status: int, **kwargs: Any) -> JsonResponse:
    response = JsonResponse(status_payload(status, **kwargs), status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def _page_status(status: int) -> int:
    return status if status in PAGE_TITLES else (500 if status >= 500 else 400)


def page_html(status: int, request: HttpRequest | None = None, *, message: str | None = None) -> str:
    """The error page in the page shell; without ``request`` no context processor runs,
    so it renders even when the database is what failed."""
    shown = _page_status(status)
    context = {"status": status, "title": PAGE_TITLES[shown], "text": message or PAGE_TEXTS[shown]}
    return loader.get_template("officehub/error.html").render(context, request)


def error_page(request: HttpRequest | None, status: int, *, message: str | None = None) -> HttpResponse:
    response = HttpResponse(page_html(status, request, message=message), status=status)
    response["Cache-Control"] = "no-store"
    return response


def _answer(request: HttpRequest, status: int) -> HttpResponse:
    if is_api(request):
        return api_error(status)
    return error_page(request, status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        # Django answers an over-limit form body with 400; it is a 413.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"请求内容过大（最大 {limit // 1024} KB）。" if limit else None
        if is_api(request):
            return api_error(413, message=message, extra={"max_bytes": limit})
        return error_page(request, 413, message=message)
    if isinstance(exception, MultiPartParserError) and is_api(request):
        return api_error(400, code="request.malformed_multipart", message="表单数据格式有误（multipart 边界缺失或无效）。")
    return _answer(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return api_error(500)
    # No request context: the failure may be the database that context processors use.
    return error_page(None, 500)


class PlainExceptionReporter(ExceptionReporter):
    """Django's debug error page would show the traceback, settings and META: show the
    ordinary error page (the traceback is logged by Django either way)."""

    def _status(self) -> int:
        if self.exc_type is not None and issubclass(self.exc_type, SuspiciousOperation):
            return 400
        return 500

    def get_traceback_html(self) -> SafeString:
        return mark_safe(page_html(self._status()))  # noqa: S308 - our own rendered template

    def get_traceback_text(self) -> SafeString:
        return mark_safe(str(PAGE_TEXTS[self._status()]))  # noqa: S308 - a constant of ours
