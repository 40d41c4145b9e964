"""Login with lockout: the single door used by the login page and the token API.

Two limits, both counted from ``LoginFailure`` rows in the database (so they hold across
every server process) within ``LOGIN_LOCKOUT_SECONDS``:

* per (username, client IP): ``LOGIN_FAILURE_LIMIT`` failures lock that account *from
  that address* only. Keying on the username alone let anyone lock anyone out; the owner
  now still signs in from their own machine while an attacker's address is locked.
* per client IP, across usernames: ``LOGIN_IP_FAILURE_LIMIT`` failures refuse every
  further attempt from that address (password spraying: one guess for many accounts).

The client IP is ``REMOTE_ADDR``; ``X-Forwarded-For`` counts only with
``OFFICEHUB_BEHIND_PROXY`` (otherwise anyone could pick a fresh address per request).

Counting and recording are not one atomic step: concurrent attempts from one address may
each pass the check before any records its failure, so a burst can exceed a limit by the
number of requests in flight. Accepted: the limits bound guessing, not to the unit.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from officehub.accounts.models import LoginFailure
from officehub.audit.services import audit
from officehub.directory.models import User
from officehub.errors import ApplicationError


class LoginLocked(ApplicationError):
    default_code = "auth.locked"
    default_status = 429


class LoginFailed(ApplicationError):
    default_code = "auth.invalid_credentials"
    default_status = 401


def _normalise(username: str) -> str:
    return username.strip().lower()


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str | None:
    """The address a request came from.

    Behind the front proxy (``BEHIND_PROXY``) it is the last ``X-Forwarded-For`` entry:
    the one our proxy appended. Entries before it were written by the client and prove
    nothing. Without a proxy, ``X-Forwarded-For`` is ignored.
    """
    if request is None:
        return None
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = _valid_ip(forwarded.rsplit(",", 1)[-1]) if forwarded else None
        if last:
            return last
    return _valid_ip(request.META.get("REMOTE_ADDR"))


def _remaining(times: list[datetime], limit: int) -> int:
    """Seconds until the newest of ``limit`` recent failures leaves the window; 0 if fewer."""
    if len(times) < limit:
        return 0
    unlock_at = times[0] + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    return max(0, int((unlock_at - timezone.now()).total_seconds()) + 1)


def _recent(condition: Q, limit: int) -> list[datetime]:
    window_start = timezone.now() - timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    return list(
        LoginFailure.objects.filter(condition, at__gte=window_start).order_by("-at").values_list("at", flat=True)[:limit]
    )


def _pair(username: str, ip: str | None) -> Q:
    return Q(username=_normalise(username)) & (Q(ip_address=ip) if ip else Q(ip_address__isnull=True))


def lockout_remaining_seconds(*, username: str, ip: str | None = None) -> int:
    """Seconds until ``username`` may try again from ``ip``; 0 when not locked."""
    return _remaining(_recent(_pair(username, ip), settings.LOGIN_FAILURE_LIMIT), settings.LOGIN_FAILURE_LIMIT)


def ip_lockout_remaining_seconds(*, ip: str | None) -> int:
    """Seconds until address ``ip`` may try any account again; 0 when not over its budget."""
    if not ip:
        return 0
    limit = settings.LOGIN_IP_FAILURE_LIMIT
    return _remaining(_recent(Q(ip_address=ip), limit), limit)


def _minutes(seconds: int) -> int:
    return (seconds + 59) // 60


def user_login_check(*, request: HttpRequest | None, username: str, password: str) -> User:
    """Authenticate, refusing while locked out; records failures and successes.

    An entry point of its own (the login page and the token API call it outside any
    transaction): the attempt is recorded and committed before a failure is raised, which
    a caller's transaction would roll back — and the lockout with it.

    Raises ``auth.ip_locked`` (429) once the client's address has used its failure budget
    across usernames, ``auth.locked`` (429) after ``LOGIN_FAILURE_LIMIT`` failures for this
    username from this address — in both cases even for the right password, without
    checking it — and ``auth.invalid_credentials`` (401) otherwise.
    """
    ip = client_ip(request)
    remaining = ip_lockout_remaining_seconds(ip=ip)
    if remaining:
        raise LoginLocked(
            _("来自您所在网络地址的登录失败次数过多，请 %(minutes)s 分钟后再试。") % {"minutes": _minutes(remaining)},
            code="auth.ip_locked",
            extra={"retry_after_seconds": remaining},
        )
    remaining = lockout_remaining_seconds(username=username, ip=ip)
    if remaining:
        raise LoginLocked(
            _("登录失败次数过多，账号已临时锁定，请 %(minutes)s 分钟后再试。") % {"minutes": _minutes(remaining)},
            extra={"retry_after_seconds": remaining},
        )
    authenticated = authenticate(request, username=username, password=password)
    user = authenticated if isinstance(authenticated, User) else None
    with transaction.atomic():
        if user is None:
            # Rows older than the window count for nothing: keep the table small.
            window_start = timezone.now() - timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
            LoginFailure.objects.filter(at__lt=window_start).delete()
            LoginFailure.objects.create(username=_normalise(username)[:150], ip_address=ip)
            audit(actor=None, action="auth.login_failed", data={"username": username[:150], "ip": ip})
        else:
            # Only this address's failures for this account: others still count against theirs.
            LoginFailure.objects.filter(_pair(username, ip)).delete()
            audit(actor=user, action="auth.login", target=user, data={"ip": ip})
    if user is None:
        raise LoginFailed(_("用户名或密码错误。"))
    return user
