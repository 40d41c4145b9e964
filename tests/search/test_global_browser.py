"""Headless Chromium against a live Daphne: 全局搜索 from the shell's box — the counts per
tab, switching tabs, and a message result that opens the chat at that message with the
messages around it (not at the newest page)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from documents.services import document_create_draft
from messaging.chat.services import conversation_group_create, message_send
from search.services import change_drain
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_global_search_from_the_shell_opens_the_chat_at_the_message(
    personas: Any, live_index: None, live_daphne: str, chromium: Any
) -> None:
    p = personas
    with transaction.atomic():
        team = conversation_group_create(actor=p.drafter, title="秘书处值班群", member_ids=[p.head.pk])
        sent = [
            message_send(
                actor=p.drafter, conversation_id=team.pk, client_id=f"gb-{n}",
                body="台风梅花人员转移方案请尽快确认" if n == 5 else f"第{n}条日常消息",
            ).message
            for n in range(1, 46)
        ]
        document_create_draft(
            actor=p.drafter, doc_type="notice", title="关于台风梅花人员转移方案的通知", body="做好人员转移。",
            primary_recipient_ids=[p.outsider.department.organisation().pk],
        )
    change_drain(refresh=True)
    target = sent[4]

    page = browser_login(chromium, live_daphne, "chenjie")  # a member of the group, same 处室 as the drafter
    try:
        page.fill("#shell-search", "台风梅花")
        page.press("#shell-search", "Enter")
        page.wait_for_load_state("networkidle")
        counts = {
            tab: page.locator(f".global-tabs a[data-tab={tab}] .tab-count").inner_text()
            for tab in ("people", "groups", "messages", "documents", "archives")
        }
        assert counts == {"people": "0", "groups": "0", "messages": "1", "documents": "1", "archives": "0"}
        assert page.locator(".global-tabs a.active").get_attribute("data-tab") == "messages"  # the first with results
        assert page.locator("article[data-type=message] .snippet em").first.inner_text() == "台风梅花"

        page.click(".global-tabs a[data-tab=documents]")
        page.wait_for_load_state("networkidle")
        assert "台风梅花" in page.locator("article[data-type=document] h3 em").first.inner_text()
        page.click(".global-tabs a[data-tab=messages]")
        page.wait_for_load_state("networkidle")

        page.click(f"article[data-type=message][data-id='{target.pk}'] a")
        page.wait_for_url("**/messages/**")
        marked = page.locator(f"#message-list li.jump-target[data-seq='{target.seq}']")
        marked.wait_for(state="visible", timeout=10000)
        assert "台风梅花人员转移方案" in marked.inner_text()
        # The messages around it are shown, not the newest page.
        assert page.locator("#message-list li[data-seq='4']").count() == 1
        assert page.locator("#message-list li[data-seq='6']").count() == 1
        assert page.locator("#message-list li[data-seq='45']").count() == 0
        assert marked.is_visible()
        page.click("#load-newer")
        page.locator("#message-list li[data-seq='45']").wait_for(state="attached", timeout=10000)
        assert page.locator("#load-newer").count() == 0
    finally:
        page.context.close()

    outsider = browser_login(chromium, live_daphne, "qianlei")
    try:
        outsider.goto(f"{live_daphne}/search/?q=台风梅花&tab=messages")
        assert outsider.locator(".global-tabs a[data-tab=messages] .tab-count").inner_text() == "0"
        assert outsider.locator("article[data-type=message]").count() == 0
    finally:
        outsider.context.close()
