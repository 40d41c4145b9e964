from __future__ import annotations

from typing import Any

from django.http import HttpRequest

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
# Shown only to those who may open it (the oversight app checks again).
OVERSIGHT_NAVIGATION = ("oversight", "督办", "/oversight/")


def _watermark(request: HttpRequest, user: Any) -> WatermarkLabel | None:
    """The viewer's watermark on 公文, archive, chat and meeting pages (officehub/watermark.py)."""
    if isinstance(user, User) and user.is_authenticated and is_watermarked_path(request.path):
        return watermark_label(user)
    return None


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    navigation = list(NAVIGATION)
    if isinstance(user, User) and user.is_authenticated and user.role_codes() & OVERSIGHT_ROLES:
        navigation.append(OVERSIGHT_NAVIGATION)
    current = ""
    path = request.path
    for key, _label, url in sorted(navigation, key=lambda item: -len(item[2])):
        if (url == "/" and path == "/") or (url != "/" and path.startswith(url)):
            current = key
            break
    return {"navigation": navigation, "nav_current": current, "watermark": _watermark(request, user)}
