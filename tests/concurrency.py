"""Real threads on real PostgreSQL, released together: the one helper for race tests.

Each call runs on its own thread, so on its own database connection (Django keeps one per
thread), and waits at one barrier until every thread is ready; then they all go at once.
Row locks, unique constraints and SKIP LOCKED are what the tests prove, so nothing here
is mocked. Tests using it need ``transactional_db`` (``django_db(transaction=True)``):
the threads see only committed data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

from django.db import connection, transaction

T = TypeVar("T")

BARRIER_SECONDS = 10.0


def run_at_once(
    calls: Sequence[Callable[[], T]],
    *,
    atomic: bool = False,
    lock_timeout: str | None = None,
    expected: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    timeout: float = 60.0,
) -> list[T | BaseException]:
    """Run every call at the same moment; return, in call order, each call's result or
    the ``expected`` exception it raised.

    - ``atomic``: each call in its own ``transaction.atomic()``, as its entry point would;
    - ``lock_timeout`` (e.g. ``"5s"``, implies ``atomic``): ``SET LOCAL lock_timeout``,
      so a lock wait (or deadlock) fails the call instead of hanging the test;
    - an exception that is not ``expected`` is raised here, after every thread ended;
    - a thread still running after ``timeout`` seconds fails the test.
    """
    barrier = threading.Barrier(len(calls))
    results: list[T | BaseException | None] = [None] * len(calls)
    unexpected: list[BaseException] = []

    def run(call: Callable[[], T]) -> T:
        if not (atomic or lock_timeout):
            return call()
        with transaction.atomic():
            if lock_timeout:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
            return call()

    def worker(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=BARRIER_SECONDS)
            results[index] = run(call)
        except expected as exc:
            results[index] = exc
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread below
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"a thread is still running after {timeout:g} s"
    if unexpected:
        raise unexpected[0]
    # Every slot is written: a call that did not store its outcome raised, and that was raised above.
    return cast("list[T | BaseException]", results)
