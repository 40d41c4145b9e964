"""Archiving legacy files: DA/T 22 numbering, the 归档章, fixity, immutability, refusals."""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from officehub.audit.models import AuditEntry
from officehub.errors import ApplicationError
from search.errors import ArchiveImmutable
from search.files import read_stamp, sha256_hex
from search.models import ArchiveRecord, ArchiveSequence, IndexOutbox
from search.services import archive_legacy_upload, archive_record_update
from tests.concurrency import run_at_once
from tests.factories import ArchiveRecordFactory
from tests.search.conftest import make_docx


def upload(actor, title="关于做好档案工作的通知", **fields):
    """A legacy DOCX filed through the service, in a transaction of its own as the API's."""
    fields.setdefault("file_name", "a.docx")
    return ArchiveRecordFactory(actor=actor, title=title, body="正文第一段。", **fields)


def test_archive_code_follows_dat22_and_numbers_are_gapless_per_class(personas):
    first = upload(personas.archivist, unit_code="BGS")
    second = upload(personas.archivist, unit_code="BGS")
    other_class = upload(personas.archivist, unit_code="BGS", retention="D30")
    no_unit = upload(personas.archivist)
    last_year = upload(personas.archivist, unit_code="BGS", record_date=dt.date(2025, 12, 31))
    assert first.archive_code == "Z109-WS·2026-Y-BGS-0001"
    assert second.archive_code == "Z109-WS·2026-Y-BGS-0002"
    assert other_class.archive_code == "Z109-WS·2026-D30-BGS-0001"
    assert no_unit.archive_code == "Z109-WS·2026-Y-0001"
    assert last_year.archive_code == "Z109-WS·2025-Y-BGS-0001"
    assert first.catalogue_date == "20260301"
    assert first.responsible_party == "浙江省人民政府办公厅"
    assert first.fonds_code == "Z109"


def test_archived_docx_carries_the_archive_stamp_and_a_matching_digest(personas):
    record = upload(personas.archivist, unit_code="MSC", retention="D10", page_count=3)
    stored = bytes(ArchiveRecord.objects.get(pk=record.pk).file_bytes)
    assert read_stamp(stored) == [["Z109", "2026", "1"], ["MSC", "定期10年", "3"]]
    assert record.sha256 == sha256_hex(stored)
    assert AuditEntry.objects.filter(action="archive.created", target_id=str(record.pk)).exists()


def test_records_are_immutable_in_services_models_and_database(personas):
    record = upload(personas.archivist)
    with pytest.raises(ArchiveImmutable) as caught:
        archive_record_update(record_id=record.pk, actor=personas.archivist, title="改过的题名")
    assert caught.value.code == "archive.immutable"
    record.title = "改过的题名"
    with pytest.raises(ArchiveImmutable):
        record.save()
    with pytest.raises(ArchiveImmutable):
        ArchiveRecord.objects.filter(pk=record.pk).update(title="改过的题名")
    with pytest.raises(ArchiveImmutable):
        record.delete()
    # Bypassing the ORM altogether: the trigger refuses.
    with pytest.raises(DatabaseError, match=r"archive\.immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE search_archiverecord SET title = 'x' WHERE id = %s", [record.pk])
    with pytest.raises(DatabaseError, match=r"archive\.immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_archiverecord WHERE id = %s", [record.pk])
    assert ArchiveRecord.objects.get(pk=record.pk).title == "关于做好档案工作的通知"


@pytest.mark.parametrize("who", ["staff", "drafter", "outsider", "low_clearance"])
def test_only_archivists_archive(personas, who):
    with pytest.raises(Exception) as caught:
        upload(getattr(personas, who))
    assert getattr(caught.value, "code", "") == "archive.not_archivist"
    assert not ArchiveRecord.objects.exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"retention": "D20"}, "archive.invalid"),
        ({"unit_code": "SJZ"}, "archive.invalid"),  # a unit of the 大数据局, not ours
        ({"title": "   "}, "archive.invalid"),
        ({"doc_type": "memo"}, "archive.invalid"),
        ({"classification": 2}, "archive.classified_refused"),
        ({"file_name": "a.txt", "file_bytes": b"hello"}, "archive.file_invalid"),
        ({"file_name": "a.docx", "file_bytes": b"PK\x03\x04broken"}, "archive.file_invalid"),
        ({"file_name": "a.pdf", "file_bytes": b"%PDF-1.4 no end"}, "archive.file_invalid"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_leaves_nothing(personas, fields, code):
    with pytest.raises(Exception) as caught:
        upload(personas.archivist, **fields)
    assert getattr(caught.value, "code", "") == code
    assert ArchiveRecord.objects.count() == 0
    assert IndexOutbox.objects.count() == 0
    assert list(ArchiveSequence.objects.values_list("last_item", flat=True)) in ([], [0])


def test_zip_bomb_is_refused_before_parsing(personas):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "0" * (50 * 1024 * 1024))
    with pytest.raises(ApplicationError) as caught:
        upload(personas.archivist, file_bytes=out.getvalue())
    assert caught.value.code == "archive.file_invalid"
    assert caught.value.extra["reason"] == "file.suspicious_compression"  # the platform's one check
    assert "压缩炸弹" in caught.value.message


def test_a_failure_after_numbering_rolls_the_number_back(personas, monkeypatch):
    upload(personas.archivist)

    def broken_audit(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("search.services.audit", broken_audit)
    with pytest.raises(RuntimeError):
        upload(personas.archivist)
    monkeypatch.undo()
    third = upload(personas.archivist)
    assert third.item_number == 2
    assert ArchiveRecord.objects.count() == 2


def test_pdf_legacy_upload_counts_pages_and_keeps_given_text(personas):
    pdf = b"%PDF-1.4\n1 0 obj<</Type /Pages /Count 2>>endobj 2 0 obj<</Type /Page>>endobj 3 0 obj<</Type /Page>>endobj\n%%EOF\n"
    record = upload(personas.archivist, file_name="old.pdf", file_bytes=pdf, content_text="二〇〇九年会议纪要全文")
    assert record.page_count == 2
    assert record.content_type == "application/pdf"
    assert bytes(ArchiveRecord.objects.get(pk=record.pk).file_bytes) == pdf  # PDFs are kept as given


@pytest.mark.django_db(transaction=True)
def test_concurrent_archivists_get_consecutive_numbers(demo):
    from officehub.directory.models import User

    archivist = User.objects.get(username="xuhui")
    files = [make_docx(f"并发归档 {i}", "正文") for i in range(4)]
    # upload() opens each call's transaction, as the API would; any exception fails the test.
    run_at_once([functools.partial(upload, archivist, file_bytes=data) for data in files], expected=())
    assert sorted(ArchiveRecord.objects.values_list("item_number", flat=True)) == [1, 2, 3, 4]


def test_check_archives_passes_and_then_reports_tampering_and_gaps(personas, capsys):
    first = upload(personas.archivist)
    upload(personas.archivist)
    call_command("check_archives")
    assert "2 件档案检查通过" in capsys.readouterr().out
    # Tamper with the stored bytes behind the application's back (trigger disabled for it).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE search_archiverecord DISABLE TRIGGER search_archiverecord_immutable")
        cursor.execute("UPDATE search_archiverecord SET file_bytes = %s WHERE id = %s", [b"PK\x03\x04junk", first.pk])
        cursor.execute("ALTER TABLE search_archiverecord ENABLE TRIGGER search_archiverecord_immutable")
    ArchiveSequence.objects.update(last_item=3)
    with pytest.raises(CommandError):
        call_command("check_archives")
    out = capsys.readouterr().out
    assert "Z109-WS·2026-Y-0001: 文件摘要不符" in out
    assert "Z109-WS·2026-Y-0001: 文件无法打开" in out
    assert "计数器为 3，实有 2 件" in out


def test_check_archives_notices_a_replaced_file_without_the_stamp(personas, capsys):
    record = upload(personas.archivist)
    unstamped = make_docx("替换的文件", "没有归档章")
    # An insider swaps file and digest together: the digest matches, the stamp does not.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE search_archiverecord DISABLE TRIGGER search_archiverecord_immutable")
        cursor.execute(
            "UPDATE search_archiverecord SET file_bytes = %s, sha256 = %s WHERE id = %s",
            [unstamped, sha256_hex(unstamped), record.pk],
        )
        cursor.execute("ALTER TABLE search_archiverecord ENABLE TRIGGER search_archiverecord_immutable")
    with pytest.raises(CommandError):
        call_command("check_archives")
    out = capsys.readouterr().out
    assert "Z109-WS·2026-Y-0001: 归档章缺失或与元数据不符" in out
    assert "摘要不符" not in out


@pytest.mark.django_db(transaction=True)
def test_archiving_services_refuse_to_run_outside_a_transaction(personas):
    from search.services import archive_document

    with pytest.raises(transaction.TransactionManagementError):
        archive_legacy_upload(
            actor=personas.archivist, file_name="a.docx", file_bytes=make_docx("题名", "正文"), title="题名",
            record_date=dt.date(2026, 3, 1), retention="Y",
        )
    with pytest.raises(transaction.TransactionManagementError):
        archive_document(document_id=1, actor=personas.archivist, retention="Y")
    assert not ArchiveRecord.objects.exists() and not ArchiveSequence.objects.exists()
