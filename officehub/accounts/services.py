"""Login with lockout: the single door used by the login page and the token API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from officehub.accounts.models import LoginFailure
from officehub.audit.services import audit
from officehub.errors import ApplicationError


class LoginLocked(ApplicationError):
    default_code = "auth.locked"
    default_status = 429


class LoginFailed(ApplicationError):
    default_code = "auth.invalid_credentials"
    default_status = 401


def _normalise(username: str) -> str:
    return username.strip().lower()


def lockout_remaining_seconds(*, username: str) -> int:
    """Seconds until the account may try again; 0 when it is not locked."""
    window_start = timezone.now() - timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    recent = list(
        LoginFailure.objects.filter(username=_normalise(username), at__gte=window_start)
        .order_by("-at")
        .values_list("at", flat=True)[: settings.LOGIN_FAILURE_LIMIT]
    )
    if len(recent) < settings.LOGIN_FAILURE_LIMIT:
        return 0
    unlock_at = recent[0] + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    return max(0, int((unlock_at - timezone.now()).total_seconds()) + 1)


def user_login_check(*, request: HttpRequest | None, username: str, password: str) -> Any:
    """Authenticate, refusing while locked out; records failures and successes.

    Raises ``auth.locked`` (429) after ``LOGIN_FAILURE_LIMIT`` failures within
    ``LOGIN_LOCKOUT_SECONDS`` — even for the right password — and
    ``auth.invalid_credentials`` (401) otherwise.
    """
    remaining = lockout_remaining_seconds(username=username)
    if remaining:
        raise LoginLocked(
            _("登录失败次数过多，账号已临时锁定，请 %(minutes)s 分钟后再试。") % {"minutes": (remaining + 59) // 60},
            extra={"retry_after_seconds": remaining},
        )
    user = authenticate(request, username=username, password=password)
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    with transaction.atomic():
        if user is None:
            LoginFailure.objects.create(username=_normalise(username), ip_address=ip)
            audit(actor=None, action="auth.login_failed", data={"username": username[:150], "ip": ip})
        else:
            LoginFailure.objects.filter(username=_normalise(username)).delete()
            audit(actor=user, action="auth.login", target=user, data={"ip": ip})
    if user is None:
        raise LoginFailed(_("用户名或密码错误。"))
    return user
