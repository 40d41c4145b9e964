"""What every front end (pages, downloads, sockets) does with a service's answer.

- ``download(data, filename, content_type)``: a file response whose Content-Disposition
  carries a Chinese name correctly (RFC 6266 ``filename*``, plus a plain ``filename=``
  fallback when the caller names one).
- ``flash_error(request, exc)``: a refused service call as the page's error message.
- ``error_frame(exc, **fields)``: a refused service call as a socket ``error`` frame.
- ``request_user(request)``: the signed-in user of a guarded page or API request, as the
  ``User`` that services take as their actor.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from rest_framework.exceptions import NotAuthenticated

from officehub.directory.models import User
from officehub.errors import ApplicationError


def request_user(request: HttpRequest) -> User:
    """``request.user`` behind ``login_required`` or DRF's ``IsAuthenticated`` (the API's
    default): always a ``User`` there. Anonymous only on an unguarded path — then 401."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def download(
    data: bytes, filename: str, content_type: str, *, inline: bool = False, ascii_filename: str | None = None
) -> HttpResponse:
    """``ascii_filename``: what clients that do not read ``filename*`` save a non-ASCII
    ``filename`` as (e.g. ``archive-catalogue-202603011200.csv`` for 归档文件目录-….csv)."""
    response = HttpResponse(data, content_type=content_type)
    disposition = content_disposition_header(as_attachment=not inline, filename=filename)
    if disposition and ascii_filename and not filename.isascii():
        kind, _, encoded = disposition.partition("; ")
        fallback = ascii_filename.encode("ascii", "ignore").decode().replace("\\", "").replace('"', "")
        disposition = f'{kind}; filename="{fallback}"; {encoded}'
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
