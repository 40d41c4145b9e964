"""What every front end (pages, downloads, sockets) does with a service's answer.

- ``download(data, filename, content_type)``: a file response whose Content-Disposition
  carries a Chinese name correctly (RFC 6266: ASCII fallback plus ``filename*``).
- ``flash_error(request, exc)``: a refused service call as the page's error message.
- ``error_frame(exc, **fields)``: a refused service call as a socket ``error`` frame.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header

from officehub.errors import ApplicationError


def download(data: bytes, filename: str, content_type: str, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    disposition = content_disposition_header(as_attachment=not inline, filename=filename)
    if disposition:
        response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    return response


def error_text(exc: ApplicationError | ValidationError) -> str:
    if isinstance(exc, ApplicationError):
        return exc.message
    return "；".join(exc.messages)


def flash_error(request: HttpRequest, exc: ApplicationError | ValidationError) -> None:
    messages.error(request, error_text(exc))


def error_frame(exc: ApplicationError | ValidationError, **fields: Any) -> dict[str, Any]:
    """``{"type": "error", "code", "message", "extra", **fields}`` — the API's error body
    as a socket frame (``fields``: ``ref``, ``client_id`` … that tie it to the request)."""
    if isinstance(exc, ApplicationError):
        payload: dict[str, Any] = dict(exc.as_payload())
    else:
        payload = {"code": "invalid", "message": error_text(exc), "extra": {}}
    return {"type": "error", **payload, **fields}
