"""The worker runs each due job, passes the time to jobs that want it, and survives failures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from officehub.management.commands.run_worker import load_jobs, run_due

CALLS: list[Any] = []


def job_with_now(*, now: datetime) -> int:
    CALLS.append(now)
    return 1


def job_without_arguments() -> str:
    CALLS.append("plain")
    return "ok"


def job_that_fails() -> None:
    raise RuntimeError("boom")


@pytest.mark.django_db  # the worker recycles stale database connections between jobs
def test_jobs_run_when_due_and_failures_do_not_stop_the_others() -> None:
    CALLS.clear()
    jobs = load_jobs(
        [
            (f"{__name__}.job_that_fails", 10),
            (f"{__name__}.job_with_now", 10),
            (f"{__name__}.job_without_arguments", 30),
        ]
    )
    assert [job.path.rsplit(".", 1)[1] for job in jobs] == ["job_that_fails", "job_with_now", "job_without_arguments"]
    first = run_due(jobs, clock=100.0)
    assert first[f"{__name__}.job_that_fails"] is None
    assert first[f"{__name__}.job_with_now"] == 1 and first[f"{__name__}.job_without_arguments"] == "ok"
    assert isinstance(CALLS[0], datetime) and CALLS[0].tzinfo is not None
    # 15 s later only the 10-second jobs are due again.
    second = run_due(jobs, clock=115.0)
    assert set(second) == {f"{__name__}.job_that_fails", f"{__name__}.job_with_now"}
    assert run_due(jobs, clock=116.0) == {}


NOT_CALLABLE = 42


@pytest.mark.parametrize(
    "path",
    ["no.such.module.job", f"{__name__}.no_such_job", f"{__name__}.NOT_CALLABLE", "nodots"],
)
def test_a_job_that_cannot_be_loaded_stops_the_worker_with_its_name(path: str) -> None:
    from officehub.management.commands.run_worker import WorkerConfigError

    with pytest.raises(WorkerConfigError) as info:
        load_jobs([(f"{__name__}.job_with_now", 10), (path, 10)])
    assert path in str(info.value)


def test_run_worker_exits_non_zero_with_a_clear_message_for_a_bad_job_path() -> None:
    """The real command in a subprocess: a typo in WORKER_JOBS must not start a worker
    that silently never runs 催办."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    settings_module = root / "var" / "worker_bad_jobs_settings.py"
    settings_module.parent.mkdir(exist_ok=True)
    settings_module.write_text(
        "from officehub.settings import *  # noqa\n"
        "WORKER_JOBS = [('documents.services.no_such_job', 60)]\n",
        encoding="utf-8",
    )
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="worker_bad_jobs_settings", PYTHONPATH=f"{settings_module.parent}{os.pathsep}{root}"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "run_worker", "--once"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "documents.services.no_such_job" in result.stderr and "WORKER_JOBS" in result.stderr
    assert "后台任务：" not in result.stdout  # it never started
