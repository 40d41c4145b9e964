"""Headless Chromium against live Daphne: the seal list and verifying an upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from seals import services
from seals.models import SealRecord
from tests.conftest import browser_login
from tests.seals.conftest import make_docx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_custodian_sees_the_seal_and_verifies_a_good_and_a_tampered_file(
    office_seal: Any, personas: Any, live_daphne: str, chromium: Any, tmp_path: Path
) -> None:
    with transaction.atomic():
        applied = services.seal_apply(
            seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx,
            document_ref="document:1", title="关于春节值班安排的通知",
        )
    record = SealRecord.objects.get(pk=applied.pk)
    (tmp_path / "good.docx").write_bytes(bytes(record.sealed_docx))
    tampered = bytearray(record.sealed_docx)
    tampered[500] ^= 0x01
    (tmp_path / "bad.docx").write_bytes(bytes(tampered))
    (tmp_path / "doc.p7s").write_bytes(bytes(record.signature))

    page = browser_login(chromium, live_daphne, "huangyan")
    try:
        page.goto(f"{live_daphne}/seals/")
        row = page.locator(f"#seal-list tr[data-seal-id='{office_seal.pk}']")
        assert "浙江省人民政府办公厅公章" in row.inner_text() and "启用" in row.inner_text()
        # The seal image preview really rendered (a PNG decoded by the browser).
        assert page.evaluate(f"document.querySelector(\"tr[data-seal-id='{office_seal.pk}'] img\").naturalWidth") > 100

        page.goto(f"{live_daphne}/seals/verify/")
        page.set_input_files("#id_docx", str(tmp_path / "good.docx"))
        page.set_input_files("#id_p7s", str(tmp_path / "doc.p7s"))
        page.click("#verify-form button[type=submit]")
        assert page.locator("#verify-result").get_attribute("data-status") == "valid"
        assert "有效" in page.locator("#verify-result h2").inner_text()

        page.goto(f"{live_daphne}/seals/verify/")
        page.set_input_files("#id_docx", str(tmp_path / "bad.docx"))
        page.set_input_files("#id_p7s", str(tmp_path / "doc.p7s"))
        page.click("#verify-form button[type=submit]")
        assert page.locator("#verify-result").get_attribute("data-status") == "content_changed"
        assert "内容已被篡改" in page.locator("#verify-result").inner_text()

        with page.expect_download() as download:
            page.goto(f"{live_daphne}/seals/records/{record.pk}/")
            page.click("text=下载文件包")
        assert download.value.suggested_filename == f"sealed-{record.pk}.zip"
    finally:
        page.context.close()
