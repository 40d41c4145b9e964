from __future__ import annotations

from typing import Any

from django.http import HttpRequest

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


def shell(request: HttpRequest) -> dict[str, Any]:
    current = ""
    path = request.path
    for key, _label, url in sorted(NAVIGATION, key=lambda item: -len(item[2])):
        if (url == "/" and path == "/") or (url != "/" and path.startswith(url)):
            current = key
            break
    return {"navigation": NAVIGATION, "nav_current": current}
