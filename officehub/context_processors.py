from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from officehub.directory.models import OVERSIGHT_ROLES, User
from officehub.watermark import WatermarkLabel, is_watermarked_path, watermark_label

NAVIGATION = [
    ("workbench", "工作台", "/"),
    ("documents", "公文", "/documents/"),
    ("messages", "消息", "/messages/"),
    ("meetings", "会议", "/messages/meetings/"),
    ("archives", "档案", "/archives/"),
    ("disclosure", "政务公开", "/disclosure/"),
    ("seals", "印章", "/seals/"),
    ("directory", "通讯录", "/directory/"),
]
# On a phone the bottom bar holds these four and 更多; the rest open from 更多.
PHONE_PRIMARY = frozenset({"workbench", "documents", "messages", "meetings"})
# Shown only to those who may open it (the oversight app checks again).
OVERSIGHT_NAVIGATION = ("oversight", "督办", "/oversight/")


def _watermark(request: HttpRequest, user: Any) -> WatermarkLabel | None:
    """The viewer's watermark on 公文, archive, chat and meeting pages (officehub/watermark.py)."""
    if isinstance(user, User) and user.is_authenticated and is_watermarked_path(request.path):
        return watermark_label(user)
    return None


def _navigation(user: Any) -> list[tuple[str, str, str]]:
    navigation = list(NAVIGATION)
    if isinstance(user, User) and user.is_authenticated and user.role_codes() & OVERSIGHT_ROLES:
        navigation.append(OVERSIGHT_NAVIGATION)
    return navigation


def shell(request: HttpRequest) -> dict[str, Any]:
    # Whatever depends on the user is lazy: a page that never shows it (the public 政务公开
    # portal) must not read the session, or its answers would vary by Cookie and no shared
    # cache could keep them.
    user = getattr(request, "user", None)
    navigation = SimpleLazyObject(lambda: _navigation(user))
    current = ""
    path = request.path
    for key, _label, url in sorted([*NAVIGATION, OVERSIGHT_NAVIGATION], key=lambda item: -len(item[2])):
        if (url == "/" and path == "/") or (url != "/" and path.startswith(url)):
            current = key
            break
    return {
        "navigation": navigation,
        "navigation_more": SimpleLazyObject(lambda: [item for item in navigation if item[0] not in PHONE_PRIMARY]),
        "nav_primary": PHONE_PRIMARY,
        "nav_current": current,
        "watermark": SimpleLazyObject(lambda: _watermark(request, user)),
    }
