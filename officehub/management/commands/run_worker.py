"""The background worker: runs each app's periodic job (催办, DING, meeting reminders, index drain).

Jobs are named by dotted path in ``settings.WORKER_JOBS`` so the core imports no feature
app. Every job claims its work from database rows (outbox style, ``skip_locked``), so two
workers never take the same row and a crash loses nothing.
"""

from __future__ import annotations

import inspect
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger("officehub.worker")


@dataclass
class Job:
    path: str
    every_seconds: float
    function: Callable[..., Any]
    wants_now: bool
    next_run: float = 0.0


class WorkerConfigError(Exception):
    """A job in ``WORKER_JOBS`` cannot be loaded: the worker refuses to start.

    Skipping it would silently turn off 催办, DING re-notification or indexing.
    """


def load_jobs(specs: list[tuple[str, float]]) -> list[Job]:
    """Import every job; raises ``WorkerConfigError`` naming each one that cannot be loaded."""
    jobs = []
    problems = []
    for path, every in specs:
        module_name, _, attribute = path.rpartition(".")
        try:
            if not module_name:
                raise ImportError(f"{path!r} is not a dotted path")
            function = getattr(import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        if not callable(function):
            problems.append(f"{path}: is not callable")
            continue
        wants_now = "now" in inspect.signature(function).parameters
        jobs.append(Job(path, every, function, wants_now))
    if problems:
        raise WorkerConfigError("settings.WORKER_JOBS 中有无法加载的任务：\n  " + "\n  ".join(problems))
    return jobs


def run_due(jobs: list[Job], *, clock: float) -> dict[str, Any]:
    """Run every job whose time has come; one failing job never stops the others."""
    results: dict[str, Any] = {}
    for job in jobs:
        if clock < job.next_run:
            continue
        job.next_run = clock + job.every_seconds
        close_old_connections()
        try:
            results[job.path] = job.function(now=timezone.now()) if job.wants_now else job.function()
        except Exception:  # log and retry next round; the rows are still there
            logger.exception("worker job %s failed; will retry", job.path)
            results[job.path] = None
    return results


class Command(BaseCommand):
    help = "后台任务进程：催办提醒、DING 重复提醒、会议提醒、档案索引同步。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="每个任务只运行一次后退出")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        try:
            jobs = load_jobs(settings.WORKER_JOBS)
        except WorkerConfigError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("后台任务：" + "，".join(f"{job.path}（每 {job.every_seconds:g} 秒）" for job in jobs))
        if once:
            for path, result in run_due(jobs, clock=time.monotonic()).items():
                self.stdout.write(f"{path}: {result}")
            return
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            run_due(jobs, clock=time.monotonic())
            time.sleep(1)
