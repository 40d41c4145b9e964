"""pytest plugin loaded by scripts/test.sh: a run in which no test passed is a failure.

pytest exits 0 when every collected test was skipped or deselected, which would let a
broken environment (say, every test skipping for want of a service) look green in CI.
Collect-only runs (--co) are left alone.
"""

from __future__ import annotations

import pytest

_passed = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _passed
    if report.when == "call" and report.passed:
        _passed += 1


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.option.collectonly or exitstatus != pytest.ExitCode.OK or _passed:
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")
        reporter.write_line(
            "scripts/test.sh: no test passed; counting this run as a failure", red=True
        )
