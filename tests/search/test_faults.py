"""Elasticsearch outages: archiving still succeeds, search degrades to the database with a
notice (never a 500), and the backlog drains when the server is back."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from search import es
from search.models import ArchiveRecord, IndexOutbox
from search.services import index_drain
from tests.search.conftest import refresh

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "http://127.0.0.1:9"


def search(api_client, user, **params):
    api_client.force_authenticate(user)
    response = api_client.get("/api/archives/search/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_with_elasticsearch_unreachable_archiving_queues_and_search_degrades(
    api_client, client, personas, archive, clean_index, settings
):
    settings.ELASTICSEARCH_URL = CLOSED_PORT
    record = archive("关于推进数据共享的通知", "打破数据孤岛，推进数据共享。", doc_type="notice", refresh_index=False)
    assert ArchiveRecord.objects.filter(pk=record.pk).exists()
    assert IndexOutbox.objects.get(record=record).done_at is None

    result = search(api_client, personas.staff, q="数据孤岛")
    assert result["degraded"] is True
    assert "全文检索服务暂时不可用" in result["notice"]
    assert [hit["title"] for hit in result["hits"]] == ["关于推进数据共享的通知"]
    assert "打破<em>数据孤岛</em>" in result["hits"][0]["snippets_html"][0]
    assert {b["value"]: b["count"] for b in result["facets"]["doc_type"]} == {"notice": 1}
    # The fallback applies the same permissions: nothing, not even a count, for an outsider.
    hidden = search(api_client, personas.outsider, q="数据孤岛")
    assert hidden["degraded"] is True and hidden["total"] == 0 and hidden["facets"]["doc_type"] == []

    client.force_login(personas.staff)
    page = client.get("/archives/", {"q": "数据孤岛"})
    assert page.status_code == 200
    assert 'data-degraded="true"' in page.content.decode()

    settings.ELASTICSEARCH_URL = None  # not configured at all: same fallback
    assert search(api_client, personas.staff, q="数据孤岛")["degraded"] is True

    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9200"
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert index_drain(refresh=True) == 1
    back = search(api_client, personas.staff, q="数据孤岛")
    assert back["degraded"] is False
    assert [hit["title"] for hit in back["hits"]] == ["关于推进数据共享的通知"]


def _services(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "services.sh"), *args, "elasticsearch"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )


def _es_up() -> bool:
    try:
        return bool(es.client(timeout=2.0).cluster.health()["status"] in ("green", "yellow"))
    except Exception:  # noqa: BLE001 - any failure to answer means "not up yet"
        return False


@pytest.mark.elasticsearch
def test_stopping_the_real_server_loses_no_archive_and_the_backlog_drains_after_restart(
    api_client, personas, archive, clean_index
):
    before = archive("关于最多跑一次改革的意见", "深化最多跑一次改革。", doc_type="opinion")
    try:
        stopped = _services("stop")
        assert stopped.returncode == 0, stopped.stderr
        deadline = time.monotonic() + 60
        while _es_up() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _es_up()

        during = archive("关于一网通办的通知", "推进一网通办。", doc_type="notice", refresh_index=False)
        row = IndexOutbox.objects.get(record=during)
        assert row.done_at is None and row.attempts == 1 and row.last_error

        result = search(api_client, personas.staff, q="一网通办")
        assert result["degraded"] is True
        assert [hit["title"] for hit in result["hits"]] == ["关于一网通办的通知"]
        assert search(api_client, personas.staff, q="最多跑一次")["hits"][0]["id"] == before.pk
    finally:
        started = _services("start")
        deadline = time.monotonic() + 120
        while not _es_up() and time.monotonic() < deadline:
            time.sleep(1)
    assert started.returncode == 0, started.stderr
    assert _es_up()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert index_drain(refresh=True) == 1
    refresh()
    result = search(api_client, personas.staff, q="一网通办")
    assert result["degraded"] is False
    assert [hit["id"] for hit in result["hits"]] == [during.pk]
    assert result["hits"][0]["title_html"] == "关于<em>一网通办</em>的通知"
