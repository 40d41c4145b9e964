"""Login, lockout, token auth, and anonymous refusal on every endpoint in the URL conf."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from officehub.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

# Endpoints an anonymous caller must reach: the way in.
ANONYMOUS_API = {"api/auth/token/", "api/seals/verify/"}  # 验章 is public
# Public on purpose: the seal CA certificate and CRL (every seal certificate names the CRL URL).
# The web app manifest too: the login page links it, and it names no user (tests/core/test_web_app.py).
ANONYMOUS_PAGES = {"login/", "logout/", "seals/ca.pem", "seals/crl.pem", "seals/verify/", "manifest.webmanifest", "favicon.ico"}
# The 政务公开 portal is public by design (disclosure/, tests/disclosure): its pages under
# gk/ and its API under api/gk/ — and nothing else of it.
PUBLIC_PORTAL = ("gk/", "api/gk/")


def _concrete(pattern: str) -> str:
    """Turn a route like 'documents/<int:pk>/' into a requestable path."""
    path = re.sub(r"<(?:int|pk):?[^>]*>", "1", pattern)
    path = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000001", path)
    path = re.sub(r"<[^>]+>", "x", path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "")
    return path


def _all_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    routes: list[str] = []
    for entry in resolver.url_patterns:
        text = str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes.extend(_all_routes(entry, prefix + text))
        elif isinstance(entry, URLPattern):
            routes.append(prefix + text)
    return routes


def _api_routes() -> list[str]:
    return sorted({_concrete(r) for r in _all_routes() if r.startswith("api/") and not r.startswith(PUBLIC_PORTAL)}
                  - ANONYMOUS_API)


def _page_routes() -> list[str]:
    return sorted(
        {_concrete(r) for r in _all_routes() if not r.startswith(("api/", "admin/", "static/", "media/", *PUBLIC_PORTAL))}
        - ANONYMOUS_PAGES
    )


def test_the_url_conf_enumeration_sees_the_api() -> None:
    routes = _api_routes()
    assert "api/directory/tree/" in routes and "api/schema/" in routes and "api/workbench/" in routes


@pytest.mark.parametrize("path", _api_routes())
def test_anonymous_api_requests_get_401_and_no_data(client: Any, path: str) -> None:
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)("/" + path)
        if response.status_code == 405:
            continue
        assert response.status_code == 401, (method, path, response.status_code)
        if response.headers.get("Content-Type", "").startswith("application/json"):
            assert response.json()["code"] in {"auth.not_authenticated", "auth.failed"}


@pytest.mark.parametrize("path", _page_routes())
def test_anonymous_page_requests_redirect_to_login(client: Any, path: str) -> None:
    response = client.get("/" + path)
    assert response.status_code == 302, path
    assert response.headers["Location"].startswith("/login/")


def test_login_page_logs_in_and_shows_the_workbench(personas: Any, client: Any) -> None:
    response = client.post("/login/", {"username": "wangfang", "password": DEMO_PASSWORD}, follow=True)
    content = response.content.decode()
    assert response.status_code == 200
    assert "工作台" in content and "待办" in content and "已办" in content and "王芳" in content


def test_wrong_password_shows_a_chinese_error(personas: Any, client: Any) -> None:
    response = client.post("/login/", {"username": "wangfang", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()


def test_repeated_failures_lock_the_account_even_for_the_right_password(personas: Any, client: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/login/", {"username": "wangfang", "password": "wrong-password"})
    response = client.post("/login/", {"username": "wangfang", "password": DEMO_PASSWORD})
    assert "账号已临时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Other accounts are unaffected.
    response = client.post("/login/", {"username": "lijun", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_lockout_ends_after_the_lockout_period(personas: Any, client: Any, settings: Any) -> None:
    import time_machine
    from django.utils import timezone

    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_SECONDS = 600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(2):
            client.post("/login/", {"username": "wangfang", "password": "wrong-password"})
    with time_machine.travel(start.timestamp() + 601, tick=False):
        response = client.post("/login/", {"username": "wangfang", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_token_api_issues_a_token_that_authenticates(personas: Any, client: Any) -> None:
    response = client.post("/api/auth/token/", {"username": "wangfang", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["username"] == "wangfang" and me.json()["roles"] == ["drafter"]


def test_token_api_locks_out_and_answers_429(personas: Any, client: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        response = client.post("/api/auth/token/", {"username": "wangfang", "password": "nope"})
        assert response.status_code == 401
        assert response.json()["code"] == "auth.invalid_credentials"
    response = client.post("/api/auth/token/", {"username": "wangfang", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "auth.locked"
    assert response.json()["extra"]["retry_after_seconds"] > 0


def test_bad_token_is_refused(personas: Any, client: Any) -> None:
    response = client.get("/api/me/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert response.json()["code"] == "auth.failed"


def test_passwords_are_checked_by_djangos_validators(personas: Any) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("12345678", personas.drafter)
    with pytest.raises(ValidationError):
        validate_password("wangfang1", personas.drafter)


def test_logout_ends_the_session(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_api_schema_and_docs_serve_signed_in_users(personas: Any, client: Any) -> None:
    client.force_login(personas.drafter)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/directory/tree/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
