"""Every API error has the same shape: {code, message, extra}."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from officehub.errors import (
    ApplicationError,
    ConflictError,
    InvalidTransition,
    PermissionDeniedError,
)

pytestmark = pytest.mark.django_db


class _Raise(APIView):
    errors: dict[str, Exception] = {
        "domain": ApplicationError("印章已吊销。", code="seal.revoked", extra={"seal": 3}),
        "conflict": ConflictError("他人已先行处理。"),
        "transition": InvalidTransition("当前状态不允许该操作。", code="document.invalid_transition"),
        "forbidden": PermissionDeniedError("无权操作。"),
    }

    def get(self, request: Request, kind: str) -> Response:
        if kind == "django-validation":
            from django.core.exceptions import ValidationError

            raise ValidationError({"title": ["标题不能为空。"]})
        if kind == "django-404":
            from django.http import Http404

            raise Http404
        raise self.errors[kind]


urlpatterns = [path("raise/<str:kind>/", _Raise.as_view())]


@pytest.fixture
def raising_client(personas: Any, client: Any, settings: Any) -> Any:
    settings.ROOT_URLCONF = __name__
    client.force_login(personas.staff)
    return client


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("domain", 400, "seal.revoked"),
        ("conflict", 409, "conflict"),
        ("transition", 409, "document.invalid_transition"),
        ("forbidden", 403, "permission_denied"),
        ("django-validation", 400, "invalid"),
        ("django-404", 404, "not_found"),
    ],
)
def test_errors_render_in_one_format(raising_client: Any, kind: str, status: int, code: str) -> None:
    response = raising_client.get(f"/raise/{kind}/")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == code
    assert body["message"]


def test_domain_error_keeps_its_extra(raising_client: Any) -> None:
    assert raising_client.get("/raise/domain/").json()["extra"] == {"seal": 3}


def test_django_validation_error_lists_fields(raising_client: Any) -> None:
    body = raising_client.get("/raise/django-validation/").json()
    assert body["extra"]["fields"] == {"title": ["标题不能为空。"]}


def test_throttled_requests_get_429_in_the_same_format(personas: Any, client: Any) -> None:
    statuses = [client.post("/api/auth/token/", {"username": "nobody", "password": "x"}).status_code for _ in range(25)]
    assert 429 in statuses
    response = client.post("/api/auth/token/", {"username": "nobody", "password": "x"})
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response.json()["extra"]["wait_seconds"] > 0
