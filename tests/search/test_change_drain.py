"""The 全局搜索 change drain (search.services.change_drain) over the core outbox
(officehub.indexing.IndexChange): a row leaves only once Elasticsearch took its object,
rows of one object collapse into one write with the newest version, what failed is
retried alone, two drains take disjoint rows, and a rolled-back change leaves no row."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

import orjson
import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from messaging.chat.services import conversation_group_create, message_send
from officehub.indexing.models import IndexChange
from officehub.indexing.services import mark_for_index
from search import es, live_indexer
from search.services import change_drain, change_drain_backlog

_ids = iter(range(1, 10**6))


def es_message(message_id: int) -> dict[str, Any]:
    return es.client().options(ignore_status=404).get(index=es.alias_name(es.MESSAGES), id=str(message_id)).body


def messages(personas: Any, count: int) -> list[Any]:
    with transaction.atomic():
        team = conversation_group_create(actor=personas.drafter, title="索引测试群", member_ids=[personas.head.pk])
        return [
            message_send(
                actor=personas.drafter, conversation_id=team.pk, client_id=f"cd-{next(_ids)}", body=f"第{n}条通知"
            ).message
            for n in range(count)
        ]


def test_a_rolled_back_change_leaves_no_outbox_row(personas):
    before = IndexChange.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        messages_sent = messages(personas, 1)
        assert IndexChange.objects.filter(kind="message", object_id=messages_sent[0].pk).exists()
        raise RuntimeError("the request failed after the send")
    assert IndexChange.objects.count() == before


def test_mark_for_index_refuses_to_run_outside_a_transaction():
    with pytest.raises(transaction.TransactionManagementError):
        mark_for_index("message", 1)


def test_a_refused_item_stays_with_backoff_while_the_others_leave(personas, live_index, monkeypatch):
    good, bad, also_good = messages(personas, 3)
    real = live_indexer.message_actions

    def one_the_mapping_refuses(versions: dict[int, int]) -> list[live_indexer.Action]:
        actions = real(versions)
        return [
            a._replace(source=a.source[:-1] + b',"not_in_mapping":"x"}') if a.object_id == bad.pk and a.source else a
            for a in actions
        ]  # the mapping is strict: Elasticsearch answers 400 for that item alone

    monkeypatch.setitem(live_indexer.BUILDERS, "message", one_the_mapping_refuses)
    assert change_drain(refresh=True) == 3 - 1
    rejected = IndexChange.objects.get(kind="message", object_id=bad.pk)
    assert rejected.attempts == 1 and "strict_dynamic_mapping_exception" in rejected.last_error
    assert list(IndexChange.objects.values_list("object_id", flat=True)) == [bad.pk]
    assert es_message(good.pk)["found"] and es_message(also_good.pk)["found"] and not es_message(bad.pk)["found"]
    monkeypatch.undo()
    assert change_drain() == 0  # backing off
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert change_drain(refresh=True) == 1
    assert es_message(bad.pk)["found"] and not IndexChange.objects.exists()


def test_rows_of_one_object_collapse_into_one_write_with_the_newest_version(personas, live_index):
    (message,) = messages(personas, 1)
    with transaction.atomic():
        mark_for_index("message", message.pk)
    newest = IndexChange.objects.filter(kind="message", object_id=message.pk).order_by("-id").first()
    assert newest is not None
    assert change_drain(refresh=True) == 2
    assert es_message(message.pk)["_version"] == newest.pk
    assert not IndexChange.objects.exists()


def test_a_late_older_write_never_replaces_a_newer_one(personas, live_index):
    (message,) = messages(personas, 1)
    change_drain(refresh=True)
    version = es_message(message.pk)["_version"]
    stale = live_indexer.Action("message", message.pk, version - 1, orjson.dumps({"message_id": message.pk}))
    outcome = live_indexer.send_bulk(es.client(), [stale], refresh=True)
    assert outcome["ok"] == [("message", message.pk)]  # a conflict is success: a newer one is there
    assert es_message(message.pk)["_source"]["body_std"] == "第0条通知"


def test_the_worker_job_drains_claim_after_claim_within_its_budget(personas, live_index):
    messages(personas, 5)
    assert change_drain_backlog(batch=2, budget_seconds=0) == 2
    assert change_drain_backlog(batch=2) == 3
    assert not IndexChange.objects.exists()


def test_existing_objects_are_queued_and_indexed_by_the_command(personas, live_index):
    sent = messages(personas, 2)
    IndexChange.objects.all().delete()  # as if they predated 全局搜索
    call_command("index_changes", "--enqueue-all", "message")
    assert not IndexChange.objects.exists()
    assert all(es_message(m.pk)["found"] for m in sent)


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_take_disjoint_rows_and_write_each_object_once(personas, live_index, monkeypatch):
    sent_messages = messages(personas, 6)
    real = live_indexer.send_bulk
    sent: list[int] = []
    both_sending = threading.Barrier(2)  # both inside a _bulk at once, each holding its claim

    def send_together(client: Any, actions: list[live_indexer.Action], **kwargs: Any) -> Any:
        sent.extend(a.object_id for a in actions)
        both_sending.wait(timeout=20)
        return real(client, actions, **kwargs)

    monkeypatch.setattr(live_indexer, "send_bulk", send_together)
    start = threading.Barrier(2)
    drained: list[int] = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            start.wait(timeout=20)
            drained.append(change_drain(limit=3))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and drained == [3, 3]
    assert Counter(sent) == Counter(m.pk for m in sent_messages)
    assert not IndexChange.objects.exists()
    es.client().indices.refresh(index=es.alias_name(es.MESSAGES))
    assert es.client().count(index=es.alias_name(es.MESSAGES))["count"] == 6
