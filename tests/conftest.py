"""Shared fixtures: fast hashing, the demo organisation's personas, live Daphne, Chromium.

The demo organisation (officehub/demo.py) is seeded once per session, right after the
test database is created (``django_db_setup`` below). A ``db`` test runs in a transaction
that is rolled back, so it finds the organisation and leaves it as it was. A
transactional test (``django_db(transaction=True)``, live Daphne) commits, and Django
empties every table after it; the ``demo`` fixture seeds again when it finds the
organisation gone. pytest-django runs every ``db`` test before the transactional ones, so
only those pay for re-seeding.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from tests.needs import check_tool_markers

ROOT = Path(__file__).resolve().parent.parent


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


# The prefix a running OfficeHub on this machine uses for its Redis keys (cache and channel
# layer): tests must never read, write or delete under it.
APP_REDIS_PREFIX = os.environ.get("OFFICEHUB_CHANNEL_PREFIX") or "officehub"
TEST_REDIS_PREFIX = APP_REDIS_PREFIX if APP_REDIS_PREFIX.endswith("-test") else f"{APP_REDIS_PREFIX}-test"


def pytest_configure(config: Any) -> None:
    """Move the cache and channel layer to a test-only Redis prefix before anything uses
    them. Django read its settings from the environment already, so the dictionaries are
    changed in place; the environment is changed too, so a live Daphne started by the
    tests (which reads it afresh) uses the same test prefix."""
    from django.conf import settings

    os.environ["OFFICEHUB_CHANNEL_PREFIX"] = TEST_REDIS_PREFIX
    cache_settings: dict[str, Any] = settings.CACHES["default"]
    if "KEY_PREFIX" in cache_settings:
        cache_settings["KEY_PREFIX"] = TEST_REDIS_PREFIX
    layer_config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" in layer_config:
        layer_config["prefix"] = TEST_REDIS_PREFIX


def reset_api_throttles() -> None:
    """Delete DRF's throttle history — only under the tests' own prefix."""
    from django.core.cache import cache

    client_getter = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_getter is None:
        cache.clear()  # local-memory cache: private to this process
        return
    if cache.key_prefix != TEST_REDIS_PREFIX:
        raise RuntimeError(f"refusing to delete Redis keys under {cache.key_prefix!r}: not the tests' prefix")
    redis = client_getter(write=True)
    # DRF's history throttles (login scope) and the token buckets (officehub/ratelimit.py).
    for pattern in (f"{TEST_REDIS_PREFIX}:*throttle_*", f"{TEST_REDIS_PREFIX}:rl:*"):
        for key in redis.scan_iter(match=pattern, count=1000):
            redis.delete(key)


@pytest.fixture(scope="session", autouse=True)
def _consumer_threads_return_their_connections() -> Iterator[None]:
    """Channels' test communicator swaps ``close_old_connections`` for a no-op while an
    application runs, so the test's own (main-thread) connection survives. With the
    connection pool that also keeps every worker thread's connection checked out until
    the pool runs dry; closing only non-main-thread connections keeps both promises."""
    import threading

    import channels.testing.application as communicator_module
    from django.db import close_old_connections

    def close_worker_thread_connections() -> None:
        if threading.current_thread() is not threading.main_thread():
            close_old_connections()

    original = communicator_module.no_op
    communicator_module.no_op = close_worker_thread_connections
    yield
    communicator_module.no_op = original


@pytest.fixture(autouse=True)
def _reset_api_throttles() -> None:
    """DRF keeps throttle history in the (shared, Redis) cache: start each test afresh."""
    reset_api_throttles()


def _seed_demo_if_missing() -> None:
    from officehub.demo import PEOPLE, seed_demo
    from officehub.directory.models import User

    # seed_demo runs in one transaction: its last person present means all of it is.
    if not User.objects.filter(username=PEOPLE[-1][0]).exists():
        with transaction.atomic():
            seed_demo()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """pytest-django's test database, with the demo organisation committed once (its
    passwords hashed with the tests' fast hasher, which every test then uses)."""
    from django.test import override_settings

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        _seed_demo_if_missing()


@pytest.fixture
def demo(db: None) -> None:
    """The demo organisation (see officehub/demo.py): seeded once per session, and again
    after a transactional test emptied the database."""
    _seed_demo_if_missing()


def pytest_runtest_setup(item: pytest.Item) -> None:
    check_tool_markers(item)


class Personas:
    """Named people of the demo organisation, each with the access the comment states."""

    def __init__(self) -> None:
        from officehub.directory.models import User

        get = User.objects.select_related("department").get
        self.admin = get(username="admin")  # directory administrator (and Django superuser)
        self.drafter = get(username="wangfang")  # drafter, 省政府办公厅 秘书处
        self.drafter2 = get(username="lijun")  # second drafter, same division
        self.reviewer = get(username="zhaomin")  # reviewer (核稿), 办公厅 文电处
        self.reviewer2 = get(username="sunli")  # second reviewer, 文电处
        self.head = get(username="chenjie")  # department head, 秘书处
        self.head2 = get(username="zhouqiang")  # department head, 综合处 (countersigns)
        self.head3 = get(username="wuhao")  # department head, 督查处 (countersigns)
        self.leader = get(username="liuyang")  # signing leader of the 办公厅
        self.custodian = get(username="huangyan")  # seal custodian of the 办公厅
        self.archivist = get(username="xuhui")  # archivist of the 办公厅 (clearance 秘密)
        self.staff = get(username="heli")  # ordinary staff, 综合处
        self.low_clearance = get(username="machao")  # 综合处, clearance 公开 only
        self.outsider = get(username="qianlei")  # drafter at the 大数据局: another organisation
        self.other_org_archivist = get(username="shenjing")  # archivist of the 大数据局
        self.other_org_custodian = get(username="fengxue")  # reviewer + custodian at 大数据局
        self.city_drafter = get(username="youli")  # drafter at 杭州市政府办公厅
        self.city_reviewer = get(username="xuming")  # reviewer at 杭州市政府办公厅


@pytest.fixture
def personas(demo: Any) -> Personas:
    return Personas()


@pytest.fixture
def api_client() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_daphne(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A real Daphne process serving OfficeHub against the test database.

    Tests using it need ``transactional_db`` so their data is committed and visible.
    """
    with django_db_blocker.unblock():
        test_db_name = connection.settings_dict["NAME"]
        url = connection.settings_dict
        database_url = (
            f"postgres://{url['USER']}:{url['PASSWORD']}@{url['HOST'] or '127.0.0.1'}:{url['PORT'] or 5432}/{test_db_name}"
        )
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "OFFICEHUB_DATABASE_URL": database_url,
            "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OFFICEHUB_HTTPS": "false",
            "OFFICEHUB_STATIC_MANIFEST": "false",
            "OFFICEHUB_API_RATE_USER": "100000/min",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "tests.live_settings",
        }
    )
    log_path = ROOT / "var" / f"daphne-test-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "officehub.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Daphne exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("Daphne did not start listening within 60 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Run browser tests last (stable sort), after every test that needs its own event loop."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's Chromium, launched by path and driven by Playwright (no browser download).

    Function-scoped on purpose: Playwright's sync API runs an event loop in this thread
    while it is open, which would break any later test that starts its own loop.
    """
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("OFFICEHUB_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"Chromium not found at {executable}; scripts/test.sh installs Debian's chromium")
    # The test's own synchronous database work stays safe while Playwright's loop runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def browser_login(browser: Any, base_url: str, username: str, password: str | None = None) -> Any:
    """Open a fresh browser context, log in through the login page and return the page."""
    from officehub.demo import DEMO_PASSWORD

    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password or DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page
