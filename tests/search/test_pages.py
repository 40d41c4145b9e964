"""档案检索 page, record page with the 归档章, upload form, CSV export link."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from search.models import ArchiveRecord
from tests.search.conftest import make_docx


def test_search_page_highlights_and_narrows_by_facets(client, personas, archive, clean_index):
    archive("关于推进一网通办的通知", "各地要推进一网通办改革。", doc_type="notice", record_date=dt.date(2026, 5, 1))
    archive("一网通办工作报告", "一网通办进展。", doc_type="report", record_date=dt.date(2025, 5, 1))
    client.force_login(personas.staff)
    page = client.get("/archives/", {"q": "一网通办"})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="result-total">2<' in html
    assert "关于推进<em>一网通办</em>的通知" in html
    assert 'data-facet="doc_type"' in html and "?q=%E4%B8%80%E7%BD%91%E9%80%9A%E5%8A%9E&amp;doc_type=notice" in html
    query = {"q": "一网通办", "doc_type": "notice", "year_from": 2026, "year_to": 2026}
    narrowed = client.get("/archives/", query).content.decode()
    assert 'id="result-total">1<' in narrowed
    assert "一网通办工作报告" not in narrowed
    assert 'href="export.csv?q=' in narrowed


def test_search_page_shows_a_chinese_error_for_bad_input(client, personas, clean_index):
    client.force_login(personas.staff)
    page = client.get("/archives/", {"year_from": 2026, "year_to": 2000})
    assert page.status_code == 400
    assert "起始年度不能晚于截止年度" in page.content.decode()


def test_record_page_shows_the_stamp_and_outsiders_get_404(client, personas, archive, clean_index):
    record = archive("关于档案工作的通知", "正文", unit_code="BGS")
    client.force_login(personas.staff)
    html = client.get(f"/archives/records/{record.pk}/").content.decode()
    assert "Z109-WS·2026-Y-BGS-0001" in html
    assert 'aria-label="归档章"' in html and 'title="件号"' in html
    assert "SHA-256 摘要校验通过" in client.get(f"/archives/records/{record.pk}/", {"check": "1"}).content.decode()
    client.force_login(personas.outsider)
    assert client.get(f"/archives/records/{record.pk}/").status_code == 404
    assert client.get(f"/archives/records/{record.pk}/file/").status_code == 404


def test_upload_form_files_a_record_for_archivists_only(client, personas, clean_index):
    client.force_login(personas.staff)
    assert client.get("/archives/upload/").status_code == 403
    client.force_login(personas.archivist)
    response = client.post(
        "/archives/upload/",
        {
            "file": SimpleUploadedFile("历史.docx", make_docx("一九九九年档案", "正文")),
            "title": "一九九九年档案", "record_date": "1999-10-01", "retention": "Y", "classification": "0",
            "doc_type": "", "page_count": "", "unit_code": "",
        },
    )
    record = ArchiveRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/archives/records/{record.pk}/"
    assert record.archive_code == "Z109-WS·1999-Y-0001"
    bad = client.post("/archives/upload/", {"title": "x", "record_date": "1999-10-01", "retention": "Y"})
    assert bad.status_code == 400
    assert "提交的内容有误" in bad.content.decode()
