"""Alerts on every page of the shell (issue 14): the 消息 badge and toasts for a message, a
DING and a 待办; 免打扰 (muted conversations raise nothing); system notifications through
the Notification API while the tab is hidden, switched on only by a click.

A hidden tab is simulated by overriding ``document.visibilityState`` (headless Chromium
keeps every tab visible); the Notification API is either a recording fake (to follow the
permission prompt) or the real one behind a spy, with the permission granted by Playwright.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from messaging.chat import services
from officehub.transactions import in_transaction
from tests.conftest import browser_login
from tests.documents import flow
from tests.shell.phone import PHONES, phone_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = PHONES[0]
TOASTS = "#toast-area .toast"
MESSAGES_BADGE = "#messages-badge"
TODO_BADGE = "#todo-badge"

# Makes the page believe it is hidden or visible again: window.__setHidden(true|false).
VISIBILITY = """(() => {
  let hidden = false;
  const define = (name, get) => Object.defineProperty(Document.prototype, name, { configurable: true, get });
  define("visibilityState", () => (hidden ? "hidden" : "visible"));
  define("hidden", () => hidden);
  window.__setHidden = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
})();"""

# A Notification API that records what it is asked. The permission survives reloads in
# localStorage, as the browser's own would; requestPermission counts the prompts.
FAKE_NOTIFICATIONS = """(() => {
  const read = () => { try { return localStorage.getItem("__test_permission") || "default"; } catch (e) { return "default"; } };
  window.__notes = [];
  window.__asks = 0;
  class FakeNotification {
    constructor(title, options) { this.title = title; this.options = options || {}; window.__notes.push(this); }
    close() { this.closed = true; }
    static get permission() { return read(); }
    static requestPermission() {
      window.__asks += 1;
      localStorage.setItem("__test_permission", "granted");
      return Promise.resolve("granted");
    }
  }
  window.Notification = FakeNotification;
})();"""

# The real Notification API behind a spy: each notification the page shows is recorded.
SPY_NOTIFICATIONS = """(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__asks = 0;
  window.__errors = [];
  class Spy extends Real {
    constructor(title, options) {
      try { super(title, options); } catch (e) { window.__errors.push(String(e)); throw e; }
      window.__notes.push({ title, options: options || {} });
    }
    static get permission() { return Real.permission; }
    static requestPermission(...args) { window.__asks += 1; return Real.requestPermission(...args); }
  }
  window.Notification = Spy;
})();"""

NOTES = """() => window.__notes.map((n) => ({
  title: n.title, body: n.options.body, tag: n.options.tag, urgent: Boolean(n.options.requireInteraction),
}))"""

_client_ids = itertools.count(1)


def _in_thread(call: Callable[[], Any]) -> Any:
    """Playwright's sync API keeps an event loop in this thread, where the on-commit
    publish (async_to_sync) refuses to run: act as another process would, from a thread."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run() -> Any:
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _say(sender: Any, conversation: Any, body: str) -> None:
    _in_thread(
        lambda: in_transaction(services.message_send)(
            actor=sender, conversation_id=conversation.pk, client_id=f"shell-{next(_client_ids)}", body=body
        )
    )


def _ding(sender: Any, conversation: Any, body: str, recipients: list[Any]) -> None:
    _in_thread(
        lambda: in_transaction(services.ding_send)(
            actor=sender,
            conversation_id=conversation.pk,
            client_id=f"shell-{next(_client_ids)}",
            body=body,
            recipient_ids=[user.pk for user in recipients],
        )
    )


def _online(page: Any) -> None:
    page.wait_for_function("() => window.OfficeHubNotify && window.OfficeHubNotify.online", timeout=15000)


def _badge_is(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => { const b = document.querySelector(s); return b && !b.hidden && b.textContent === t; }",
        arg=[selector, text],
        timeout=10000,
    )


def _mute_in_contract(page: Any, muted: list[int]) -> None:
    """Answer GET /api/messaging/unread/ as its contract says: the real figures plus
    ``muted_conversation_ids`` (read from ``muted`` at each request, so a test can change it)."""

    def answer(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body["muted_conversation_ids"] = list(muted)
        route.fulfill(response=response, json=body)

    page.route("**/api/messaging/unread/", answer)


def test_a_message_on_the_phone_workbench_raises_a_toast_and_the_bottom_bar_badge(
    personas: Any, live_daphne: str, chromium: Any
) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    page = phone_login(chromium, live_daphne, PHONE, "wangfang")
    try:
        _online(page)
        assert page.locator(MESSAGES_BADGE).is_hidden()
        _say(personas.head, conversation, "王芳，下午三点到302会议室")
        toast = page.wait_for_selector(f"{TOASTS}:has-text('302会议室')", timeout=10000)
        assert toast.inner_text().startswith("【新消息】陈杰：")
        assert toast.get_attribute("href") == f"/messages/?c={conversation.pk}"
        _badge_is(page, MESSAGES_BADGE, "1")
        # On a phone the badge sits on the bottom bar's 消息 item and the toast under the
        # header, both on screen.
        badge_box = page.locator(MESSAGES_BADGE).bounding_box()
        item_box = page.locator(".mainnav a[data-nav=messages]").bounding_box()
        toast_box = page.locator(TOASTS).first.bounding_box()
        assert badge_box and item_box and toast_box
        assert item_box["y"] <= badge_box["y"] and badge_box["y"] + badge_box["height"] <= PHONE.height
        assert 0 <= toast_box["x"] and toast_box["x"] + toast_box["width"] <= PHONE.width and toast_box["y"] >= 0
        # A tap on the toast opens the conversation.
        page.tap(f"{TOASTS}:has-text('302会议室')")
        page.wait_for_url(f"{live_daphne}/messages/?c={conversation.pk}")
    finally:
        page.context.close()


def test_a_muted_conversation_raises_no_toast_badge_or_notification(personas: Any, live_daphne: str, chromium: Any) -> None:
    muted_chat = in_transaction(services.conversation_group_create)(
        actor=personas.head, title="秘书处闲聊群", member_ids=[personas.drafter.pk]
    )
    open_chat = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    for body in ("群里第一条", "群里第二条"):
        _say(personas.head, muted_chat, body)
    _say(personas.head, open_chat, "单聊里的一条")
    muted = [muted_chat.pk]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 800})
    context.add_init_script(VISIBILITY)
    context.add_init_script(FAKE_NOTIFICATIONS)
    page = context.new_page()
    _mute_in_contract(page, muted)
    try:
        from officehub.demo import DEMO_PASSWORD

        page.goto(f"{live_daphne}/login/")
        page.fill("#id_username", "wangfang")
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_daphne}/")
        _online(page)
        # The badge counts the unmuted conversation only (3 unread in all, 2 of them muted).
        _badge_is(page, MESSAGES_BADGE, "1")
        assert page.evaluate("window.OfficeHubNotify.mutedIds()") == [muted_chat.pk]
        page.click("#desktop-notify")  # system notifications on
        page.evaluate("window.__setHidden(true)")

        _say(personas.head, muted_chat, "群里的闲聊：中午吃什么")
        _say(personas.head, open_chat, "请把材料发我")
        page.wait_for_selector(f"{TOASTS}:has-text('请把材料发我')", timeout=10000)
        _badge_is(page, MESSAGES_BADGE, "2")
        page.wait_for_timeout(2000)  # past the badge's read-back from the server
        _badge_is(page, MESSAGES_BADGE, "2")
        assert page.locator(f"{TOASTS}:has-text('中午吃什么')").count() == 0
        assert [note["body"] for note in page.evaluate(NOTES)] == ["请把材料发我"]

        # Unmuted elsewhere: the next conversation.* frame re-reads the list, and the
        # conversation alerts again.
        muted.clear()
        page.evaluate(f"window.OfficeHubNotify.handle({{type: 'conversation.updated', conversation_id: {muted_chat.pk}}})")
        page.wait_for_function("() => window.OfficeHubNotify.mutedIds().length === 0", timeout=10000)
        _badge_is(page, MESSAGES_BADGE, "5")
        _say(personas.head, muted_chat, "下午两点开会")
        page.wait_for_selector(f"{TOASTS}:has-text('下午两点开会')", timeout=10000)
        assert [note["body"] for note in page.evaluate(NOTES)] == ["请把材料发我", "下午两点开会"]
    finally:
        context.close()


def _mute_for_real(user: Any, conversation: Any) -> None:
    """Mark the conversation 免打扰 for the user through the chat's own service."""
    in_transaction(services.conversation_settings_set)(actor=user, conversation_id=conversation.pk, muted=True)


def test_a_conversation_muted_in_the_database_stays_silent_in_the_shell(
    personas: Any, live_daphne: str, chromium: Any
) -> None:
    muted_chat = in_transaction(services.conversation_group_create)(
        actor=personas.head, title="免打扰的群", member_ids=[personas.drafter.pk]
    )
    open_chat = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    _mute_for_real(personas.drafter, muted_chat)
    page = browser_login(chromium, live_daphne, "wangfang")
    try:
        _online(page)
        page.wait_for_function(f"() => window.OfficeHubNotify.mutedIds().includes({muted_chat.pk})", timeout=10000)
        _say(personas.head, muted_chat, "免打扰群里的消息")
        _say(personas.head, open_chat, "单聊消息照常提醒")
        page.wait_for_selector(f"{TOASTS}:has-text('单聊消息照常提醒')", timeout=10000)
        page.wait_for_timeout(2000)
        _badge_is(page, MESSAGES_BADGE, "1")
        assert page.locator(f"{TOASTS}:has-text('免打扰群里的消息')").count() == 0
    finally:
        page.context.close()


def test_a_ding_and_a_todo_raise_one_toast_each(personas: Any, live_daphne: str, chromium: Any) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    muted_group = in_transaction(services.conversation_group_create)(
        actor=personas.head, title="督办群", member_ids=[personas.drafter.pk]
    )
    drafter = phone_login(chromium, live_daphne, PHONE, "wangfang")
    _mute_in_contract(drafter, [muted_group.pk])
    reviewer = browser_login(chromium, live_daphne, "zhaomin")
    try:
        drafter.reload()
        _online(drafter)
        _online(reviewer)
        _ding(personas.head, conversation, "速回电话", [personas.drafter])
        drafter.wait_for_selector(f"{TOASTS}:has-text('速回电话')", timeout=10000)
        _badge_is(drafter, MESSAGES_BADGE, "1")
        _badge_is(drafter, TODO_BADGE, "1")  # a DING is a 待办 until confirmed
        drafter.wait_for_timeout(1000)
        toasts = drafter.locator(TOASTS).all_inner_texts()
        assert toasts == ["DING：陈杰：速回电话"], toasts  # one alert, not one per frame
        assert "toast-ding" in (drafter.locator(TOASTS).first.get_attribute("class") or "")

        # A DING sent in a muted conversation still gets through; its message does not count.
        _ding(personas.head, muted_group, "明早九点前报送材料", [personas.drafter])
        drafter.wait_for_selector(f"{TOASTS}:has-text('明早九点前报送材料')", timeout=10000)
        _badge_is(drafter, TODO_BADGE, "2")
        drafter.wait_for_timeout(2000)
        _badge_is(drafter, MESSAGES_BADGE, "1")

        # A 待办: the drafter sends a document to review; the reviewer's page says so.
        document = flow.draft(personas, title="关于报送2026年度重点工作任务清单的通知")
        _in_thread(lambda: flow.act(flow.services.document_submit, document_id=document.pk, actor=personas.drafter))
        toast = reviewer.wait_for_selector(f"{TOASTS}:has-text('重点工作任务清单')", timeout=10000)
        assert toast.inner_text().startswith("【新待办】")
        assert toast.get_attribute("href") == f"/documents/{document.pk}/"
        _badge_is(reviewer, TODO_BADGE, "1")
    finally:
        drafter.context.close()
        reviewer.context.close()


def test_desktop_notifications_are_asked_for_once_by_a_click_and_shown_only_while_hidden(
    personas: Any, live_daphne: str, chromium: Any
) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": PHONE.width, "height": PHONE.height}, is_mobile=True, has_touch=True
    )
    context.add_init_script(VISIBILITY)
    context.add_init_script(FAKE_NOTIFICATIONS)
    page = context.new_page()
    try:
        from officehub.demo import DEMO_PASSWORD

        page.goto(f"{live_daphne}/login/")
        page.fill("#id_username", "wangfang")
        page.fill("#id_password", DEMO_PASSWORD)
        page.tap("button[type=submit]")
        page.wait_for_url(f"{live_daphne}/")
        _online(page)
        control = page.locator("#desktop-notify")
        # Never asked on load; the switch is there, off.
        assert page.evaluate("window.__asks") == 0
        assert control.is_visible() and control.get_attribute("aria-label") == "开启桌面通知"
        assert control.get_attribute("aria-pressed") == "false"

        # Hidden but not switched on: a toast waits, no system notification.
        page.evaluate("window.__setHidden(true)")
        _say(personas.head, conversation, "开启之前的消息")
        page.wait_for_selector(f"{TOASTS}:has-text('开启之前的消息')", timeout=10000)
        assert page.evaluate(NOTES) == []
        page.evaluate("window.__setHidden(false)")

        control.tap()
        page.wait_for_function("() => document.getElementById('desktop-notify').getAttribute('aria-pressed') === 'true'")
        assert page.evaluate("window.__asks") == 1
        assert control.get_attribute("aria-label") == "关闭桌面通知"
        page.wait_for_selector(f"{TOASTS}:has-text('桌面通知已开启')")

        # The choice is remembered: a new page asks nothing and is already on.
        page.reload()
        _online(page)
        assert page.evaluate("window.__asks") == 0
        assert page.locator("#desktop-notify").get_attribute("aria-pressed") == "true"

        # Visible: a toast, no system notification.
        _say(personas.head, conversation, "页面在前台时的消息")
        page.wait_for_selector(f"{TOASTS}:has-text('页面在前台时的消息')", timeout=10000)
        assert page.evaluate(NOTES) == []

        # Hidden: a system notification for a message and for a DING (which insists).
        page.evaluate("window.__setHidden(true)")
        _say(personas.head, conversation, "页面在后台时的消息")
        page.wait_for_function("() => window.__notes.length === 1", timeout=10000)
        _ding(personas.head, conversation, "马上回复", [personas.drafter])
        page.wait_for_function("() => window.__notes.length === 2", timeout=10000)
        notes = page.evaluate(NOTES)
        assert notes[0] == {
            "title": "陈杰", "body": "页面在后台时的消息", "tag": f"officehub-conversation-{conversation.pk}", "urgent": False,
        }
        assert notes[1]["title"] == "DING" and "马上回复" in notes[1]["body"] and notes[1]["urgent"] is True
        # Clicking a notification opens what it is about.
        page.evaluate("window.__notes[0].onclick()")
        page.wait_for_url(f"{live_daphne}/messages/?c={conversation.pk}")

        # Switched off again: nothing more, even hidden.
        page.goto(f"{live_daphne}/")
        _online(page)
        page.locator("#desktop-notify").tap()
        page.wait_for_function("() => document.getElementById('desktop-notify').getAttribute('aria-pressed') === 'false'")
        page.evaluate("window.__setHidden(true)")
        _say(personas.head, conversation, "关闭之后的消息")
        page.wait_for_selector(f"{TOASTS}:has-text('关闭之后的消息')", timeout=10000)
        assert page.evaluate(NOTES) == []
        assert page.evaluate("window.__asks") == 0
    finally:
        context.close()


def test_the_real_notification_api_shows_a_hidden_tab_its_messages_on_the_chat_page_too(
    personas: Any, live_daphne: str, chromium: Any
) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    other = in_transaction(services.conversation_direct_open)(actor=personas.reviewer, peer_id=personas.drafter.pk)
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 800})
    context.grant_permissions(["notifications"], origin=live_daphne)
    context.add_init_script(VISIBILITY)
    context.add_init_script(SPY_NOTIFICATIONS)
    page = context.new_page()
    try:
        from officehub.demo import DEMO_PASSWORD

        page.goto(f"{live_daphne}/login/")
        page.fill("#id_username", "wangfang")
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_daphne}/")
        _online(page)
        assert page.evaluate("Notification.permission") == "granted"
        page.click("#desktop-notify")  # already granted: switched on without a prompt
        page.wait_for_function("() => window.OfficeHubNotify.desktopEnabled()")
        assert page.evaluate("window.__asks") == 0

        page.evaluate("window.__setHidden(true)")
        _say(personas.head, conversation, "后台标签页收到的消息")
        page.wait_for_function("() => window.__notes.length === 1", timeout=10000)
        assert page.evaluate("window.__errors") == []
        assert page.evaluate(NOTES)[0]["body"] == "后台标签页收到的消息"

        # The chat page owns its socket and hands its frames over: hidden, it notifies too.
        page.evaluate("window.__setHidden(false)")
        page.goto(f"{live_daphne}/messages/?c={conversation.pk}")
        page.wait_for_selector("#conn-state.online", timeout=15000)
        page.evaluate("window.__setHidden(true)")
        _say(personas.reviewer, other, "聊天页在后台时的消息")
        page.wait_for_function("() => window.__notes.length === 1", timeout=10000)
        note = page.evaluate(NOTES)[0]
        assert note["title"] == "赵敏" and note["body"] == "聊天页在后台时的消息"
        page.evaluate("window.__setHidden(false)")
        _say(personas.reviewer, other, "聊天页在前台时的消息")
        preview = f"#conversation-list li[data-conversation='{other.pk}']:has-text('聊天页在前台时的消息')"
        page.wait_for_selector(preview, timeout=10000)
        page.wait_for_timeout(500)
        assert len(page.evaluate(NOTES)) == 1
    finally:
        context.close()
