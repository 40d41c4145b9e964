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
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.utils import timezone
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
    publish_on_commit(auth_group(user_id), event)


def user_sessions_revoke(*, user_id: int, reason: RevokeReason) -> None:
    """After commit, every socket of the user re-checks its session and closes unless it
    still authenticates (a password change keeps the session that made it, as Django
    does for HTTP)."""
    event: AuthRevokeEvent = {"type": "auth.revoke", "reason": reason, "session": ""}
    publish_on_commit(auth_group(user_id), event)


# Engines whose database row is the truth (cached_db writes through and reads the row on a
# cache miss): the one-query check below applies to both.
DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_is_current(*, session_key: str | None, user_id: int) -> bool:
    """Whether this session still authenticates this user, as Django's ``get_user`` would
    decide on the next HTTP request: the session exists and has not expired, names this
    user and an enabled backend, the backend still returns the user (``ModelBackend``:
    active), and the password has not changed since the login (session auth hash, with
    ``SECRET_KEY_FALLBACKS``). Never writes (``get_user`` would flush a stale session;
    the HTTP side still does that).

    Sockets call this on every client frame: with database sessions and ``ModelBackend``
    (the deployment's settings) it is one indexed query — the session row and the active
    user's password hash together.
    """
    if not session_key:
        return False
    engine = import_module(settings.SESSION_ENGINE)
    if settings.SESSION_ENGINE in DB_SESSION_ENGINES:
        row = _session_row_with_active_password(session_key, user_id)
        if row is None:
            return False
        data: dict[str, Any] = import_module(DB_SESSION_ENGINES[0]).SessionStore().decode(row[0])
        if data.get(BACKEND_SESSION_KEY) == MODEL_BACKEND and MODEL_BACKEND in settings.AUTHENTICATION_BACKENDS:
            if row[1] is None or str(data.get(SESSION_KEY, "")) != str(user_id):
                return False  # inactive or missing user, or another user's session
            return _hash_matches(data, get_user_model()(pk=user_id, password=row[1]))
    else:
        data = engine.SessionStore(session_key).load()  # {} when missing or expired
    if str(data.get(SESSION_KEY, "")) != str(user_id):
        return False
    backend_path = data.get(BACKEND_SESSION_KEY)
    if not isinstance(backend_path, str) or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = load_backend(backend_path).get_user(user_id)
    return user is not None and _hash_matches(data, user)


def _session_row_with_active_password(session_key: str, user_id: int) -> tuple[str, str | None] | None:
    """The session's data and, when the user is active, their password hash: one indexed
    query. Plain SQL on purpose: building the equivalent ORM query (a subquery in an
    annotation) costs more than running it, and this runs before every socket frame."""
    from django.contrib.sessions.models import Session

    user_model = get_user_model()
    quote = connection.ops.quote_name
    session_table, user_table = quote(Session._meta.db_table), quote(user_model._meta.db_table)
    user_pk, active = quote(user_model._meta.pk.column), quote(user_model._meta.get_field("is_active").column)
    sql = (
        f"SELECT s.session_data, (SELECT u.password FROM {user_table} u WHERE u.{user_pk} = %s AND u.{active}) "  # noqa: S608 - names from model metadata, values as parameters
        f"FROM {session_table} s WHERE s.session_key = %s AND s.expire_date > %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, session_key, timezone.now()])
        found = cursor.fetchone()
    return (found[0], found[1]) if found else None


def _hash_matches(data: dict[str, Any], user: AbstractBaseUser) -> bool:
    session_hash = data.get(HASH_SESSION_KEY)
    if not session_hash or not hasattr(user, "get_session_auth_hash"):
        return False
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return True
    return any(constant_time_compare(session_hash, fallback) for fallback in user.get_session_auth_fallback_hash())
