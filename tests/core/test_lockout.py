"""Login lockout per (username, client address) with a per-address budget: an attacker
can neither lock the owner out of their account nor spray passwords across accounts."""

from __future__ import annotations

from typing import Any

import pytest

from officehub.accounts.models import LoginFailure
from officehub.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.66"  # documentation addresses (RFC 5737): no traffic goes anywhere
OWNER = "203.0.113.10"
OTHER = "192.0.2.44"


def _login_page(client: Any, username: str, password: str, ip: str, **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def _token(client: Any, username: str, password: str, ip: str, **extra: Any) -> Any:
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, content_type="application/json", REMOTE_ADDR=ip, **extra
    )


@pytest.fixture
def usernames(personas: Any) -> list[str]:
    from officehub.directory.models import User

    names = list(User.objects.order_by("username").values_list("username", flat=True))
    assert len(names) >= 25
    return names[:25]


def test_spraying_25_usernames_from_one_address_throttles_that_address(
    personas: Any, client: Any, usernames: list[str], settings: Any
) -> None:
    settings.LOGIN_IP_FAILURE_LIMIT = 20
    answers = [_login_page(client, name, "Spring2026!", ATTACKER) for name in usernames]
    locked = [r for r in answers if "登录失败次数过多" in r.content.decode()]
    assert len(locked) == 5  # attempts 21–25 were refused without checking a password
    assert LoginFailure.objects.filter(ip_address=ATTACKER).count() == 20
    # Even a right password is refused from that address, on the page and the token API.
    response = _login_page(client, "wangfang", DEMO_PASSWORD, ATTACKER)
    assert "_auth_user_id" not in client.session and "网络地址" in response.content.decode()
    token = _token(client, "wangfang", DEMO_PASSWORD, ATTACKER)
    assert token.status_code == 429 and token.json()["code"] == "auth.ip_locked"
    assert token.json()["extra"]["retry_after_seconds"] > 0
    # The victims sign in from their own addresses.
    assert _login_page(client, "wangfang", DEMO_PASSWORD, OWNER).status_code == 302
    assert _token(client, "lijun", DEMO_PASSWORD, OTHER).status_code == 200


def test_an_attacker_cannot_lock_the_owner_out(personas: Any, client: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        _login_page(client, "wangfang", "wrong-password", ATTACKER)
    # Locked from the attacker's address, even with the right password …
    response = _login_page(client, "wangfang", DEMO_PASSWORD, ATTACKER)
    assert "账号已临时锁定" in response.content.decode() and "_auth_user_id" not in client.session
    assert _token(client, "wangfang", DEMO_PASSWORD, ATTACKER).json()["code"] == "auth.locked"
    # … while the owner signs in from theirs.
    response = _login_page(client, "wangfang", DEMO_PASSWORD, OWNER)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(personas.drafter.pk)


def test_the_owners_success_does_not_clear_the_attackers_failures(personas: Any, client: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        _token(client, "wangfang", "wrong-password", ATTACKER)
    assert _token(client, "wangfang", DEMO_PASSWORD, OWNER).status_code == 200
    assert _token(client, "wangfang", DEMO_PASSWORD, ATTACKER).status_code == 429


def test_failures_from_one_address_for_one_user_lock_only_that_pair(personas: Any, client: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        assert _token(client, "wangfang", "nope", OWNER).status_code == 401
    assert _token(client, "wangfang", DEMO_PASSWORD, OWNER).json()["code"] == "auth.locked"
    assert _token(client, "lijun", DEMO_PASSWORD, OWNER).status_code == 200  # same address, other user


def test_forwarded_for_is_ignored_without_a_proxy(personas: Any, client: Any, settings: Any) -> None:
    """Otherwise an attacker would claim a fresh address per attempt."""
    settings.BEHIND_PROXY = False
    settings.LOGIN_IP_FAILURE_LIMIT = 5
    for i in range(5):
        _login_page(client, f"user{i}", "x", ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    response = _login_page(client, "wangfang", DEMO_PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert "网络地址" in response.content.decode()


def test_behind_the_proxy_the_address_it_appended_counts(personas: Any, client: Any, settings: Any) -> None:
    settings.BEHIND_PROXY = True
    settings.LOGIN_FAILURE_LIMIT = 2
    proxy = "127.0.0.1"
    for _ in range(2):
        # The client forged the first entry; the proxy appended the real address last.
        _login_page(client, "wangfang", "wrong", proxy, HTTP_X_FORWARDED_FOR=f"10.9.9.9, {ATTACKER}")
    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    locked = _login_page(client, "wangfang", DEMO_PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert "账号已临时锁定" in locked.content.decode()
    assert _login_page(client, "wangfang", DEMO_PASSWORD, proxy, HTTP_X_FORWARDED_FOR=OWNER).status_code == 302


def test_lockout_is_held_in_the_database_so_every_process_sees_it(personas: Any, client: Any, settings: Any) -> None:
    """A second process sees only rows: simulate its view by recording through the model."""
    settings.LOGIN_FAILURE_LIMIT = 2
    LoginFailure.objects.bulk_create([LoginFailure(username="wangfang", ip_address=ATTACKER) for _ in range(2)])
    assert _token(client, "wangfang", DEMO_PASSWORD, ATTACKER).json()["code"] == "auth.locked"


def test_rotating_forwarded_for_does_not_escape_the_api_throttle(personas: Any, client: Any) -> None:
    """DRF keys anonymous throttles on the whole X-Forwarded-For header unless told how
    many proxies there are: without one, a fresh header per request was a fresh budget."""
    statuses = [
        _token(client, f"nobody{i}", "x", ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").json()["code"]
        for i in range(25)
    ]
    assert "throttled" in statuses
