"""Hostile JSON never becomes a 500: nesting depth is bounded, NUL characters are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from officehub import jsonsafe
from officehub.demo import DEMO_PASSWORD
from tests.core.test_auth import _all_routes, _concrete

pytestmark = pytest.mark.django_db

# 2 KB that used to raise RecursionError inside json.loads.
DEEP = "[" * 1000 + "]" * 1000


def test_loads_accepts_up_to_the_limit_and_refuses_one_more_level() -> None:
    assert jsonsafe.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(jsonsafe.JSONTooDeep):
        jsonsafe.loads("[" * 65 + "]" * 65)
    with pytest.raises(ValueError):  # callers that catch the parser's ValueError keep working
        jsonsafe.loads(DEEP)


def test_depth_ignores_brackets_inside_strings() -> None:
    text = json.dumps({"a": "[" * 500 + "{" * 500, "b": ["\\\"[[["]})
    assert jsonsafe.nesting_depth(text) == 2
    assert jsonsafe.loads(text)["a"].startswith("[[[")


def test_deep_objects_are_refused_too() -> None:
    text = '{"a":' * 100 + "1" + "}" * 100
    with pytest.raises(jsonsafe.JSONTooDeep):
        jsonsafe.loads(text)


def test_nul_in_a_value_or_a_key_is_refused_but_an_escaped_backslash_is_not() -> None:
    with pytest.raises(jsonsafe.JSONNulCharacter):
        jsonsafe.loads('{"title": "a\\u0000b"}')
    with pytest.raises(jsonsafe.JSONNulCharacter):
        jsonsafe.loads('[{"\\u0000": 1}]')
    assert jsonsafe.loads('{"title": "\\\\u0000"}') == {"title": "\\u0000"}


def _json_write_routes() -> list[str]:
    return sorted({_concrete(r) for r in _all_routes() if r.startswith("api/")})


def test_anonymous_token_endpoint_answers_a_coded_400(client: Any) -> None:
    response = client.post("/api/auth/token/", DEEP, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == "json.too_deep" and body["extra"] == {"max_depth": jsonsafe.MAX_DEPTH}


def test_every_json_write_endpoint_refuses_deep_nesting_without_a_500(personas: Any, client: Any) -> None:
    client.force_login(personas.admin)
    refused = []
    for path in _json_write_routes():
        for method in ("post", "put", "patch"):
            response = getattr(client, method)("/" + path, DEEP, content_type="application/json")
            assert response.status_code < 500, (method, path, response.status_code)
            body = response.json()
            assert set(body) == {"code", "message", "extra"}, (method, path, body)
            if response.status_code == 400:
                assert body["code"] == "json.too_deep", (method, path, body)
                refused.append((method, path))
    # Most write endpoints reach the parser (the rest refuse earlier: 404, 405, 415).
    assert len(refused) >= 30, refused


def test_nul_in_a_json_string_is_a_coded_400_not_a_database_error(personas: Any, client: Any) -> None:
    response = client.post(
        "/api/auth/token/", '{"username": "wang\\u0000fang", "password": "x"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "json.nul_character"


def test_a_body_over_the_upload_limit_is_a_coded_413(personas: Any, client: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"username": "x" * 2000, "password": DEMO_PASSWORD})
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request.too_large"


def test_ordinary_json_still_works(personas: Any, client: Any) -> None:
    response = client.post(
        "/api/auth/token/", {"username": "wangfang", "password": DEMO_PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["token"]
