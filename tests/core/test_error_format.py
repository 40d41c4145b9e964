"""No input makes a 500, and every error keeps its shape: ``{code, message, extra}`` JSON
under /api/ (debug mode included), a Chinese page in the shell elsewhere, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from officehub.urls import handler400, handler403, handler404, handler500
from officehub.urls import urlpatterns as app_urlpatterns

pytestmark = pytest.mark.django_db


def _is_error_json(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "extra"}, body
    assert body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def _is_chinese_page(response: Any, status: int, text: str) -> str:
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    content = response.content.decode()
    assert text in content and 'lang="zh-Hans"' in content and "officehub/app.css" in content
    assert "Traceback" not in content and "SECRET_KEY" not in content
    return content


# ------------------------------------------------------------------------- NUL characters


@pytest.mark.parametrize("url", ["/api/documents/?q=%00", "/api/directory/users/?q=%00", "/api/directory/users/?q%00=x"])
def test_nul_in_an_api_filter_is_a_coded_400(personas: Any, client: Any, url: str) -> None:
    client.force_login(personas.drafter)
    body = _is_error_json(client.get(url), 400, "request.nul_character")
    assert body["extra"] == {"where": "query"}


@pytest.mark.parametrize("url", ["/documents/?q=%00", "/directory/?q=%00", "/archives/?q=a%00"])
def test_nul_in_a_page_filter_is_a_400_page(personas: Any, client: Any, url: str) -> None:
    client.force_login(personas.drafter)
    _is_chinese_page(client.get(url), 400, "空字符")


def test_nul_in_a_form_field_is_refused_before_any_database_write(personas: Any, client: Any) -> None:
    from officehub.accounts.models import LoginFailure

    response = client.post("/login/", {"username": "wang\x00fang", "password": "x"})
    _is_chinese_page(response, 400, "空字符")
    assert not LoginFailure.objects.exists()


def test_nul_in_the_session_cookie_is_a_400_not_a_database_error(personas: Any) -> None:
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    _is_chinese_page(client.get("/"), 400, "空字符")


def test_nul_in_the_token_header_is_a_coded_400(personas: Any, client: Any) -> None:
    response = client.get("/api/me/", HTTP_AUTHORIZATION="Token abc\x00def")
    _is_error_json(response, 400, "request.nul_character")


# ------------------------------------------------------------------ API errors stay JSON


def test_unknown_api_path_is_a_json_404(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    _is_error_json(client.get("/api/no-such-thing/"), 404, "not_found")


def test_unknown_api_path_is_a_json_404_in_debug_mode_too(personas: Any, client: Any, settings: Any) -> None:
    settings.DEBUG = True
    client.force_login(personas.drafter)
    _is_error_json(client.get("/api/no-such-thing/"), 404, "not_found")


def test_anonymous_api_docs_is_a_json_401(client: Any) -> None:
    body = _is_error_json(client.get("/api/docs/"), 401, "auth.not_authenticated")
    assert body["extra"] == {}


def test_multipart_without_a_boundary_is_a_coded_400(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    response = client.post("/api/documents/", b"--x\r\n", content_type="multipart/form-data")
    _is_error_json(response, 400, "request.malformed_multipart")


def test_multipart_without_a_boundary_on_a_page_is_a_400_page(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    response = client.post("/documents/new/", b"--x\r\n", content_type="multipart/form-data")
    _is_chinese_page(response, 400, "请求有误")


def test_session_client_without_csrf_token_gets_json_403(personas: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.drafter)
    response = client.post("/api/directory/departments/", b"--x\r\n", content_type="multipart/form-data")
    _is_error_json(response, 400, "request.malformed_multipart")  # the CSRF check reads the form
    _is_error_json(client.post("/api/directory/departments/", {}, content_type="application/json"), 403)


def test_unknown_page_is_a_chinese_404_page(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    content = _is_chinese_page(client.get("/no-such-page/"), 404, "页面不存在")
    assert "工作台" in content  # in the shell, with the navigation


# ------------------------------------------------------------------ unexpected exceptions


class _Broken(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("boom: a bug with a secret inside")


def _broken_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom: a bug with a secret inside")


urlpatterns: list[URLPattern | URLResolver] = [
    path("api/broken/", _Broken.as_view()),
    path("broken/", _broken_page),
    path("", include(app_urlpatterns)),
]
__all__ = ["handler400", "handler403", "handler404", "handler500"]  # the app's handlers, for this URL conf


@pytest.fixture
def broken_client(personas: Any, settings: Any) -> Client:
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(personas.drafter)
    return client


@pytest.mark.parametrize("debug", [False, True])
def test_api_exception_is_logged_and_answered_as_json_500(broken_client: Client, settings: Any, debug: bool, caplog: Any) -> None:
    settings.DEBUG = debug
    response = broken_client.get("/api/broken/")
    _is_error_json(response, 500, "server_error")
    assert b"boom" not in response.content
    assert any("boom" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)


@pytest.mark.parametrize("debug", [False, True])
def test_page_exception_is_a_chinese_500_page_without_traceback(broken_client: Client, settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    response = broken_client.get("/broken/")
    content = _is_chinese_page(response, 500, "服务器内部错误")
    assert "boom" not in content


def test_debug_error_outside_a_view_shows_no_traceback(personas: Any, settings: Any) -> None:
    """An exception in middleware bypasses process_exception: Django's debug page would
    show settings and META; the plain reporter shows the error page instead."""
    from django.views import debug

    settings.DEBUG = True
    request = Client().get("/login/").wsgi_request
    try:
        raise RuntimeError("boom in middleware")
    except RuntimeError as exc:
        response = debug.technical_500_response(request, type(exc), exc, exc.__traceback__)
    content = response.content.decode()
    assert "服务器内部错误" in content
    assert "boom" not in content and "SECRET_KEY" not in content and "META" not in content
