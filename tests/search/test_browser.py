"""Headless Chromium against a live Daphne: a staff member searches the archive, sees the
phrase highlighted, narrows by 文种 and year, and opens the record with its 归档章."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from search.services import index_drain
from tests.conftest import browser_login
from tests.search.conftest import refresh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_searches_highlights_and_narrows_in_the_browser(
    personas: Any, archive: Any, clean_index: None, live_daphne: str, chromium: Any
) -> None:
    notice = archive("关于推进一网通办改革的通知", "各地要加快推进一网通办改革，打破数据孤岛。", index=False,
                     doc_type="notice", record_date=dt.date(2026, 4, 1), unit_code="BGS")
    archive("一网通办工作情况的报告", "今年一网通办工作取得积极进展。", index=False,
            doc_type="report", record_date=dt.date(2025, 4, 1))
    index_drain(refresh=True)  # the on-commit kick may already have indexed them
    refresh()

    page = browser_login(chromium, live_daphne, "heli")
    try:
        page.goto(f"{live_daphne}/archives/")
        page.fill("form.archive-form input[name=q]", "一网通办")
        page.click("form.archive-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator("#result-total").inner_text() == "2"
        assert page.locator("article.hit h3 em").first.inner_text() == "一网通办"
        assert "打破数据孤岛" in page.locator(f"article[data-record-id='{notice.pk}'] .snippet").inner_text()

        page.click("ul[data-facet=doc_type] a[data-value=notice]")
        page.wait_for_load_state("networkidle")
        assert page.locator("#result-total").inner_text() == "1"
        page.click("ul[data-facet=year] a[data-value='2026']")
        page.wait_for_load_state("networkidle")
        assert page.locator("#result-total").inner_text() == "1"
        assert "doc_type=notice" in page.locator("#export-link").get_attribute("href")

        page.click(f"article[data-record-id='{notice.pk}'] h3 a")
        page.wait_for_load_state("networkidle")
        assert page.locator("#archive-code").inner_text() == "Z109-WS·2026-Y-BGS-0001"
        assert page.locator("table.archive-stamp td[title=件号]").inner_text() == "1"
    finally:
        page.context.close()

    outsider = browser_login(chromium, live_daphne, "qianlei")
    try:
        outsider.goto(f"{live_daphne}/archives/?q=一网通办")
        assert outsider.locator("#result-total").inner_text() == "0"
    finally:
        outsider.context.close()
