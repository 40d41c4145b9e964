"""Headless Chromium against a live Daphne: a drafter drafts and submits a 通知, the
reviewer finds it among their 待办 and approves it."""

from __future__ import annotations

from typing import Any

import pytest

from documents.models import Document
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "关于做好全省政务服务“一网通办”工作的通知"


def test_drafter_drafts_and_submits_in_the_browser(demo: Any, live_daphne: str, chromium: Any) -> None:
    page = browser_login(chromium, live_daphne, "wangfang")
    try:
        page.goto(f"{live_daphne}/documents/")
        page.click("#new-document")
        page.select_option("#pick-type", "notice")
        page.wait_for_load_state("networkidle")
        assert "现就有关事项通知如下" in page.locator("#id_body").input_value()  # the 通知 template
        page.fill("#id_title", TITLE)
        page.fill("#id_body", "一、工作目标\n实现高频事项全程网办。\n二、工作要求\n（一）加强组织领导。")
        page.select_option("#id_primary", label="浙江省大数据发展管理局")
        page.click("#save-document")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text() == TITLE
        assert page.locator("#doc-status").inner_text() == "拟稿"
        page.click("#submit-document")
        page.wait_for_load_state("networkidle")
        assert page.locator("#doc-status").inner_text() == "核稿"
        assert "赵敏" in page.locator("#holders").inner_text()
        assert page.locator("#form-submit").count() == 0  # no longer the drafter's step
    finally:
        page.context.close()

    document = Document.objects.get(title=TITLE)
    assert (document.status, document.drafter.username) == ("review", "wangfang")

    page = browser_login(chromium, live_daphne, "zhaomin")
    try:
        page.click(f"#todo-panel a:has-text('{TITLE}')")
        page.wait_for_load_state("networkidle")
        page.fill("#form-review textarea[name=opinion]", "文字规范，同意")
        page.click("#form-review button[value=approve]")
        page.wait_for_load_state("networkidle")
        assert page.locator("#doc-status").inner_text() == "签发"
        assert "文字规范，同意" in page.locator("#timeline").inner_text()
    finally:
        page.context.close()


def test_drafter_uploads_orders_and_removes_attachment_files_in_the_browser(
    demo: Any, live_daphne: str, chromium: Any, tmp_path: Any
) -> None:
    from django.db import transaction

    from documents import services
    from documents.models import Attachment
    from tests.documents import attachment_files

    with transaction.atomic():
        from officehub.directory.models import User

        document = services.document_create_draft(actor=User.objects.get(username="wangfang"), doc_type="notice",
                                                  title=TITLE)
    (tmp_path / "重点任务清单.pdf").write_bytes(attachment_files.pdf())
    (tmp_path / "项目表.xlsx").write_bytes(attachment_files.xlsx())
    (tmp_path / "伪装.pdf").write_bytes(attachment_files.EXECUTABLE)
    page = browser_login(chromium, live_daphne, "wangfang")
    try:
        page.goto(f"{live_daphne}/documents/{document.pk}/edit/")
        assert page.locator("#no-attachments").count() == 1
        for name, label in (("重点任务清单.pdf", ""), ("项目表.xlsx", "重点项目表")):
            page.set_input_files("#id_attachment_file", str(tmp_path / name))
            page.fill("#id_attachment_name", label)
            page.click("#upload-attachment")
            page.wait_for_load_state("networkidle")
        rows = page.locator("#attachment-list tbody tr")
        assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(2)] == ["重点任务清单", "重点项目表"]
        rows.nth(1).locator("button:has-text('上移')").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("#attachment-list tbody tr").first.locator("td").nth(1).inner_text() == "重点项目表"
        page.set_input_files("#id_attachment_file", str(tmp_path / "伪装.pdf"))
        page.click("#upload-attachment")
        page.wait_for_load_state("networkidle")
        assert "不支持的附件类型" in page.content()
        page.locator("#attachment-list tbody tr").first.locator("button:has-text('移除')").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("#attachment-list tbody tr").count() == 1
        page.goto(f"{live_daphne}/documents/{document.pk}/")
        assert "重点任务清单" in page.locator("#doc-attachments").inner_text()
    finally:
        page.context.close()
    assert list(Attachment.objects.filter(document=document, removed_at__isnull=True).values_list("name", flat=True)) == [
        "重点任务清单"
    ]
