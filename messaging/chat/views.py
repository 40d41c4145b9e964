"""Chat page: the shell only; conversations and messages load through the API and socket."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from messaging.chat.emoji import EMOJI_GROUPS
from messaging.chat.services import BODY_MAX_CHARS
from messaging.http import actor_of


@login_required
def chat_page(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    config = {
        "userId": user.pk,
        "userName": user.display_name,
        "recallSeconds": settings.MESSAGE_RECALL_SECONDS,
        "maxBodyChars": BODY_MAX_CHARS,
        "maxAttachmentBytes": settings.ATTACHMENT_MAX_BYTES,
        "emoji": EMOJI_GROUPS,
    }
    return render(request, "messaging/chat.html", {"chat_config": config})
