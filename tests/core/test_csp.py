"""A strict Content-Security-Policy on every page, and templates that need nothing looser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = [
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
]


def _policy(response: Any) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.strip().split(" ", 1)[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize(
    "url", ["/", "/documents/", "/directory/", "/messages/", "/messages/meetings/", "/archives/", "/seals/", "/no-such-page/"]
)
def test_every_page_carries_the_strict_policy(personas: Any, client: Any, url: str) -> None:
    client.force_login(personas.drafter)
    response = client.get(url)
    policy = _policy(response)
    for directive in REQUIRED:
        assert policy[directive.split(" ", 1)[0]] == directive, (url, directive, policy)
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert policy["connect-src"] == "connect-src 'self' ws://testserver wss://testserver"
    # The older headers stay.
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_login_page_and_api_answers_carry_it_too(client: Any) -> None:
    assert "script-src 'self'" in client.get("/login/").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/api/me/").headers["Content-Security-Policy"]


def _our_templates() -> list[Path]:
    return sorted(p for p in ROOT.glob("*/templates/**/*.html")) + sorted(ROOT.glob("officehub/*/templates/**/*.html"))


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on*= handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_needs_inline_script_or_style() -> None:
    templates = _our_templates()
    assert len(templates) > 20
    found = []
    for template in templates:
        text = template.read_text(encoding="utf-8")
        # json_script output (<script type="application/json">) is data, not code.
        text = re.sub(r'<script[^>]*type="application/(ld\+)?json"[^>]*>', "", text)
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                found.append(f"{template.relative_to(ROOT)}: {what}: {match.group(0)[:60]}")
    assert found == []
