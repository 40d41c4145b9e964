"""A real Daphne answers oversized requests (it used to drop the connection silently)."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _exchange(base_url: str, raw: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; parse status, headers and body."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data, "the server closed the connection without a response"
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _get(path: bytes, extra_headers: bytes = b"") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers + b"\r\n"


def test_a_100_kb_query_string_on_the_api_gets_a_json_414(live_daphne: str) -> None:
    status, headers, body = _exchange(live_daphne, _get(b"/api/documents/?q=" + b"a" * 100_000))
    assert status == 414
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert set(payload) == {"code", "message", "extra"} and payload["code"] == "request.uri_too_long"


def test_a_100_kb_query_string_on_a_page_gets_a_chinese_414_page(live_daphne: str) -> None:
    status, headers, body = _exchange(live_daphne, _get(b"/documents/?q=" + b"a" * 100_000))
    assert status == 414
    assert headers["content-type"].startswith("text/html")
    assert "地址过长" in body.decode()


def test_oversized_headers_get_a_json_431(live_daphne: str) -> None:
    headers_blob = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"b" * 1000) for i in range(30))
    status, _, body = _exchange(live_daphne, _get(b"/api/me/", headers_blob))
    assert status == 431
    assert json.loads(body)["code"] == "request.headers_too_large"


def test_a_single_huge_header_line_gets_a_431(live_daphne: str) -> None:
    status, _, body = _exchange(live_daphne, _get(b"/api/me/", b"Cookie: " + b"c" * 40_000 + b"\r\n"))
    assert status == 431
    assert json.loads(body)["code"] == "request.headers_too_large"


def test_ordinary_requests_still_work_on_the_same_server(live_daphne: str) -> None:
    status, _, body = _exchange(live_daphne, _get(b"/api/me/?q=" + b"a" * 4000))
    assert status == 401 and json.loads(body)["code"] == "auth.not_authenticated"


def test_a_standard_client_reads_the_414(live_daphne: Any) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{live_daphne}/api/documents/?q={'a' * 100_000}", timeout=10)  # noqa: S310
    assert info.value.code == 414
    assert json.loads(info.value.read())["code"] == "request.uri_too_long"
