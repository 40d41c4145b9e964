"""Archiving a distributed 公文 end to end (the issue's "done means"): the archivist files
it, staff find it by a phrase of its body, narrowed by year and 文种; people without
clearance or scope find nothing of it, not even a count."""

from __future__ import annotations

import pytest

from documents.models import Document, DocumentStatus
from search.files import read_stamp
from search.models import ArchiveRecord, IndexOutbox
from tests.documents.flow import distributed, to_review
from tests.search.conftest import refresh


def archive_via_api(api_client, user, document, **data):
    api_client.force_authenticate(user)
    data.setdefault("retention", "Y")
    return api_client.post(f"/api/archives/documents/{document.pk}/archive/", data, format="json")


def search(api_client, user, **params):
    api_client.force_authenticate(user)
    response = api_client.get("/api/archives/search/", params)
    assert response.status_code == 200
    return response.json()


def test_archivist_archives_the_distributed_notice_and_staff_find_it(
    api_client, personas, clean_index, django_capture_on_commit_callbacks
):
    document = distributed(personas)
    assert document.issued_on is not None
    year = document.issued_on.year
    with django_capture_on_commit_callbacks(execute=True):
        response = archive_via_api(api_client, personas.archivist, document)
    assert response.status_code == 201, response.content
    refresh()
    body = response.json()
    assert body["archive_code"] == f"Z109-WS·{year}-Y-BGS-0001"
    assert body["doc_number"] == document.doc_number
    assert body["responsible_party"] == "浙江省人民政府办公厅"
    assert body["doc_type"] == "notice"
    record = ArchiveRecord.objects.get(pk=body["id"])
    assert record.document_id == document.pk
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.ARCHIVED
    stamp = read_stamp(bytes(record.file_bytes))
    assert stamp is not None and stamp[0] == ["Z109", str(year), "1"]
    assert IndexOutbox.objects.get(record=record).done_at is not None

    # 何丽 of 综合处 finds it by a phrase of its body, highlighted, and narrows it down.
    found = search(api_client, personas.staff, q="压实责任")
    assert [hit["id"] for hit in found["hits"]] == [record.pk]
    assert any("<em>压实责任</em>" in snippet for snippet in found["hits"][0]["snippets_html"])
    narrowed = search(api_client, personas.staff, q="压实责任", year_from=year, year_to=year, doc_type="notice")
    assert narrowed["total"] == 1
    assert search(api_client, personas.staff, q="压实责任", doc_type="report")["total"] == 0
    assert search(api_client, personas.staff, q=document.doc_number)["hits"][0]["id"] == record.pk

    # No clearance (the 通知 is 内部) or no scope (another organisation): nothing, not a count.
    for user in (personas.low_clearance, personas.outsider, personas.other_org_archivist):
        result = search(api_client, user, q="压实责任")
        assert result["total"] == 0 and result["hits"] == []
        assert all(buckets == [] for buckets in result["facets"].values())


def test_a_document_is_archived_once(api_client, personas, clean_index):
    document = distributed(personas)
    assert archive_via_api(api_client, personas.archivist, document).status_code == 201
    again = archive_via_api(api_client, personas.archivist, document)
    assert again.status_code == 409
    assert again.json()["code"] == "archive.already_archived"
    assert ArchiveRecord.objects.count() == 1


def test_who_may_not_archive(api_client, personas, clean_index):
    document = distributed(personas)
    staff = archive_via_api(api_client, personas.staff, document)
    assert staff.status_code == 403 and staff.json()["code"] == "archive.not_archivist"
    other = archive_via_api(api_client, personas.other_org_archivist, document)
    assert other.status_code == 404  # another organisation's archivist does not even see it
    unfinished = to_review(personas)
    assert archive_via_api(api_client, personas.archivist, unfinished).status_code == 404
    assert not ArchiveRecord.objects.exists()
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.DISTRIBUTED


def test_a_failed_archive_leaves_the_document_distributed(api_client, personas, clean_index):
    document = distributed(personas)
    response = archive_via_api(api_client, personas.archivist, document, unit_code="SJZ")  # not our unit
    assert response.status_code == 400
    assert response.json()["code"] == "archive.invalid"
    bad_retention = archive_via_api(api_client, personas.archivist, document, retention="D20")
    assert bad_retention.status_code == 400 and bad_retention.json()["code"] == "invalid"
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.DISTRIBUTED
    assert not ArchiveRecord.objects.exists() and not IndexOutbox.objects.exists()


def test_pending_page_lists_and_archives(client, personas, clean_index):
    document = distributed(personas)
    client.force_login(personas.archivist)
    page = client.get("/archives/pending/").content.decode()
    assert f'data-document-id="{document.pk}"' in page
    response = client.post("/archives/pending/", {"document_id": document.pk, "retention": "D30"})
    record = ArchiveRecord.objects.get(document=document)
    assert response.status_code == 302 and response["Location"] == f"/archives/records/{record.pk}/"
    assert record.retention == "D30"
    assert f'data-document-id="{document.pk}"' not in client.get("/archives/pending/").content.decode()
    client.force_login(personas.staff)
    assert client.get("/archives/pending/").status_code == 403


def test_an_incoming_copy_is_archived_after_conclusion_into_the_recipients_fonds(api_client, personas, clean_index):
    from documents import services as document_services
    from officehub.directory.models import User
    from tests.documents.flow import act
    from tests.documents.test_incoming import at

    personas.office = personas.other_org_custodian  # 大数据局 office
    personas.bd_leader = User.objects.get(username="weidong")
    personas.bd_head = User.objects.get(username="chuyi")
    copy = at(personas, "handle")
    assert archive_via_api(api_client, personas.other_org_archivist, copy).status_code == 404  # not concluded
    act(document_services.document_conclude, document_id=copy.pk, actor=personas.bd_head, reply="已按要求完成")
    response = archive_via_api(api_client, personas.other_org_archivist, copy, retention="D10")
    assert response.status_code == 201, response.content
    body = response.json()
    assert copy.issued_on is not None
    assert body["archive_code"] == f"Z210-WS·{copy.issued_on.year}-D10-DSJ-0001"
    assert body["responsible_party"] == "浙江省人民政府办公厅"  # 责任者: the sender
    assert Document.objects.get(pk=copy.pk).status == DocumentStatus.ARCHIVED
    # The 办公厅's archivist may not archive the 大数据局's copy.
    assert ArchiveRecord.objects.get(pk=body["id"]).organisation.name == "浙江省大数据发展管理局"


@pytest.mark.django_db(transaction=True)
def test_archiving_a_document_and_a_legacy_upload_into_one_class_at_once_do_not_deadlock(personas, clean_index, monkeypatch):
    # Lock order (docs/locking.md): archive_document used to write document.archived (the
    # audit head) before it took the class's item-number row, while a legacy upload takes
    # that row first and audits last. Forced here: the upload holds the row until the
    # document's archiving has gone as far as it can.
    import threading
    import time

    from documents import services as document_services
    from search import services as search_services
    from tests.concurrency import run_at_once
    from tests.search.conftest import make_docx

    document = distributed(personas)
    marked = threading.Event()
    sequence_taken = threading.Event()
    in_upload = threading.local()
    real_allocate = search_services._allocate_item_number
    real_mark = document_services.document_mark_archived

    def allocate(**key):
        number = real_allocate(**key)
        if getattr(in_upload, "active", False):
            sequence_taken.set()
            marked.wait(timeout=3)  # never set under the right order: the archiving queues on our row
            time.sleep(0.3)
        return number

    def mark(**kwargs):
        result = real_mark(**kwargs)
        marked.set()
        return result

    monkeypatch.setattr(search_services, "_allocate_item_number", allocate)
    monkeypatch.setattr(document_services, "document_mark_archived", mark)

    issued_on = document.issued_on
    assert issued_on is not None

    def upload():
        in_upload.active = True
        return search_services.archive_legacy_upload(
            actor=personas.archivist, file_name="a.docx", file_bytes=make_docx("关于档案工作的通知", "正文。"),
            title="关于档案工作的通知", record_date=issued_on, retention="Y", unit_code="BGS",
        )

    def archive():
        assert sequence_taken.wait(timeout=20)
        return search_services.archive_document(document_id=document.pk, actor=personas.archivist, retention="Y", unit_code="BGS")

    results = run_at_once([upload, archive], lock_timeout="10s")
    assert [r for r in results if isinstance(r, BaseException)] == []
    records = [r for r in results if isinstance(r, ArchiveRecord)]
    assert sorted(record.item_number for record in records) == [1, 2]
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.ARCHIVED
    from officehub.audit.services import verify_chain

    assert verify_chain() is None
