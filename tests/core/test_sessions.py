"""officehub.accounts.sessions: the check every socket runs before a frame, and the
revocation events the session-ending paths publish after commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from officehub.accounts.sessions import session_digest, session_is_current, user_sessions_revoke
from officehub.directory.models import User

pytestmark = pytest.mark.django_db


def _session_key(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_a_fresh_session_is_current_in_one_query(personas: Any, django_assert_num_queries: Any) -> None:
    key = _session_key(personas.drafter)
    with django_assert_num_queries(1):
        assert session_is_current(session_key=key, user_id=personas.drafter.pk)


def test_a_session_is_not_current_for_another_user_or_without_a_key(personas: Any) -> None:
    key = _session_key(personas.drafter)
    assert not session_is_current(session_key=key, user_id=personas.head.pk)
    assert not session_is_current(session_key=None, user_id=personas.drafter.pk)
    assert not session_is_current(session_key="no-such-session", user_id=personas.drafter.pk)


def test_logout_expiry_deactivation_and_password_change_end_a_session(personas: Any) -> None:
    drafter = personas.drafter
    logged_out, expired, deactivated, changed = (_session_key(drafter) for _ in range(4))
    Session.objects.filter(session_key=logged_out).delete()
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert not session_is_current(session_key=logged_out, user_id=drafter.pk)
    assert not session_is_current(session_key=expired, user_id=drafter.pk)
    assert session_is_current(session_key=deactivated, user_id=drafter.pk)
    User.objects.filter(pk=drafter.pk).update(is_active=False)
    assert not session_is_current(session_key=deactivated, user_id=drafter.pk)
    User.objects.filter(pk=drafter.pk).update(is_active=True)
    assert session_is_current(session_key=changed, user_id=drafter.pk)
    user = User.objects.get(pk=drafter.pk)
    user.set_password("Xin-Mima#2026-wf")
    user.save(update_fields=["password"])
    assert not session_is_current(session_key=changed, user_id=drafter.pk)


def test_a_rotated_secret_key_keeps_sessions_current_through_the_fallbacks(personas: Any, settings: Any) -> None:
    key = _session_key(personas.drafter)
    old_secret = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    assert session_is_current(session_key=key, user_id=personas.drafter.pk)
    settings.SECRET_KEY_FALLBACKS = []
    assert not session_is_current(session_key=key, user_id=personas.drafter.pk)


def test_other_session_engines_get_the_same_answers(personas: Any, settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    key = _session_key(personas.drafter)
    assert session_is_current(session_key=key, user_id=personas.drafter.pk)
    assert not session_is_current(session_key=key, user_id=personas.head.pk)
    User.objects.filter(pk=personas.drafter.pk).update(is_active=False)
    assert not session_is_current(session_key=key, user_id=personas.drafter.pk)


def test_revocations_are_published_only_after_commit_and_name_no_session_key(
    personas: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from officehub import realtime

    published: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(realtime, "publish_now", lambda group, payload: published.append((group, payload)))
    client = Client()
    client.force_login(personas.drafter)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    with django_capture_on_commit_callbacks(execute=True):
        user_sessions_revoke(user_id=personas.drafter.pk, reason="deactivated")
        assert published == []
    assert published == [(f"auth.{personas.drafter.pk}", {"type": "auth.revoke", "reason": "deactivated", "session": ""})]
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/logout/")
    assert published == [
        (f"auth.{personas.drafter.pk}", {"type": "auth.revoke", "reason": "logout", "session": session_digest(key)})
    ]
    assert key not in str(published)  # the key itself never travels through the layer
