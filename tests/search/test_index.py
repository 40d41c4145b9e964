"""The index outbox, the drain with external versions, retries, and the alias swap."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from search import es
from search.models import IndexOutbox
from search.reindex import search_reindex
from search.services import index_drain
from tests.search.conftest import refresh


def es_doc(record_id):
    client = es.client()
    return client.get(index=es.alias_name(), id=str(record_id))


def test_archive_writes_an_outbox_row_in_its_transaction_and_indexes_only_after_commit(personas, archive, clean_index):
    record = archive("关于数据孤岛治理的报告", "打破数据孤岛。", index=False)
    row = IndexOutbox.objects.get(record=record)
    assert row.done_at is None
    assert not es.client().indices.exists_alias(name=es.alias_name())  # nothing sent before the drain
    assert index_drain(refresh=True) == 1
    doc = es_doc(record.pk)
    assert doc["_version"] == row.pk  # external version = outbox id
    assert doc["_source"]["title_std"] == "关于数据孤岛治理的报告"
    assert "数据孤岛" in doc["_source"]["title_seg"].split()
    assert doc["_source"]["scope_dept_ids"] == [personas.archivist.department.organisation().pk]
    row.refresh_from_db()
    assert row.done_at is not None
    assert index_drain() == 0  # nothing left


def test_on_commit_kick_indexes_immediately(personas, archive, clean_index):
    record = archive("关于浙政钉推广的通知", "全面推广浙政钉。")
    assert es_doc(record.pk)["found"]
    assert IndexOutbox.objects.get(record=record).done_at is not None


def test_an_older_write_never_overwrites_a_newer_one(personas, archive, clean_index):
    record = archive("版本测试", "正文")
    newer = IndexOutbox.objects.get(record=record)
    stale = IndexOutbox.objects.create(record=record, available_at=timezone.now())
    # Pretend the stale row came first: give it a lower version than the indexed one.
    IndexOutbox.objects.filter(pk=stale.pk).update(id=newer.pk - 1000)
    assert index_drain() == 1  # a version conflict counts as done
    assert es_doc(record.pk)["_version"] == newer.pk


def test_drain_with_elasticsearch_down_keeps_rows_with_backoff(personas, archive, clean_index, settings):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"  # nothing listens there
    record = archive("离线归档", "正文", refresh_index=False)  # the kick fails quietly
    row = IndexOutbox.objects.get(record=record)
    assert row.done_at is None
    assert row.attempts == 1
    assert "Connection" in row.last_error
    assert row.available_at > timezone.now()
    assert index_drain() == 0  # not due yet: backoff
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9200"
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert index_drain(refresh=True) == 1
    assert es_doc(record.pk)["found"]


def test_reindex_builds_a_new_version_and_swaps_the_alias(personas, archive, clean_index, capsys):
    first = archive("关于一网通办的意见", "正文")
    second = archive("关于放管服改革的通知", "正文")
    client = es.client()
    before = es.current_index(client)
    assert before == es.index_name(1)
    result = search_reindex(progress=False)
    assert result["index"] == es.index_name(2)
    assert result["records"] == 2
    assert es.current_index(client) == es.index_name(2)
    assert not client.indices.exists(index=before)
    refresh()
    assert es_doc(first.pk)["found"] and es_doc(second.pk)["found"]
    # A later archive goes through the alias into the new index with a newer version.
    third = archive("关于最多跑一次的通报", "正文")
    assert es_doc(third.pk)["_index"] == es.index_name(2)
    call_command("search_reindex", "--no-progress")
    assert es.current_index(client) == es.index_name(3)
    assert "alias now on" in capsys.readouterr().out


def test_index_drain_command_reports_the_backlog(personas, archive, clean_index, capsys):
    archive("命令行排空", "正文", index=False)
    call_command("index_drain")
    assert "indexed 1, backlog 0" in capsys.readouterr().out


@pytest.mark.parametrize("limit", [1])
def test_drain_respects_its_limit(personas, archive, clean_index, limit):
    archive("甲", "正文", index=False)
    archive("乙", "正文", index=False)
    assert index_drain(limit=limit) == 1
    assert IndexOutbox.objects.filter(done_at__isnull=True).count() == 1


def test_segmentation_is_cached_per_dictionary_version(personas, archive, clean_index):
    from search.models import ArchiveText

    record = archive("关于深化放管服改革的意见", "深化放管服改革。", index=False)
    cached = ArchiveText.objects.get(record=record)
    assert cached.dictionary_version == "v1"
    assert "放管服" in cached.title_seg.split()
    # A record cut by an older dictionary is cut again, and the cache replaced.
    ArchiveText.objects.filter(record=record).update(dictionary_version="v0", title_seg="旧", body_seg="旧")
    assert index_drain(refresh=True) == 1
    cached.refresh_from_db()
    assert cached.dictionary_version == "v1" and "放管服" in cached.body_seg.split()
    assert "放管服" in es_doc(record.pk)["_source"]["title_seg"].split()


def test_the_on_commit_kick_never_fails_the_archive(personas, archive, clean_index, monkeypatch):
    def broken_drain(**kwargs):
        raise RuntimeError("indexer bug")

    monkeypatch.setattr("search.services.index_drain", broken_drain)
    record = archive("踢一下也不影响归档", "正文", refresh_index=False)  # runs the kick after commit
    assert IndexOutbox.objects.get(record=record).done_at is None  # still queued for the worker


def test_search_keeps_answering_from_the_old_index_while_a_reindex_fills_the_new_one(
    personas, archive, clean_index, monkeypatch
):
    from search import reindex
    from search.query import SearchParams
    from search.selectors import archive_search

    archive("关于数字政府建设的通知", "正文")
    seen = []
    real_bulk_write = reindex.bulk_write

    def bulk_write_and_search(*args, **kwargs):
        result = archive_search(user=personas.staff, params=SearchParams(q="数字政府"))
        seen.append((result["degraded"], [hit["title"] for hit in result["hits"]]))
        return real_bulk_write(*args, **kwargs)

    monkeypatch.setattr(reindex, "bulk_write", bulk_write_and_search)
    reindex.search_reindex(progress=False)
    assert seen == [(False, ["关于数字政府建设的通知"])]
    assert es.current_index(es.client()) == es.index_name(2)


def test_drains_starting_at_once_create_one_first_index_behind_the_alias(clean_index):
    import threading

    client = es.client()
    start = threading.Barrier(4)
    found: list[str] = []

    def ensure() -> None:
        start.wait(timeout=20)
        found.append(es.ensure_index(client))

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert found == [es.index_name(1)] * 4
    assert list(client.indices.get_alias(name=es.alias_name())) == [es.index_name(1)]
    assert es.existing_versions(client) == [1]


def test_an_index_left_without_its_alias_gets_it_back_instead_of_an_empty_new_version(clean_index):
    client = es.client()
    client.indices.create(index=es.index_name(1), **es.index_body())  # e.g. a crash before aliasing
    assert es.ensure_index(client) == es.index_name(1)
    assert es.existing_versions(client) == [1]
