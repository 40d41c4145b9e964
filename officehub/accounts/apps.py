from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out


class AccountsConfig(AppConfig):
    name = "officehub.accounts"
    label = "accounts"
    verbose_name = "登录与账号"

    def ready(self) -> None:
        # Django's own logout hook, so every logout path (the site's and the admin's
        # LogoutView) ends the sockets of the session that logs out.
        user_logged_out.connect(_end_sockets_of_session, dispatch_uid="officehub.accounts.end_sockets")


def _end_sockets_of_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from officehub.accounts.sessions import session_end_publish

    session = getattr(request, "session", None)
    if user is not None and session is not None:
        session_end_publish(user_id=user.pk, session_key=session.session_key)
