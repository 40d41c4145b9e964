"""A demo user logs in through headless Chromium against a live Daphne and sees the 工作台."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_user_logs_in_and_sees_the_workbench(demo: Any, live_daphne: str, chromium: Any) -> None:
    page = browser_login(chromium, live_daphne, "wangfang")
    try:
        assert page.url.rstrip("/") == live_daphne
        assert page.locator("h1").inner_text() == "工作台"
        assert page.locator("#todo-panel h2").inner_text().startswith("待办")
        assert "王芳" in page.locator(".userbox").inner_text()
        nav = page.locator(".mainnav > a").all_inner_texts()
        # 督办 only for leaders and 督查处 (tests/oversight); 王芳 is a drafter.
        assert [item.strip() for item in nav] == ["工作台", "公文", "消息", "会议", "档案", "政务公开", "印章", "通讯录"]
        # Static files are served by Daphne (WhiteNoise): the shell's stylesheet applies.
        assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == "sticky"
    finally:
        page.context.close()


def test_wrong_password_stays_on_the_login_page(demo: Any, live_daphne: str, chromium: Any) -> None:
    page = browser_login(chromium, live_daphne, "wangfang", password="wrong-password")
    try:
        assert "/login/" in page.url
        assert "用户名或密码错误" in page.locator(".error").inner_text()
    finally:
        page.context.close()
