"""Daphne's HTTP front door answers oversized requests instead of dropping them.

Daphne parses HTTP with Twisted's ``HTTPChannel``, a ``LineReceiver`` with a 16 KB line
limit. A request line (method, path and query string) longer than that hit
``LineReceiver.lineLengthExceeded``, which closes the TCP connection without a word: a
client with a 100 KB query string saw the connection drop. Headers past Twisted's
16 KB total got a bare ``400`` with no body. Neither ever reaches Django.

``install()`` (called from ``officehub/asgi.py``, so every Daphne that serves OfficeHub
has it) makes Daphne's factory build a channel that answers these itself:

* request line too long → ``414 URI Too Long``;
* one header line, or all headers together, too long → ``431 Request Header Fields Too Large``;
* any other request Twisted refuses as malformed → ``400``;

with ``{code, message, extra}`` JSON under ``/api/`` and a short Chinese page elsewhere.
After answering it reads and discards what the client is still sending (until the end
of its headers, at most ``DISCARD_LIMIT`` bytes or ``DISCARD_SECONDS``): closing a socket
with unread input makes the kernel send a reset, which can destroy the response before
the client reads it.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.web import http

DISCARD_LIMIT = 1024 * 1024
DISCARD_SECONDS = 5

_REASONS = {400: b"Bad Request", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("request.malformed", "请求格式有误。"),
    414: ("request.uri_too_long", "请求地址过长（含查询参数最长 %(kb)s KB）。"),
    431: ("request.headers_too_large", "请求头过大（最大 %(kb)s KB）。"),
}
_PAGE = (
    '<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8"><title>{title} · OfficeHub</title></head>'
    '<body><main><h1>{title}</h1><p>{message}</p><p><a href="/">返回工作台</a></p></main></body></html>'
)
_PAGE_TITLES = {400: "请求有误（400）", 414: "地址过长（414）", 431: "请求头过大（431）"}


def error_response(status: int, *, api: bool, limit: int) -> bytes:
    """A complete HTTP/1.1 response that closes the connection."""
    code, template = _ERRORS[status]
    message = template % {"kb": limit // 1024}
    if api:
        body = json.dumps({"code": code, "message": message, "extra": {"max_bytes": limit}}, ensure_ascii=False)
        content_type = b"application/json"
    else:
        body = _PAGE.format(title=_PAGE_TITLES[status], message=message)
        content_type = b"text/html; charset=utf-8"
    payload = body.encode("utf-8")
    head = [
        b"HTTP/1.1 %d %s" % (status, _REASONS[status]),
        b"Content-Type: " + content_type,
        b"Content-Length: %d" % len(payload),
        b"Connection: close",
        b"Cache-Control: no-store",
        b"X-Content-Type-Options: nosniff",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


def _is_api(request_start: bytes) -> bool:
    """Whether the request line's target is under /api/ (absolute-form targets included)."""
    parts = request_start.split(b" ", 2)
    if len(parts) < 2:
        return False
    target = parts[1]
    if target.startswith((b"http://", b"https://")):
        target = b"/" + target.split(b"/", 3)[-1] if target.count(b"/") >= 3 else b"/"
    return target.startswith(b"/api/") or target == b"/api"


class OfficeHubHTTPChannel(http.HTTPChannel):
    """Twisted's channel with polite answers to requests it will not process."""

    _answered = False
    _request_start = b""
    _discarded = 0
    _tail = b""

    def lineReceived(self, line: bytes) -> None:
        if not self._request_start and line:
            self._request_start = line[:64]
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        # The request line is the first line: nothing was received before it.
        first_line = not self._request_start
        if first_line:
            self._request_start = line[:64]
            self._answer(414, limit=self.MAX_LENGTH, rest=line)
        else:
            self._answer(431, limit=self.MAX_LENGTH, rest=line)

    def _respondToBadRequestAndDisconnect(self) -> None:
        if self._receivedHeaderSize > self.totalHeadersSize:
            self._answer(431, limit=self.totalHeadersSize, rest=b"")
        else:
            self._answer(400, limit=self.MAX_LENGTH, rest=b"")

    def _answer(self, status: int, *, limit: int, rest: bytes) -> None:
        if self._answered:
            return
        self._answered = True
        transport: Any = self.transport  # a zope interface: mypy reads its methods without self
        transport.write(error_response(status, api=_is_api(self._request_start), limit=limit))
        # Stop parsing; swallow the rest of the request, then close.
        self.dataReceived = self._discard  # type: ignore[method-assign]
        self.lineReceived = self._discard_line  # type: ignore[method-assign]
        self.setTimeout(DISCARD_SECONDS)
        self._discard(rest)

    def _discard_line(self, line: bytes) -> None:
        # Lines Twisted had buffered before the answer: an empty one ends the headers.
        if not line:
            self.loseConnection()

    def _discard(self, data: bytes) -> None:
        self._discarded += len(data)
        window = self._tail + data
        self._tail = window[-3:]
        if b"\r\n\r\n" in window or self._discarded > DISCARD_LIMIT:
            self.loseConnection()

    def timeoutConnection(self) -> None:
        if self._answered:
            self.loseConnection()
            return
        super().timeoutConnection()


def _channel_factory(factory: Any) -> Any:
    return http._GenericHTTPChannelProtocol(OfficeHubHTTPChannel())


def install() -> None:
    """Make Daphne's HTTP factory build ``OfficeHubHTTPChannel``s (idempotent)."""
    from daphne.http_protocol import HTTPFactory

    HTTPFactory.protocol = _channel_factory
