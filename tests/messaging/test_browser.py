"""Two headless Chromium pages chat through a live Daphne: delivery, read receipts,
escaping, and a killed connection that comes back with every message exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from messaging.chat import services
from officehub.transactions import in_transaction
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _in_thread(call: Any) -> Any:
    """Playwright's sync API keeps an event loop in this thread, where async_to_sync (the
    on-commit publish) refuses to run: act as another process would, from a thread."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run() -> Any:
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


SEQS = "els => els.map(e => Number(e.dataset.seq))"
BODIES = "els => els.map(e => e.querySelector('.msg-body').textContent)"


def _open(page: Any, base_url: str, conversation_id: int) -> None:
    page.goto(f"{base_url}/messages/?c={conversation_id}")
    page.wait_for_selector("#conn-state.online", timeout=15000)
    page.wait_for_selector(f"#conversation-list li.active[data-conversation='{conversation_id}']")


def _say(page: Any, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def test_two_browsers_exchange_messages_and_survive_a_dropped_connection(personas: Any, live_daphne: str, chromium: Any) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.drafter, peer_id=personas.drafter2.pk)
    alice = browser_login(chromium, live_daphne, "wangfang")
    bob = browser_login(chromium, live_daphne, "lijun")
    try:
        _open(alice, live_daphne, conversation.pk)
        _open(bob, live_daphne, conversation.pk)

        _say(alice, "你好，李军")
        bob.wait_for_selector("#message-list li.message[data-seq='1']")
        assert bob.inner_text("#message-list li.message[data-seq='1'] .msg-body") == "你好，李军"
        # Bob has the conversation open, so it is read; Alice sees it without reloading.
        alice.wait_for_function(
            "() => document.querySelector(\"li.message[data-seq='1'] .receipt\")?.textContent === '已读'", timeout=10000
        )

        payload = '<img src=x onerror="window.__xss=1">'
        _say(bob, payload)
        alice.wait_for_selector("#message-list li.message[data-seq='2']")
        assert alice.inner_text("#message-list li.message[data-seq='2'] .msg-body") == payload
        assert alice.locator("#message-list img").count() == 0
        assert alice.evaluate("window.__xss === undefined")

        # Bob's connection dies mid-conversation; Alice keeps writing.
        bob.evaluate("window.OfficeHubChat.disconnect()")
        bob.wait_for_selector("#conn-state.offline")
        for i in range(1, 4):
            _say(alice, f"断线期间第{i}条")
        alice.wait_for_selector("#message-list li.message[data-seq='5']")
        # ...and Bob, still offline, writes one that waits for the connection.
        _say(bob, "我这边断网了")
        bob.evaluate("window.OfficeHubChat.reconnect()")
        bob.wait_for_selector("#message-list li.message[data-seq='6']", timeout=15000)
        alice.wait_for_selector("#message-list li.message[data-seq='6']", timeout=15000)
        expected = ["你好，李军", payload, "断线期间第1条", "断线期间第2条", "断线期间第3条", "我这边断网了"]
        for page in (alice, bob):
            assert page.eval_on_selector_all("#message-list li.message[data-seq]", SEQS) == [1, 2, 3, 4, 5, 6]
            assert page.eval_on_selector_all("#message-list li.message[data-seq]", BODIES) == expected
        assert bob.locator("#message-list li.pending").count() == 0
    finally:
        alice.context.close()
        bob.context.close()


def test_unread_badge_and_live_todo_toast(personas: Any, live_daphne: str, chromium: Any) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    page = browser_login(chromium, live_daphne, "wangfang")
    try:
        page.goto(f"{live_daphne}/messages/")
        page.wait_for_selector("#conn-state.online", timeout=15000)
        _in_thread(
            lambda: in_transaction(services.message_send)(
                actor=personas.head, conversation_id=conversation.pk, client_id="b-1", body="王芳，请回电话"
            )
        )
        badge = f"#conversation-list li[data-conversation='{conversation.pk}'] .unread-badge"
        page.wait_for_selector(badge, timeout=10000)
        assert page.inner_text(badge) == "1"
        _in_thread(
            lambda: in_transaction(services.ding_send)(
                actor=personas.head,
                conversation_id=conversation.pk,
                client_id="b-2",
                body="速回",
                recipient_ids=[personas.drafter.pk],
            )
        )
        page.wait_for_selector("#toast-area .toast:has-text('DING')", timeout=10000)
        assert page.inner_text(badge) == "2"
        page.click(f"#conversation-list li[data-conversation='{conversation.pk}']")
        page.wait_for_selector("#message-list li.message[data-seq='2'] .ding-confirm")
        page.click("#message-list li.message[data-seq='2'] .ding-confirm")
        page.wait_for_selector("#message-list li.message[data-seq='2'] .ding-status:has-text('已确认')", timeout=10000)
        page.wait_for_selector(badge, state="detached", timeout=10000)
        # Start a direct chat from the directory search.
        page.fill("#direct-search", "赵敏")
        page.click("#direct-results li:has-text('赵敏')")
        page.wait_for_function("() => document.getElementById('chat-title').textContent === '赵敏'", timeout=10000)
        page.wait_for_selector("#conversation-list li.active")
        assert "赵敏" in page.inner_text("#conversation-list li.active .conv-title")
        # ...and a group from the 发起群聊 dialog; its owner may add members.
        page.click("#group-button")
        page.fill("#group-title", "临时专班")
        page.fill("#group-search", "陈杰")
        page.click("#group-results li:has-text('陈杰')")
        page.click("#group-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('chat-title').textContent === '临时专班'", timeout=10000)
        page.wait_for_selector("#add-members-button:not([hidden])")
        assert page.inner_text("#chat-members") == "2 人"
    finally:
        page.context.close()


def test_group_mention_receipts_dialog_and_recall(personas: Any, live_daphne: str, chromium: Any) -> None:
    group = in_transaction(services.conversation_group_create)(
        actor=personas.drafter, title="秘书处专班", member_ids=[personas.drafter2.pk, personas.head.pk]
    )
    alice = browser_login(chromium, live_daphne, "wangfang")
    bob = browser_login(chromium, live_daphne, "lijun")
    try:
        _open(alice, live_daphne, group.pk)
        _open(bob, live_daphne, group.pk)
        alice.click("#composer-input")
        alice.keyboard.type("@李")
        alice.wait_for_selector("#mention-box li:has-text('李军')")
        alice.keyboard.press("Enter")  # picks the highlighted member
        alice.keyboard.type("请看一下")
        assert alice.input_value("#composer-input") == "@李军 请看一下"
        alice.keyboard.press("Enter")
        bob.wait_for_selector("#message-list li.message.mention-me[data-seq='1']")
        receipt = "#message-list li.message[data-seq='1'] .receipt"
        alice.wait_for_function(f"() => document.querySelector(\"{receipt}\")?.textContent === '已读 1 / 未读 1'", timeout=10000)
        alice.click(receipt)
        alice.wait_for_selector("#receipt-dialog[open]")
        assert alice.inner_text("#receipt-read") == "李军（秘书处）"
        assert alice.inner_text("#receipt-unread") == "陈杰（秘书处）"
        alice.click("#receipt-dialog button")
        alice.click("#message-list li.message[data-seq='1'] .recall")
        bob.wait_for_selector("#message-list li.message.recalled[data-seq='1']")
        assert bob.inner_text("#message-list li.message[data-seq='1'] .msg-body") == "消息已撤回"
    finally:
        alice.context.close()
        bob.context.close()


def _send_in_thread(user: Any, conversation_id: int, body: str) -> None:
    _in_thread(
        lambda: in_transaction(services.message_send)(
            actor=user, conversation_id=conversation_id, client_id=f"b-{_next_id()}", body=body
        )
    )


_ids = iter(range(1000, 100000))


def _next_id() -> int:
    return next(_ids)


def test_plain_member_sees_no_add_members_and_load_older_only_when_there_is_more(
    personas: Any, live_daphne: str, chromium: Any
) -> None:
    group = in_transaction(services.conversation_group_create)(
        actor=personas.drafter, title="专班通知群", member_ids=[personas.drafter2.pk, personas.head.pk]
    )
    for i in range(3):
        _send_in_thread(personas.drafter, group.pk, f"第{i + 1}条")
    member = browser_login(chromium, live_daphne, "lijun")  # a plain member
    owner = browser_login(chromium, live_daphne, "wangfang")
    try:
        _open(member, live_daphne, group.pk)
        member.wait_for_selector("#message-list li.message[data-seq='3']")
        # Nothing to add for a plain member, nothing older to load: neither is shown.
        assert member.locator("#add-members-button").is_hidden()
        assert member.locator("#load-older").is_hidden()
        assert member.evaluate("getComputedStyle(document.getElementById('add-members-button')).display") == "none"
        # The owner may add members.
        _open(owner, live_daphne, group.pk)
        owner.wait_for_selector("#add-members-button", state="visible")
        # A history longer than one page shows 加载更早的消息, which loads the rest.
        for i in range(3, 35):
            _send_in_thread(personas.drafter, group.pk, f"第{i + 1}条")
        _open(member, live_daphne, group.pk)
        member.wait_for_selector("#message-list li.message[data-seq='35']")
        member.wait_for_selector("#load-older", state="visible")
        member.click("#load-older")
        member.wait_for_selector("#message-list li.message[data-seq='1']")
        member.wait_for_selector("#load-older", state="hidden")
    finally:
        member.context.close()
        owner.context.close()


def test_workbench_toasts_a_new_message_and_badges_the_messages_tab(personas: Any, live_daphne: str, chromium: Any) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    page = browser_login(chromium, live_daphne, "wangfang")  # lands on the 工作台
    try:
        assert page.locator("h1").inner_text() == "工作台"
        page.wait_for_function("() => window.OfficeHubNotify && window.OfficeHubNotify.online", timeout=15000)
        badge = "a[data-nav='messages'] .badge"
        assert page.locator(badge).is_hidden()
        _send_in_thread(personas.head, conversation.pk, "王芳，下午三点到302会议室")
        toast = page.wait_for_selector("#toast-area .toast:has-text('陈杰')", timeout=10000)
        assert "下午三点到302会议室" in toast.inner_text()
        assert toast.get_attribute("href") == f"/messages/?c={conversation.pk}"
        page.wait_for_selector(badge, state="visible")
        assert page.inner_text(badge) == "1"
        _send_in_thread(personas.head, conversation.pk, "带上材料")
        page.wait_for_function(f"() => document.querySelector(\"{badge}\").textContent === '2'", timeout=10000)
        # Every page of the shell starts from the server's unread count.
        page.goto(f"{live_daphne}/directory/")
        page.wait_for_selector(badge, state="visible")
        page.wait_for_function(f"() => document.querySelector(\"{badge}\").textContent === '2'", timeout=10000)
        page.wait_for_function("() => window.OfficeHubNotify.online", timeout=15000)
        # My own reply (from another device) raises no toast, and replying reads the chat.
        _send_in_thread(personas.drafter, conversation.pk, "收到")
        page.wait_for_selector(badge, state="hidden", timeout=10000)
        assert page.locator("#toast-area .toast:has-text('收到')").count() == 0
    finally:
        page.context.close()


EMOJI_PROBE = """(selector) => {
  const family = getComputedStyle(document.querySelector(selector)).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = 80; canvas.height = 80;
  const ctx = canvas.getContext("2d");
  ctx.font = `48px ${family}`;
  ctx.textBaseline = "top";
  const emoji = ctx.measureText("\\u{1F600}").width;
  const missing = ctx.measureText("\\u{10FFFD}").width;  // a private-use code point: no font has it
  ctx.fillStyle = "#000";
  ctx.fillText("\\u{1F600}", 4, 4);
  const data = ctx.getImageData(0, 0, 80, 80).data;
  let colored = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 128 && (Math.abs(r - g) > 40 || Math.abs(g - b) > 40)) colored += 1;
  }
  return { family, emoji, missing, colored };
}"""


def test_emoji_render_as_colour_glyphs_not_empty_boxes(personas: Any, live_daphne: str, chromium: Any) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.head, peer_id=personas.drafter.pk)
    _send_in_thread(personas.head, conversation.pk, "收到👍😀")
    page = browser_login(chromium, live_daphne, "wangfang")
    try:
        _open(page, live_daphne, conversation.pk)
        page.wait_for_selector("#message-list li.message[data-seq='1']")
        probe = page.evaluate(EMOJI_PROBE, "#message-list li.message[data-seq='1'] .msg-body")
        assert "Noto Color Emoji" in probe["family"], probe  # the stack names the emoji font
        assert probe["emoji"] > 0 and abs(probe["emoji"] - probe["missing"]) > 1, probe  # not the tofu box
        assert probe["colored"] > 100, probe  # drawn in colour: a real emoji glyph
        # The same on the shell (工作台).
        page.goto(f"{live_daphne}/")
        assert page.evaluate(EMOJI_PROBE, "body")["colored"] > 100
    finally:
        page.context.close()


def test_logging_out_in_one_tab_ends_the_live_chat_in_the_other(personas: Any, live_daphne: str, chromium: Any) -> None:
    chat = browser_login(chromium, live_daphne, "wangfang")
    try:
        chat.goto(f"{live_daphne}/messages/")
        chat.wait_for_selector("#conn-state.online", timeout=15000)
        other_tab = chat.context.new_page()  # the same browser session
        other_tab.goto(f"{live_daphne}/")
        other_tab.click(".userbox button[type=submit]")  # 退出
        other_tab.wait_for_url("**/login/**")
        chat.wait_for_function(
            "() => document.getElementById('conn-state').textContent === '登录已失效，请重新登录'", timeout=10000
        )
        chat.wait_for_timeout(2000)  # and it stays closed: no reconnect with a dead session
        assert chat.inner_text("#conn-state") == "登录已失效，请重新登录"
    finally:
        chat.context.close()
