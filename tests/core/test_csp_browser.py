"""Headless Chromium loads the main pages under the strict Content-Security-Policy and
records every violation (``securitypolicyviolation`` events and console errors): none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright injects this through the DevTools protocol, outside the page's CSP.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def content(personas: Any) -> dict[str, int]:
    from documents.models import Document
    from documents.services import document_create_draft
    from messaging.chat.services import conversation_group_create, message_send
    from messaging.meetings.services import meeting_schedule

    p = personas
    bureau = p.outsider.department.organisation()
    with transaction.atomic():
        document = document_create_draft(
            actor=p.drafter, doc_type="notice", title="关于做好安全生产工作的通知", body="一、总体要求\n（一）压实责任。",
            primary_recipient_ids=[bureau.pk],
        )
    with transaction.atomic():
        group = conversation_group_create(actor=p.drafter, title="秘书处工作群", member_ids=[p.drafter2.pk, p.head.pk])
    with transaction.atomic():
        message_send(actor=p.head, conversation_id=group.pk, client_id="csp-1", body="请大家 @王芳 看一下通知 😀")
    now = timezone.now()
    with transaction.atomic():
        meeting = meeting_schedule(
            actor=p.head, title="周工作例会", agenda="一、通报\n二、部署", start_at=now + timedelta(minutes=1),
            end_at=now + timedelta(hours=1), user_ids=[p.drafter.pk],
        )
    assert Document.objects.filter(pk=document.pk).exists()
    return {"document": document.pk, "meeting": meeting.pk}


def _violations(page: Any, url: str, console: list[str]) -> list[str]:
    console.clear()
    response = page.goto(url)
    assert response is not None and response.status < 500, (url, response and response.status)
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), url
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # late style and script insertions
    events = page.evaluate("window.__csp || []")
    return [f"{url}: {event}" for event in events] + [f"{url}: console: {text}" for text in console]


def _visit(browser: Any, base: str, username: str, paths: list[str]) -> list[str]:
    page = browser_login(browser, base, username)
    console: list[str] = []
    page.context.add_init_script(LISTEN)
    page.on(
        "console",
        lambda message: console.append(message.text)
        if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text)
        else None,
    )
    found: list[str] = []
    try:
        for path in paths:
            found += _violations(page, base + path, console)
    finally:
        page.context.close()
    return found


def test_main_pages_load_without_a_single_csp_violation(
    content: dict[str, int], live_daphne: str, chromium: Any
) -> None:
    document, meeting = content["document"], content["meeting"]
    found = _visit(
        chromium,
        live_daphne,
        "wangfang",
        [
            "/",
            "/documents/",
            f"/documents/{document}/",
            f"/documents/{document}/timeline/",
            f"/documents/{document}/diff/",
            "/documents/new/?doc_type=notice",
            "/directory/?q=王",
            "/messages/",
            "/messages/meetings/",
            f"/messages/meetings/{meeting}/",
            "/archives/?q=通知",
            "/seals/verify/",
            "/no-such-page/",
            "/api/docs/",
        ],
    )
    found += _visit(chromium, live_daphne, "huangyan", ["/seals/"])
    found += _visit(chromium, live_daphne, "xuhui", ["/archives/pending/", "/archives/upload/"])
    found += _visit(
        chromium, live_daphne, "admin",
        ["/admin/", "/admin/directory/department/", "/admin/directory/department/add/", "/admin/directory/user/1/change/"],
    )
    assert found == []


def test_the_login_page_has_no_violation_either(personas: Any, live_daphne: str, chromium: Any) -> None:
    context = chromium.new_context(locale="zh-CN")
    context.add_init_script(LISTEN)
    page = context.new_page()
    try:
        page.goto(f"{live_daphne}/login/")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()
