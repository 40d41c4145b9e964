"""The served topology (``manage.py serve``: nginx → 2 Daphne + gunicorn) on the test
database, and users with live sessions for socket clients."""

from __future__ import annotations

import datetime
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import ROOT, _free_port

NGINX = Path("/usr/sbin/nginx")


@dataclass
class Served:
    url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    log_dir: Path

    def pids(self) -> dict[str, int]:
        """Child name -> current pid (read from the supervisor's output and restarts)."""
        text = (self.log_dir / "serve.out").read_text(errors="replace")
        return {m[1]: int(m[2]) for m in re.finditer(r"^\s+(\S+)\s+pid (\d+)$", text, re.M)}

    def logs(self, prefix: str) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob(f"{prefix}*.log")))


@pytest.fixture(scope="module")
def served(django_db_setup: None, django_db_blocker: Any) -> Iterator[Served]:
    if not NGINX.exists():
        pytest.fail("nginx is missing: scripts/test.sh installs Debian's nginx-light")
    with django_db_blocker.unblock():
        settings_dict = connection.settings_dict
        database_url = (
            f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@"
            f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
    port = _free_port()
    backend = _free_port_block(3)
    log_dir = ROOT / "var" / "run" / f"serve-{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "OFFICEHUB_DATABASE_URL": database_url,
            "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OFFICEHUB_HTTPS": "false",
            "OFFICEHUB_STATIC_MANIFEST": "false",
            "OFFICEHUB_API_RATE_USER": "100000/min",
            "OFFICEHUB_MESSAGE_RATE_PER_MINUTE": "100000",
            "OFFICEHUB_MESSAGE_BURST": "100000",
            "OFFICEHUB_DB_POOL_MAX": "6",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "tests.live_settings",
        }
    )
    with (log_dir / "serve.out").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port), "--backend-port", str(backend),
             "--sockets", "2", "--http-workers", "1", "--workers", "0"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while "OfficeHub is serving" not in (log_dir / "serve.out").read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("serve did not start:\n" + (log_dir / "serve.out").read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    yield Served(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/", process, log_dir)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _free_port_block(size: int) -> int:
    import socket

    for _ in range(100):
        base = _free_port()
        try:
            probes = []
            for offset in range(size):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise RuntimeError("no block of free ports")


def session_for(user: Any) -> str:
    """A live session for ``user`` written straight into the session store."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.set_expiry(datetime.timedelta(hours=1))
    store.save(must_create=True)
    return str(store.session_key)


def make_users(count: int, prefix: str) -> list[Any]:
    from officehub.directory.models import User

    tag = secrets.token_hex(3)
    return [User.objects.create_user(username=f"{prefix}{tag}{i}", full_name=f"规模测试{i}", password=None)
            for i in range(count)]
