"""Issue 14 in two headless Chromium pages: a reply and a forward (one by one and as a
合并转发 record), the emoji picker and reactions, and the chat page on a phone (390×844
and 360×800, touch) with layout checks: no horizontal scroll, key elements on screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from messaging.chat import services
from officehub.transactions import in_transaction
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _open(page: Any, base_url: str, conversation_id: int) -> None:
    page.goto(f"{base_url}/messages/?c={conversation_id}")
    page.wait_for_selector("#conn-state.online", timeout=15000)
    page.wait_for_selector(f"#conversation-list li.active[data-conversation='{conversation_id}']")


def _say(page: Any, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def _message(seq: int) -> str:
    return f"#message-list li.message[data-seq='{seq}']"


def test_a_reply_and_forwards_between_two_pages(personas: Any, live_daphne: str, chromium: Any) -> None:
    group = in_transaction(services.conversation_group_create)(
        actor=personas.drafter, title="专班", member_ids=[personas.drafter2.pk, personas.head.pk]
    )
    direct = in_transaction(services.conversation_direct_open)(actor=personas.drafter, peer_id=personas.drafter2.pk)
    alice = browser_login(chromium, live_daphne, "wangfang")
    bob = browser_login(chromium, live_daphne, "lijun")
    try:
        _open(alice, live_daphne, group.pk)
        _open(bob, live_daphne, group.pk)
        _say(alice, "请于周五前报送材料")
        bob.wait_for_selector(_message(1))
        # Bob replies to it: the quote travels with the reply.
        bob.click(f"{_message(1)} .tools .reply")
        assert "请于周五前报送材料" in bob.inner_text("#reply-text")
        _say(bob, "收到，周四报")
        alice.wait_for_selector(f"{_message(2)} .quote")
        assert alice.inner_text(f"{_message(2)} .quote") == "王芳：请于周五前报送材料"  # who wrote the quoted message
        assert bob.locator("#reply-bar").is_hidden()
        # Alice forwards Bob's reply to their direct chat, one by one.
        alice.click(f"{_message(2)} .tools .forward")
        alice.wait_for_selector("#forward-dialog[open]")
        alice.check(f"#forward-conversations input[value='{direct.pk}']")
        alice.click("#forward-submit")
        # ...and both messages as one 合并转发 record, through multi-select.
        alice.click("#select-button")
        alice.wait_for_selector("#select-bar:not([hidden])")
        alice.click(f"{_message(1)} .select-box")
        alice.click(f"{_message(2)}")  # the row itself is the touch target
        assert alice.inner_text("#select-count") == "已选 2 条"
        alice.click("#select-merge")
        alice.check(f"#forward-conversations input[value='{direct.pk}']")
        alice.click("#forward-submit")
        alice.wait_for_selector("#composer:not([hidden])")
        # Bob sees both in the direct chat: the copy marked 转发自, then the record.
        bob.click(f"#conversation-list li[data-conversation='{direct.pk}']")
        bob.wait_for_selector(_message(2), timeout=10000)
        assert "转发自 李军" in bob.inner_text(f"{_message(1)} .meta")
        assert bob.inner_text(f"{_message(1)} .msg-body") == "收到，周四报"
        assert "专班的聊天记录" in bob.inner_text(f"{_message(2)} .bundle-card")
        bob.click(f"{_message(2)} .bundle-open")
        bob.wait_for_selector("#bundle-dialog[open]")
        items = bob.eval_on_selector_all("#bundle-items .bundle-body", "els => els.map(e => e.textContent)")
        assert items == ["请于周五前报送材料", "收到，周四报"]
    finally:
        alice.context.close()
        bob.context.close()


def test_the_emoji_picker_and_reactions(personas: Any, live_daphne: str, chromium: Any) -> None:
    conversation = in_transaction(services.conversation_direct_open)(actor=personas.drafter, peer_id=personas.drafter2.pk)
    alice = browser_login(chromium, live_daphne, "wangfang")
    bob = browser_login(chromium, live_daphne, "lijun")
    try:
        _open(alice, live_daphne, conversation.pk)
        _open(bob, live_daphne, conversation.pk)
        alice.fill("#composer-input", "好的")
        alice.click("#emoji-button")
        alice.wait_for_selector("#emoji-panel:not([hidden])")
        alice.click("#emoji-grid .emoji-cell[data-emoji='👍']")
        alice.click("#emoji-tabs .emoji-tab:has-text('办公')")
        alice.click("#emoji-grid .emoji-cell[data-emoji='📄']")
        assert alice.input_value("#composer-input") == "好的👍📄"
        alice.press("#composer-input", "Enter")
        bob.wait_for_selector(_message(1))
        assert bob.inner_text(f"{_message(1)} .msg-body") == "好的👍📄"
        alice.keyboard.press("Escape")
        # Bob reacts through the picker; both pages show it live.
        bob.click(f"{_message(1)} .tools .react")
        bob.wait_for_selector("#emoji-panel[data-mode='react']")
        bob.click("#emoji-grid .emoji-cell[data-emoji='👍']")
        for page in (alice, bob):
            page.wait_for_selector(f"{_message(1)} .reaction[data-emoji='👍'] .reaction-count:text-is('1')", timeout=10000)
        assert bob.get_attribute(f"{_message(1)} .reaction[data-emoji='👍']", "aria-pressed") == "true"
        assert alice.get_attribute(f"{_message(1)} .reaction[data-emoji='👍']", "aria-pressed") == "false"
        # Alice adds hers by tapping the chip; a reload keeps both.
        alice.click(f"{_message(1)} .reaction[data-emoji='👍']")
        bob.wait_for_selector(f"{_message(1)} .reaction[data-emoji='👍'] .reaction-count:text-is('2')", timeout=10000)
        bob.reload()
        bob.wait_for_selector(f"{_message(1)} .reaction[data-emoji='👍'] .reaction-count:text-is('2')", timeout=10000)
        # Bob takes his back.
        bob.click(f"{_message(1)} .reaction[data-emoji='👍']")
        alice.wait_for_selector(f"{_message(1)} .reaction[data-emoji='👍'] .reaction-count:text-is('1')", timeout=10000)
    finally:
        alice.context.close()
        bob.context.close()


LAYOUT = """() => {
  const doc = document.documentElement;
  const box = (selector) => {
    const node = document.querySelector(selector);
    if (!node) return null;
    const r = node.getBoundingClientRect();
    const style = getComputedStyle(node);
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height,
             visible: style.display !== 'none' && style.visibility !== 'hidden' && r.width > 0 && r.height > 0 };
  };
  const wide = [...document.querySelectorAll('body *')].filter((n) => {
    const r = n.getBoundingClientRect();
    const style = getComputedStyle(n);
    return style.display !== 'none' && r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5)
      && !n.closest('.mainnav, dialog:not([open])');
  }).map((n) => n.tagName + (n.id ? '#' + n.id : '') + '.' + n.className).slice(0, 10);
  return { scrollWidth: doc.scrollWidth, innerWidth, innerHeight, wide,
           list: box('#conversation-list'), main: box('.chat-main'), sidebar: box('.chat-sidebar'),
           back: box('#back-button'), input: box('#composer-input'), send: box('#send-button'),
           emojiButton: box('#emoji-button'), panel: box('#emoji-panel'), title: box('#chat-title'),
           lastMessage: box('#message-list li.message:last-child') };
}"""


def _within(box: dict[str, float], size: dict[str, int], *, bottom_bar: int = 0) -> bool:
    return (
        box["left"] >= -0.5
        and box["top"] >= -0.5
        and box["right"] <= size["width"] + 0.5
        and (box["bottom"] <= size["height"] - bottom_bar + 0.5)
    )


def _phone(browser: Any, base_url: str, username: str, size: dict[str, int]) -> Any:
    from officehub.demo import DEMO_PASSWORD

    context = browser.new_context(locale="zh-CN", viewport=size, is_mobile=True, has_touch=True, device_scale_factor=3)
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.tap("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url, timeout=15000)
    page.wait_for_load_state("networkidle")
    return page


@pytest.mark.parametrize("size", [{"width": 390, "height": 844}, {"width": 360, "height": 800}], ids=["390x844", "360x800"])
def test_the_chat_page_on_a_phone(personas: Any, live_daphne: str, chromium: Any, size: dict[str, int]) -> None:
    group = in_transaction(services.conversation_group_create)(
        actor=personas.head, title="一个名字相当长的专项工作协调推进群", member_ids=[personas.drafter.pk, personas.drafter2.pk]
    )
    for i in range(12):
        in_transaction(services.message_send)(
            actor=personas.head,
            conversation_id=group.pk,
            client_id=f"ph-{size['width']}-{i}",
            body=f"第{i + 1}条：" + "很长的内容" * 12,
        )
    page = _phone(chromium, live_daphne, "wangfang", size)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = f"{size['width']}x{size['height']}"
    try:
        page.goto(f"{live_daphne}/messages/")
        try:
            page.wait_for_selector("#conn-state.online", timeout=15000)
        except Exception:
            page.screenshot(path=str(SCREENSHOTS / f"chat-failed-{name}.png"))
            raise
        page.wait_for_selector(f"#conversation-list li[data-conversation='{group.pk}']")
        layout = page.evaluate(LAYOUT)
        page.screenshot(path=str(SCREENSHOTS / f"chat-list-{name}.png"))
        assert layout["scrollWidth"] <= layout["innerWidth"], layout["wide"]
        assert layout["list"]["visible"] and _within(layout["list"], size, bottom_bar=56), layout
        assert not layout["main"]["visible"], "the conversation is the second screen"
        # Tap a conversation: the second screen, with a back button.
        page.tap(f"#conversation-list li[data-conversation='{group.pk}']")
        page.wait_for_selector(_message(12))
        page.wait_for_timeout(300)
        layout = page.evaluate(LAYOUT)
        page.screenshot(path=str(SCREENSHOTS / f"chat-conversation-{name}.png"))
        assert layout["scrollWidth"] <= layout["innerWidth"], layout["wide"]
        assert not layout["sidebar"]["visible"]
        for key in ("back", "title", "input", "send", "emojiButton", "lastMessage"):
            assert layout[key]["visible"] and _within(layout[key], size, bottom_bar=56), (key, layout)
        assert layout["send"]["height"] >= 36 and layout["emojiButton"]["height"] >= 32  # touch-sized
        # The emoji picker by touch: on screen, and it inserts.
        page.tap("#emoji-button")
        page.wait_for_selector("#emoji-panel:not([hidden])")
        layout = page.evaluate(LAYOUT)
        page.screenshot(path=str(SCREENSHOTS / f"chat-emoji-{name}.png"))
        assert layout["scrollWidth"] <= layout["innerWidth"], layout["wide"]
        assert _within(layout["panel"], size, bottom_bar=56), layout["panel"]
        page.tap("#emoji-grid .emoji-cell[data-emoji='👍']")
        page.tap("#emoji-button")  # closes it
        page.fill("#composer-input", page.input_value("#composer-input") + "收到")
        page.tap("#send-button")
        page.wait_for_selector(_message(13))
        assert page.inner_text(f"{_message(13)} .msg-body") == "👍收到"
        layout = page.evaluate(LAYOUT)
        assert layout["scrollWidth"] <= layout["innerWidth"], layout["wide"]
        assert _within(layout["lastMessage"], size, bottom_bar=56), layout["lastMessage"]
        # Back to the list.
        page.tap("#back-button")
        page.wait_for_selector("#conversation-list", state="visible")
        layout = page.evaluate(LAYOUT)
        assert layout["list"]["visible"] and not layout["main"]["visible"]
        assert layout["scrollWidth"] <= layout["innerWidth"], layout["wide"]
    finally:
        page.context.close()


def test_announcement_on_entry_delete_for_me_and_state_missed_while_offline(
    personas: Any, live_daphne: str, chromium: Any
) -> None:
    group = in_transaction(services.conversation_group_create)(
        actor=personas.drafter, title="公告测试群", member_ids=[personas.drafter2.pk]
    )
    alice = browser_login(chromium, live_daphne, "wangfang")  # the owner
    bob = browser_login(chromium, live_daphne, "lijun")
    try:
        _open(alice, live_daphne, group.pk)
        alice.click("#announcement-button")
        alice.wait_for_selector("#announcement-dialog[open] #announcement-editor:not([hidden])")
        alice.fill("#announcement-input", "周五下午三点全体会议")
        alice.click("#announcement-publish")
        alice.wait_for_selector(f"{_message(1)}.announcement-line")
        alice.wait_for_selector("#announcement-bar:has-text('周五下午三点全体会议')")
        # Bob's first entry shows it; once seen, it is not shown again.
        _open(bob, live_daphne, group.pk)
        bob.wait_for_selector("#announcement-dialog[open]")
        assert bob.inner_text("#announcement-text") == "周五下午三点全体会议"
        assert bob.locator("#announcement-publish").is_hidden()  # a plain member cannot edit
        bob.click("#announcement-ok")
        alice.click("#announcement-bar")
        alice.wait_for_selector("#announcement-readers:has-text('已读 1 人 / 未读 0 人')", timeout=10000)
        alice.click("#announcement-close")
        _open(bob, live_daphne, group.pk)
        bob.wait_for_timeout(1000)
        assert bob.locator("#announcement-dialog[open]").count() == 0
        # Delete for me: gone for Bob (also after a reload), still there for Alice.
        _say(alice, "这条李军会删掉")
        bob.wait_for_selector(_message(2))
        bob.on("dialog", lambda dialog: dialog.accept())
        bob.click("#select-button")
        bob.click(f"{_message(2)} .select-box")
        bob.click("#select-delete")
        bob.wait_for_selector(_message(2), state="detached", timeout=10000)
        bob.reload()
        bob.wait_for_selector(_message(1))
        bob.wait_for_timeout(500)
        assert bob.locator(_message(2)).count() == 0
        assert alice.locator(_message(2)).count() == 1
        # Bob goes offline; a reaction and a recall happen meanwhile; back online, his
        # page re-reads them.
        _say(alice, "有回应吗")
        _say(alice, "稍后撤回")
        bob.wait_for_selector(_message(4))
        bob.evaluate("window.OfficeHubChat.disconnect()")
        bob.wait_for_selector("#conn-state.offline")
        alice.click(f"{_message(3)} .tools .react")
        alice.click("#emoji-grid .emoji-cell[data-emoji='🎉']")
        alice.wait_for_selector(f"{_message(3)} .reaction[data-emoji='🎉']")
        alice.click(f"{_message(4)} .recall")
        alice.wait_for_selector(f"{_message(4)}.recalled")
        alice.click("#pin-button")  # Alice's own pin: not Bob's business
        bob.evaluate("window.OfficeHubChat.reconnect()")
        bob.wait_for_selector(f"{_message(4)}.recalled", timeout=15000)
        bob.wait_for_selector(f"{_message(3)} .reaction[data-emoji='🎉'] .reaction-count:text-is('1')", timeout=15000)
        _say(alice, "回来了吗")
        bob.wait_for_selector(_message(5), timeout=15000)
        assert bob.locator(f"#conversation-list li[data-conversation='{group.pk}'].pinned").count() == 0
    finally:
        alice.context.close()
        bob.context.close()
