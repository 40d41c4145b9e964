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
            ("no.such.module.job", 10),
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
