"""Chromium itself judges OfficeHub installable: the manifest parses and meets its criteria.

Playwright's ordinary contexts are incognito, where Chromium stops its installability
check at "in-incognito"; a persistent profile (a second Chromium, with a user data
directory) runs the whole check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM_ARGS
from tests.shell.phone import PHONES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_chromium_finds_the_app_installable(demo: Any, live_daphne: str, chromium: Any, tmp_path: Path) -> None:
    phone = PHONES[0]
    context = chromium.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=os.environ.get("OFFICEHUB_CHROMIUM", "/usr/bin/chromium"),
        args=CHROMIUM_ARGS,
        headless=True,
        locale="zh-CN",
        viewport={"width": phone.width, "height": phone.height},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        page.goto(f"{live_daphne}/login/")
        session = context.new_cdp_session(page)
        manifest = session.send("Page.getAppManifest")
        assert manifest["url"] == f"{live_daphne}/manifest.webmanifest"
        assert manifest["errors"] == []
        errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], errors
    finally:
        context.close()
