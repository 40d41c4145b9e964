"""Search API, record API and catalogue export, seen by each persona."""

from __future__ import annotations

import csv
import datetime as dt
import io
from functools import partial

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from officehub.directory.models import Department
from search.models import ArchiveRecord
from search.services import index_drain
from tests.search.conftest import make_docx

SEARCH = "/api/archives/search/"


@pytest.fixture
def corpus(personas, archive, clean_index):
    archive = partial(archive, index=False)
    """Five records of two fonds with different scopes and 密级 (titles say who may read)."""
    secretariat = Department.objects.get(name="秘书处", parent__name="浙江省人民政府办公厅")
    inspection = Department.objects.get(name="督查处", parent__name="浙江省人民政府办公厅")
    records = {
        # 办公厅, whole organisation, 公开
        "public": archive(
            "关于加快数字政府建设的通知", "全省各级机关要加快数字政府建设，推进一网通办。",
            doc_type="notice", doc_number="浙政办发〔2026〕12号", record_date=dt.date(2026, 1, 5), unit_code="BGS",
        ),
        # 办公厅, whole organisation, 内部
        "internal": archive(
            "数字政府建设工作要点", "数字政府建设要点（内部）。",
            doc_type="opinion", classification=1, record_date=dt.date(2025, 6, 1), retention="D30",
        ),
        # 办公厅, only 秘书处
        "secretariat": archive(
            "秘书处数字政府调研报告", "数字政府调研。",
            doc_type="report", classification=1, scope_department_ids=[secretariat.pk], record_date=dt.date(2026, 2, 1),
        ),
        # 办公厅, only 督查处, plus the 大数据局's 钱磊 as an explicit reader
        "shared": archive(
            "数字政府督查通报", "督查数字政府建设进度。",
            doc_type="circular", scope_department_ids=[inspection.pk], reader_ids=[personas.outsider.pk],
            record_date=dt.date(2026, 3, 1),
        ),
        # 大数据局's own fonds
        "other_org": archive(
            "大数据局数字政府数据共享方案", "数字政府数据共享。", actor=personas.other_org_archivist,
            doc_type="notice", record_date=dt.date(2026, 4, 1),
        ),
    }
    assert index_drain(refresh=True) == 5
    return records


def search(api_client, user, **params):
    api_client.force_authenticate(user)
    response = api_client.get(SEARCH, params)
    assert response.status_code == 200, response.content
    return response.json()


def titles(result):
    return sorted(hit["title"] for hit in result["hits"])


def facet(result, name):
    return {bucket["value"]: bucket["count"] for bucket in result["facets"][name]}


def test_staff_sees_only_organisation_wide_records_and_matching_facets(api_client, personas, corpus):
    result = search(api_client, personas.staff, q="数字政府")
    assert titles(result) == ["关于加快数字政府建设的通知", "数字政府建设工作要点"]
    assert result["total"] == 2
    assert facet(result, "doc_type") == {"notice": 1, "opinion": 1}
    assert facet(result, "year") == {"2026": 1, "2025": 1}
    assert facet(result, "issuer") == {"浙江省人民政府办公厅": 2}
    assert result["degraded"] is False


def test_secretariat_drafter_also_sees_the_secretariat_record(api_client, personas, corpus):
    result = search(api_client, personas.drafter, q="数字政府")
    assert titles(result) == ["关于加快数字政府建设的通知", "数字政府建设工作要点", "秘书处数字政府调研报告"]
    assert facet(result, "doc_type") == {"notice": 1, "opinion": 1, "report": 1}


def test_low_clearance_sees_public_records_only_not_even_a_count(api_client, personas, corpus):
    result = search(api_client, personas.low_clearance, q="数字政府")
    assert titles(result) == ["关于加快数字政府建设的通知"]
    assert result["total"] == 1
    assert facet(result, "doc_type") == {"notice": 1}
    assert facet(result, "classification") == {"0": 1}
    assert facet(result, "retention") == {"Y": 1}  # the D30 内部 record is not counted


def test_outsider_sees_own_fonds_and_what_was_shared_with_them(api_client, personas, corpus):
    result = search(api_client, personas.outsider, q="数字政府")
    assert titles(result) == ["大数据局数字政府数据共享方案", "数字政府督查通报"]
    assert facet(result, "issuer") == {"浙江省大数据发展管理局": 1, "浙江省人民政府办公厅": 1}
    # Nothing about the 办公厅's own records leaks, by title or by number.
    assert search(api_client, personas.outsider, q="浙政办发〔2026〕12号")["total"] == 0


def test_archivist_sees_the_whole_fonds(api_client, personas, corpus):
    result = search(api_client, personas.archivist, q="数字政府")
    assert len(result["hits"]) == 4
    assert "大数据局数字政府数据共享方案" not in titles(result)


def test_filters_sort_and_pagination(api_client, personas, corpus):
    user = personas.archivist
    assert titles(search(api_client, user, q="数字政府", year_from=2026, year_to=2026, doc_type="notice")) == [
        "关于加快数字政府建设的通知"
    ]
    assert titles(search(api_client, user, q="数字政府", retention="D30")) == ["数字政府建设工作要点"]
    assert titles(search(api_client, user, unit_code="BGS")) == ["关于加快数字政府建设的通知"]
    assert titles(search(api_client, user, classification=1, doc_type=["opinion", "report"])) == [
        "数字政府建设工作要点", "秘书处数字政府调研报告"
    ]
    by_date = search(api_client, user, q="数字政府", sort="date")
    assert [hit["record_date"] for hit in by_date["hits"]] == ["2026-03-01", "2026-02-01", "2026-01-05", "2025-06-01"]
    page2 = search(api_client, user, q="数字政府", sort="date_asc", page=2, page_size=3)
    assert [hit["record_date"] for hit in page2["hits"]] == ["2026-03-01"]
    assert page2["total"] == 4


def test_doc_number_and_archive_code_match_exactly(api_client, personas, corpus):
    hit = search(api_client, personas.staff, q="浙政办发[2026]12号")["hits"]
    assert [h["title"] for h in hit] == ["关于加快数字政府建设的通知"]
    code = corpus["public"].archive_code
    assert code == "Z109-WS·2026-Y-BGS-0001"
    assert [h["title"] for h in search(api_client, personas.staff, q=code)["hits"]] == ["关于加快数字政府建设的通知"]
    assert search(api_client, personas.staff, q="Z109-WS·2026-Y-BGS-0002")["total"] == 0


def test_highlights_are_escaped_except_for_em(api_client, personas, archive, clean_index):
    archive('<script>alert("x")</script>一网通办 & 数据 <b>共享</b>', "推进一网通办<img src=x onerror=alert(1)>。")
    hit = search(api_client, personas.staff, q="一网通办")["hits"][0]
    assert hit["title_html"] == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<em>一网通办</em> &amp; 数据 &lt;b&gt;共享&lt;/b&gt;"
    )
    assert "<img" not in " ".join(hit["snippets_html"])
    assert "推进<em>一网通办</em>&lt;img" in hit["snippets_html"][0]


@pytest.mark.parametrize(
    "params",
    [{"page_size": 500}, {"page": 0}, {"year_from": 2026, "year_to": 2020}, {"sort": "random"}, {"doc_type": "memo"},
     {"page": 200, "page_size": 100}],
)
def test_bad_search_parameters_get_a_coded_400(api_client, personas, params, clean_index):
    api_client.force_authenticate(personas.staff)
    response = api_client.get(SEARCH, params)
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "search.invalid_query")


def test_anonymous_search_is_refused(api_client, clean_index, demo):
    assert api_client.get(SEARCH, {"q": "数字政府"}).status_code == 401


def test_record_detail_outsider_gets_the_same_404_as_a_missing_id(api_client, personas, corpus):
    record = corpus["public"]
    api_client.force_authenticate(personas.staff)
    detail = api_client.get(f"/api/archives/records/{record.pk}/").json()
    assert detail["archive_code"] == "Z109-WS·2026-Y-BGS-0001"
    assert detail["catalogue_date"] == "20260105"
    assert detail["stamp"] == {
        "fonds_code": "Z109", "year": 2026, "item_number": 1, "unit_code": "BGS", "retention": "永久", "page_count": 1
    }
    api_client.force_authenticate(personas.outsider)
    hidden = api_client.get(f"/api/archives/records/{record.pk}/")
    missing = api_client.get("/api/archives/records/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert api_client.get(f"/api/archives/records/{record.pk}/file/").status_code == 404
    assert api_client.patch(f"/api/archives/records/{record.pk}/", {"title": "x"}).status_code == 404


def test_record_edits_and_deletes_are_refused_as_immutable(api_client, personas, corpus):
    record = corpus["public"]
    api_client.force_authenticate(personas.archivist)
    response = api_client.patch(f"/api/archives/records/{record.pk}/", {"title": "新题名"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "archive.immutable"
    assert api_client.delete(f"/api/archives/records/{record.pk}/").json()["code"] == "archive.immutable"
    assert ArchiveRecord.objects.get(pk=record.pk).title == "关于加快数字政府建设的通知"
    fixity = api_client.get(f"/api/archives/records/{record.pk}/fixity/").json()
    assert fixity["ok"] is True
    download = api_client.get(f"/api/archives/records/{record.pk}/file/")
    assert download["X-Content-SHA256"] == record.sha256


def test_catalogue_export_lists_the_current_results_in_dat22_columns(api_client, personas, corpus):
    api_client.force_authenticate(personas.staff)
    response = api_client.get("/api/archives/search/export/", {"q": "数字政府", "sort": "date"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["序号", "档号", "文号", "责任者", "题名", "日期", "页数", "密级", "备注"]
    assert rows[1] == [
        "1", "Z109-WS·2026-Y-BGS-0001", "浙政办发〔2026〕12号", "浙江省人民政府办公厅", "关于加快数字政府建设的通知", "20260105",
        "1", "公开", "",
    ]
    assert rows[2][1:3] == ["Z109-WS·2025-D30-0001", ""]
    assert len(rows) == 3
    api_client.force_authenticate(personas.low_clearance)
    exported = api_client.get("/api/archives/search/export/", {"q": "数字政府"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert [row[4] for row in rows[1:]] == ["关于加快数字政府建设的通知"]


def test_legacy_upload_api(api_client, personas, clean_index):
    api_client.force_authenticate(personas.archivist)
    response = api_client.post(
        "/api/archives/records/",
        {
            "file": SimpleUploadedFile("旧档.docx", make_docx("二〇一九年工作总结", "工作总结正文")),
            "title": "二〇一九年工作总结", "record_date": "2019-12-30", "retention": "D30", "unit_code": "MSC",
            "doc_type": "report",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["archive_code"] == "Z109-WS·2019-D30-MSC-0001"
    api_client.force_authenticate(personas.staff)
    refused = api_client.post(
        "/api/archives/records/",
        {"file": SimpleUploadedFile("x.docx", make_docx("x")), "title": "x", "record_date": "2019-12-30", "retention": "Y"},
        format="multipart",
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "archive.not_archivist"
    assert ArchiveRecord.objects.count() == 1


def test_an_oversized_legacy_upload_is_a_413_with_the_archive_code_and_files_nothing(api_client, personas, settings):
    settings.DOCX_IMPORT_MAX_BYTES = 4096
    api_client.force_authenticate(personas.archivist)
    big = make_docx("二〇一九年工作总结", ["工作总结正文" * 50] * 40)
    assert len(big) > 4096
    response = api_client.post(
        "/api/archives/records/",
        {"file": SimpleUploadedFile("旧档.docx", big), "title": "二〇一九年工作总结", "record_date": "2019-12-30",
         "retention": "D30"},
        format="multipart",
    )
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "archive.file_too_large"
    assert response.json()["extra"]["max_bytes"] == 4096
    assert not ArchiveRecord.objects.exists()


def test_search_costs_three_queries_whatever_the_number_of_hits(api_client, personas, corpus, django_assert_num_queries):
    api_client.force_authenticate(personas.archivist)
    personas.archivist._role_codes = None  # as fresh as a request's user
    with django_assert_num_queries(3):  # roles, the archivist's organisation, the hit re-check
        result = api_client.get(SEARCH, {"q": "数字政府"}).json()
    assert len(result["hits"]) == 4
