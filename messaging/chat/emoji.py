"""The emoji of the picker and of reactions: Unicode emoji (drawn by the colour emoji font,
Debian's fonts-noto-color-emoji), grouped as the picker shows them. Reactions accept only
these, so a reaction is always a glyph every client can draw and a row stays small."""

from __future__ import annotations

from typing import TypedDict


class EmojiGroup(TypedDict):
    name: str
    emoji: list[str]


def _split(text: str) -> list[str]:
    return text.split()


EMOJI_GROUPS: list[EmojiGroup] = [
    {
        "name": "常用",
        "emoji": _split("👍 👌 🙏 👏 💪 ✅ ❤️ 😄 😂 🤝 🎉 🌹 ☕ 🔥 💯 ❗ ❓ ⭐"),
    },
    {
        "name": "表情",
        "emoji": _split(
            "😀 😃 😄 😁 😆 😅 🤣 😂 🙂 😉 😊 😇 🥰 😍 🤩 😘 😋 😛 😜 🤪 🤗 🤭 🤔 🤐 🤨 😐 😑 😶 😏 😒 🙄 😬 "
            "😌 😔 😪 😴 😷 🤒 🤕 🤢 🥵 🥶 😵 🤯 🥳 😎 🤓 🧐 😕 😟 🙁 😮 😯 😲 😳 🥺 😦 😧 😨 😰 😥 😢 😭 😱 "
            "😖 😣 😞 😓 😩 😫 🥱 😤 😡 😠 🤬"
        ),
    },
    {
        "name": "手势",
        "emoji": _split("👍 👎 👌 ✌️ 🤞 🤟 🤘 🤙 👈 👉 👆 👇 ☝️ ✋ 🤚 🖐️ 🖖 👋 👏 🙌 👐 🤲 🤝 🙏 ✍️ 💪 🫡 🫶"),
    },
    {
        "name": "办公",
        "emoji": _split(
            "📄 📃 📑 📊 📈 📉 📋 📌 📍 📎 🖇️ 📏 📐 ✂️ 🗂️ 📁 📂 🗃️ 🗄️ 🗑️ 🔒 🔓 🔑 📅 📆 🗓️ 📝 ✏️ 🖊️ 🖋️ 📧 📨 "
            "📩 📤 📥 📦 📮 🏢 🏛️ 💼 💻 🖥️ 🖨️ ⌨️ 📱 ☎️ 📞 📠 🔔 📢 📣 ⏰ ⏳ ⌛"
        ),
    },
    {
        "name": "符号",
        "emoji": _split(
            "❤️ 🧡 💛 💚 💙 💜 🤍 💔 ✅ ☑️ ✔️ ❌ ❎ ➕ ➖ ❗ ❓ ‼️ ⚠️ 🚫 ⭕ 🔴 🟢 🔵 ⭐ 🌟 ✨ 💡 🎯 🏆 🎉 🎊 🎁 🌹 🌸 ☀️ 🌙 ☔ ☕ 🍵"
        ),
    },
]

EMOJI: frozenset[str] = frozenset(e for group in EMOJI_GROUPS for e in group["emoji"])
