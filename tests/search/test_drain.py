"""The outbox drain's guarantees under failure and concurrency, against the real
PostgreSQL and Elasticsearch: a row is marked done only once Elasticsearch acknowledged
its document, only what failed is retried, and two drains at once never take one row."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

import orjson
import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from elastic_transport import ConnectionError as TransportConnectionError

from search import es, services
from search.models import IndexOutbox
from search.services import index_drain, index_drain_backlog
from tests.search.conftest import bulk_records, refresh


def es_doc(record_id: int) -> dict[str, Any]:
    return es.client().options(ignore_status=404).get(index=es.alias_name(), id=str(record_id)).body


def pending(record: Any) -> IndexOutbox:
    return IndexOutbox.objects.get(record=record)


def corpus(personas: Any, count: int) -> list[Any]:
    """``count`` records with one pending outbox row each (archiving's own tests cover the
    service; these need rows, fast)."""
    rows = [{"title": f"关于第{n}批政务数据共享的通知", "body": f"第{n}批数据共享。", "record_date": dt.date(2026, 3, n)}
            for n in range(1, count + 1)]
    return bulk_records(personas.archivist.department.organisation(), personas.archivist, rows)


def sent_ids(body: bytes) -> list[int]:
    """The record ids of a ``_bulk`` body (its action lines)."""
    lines = body.splitlines()
    return [int(orjson.loads(line)["index"]["_id"]) for line in lines[0::2]]


def test_a_failed_request_marks_nothing_done_and_keeps_every_row_with_backoff(personas, clean_index, monkeypatch):
    records = corpus(personas, 3)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise TransportConnectionError("connection reset by peer")

    monkeypatch.setattr(services, "send_bulk", unreachable)
    assert index_drain() == 0
    for record in records:
        row = pending(record)
        assert row.done_at is None
        assert row.attempts == 1 and row.last_error.startswith("ConnectionError")
        assert row.available_at > timezone.now()
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert index_drain(refresh=True) == 3
    assert all(es_doc(record.pk)["found"] for record in records)


def test_a_drain_that_dies_after_elasticsearch_acknowledged_leaves_rows_pending_and_the_retry_is_harmless(
    personas, clean_index, monkeypatch
):
    (record,) = corpus(personas, 1)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed between the bulk reply and the commit")

    monkeypatch.setattr(services, "_mark_done", crash)
    with pytest.raises(RuntimeError):
        index_drain(refresh=True)
    row = pending(record)
    assert row.done_at is None and row.attempts == 0  # the transaction rolled back whole
    assert es_doc(record.pk)["_version"] == row.pk  # Elasticsearch had it already
    monkeypatch.undo()
    # The same write again is a version conflict: counted as done, the document unchanged.
    assert index_drain() == 1
    assert pending(record).done_at is not None
    assert es_doc(record.pk)["_version"] == row.pk


def test_a_partial_bulk_failure_retries_only_the_rejected_rows(personas, clean_index, monkeypatch):
    good, bad, also_good = corpus(personas, 3)
    real_build_docs = services.build_docs

    def one_document_the_mapping_refuses(record_ids: Any, versions: Any) -> Any:
        return [
            doc._replace(source=doc.source[:-1] + ',"not_in_mapping":"x"}') if doc.record_id == bad.pk else doc
            for doc in real_build_docs(record_ids, versions)
        ]  # the mapping is strict: Elasticsearch answers 400 for that item alone

    monkeypatch.setattr(services, "build_docs", one_document_the_mapping_refuses)
    assert index_drain(refresh=True) == 2
    assert pending(good).done_at is not None and pending(also_good).done_at is not None
    rejected = pending(bad)
    assert rejected.done_at is None and rejected.attempts == 1
    assert "strict_dynamic_mapping_exception" in rejected.last_error
    assert es_doc(good.pk)["found"] and es_doc(also_good.pk)["found"] and not es_doc(bad.pk)["found"]
    monkeypatch.undo()
    assert index_drain() == 0  # backing off
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert index_drain(refresh=True) == 1  # only the rejected row is sent again
    assert es_doc(bad.pk)["found"]


def test_a_failed_chunk_is_retried_alone_while_the_other_chunks_are_done(personas, clean_index, monkeypatch):
    records = corpus(personas, 5)
    monkeypatch.setattr(services, "DRAIN_FIRST_CHUNK", 1)
    monkeypatch.setattr(services, "DRAIN_CHUNK", 2)  # chunks of 1, 2, 2 records
    real_send_bulk = services.send_bulk
    calls: list[list[int]] = []

    def second_request_fails(client: Any, index: str, body: bytes, **kwargs: Any) -> Any:
        calls.append(sent_ids(body))
        if len(calls) == 2:
            raise TransportConnectionError("timed out")
        return real_send_bulk(client, index, body, **kwargs)

    monkeypatch.setattr(services, "send_bulk", second_request_fails)
    assert index_drain(refresh=True) == 3
    assert [len(ids) for ids in calls] == [1, 2, 2]
    lost = set(calls[1])
    for record in records:
        row = pending(record)
        assert (row.done_at is None) == (record.pk in lost)
        assert es_doc(record.pk)["found"] == (record.pk not in lost)
    assert {pending(record).attempts for record in records if record.pk in lost} == {1}


def test_older_rows_of_a_record_are_done_with_its_newest_version(personas, clean_index):
    (record,) = corpus(personas, 1)
    newer = IndexOutbox.objects.create(record=record, available_at=timezone.now())
    assert index_drain(refresh=True) == 2  # one document sent, both rows done
    assert not IndexOutbox.objects.filter(record=record, done_at__isnull=True).exists()
    assert es_doc(record.pk)["_version"] == newer.pk


def test_the_worker_job_drains_claim_after_claim_within_its_budget(personas, clean_index):
    corpus(personas, 5)
    assert index_drain_backlog(batch=2, budget_seconds=0) == 2  # budget spent: one claim only
    assert index_drain_backlog(batch=2) == 3
    assert not IndexOutbox.objects.filter(done_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_take_disjoint_rows_and_index_each_record_once(personas, clean_index, monkeypatch):
    records = corpus(personas, 6)
    real_send_bulk = services.send_bulk
    sent: list[int] = []
    # Both drains must be inside a _bulk at the same moment, each holding its claim: a
    # drain that waited on the other's locks (no SKIP LOCKED) would never get here.
    both_sending = threading.Barrier(2)

    def send_together(client: Any, index: str, body: bytes, **kwargs: Any) -> Any:
        sent.extend(sent_ids(body))
        both_sending.wait(timeout=20)
        return real_send_bulk(client, index, body, **kwargs)

    monkeypatch.setattr(services, "send_bulk", send_together)
    start = threading.Barrier(2)
    drained: list[int] = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            start.wait(timeout=20)
            drained.append(index_drain(limit=3))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert drained == [3, 3]
    assert Counter(sent) == Counter(record.pk for record in records)  # each record sent exactly once
    assert not IndexOutbox.objects.filter(done_at__isnull=True).exists()
    refresh()
    assert es.client().count(index=es.alias_name())["count"] == 6


def test_the_record_document_is_built_at_archive_time_and_rebuilt_when_stale(personas, archive, clean_index):
    from search.indexer import DOCUMENT_VERSION
    from search.models import ArchiveText

    record = archive("关于数据共享的通知", "推进数据共享。", index=False)
    kept = ArchiveText.objects.get(record=record)
    assert kept.document_version == DOCUMENT_VERSION
    assert orjson.loads(kept.document)["title_std"] == "关于数据共享的通知"
    assert index_drain(refresh=True) == 1
    source = es_doc(record.pk)["_source"]
    assert source == {**orjson.loads(kept.document), "scope_dept_ids": source["scope_dept_ids"], "reader_ids": []}
    # A document built by an older indexer is rebuilt (and kept) on the next write.
    ArchiveText.objects.filter(record=record).update(document_version="m0.0", document="{}")
    IndexOutbox.objects.create(record=record, available_at=timezone.now())
    assert index_drain(refresh=True) == 1
    kept.refresh_from_db()
    assert kept.document_version == DOCUMENT_VERSION and orjson.loads(kept.document)["record_id"] == record.pk
    assert es_doc(record.pk)["_source"]["title_std"] == "关于数据共享的通知"


def test_permission_ids_are_read_at_every_write_not_kept_with_the_document(personas, archive, clean_index):
    record = archive("关于人事任免的通知", "正文。")
    assert es_doc(record.pk)["_source"]["reader_ids"] == []
    # No service changes readers yet; one that does writes an outbox row, as here.
    record.readers.add(personas.outsider)
    IndexOutbox.objects.create(record=record, available_at=timezone.now())
    assert index_drain(refresh=True) == 1
    assert es_doc(record.pk)["_source"]["reader_ids"] == [personas.outsider.pk]
