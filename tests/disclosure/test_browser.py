"""Headless Chromium against a live Daphne, no login: a citizen searches the portal, narrows
by 文种, opens a document and its issued copy; files a 依申请公开 request and follows it
on its tracking page while the office handles it. No Content-Security-Policy violation."""

from __future__ import annotations

from typing import Any

import pytest

from disclosure import services
from documents.models import Disclosure
from officehub.directory.models import Department
from tests.disclosure.conftest import act, distributed, drain

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def anonymous_page(browser: Any) -> tuple[Any, list[str]]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


def test_a_citizen_searches_the_portal_and_opens_a_document(personas: Any, portal_index: None, live_daphne: str,
                                                            chromium: Any) -> None:
    notice = distributed(personas, title="关于推进一网通办改革的通知", body="各地要加快推进一网通办改革，打破数据孤岛。")
    distributed(personas, title="一网通办工作情况的报告", doc_type="report", body="今年一网通办工作取得积极进展。")
    hidden = distributed(personas, title="一网通办内部工作安排", disclosure=Disclosure.WITHHELD, body="一网通办内部事项。")
    drain()  # the on-commit kicks have usually done it already

    page, problems = anonymous_page(chromium)
    try:
        page.goto(f"{live_daphne}/gk/")
        assert page.locator("#gk-total").inner_text() == "共 2 件"
        page.fill("#gk-q", "一网通办")
        page.click("#gk-search-button")
        page.wait_for_load_state("networkidle")
        assert page.locator("#gk-total").inner_text() == "共 2 件"
        assert page.locator(f"li[data-document-id='{hidden.pk}']").count() == 0
        assert page.locator(".gk-hit-title em").first.inner_text() == "一网通办"
        assert "打破数据孤岛" in page.locator(f"li[data-document-id='{notice.pk}'] .gk-snippet").inner_text()

        page.click("section[data-facet=doc_type] a:has-text('通知')")
        page.wait_for_load_state("networkidle")
        assert page.locator("#gk-total").inner_text() == "共 1 件"
        assert "doc_type=notice" in page.url

        page.click(f"li[data-document-id='{notice.pk}'] a.gk-hit-title")
        page.wait_for_load_state("networkidle")
        assert page.locator("#gk-title").inner_text() == "关于推进一网通办改革的通知"
        assert page.locator("#gk-doc-number").inner_text() == notice.doc_number
        assert page.locator("#gk-issuer").inner_text() == "浙江省人民政府办公厅"
        assert "打破数据孤岛" in page.locator("#gk-body").inner_text()
        with page.expect_download() as download:
            page.click("#gk-download")
        assert download.value.suggested_filename.startswith(notice.doc_number)
        # No staff shell, and a document never published is the same 404 as a missing one.
        assert page.locator(".mainnav").count() == 0
        response = page.goto(f"{live_daphne}/gk/documents/{hidden.pk}/")
        assert response is not None and response.status == 404
        assert "不存在或未公开" in page.locator("#portal-message").inner_text()
    finally:
        page.context.close()
    assert not [text for text in problems if "Content Security Policy" in text or "Refused" in text], problems


def test_a_citizen_files_a_request_and_follows_it_on_the_tracking_page(personas: Any, live_daphne: str,
                                                                       chromium: Any) -> None:
    office = Department.objects.get(name="浙江省人民政府办公厅")
    page, problems = anonymous_page(chromium)
    try:
        page.goto(f"{live_daphne}/gk/requests/new/")
        page.select_option("#gk-organisation", str(office.pk))
        page.fill("#gk-name", "张三丰")
        page.fill("#gk-contact", "13800000000")
        page.fill("#gk-description", "请公开2025年度省级部门预算执行情况。")
        page.click("#gk-submit")
        page.wait_for_load_state("networkidle")
        number = page.locator("#gk-tracking-number").inner_text()
        assert number in page.locator("#gk-filed").inner_text()
        done = page.locator("#gk-steps li.done")
        assert done.count() == 1 and "提交申请" in done.first.inner_text()
        assert page.locator("#gk-status").inner_text() == "待登记"

        from disclosure.models import DisclosureRequest

        request = DisclosureRequest.objects.get(tracking_number=number)
        act(services.request_register, request_id=request.pk, actor=personas.reviewer, note="内部：材料齐全")
        department = Department.objects.get(name="综合处", parent=office)
        act(services.request_assign, request_id=request.pk, actor=personas.reviewer, department_id=department.pk)
        page.reload()
        assert page.locator("#gk-steps li.done").count() == 3
        assert "综合处" in page.locator("li[data-step=handling]").inner_text()
        assert "答复期限" in page.locator("li[data-step=registered]").inner_text()
        assert page.locator("li[data-step=replied]").get_attribute("class") == "gk-step current"

        act(services.request_reply, request_id=request.pk, actor=personas.head2, reply="所申请信息已主动公开，请见本机关网站。")
        # Looked up again by the number, typed sloppily, from the lookup form.
        page.goto(f"{live_daphne}/gk/requests/track/")
        page.fill("#gk-number", number.lower().replace("-", " "))
        page.press("#gk-number", "Enter")
        page.wait_for_load_state("networkidle")
        assert page.locator("#gk-steps li.done").count() == 4
        assert "所申请信息已主动公开" in page.locator("#gk-reply").inner_text()
        assert page.locator("li[data-step=replied] .gk-step-at").inner_text().startswith("20")
        text = page.locator("body").inner_text()
        assert "材料齐全" not in text and personas.reviewer.full_name not in text and personas.head2.full_name not in text
    finally:
        page.context.close()
    assert not [text for text in problems if "Content Security Policy" in text or "Refused" in text], problems
