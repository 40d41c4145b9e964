"""Sessions that end, and the sockets that must end with them.

A WebSocket is authenticated once, at its handshake, by the session cookie. When that
session stops authenticating its user — logout, a password change, an account
deactivation — every socket it opened must close (code 4401). Two mechanisms, so that
neither a lost push nor a silent client keeps a socket alive:

- push: the paths that end sessions publish an ``auth.revoke`` event after commit to
  ``auth.<user id>`` (``officehub.realtime.auth_group``), which every socket of the user
  joins (chat and meeting consumers alike);
- check: the consumers call ``session_is_current`` on client frames and every
  ``SOCKET_REVALIDATE_SECONDS``, and close when it answers False.

Session keys never travel through the channel layer: a logout names its session by a
SHA-256 digest, which only the sockets holding that key can match.
"""

from __future__ import annotations

import hashlib
from importlib import import_module
from typing import Any, Literal, TypedDict

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.utils.crypto import constant_time_compare

from officehub.realtime import auth_group, publish_on_commit

RevokeReason = Literal["logout", "password_changed", "deactivated"]


class AuthRevokeEvent(TypedDict):
    """``session``: digest of the one session that ended (logout), or "" when every
    session of the user must re-check itself (password change, deactivation)."""

    type: Literal["auth.revoke"]
    reason: RevokeReason
    session: str


def session_digest(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_end_publish(*, user_id: int, session_key: str | None) -> None:
    """The session ``session_key`` of this user is logging out: its sockets close after
    commit. Other sessions (the user's other browsers and devices) stay open."""
    if not session_key:
        return
    event: AuthRevokeEvent = {"type": "auth.revoke", "reason": "logout", "session": session_digest(session_key)}
    publish_on_commit(auth_group(user_id), dict(event))


def user_sessions_revoke(*, user_id: int, reason: RevokeReason) -> None:
    """After commit, every socket of the user re-checks its session and closes unless it
    still authenticates (a password change keeps the session that made it, as Django
    does for HTTP)."""
    event: AuthRevokeEvent = {"type": "auth.revoke", "reason": reason, "session": ""}
    publish_on_commit(auth_group(user_id), dict(event))


def session_is_current(*, session_key: str | None, user_id: int) -> bool:
    """Whether this session still authenticates this user, as Django's ``get_user`` would
    decide on the next HTTP request: the session exists and has not expired, names this
    user and an enabled backend, the backend still returns the user (``ModelBackend``:
    active), and the password has not changed since the login (session auth hash, with
    ``SECRET_KEY_FALLBACKS``). Two indexed queries with database sessions; never writes
    (``get_user`` would flush a stale session — the HTTP side still does that)."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data: dict[str, Any] = store.load()  # {} when missing or expired
    if str(data.get(SESSION_KEY, "")) != str(user_id):
        return False
    backend_path = data.get(BACKEND_SESSION_KEY)
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = load_backend(backend_path).get_user(user_id)
    session_hash = data.get(HASH_SESSION_KEY)
    if user is None or not session_hash or not hasattr(user, "get_session_auth_hash"):
        return False
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return True
    return any(
        constant_time_compare(session_hash, user._get_session_auth_hash(secret=secret))
        for secret in settings.SECRET_KEY_FALLBACKS
    )
