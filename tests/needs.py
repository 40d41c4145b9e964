"""What a test needs from the machine, and what happens when it is missing.

On a developer's machine a test whose tool, font or server is missing is skipped, with
the message naming what to install. Under CI (``CI=true``, as ``.ci/run`` runs) or with
``OFFICEHUB_TEST_STRICT=true`` it fails with that message instead: a missing CJK font must
not silently drop the seal-image tests from a green run. ``scripts/test.sh`` installs
everything named here.

    @pytest.mark.needs_tool("openssl", install="Debian package openssl")
    def test_...(): ...

    missing("a CJK font", install="Debian package fonts-wqy-zenhei")   # inside a test or fixture
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

_TRUE = {"1", "true", "yes", "on"}


def strict() -> bool:
    """Missing requirements fail (CI) rather than skip (a developer's machine)."""
    return os.environ.get("CI", "").lower() in _TRUE or os.environ.get("OFFICEHUB_TEST_STRICT", "").lower() in _TRUE


def missing(what: str, *, install: str) -> NoReturn:
    """Skip the running test (fail it under CI), naming what is missing and how to get it."""
    message = f"needs {what}, which is missing on this machine: install {install}"
    if strict():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def check_tool_markers(item: pytest.Item) -> None:
    """``@pytest.mark.needs_tool(name, install=...)``: the command must be on PATH."""
    for marker in item.iter_markers("needs_tool"):
        name = marker.args[0]
        if shutil.which(name) is None:
            missing(f"the `{name}` command", install=marker.kwargs["install"])
