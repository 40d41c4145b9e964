"""One error shape for the whole platform: ``{"code", "message", "extra"}``.

Services raise ``ApplicationError`` subclasses with stable string codes; the DRF exception
handler below renders them, and Django's and DRF's own exceptions, in the same format.
Consumers send the same payload as ``{"type": "error", ...}`` frames.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler


class ErrorPayload(TypedDict):
    code: str
    message: str
    extra: dict[str, Any]


class ApplicationError(Exception):
    """A domain error with a stable code and a user-facing (Chinese) message."""

    default_code: str = "error"
    default_status: int = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.default_code
        self.extra = extra or {}
        self.status = status or self.default_status

    def as_payload(self) -> ErrorPayload:
        return {"code": self.code, "message": self.message, "extra": self.extra}


class NotFound(ApplicationError):
    """Missing and not-allowed look the same, so ids cannot be probed."""

    default_code = "not_found"
    default_status = status.HTTP_404_NOT_FOUND

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message or str(_("未找到该对象，或您无权查看。")), **kwargs)


class PermissionDeniedError(ApplicationError):
    default_code = "permission_denied"
    default_status = status.HTTP_403_FORBIDDEN


class ConflictError(ApplicationError):
    """The object changed state under the caller (e.g. someone acted first)."""

    default_code = "conflict"
    default_status = status.HTTP_409_CONFLICT


class InvalidTransition(ConflictError):
    default_code = "invalid_transition"


class InvalidInput(ApplicationError):
    default_code = "invalid"
    default_status = status.HTTP_400_BAD_REQUEST


class RequestTooLarge(ApplicationError):
    default_code = "request.too_large"
    default_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def _drf_code(exc: drf_exceptions.APIException) -> str:
    mapping: dict[type[drf_exceptions.APIException], str] = {
        drf_exceptions.NotAuthenticated: "auth.not_authenticated",
        drf_exceptions.AuthenticationFailed: "auth.failed",
        drf_exceptions.PermissionDenied: "permission_denied",
        drf_exceptions.NotFound: "not_found",
        drf_exceptions.MethodNotAllowed: "method_not_allowed",
        drf_exceptions.NotAcceptable: "not_acceptable",
        drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
        drf_exceptions.Throttled: "throttled",
        drf_exceptions.ValidationError: "invalid",
        drf_exceptions.ParseError: "parse_error",
    }
    for cls in type(exc).__mro__:
        if cls in mapping:
            return mapping[cls]
    return "error"


_DRF_MESSAGES = {
    "auth.not_authenticated": _("请先登录。"),
    "auth.failed": _("身份验证失败。"),
    "permission_denied": _("您无权执行此操作。"),
    "not_found": _("未找到该对象，或您无权查看。"),
    "method_not_allowed": _("不支持该请求方法。"),
    "throttled": _("请求过于频繁，请稍后再试。"),
    "invalid": _("提交的数据有误，请检查后重试。"),
    "parse_error": _("请求内容无法解析。"),
}


def error_response(payload: ErrorPayload, status_code: int, headers: dict[str, str] | None = None) -> Response:
    return Response(payload, status=status_code, headers=headers)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error as ``{code, message, extra}``."""
    if isinstance(exc, ApplicationError):
        return error_response(exc.as_payload(), exc.status)
    if isinstance(exc, DjangoValidationError):
        extra: dict[str, Any] = (
            {"fields": exc.message_dict} if hasattr(exc, "error_dict") else {"errors": exc.messages}
        )
        return error_response(
            {"code": "invalid", "message": "；".join(exc.messages), "extra": extra},
            status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_default_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        return response  # a real bug: let Django log it and answer 500
    code = _drf_code(exc)
    extra = {}
    if isinstance(exc, drf_exceptions.ValidationError):
        extra = {"fields": exc.detail}
        message = str(_DRF_MESSAGES["invalid"])
        first = _first_message(exc.detail)
        if first:
            message = f"{message}（{first}）"
    elif isinstance(exc, drf_exceptions.Throttled):
        extra = {"wait_seconds": getattr(exc, "wait", None)}
        message = str(_DRF_MESSAGES["throttled"])
    else:
        message = str(_DRF_MESSAGES.get(code, exc.detail))
    response.data = {"code": code, "message": message, "extra": extra}
    return response


def _first_message(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            found = _first_message(value, f"{key}: " if key != "non_field_errors" else "")
            if found:
                return found
    elif isinstance(detail, list):
        for item in detail:
            found = _first_message(item, prefix)
            if found:
                return found
    elif detail:
        return f"{prefix}{detail}"
    return ""
