"""Request hygiene and one error format, for every request whatever view it reaches.

* ``ErrorResponseMiddleware`` — every ``/api/`` error leaves as ``{code, message,
  extra}`` JSON (Django's HTML 404, DRF's HTML 401 from the docs page, an empty 400 …
  included), and an exception a view did not handle is logged and answered with a JSON
  500 (``/api/``) or the Chinese 500 page — never a traceback.
* ``RequestSanityMiddleware`` — PostgreSQL cannot store U+0000: a NUL in the path, the
  query string, a cookie, a header or a form field would surface as a ``DataError`` (a
  500) in whichever query used it. It is refused up front with a coded 400.
* ``ContentSecurityPolicyMiddleware`` — a strict CSP on every response: pages run only
  our own static scripts and styles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError

from officehub.error_pages import api_error, error_page, is_api

logger = logging.getLogger("django.request")

# Headers an error keeps when its body is rewritten.
_KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After", "Vary", "Content-Language")
# Exceptions Django itself turns into 4xx through the error handlers.
_CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)


def _is_error_json(response: HttpResponseBase) -> bool:
    if response.streaming or not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = json.loads(response.content)  # type: ignore[attr-defined]
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"code", "message", "extra"}


class ErrorResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code >= 400 and is_api(request) and not _is_error_json(response):
            replacement = api_error(response.status_code)
            for header in _KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            response = replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, _CLIENT_ERRORS):
            return None  # a 4xx from Django's handlers; the answer is rewritten above if needed
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=(type(exception), exception, exception.__traceback__),
            extra={"status_code": 500, "request": request},
        )
        if is_api(request):
            return api_error(500)
        return error_page(None, 500)


def _nul_in(values: Any) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values.getlist(key)) for key in values)


def _where_nul(request: HttpRequest) -> str | None:
    if "\x00" in request.path:
        return "path"
    if "\x00" in request.META.get("QUERY_STRING", "") or _nul_in(request.GET):
        return "query"
    if any("\x00" in key or "\x00" in value for key, value in request.COOKIES.items()):
        return "cookie"
    if any("\x00" in str(value) for key, value in request.META.items() if key.startswith("HTTP_")):
        return "header"
    if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # Reading the form here is what the CSRF check does anyway; a malformed body
        # raises MultiPartParserError, which Django answers with handler400.
        names = (upload.name or "" for _field, uploads in request.FILES.lists() for upload in uploads)
        if _nul_in(request.POST) or any("\x00" in name for name in names):
            return "form"
    return None


class RequestSanityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        where = _where_nul(request)
        if where is not None:
            message = "请求中含有不允许的空字符（%00）。"
            if is_api(request):
                return api_error(400, code="request.nul_character", message=message, extra={"where": where})
            return error_page(None, 400, message=message)
        return self.get_response(request)


def content_security_policy(request: HttpRequest) -> str:
    """The policy: our own origin only, no inline script or style, no plugins, no framing.

    ``connect-src 'self'`` covers same-origin ``ws:``/``wss:`` in current browsers (CSP
    Level 3); the explicit origins keep older ones working.
    """
    host = request.get_host()
    sockets = f"ws://{host} wss://{host}"
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        f"connect-src 'self' {sockets}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "frame-src 'none'",
        "worker-src 'self'",
        "manifest-src 'self'",
    ]
    return "; ".join(directives)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            try:
                response["Content-Security-Policy"] = content_security_policy(request)
            except SuspiciousOperation:  # a disallowed Host: no page is served anyway
                response["Content-Security-Policy"] = content_security_policy_without_host()
        return response


def content_security_policy_without_host() -> str:
    return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

