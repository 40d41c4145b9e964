"""Archive test helpers: a clean index per test (real Elasticsearch), DOCX builders,
and an ``archive`` helper that files a legacy upload and lets the on-commit kick index it."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from docx import Document

# Test indices get their own prefix, so a test run never drops the archive index of an
# OfficeHub served from the same Elasticsearch (scripts/run.sh uses the plain prefix).
# Set in the environment at collection, before any test starts the live Daphne, which
# inherits it; the fixture below puts the same value into this process's settings.
TEST_INDEX_PREFIX = f"{os.environ.get('OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX') or 'officehub'}-test"
os.environ["OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX"] = TEST_INDEX_PREFIX


@pytest.fixture(autouse=True)
def _test_index_prefix(settings: Any) -> None:
    settings.ELASTICSEARCH_INDEX_PREFIX = TEST_INDEX_PREFIX


def make_docx(title: str, paragraphs: list[str] | tuple[str, ...] | str = ()) -> bytes:
    if isinstance(paragraphs, str):
        paragraphs = [paragraphs]
    doc = Document()
    doc.add_paragraph(title)
    for text in paragraphs:
        doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def drop_indices() -> None:
    from search import es

    client = es.client()
    # Wildcard deletes are refused (action.destructive_requires_name): name them.
    names = list(client.indices.get(index=f"{es.alias_name()}-v*", allow_no_indices=True, expand_wildcards="all"))
    if names:
        client.indices.delete(index=",".join(names), ignore_unavailable=True)


def refresh() -> None:
    from search import es

    es.client().indices.refresh(index=es.alias_name())


def wait_for_elasticsearch(timeout: float = 120.0) -> None:
    """The server is shared: another run's restart test may have it down for ~30 s."""
    from search import es

    deadline = time.monotonic() + timeout
    while True:
        try:
            if es.client(timeout=2.0).cluster.health()["status"] in ("green", "yellow"):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise RuntimeError("Elasticsearch is not healthy")
        time.sleep(1)


@pytest.fixture
def clean_index(settings: Any) -> Iterator[None]:
    """No archive index for this test's prefix (it is created on first drain)."""
    url = settings.ELASTICSEARCH_URL
    assert url, "these tests need the real Elasticsearch (OFFICEHUB_ELASTICSEARCH_URL)"
    wait_for_elasticsearch()
    drop_indices()
    yield
    settings.ELASTICSEARCH_URL = url
    drop_indices()


def drop_live_indices() -> None:
    """No message or document index (全局搜索) for this run's prefix."""
    from search import es

    client = es.client()
    names = [
        name
        for kind in (es.MESSAGES, es.DOCUMENTS)
        for name in client.indices.get(index=f"{es.alias_name(kind)}-v*", allow_no_indices=True, expand_wildcards="all")
    ]
    if names:
        client.indices.delete(index=",".join(names), ignore_unavailable=True)


@pytest.fixture
def live_index(settings: Any) -> Iterator[None]:
    """No message or document index for this test's prefix (the first drain creates them)."""
    url = settings.ELASTICSEARCH_URL
    assert url, "these tests need the real Elasticsearch (OFFICEHUB_ELASTICSEARCH_URL)"
    wait_for_elasticsearch()
    drop_live_indices()
    yield
    settings.ELASTICSEARCH_URL = url
    drop_live_indices()


def bulk_records(organisation: Any, archivist: Any, rows: list[dict[str, Any]], *, retention: str = "D30") -> list[Any]:
    """Insert many records at once, bypassing the archiving service (whose own tests cover
    it), with an outbox row each: for search-quality tests that need a corpus, not archiving."""
    from django.utils import timezone

    from search.files import sha256_hex
    from search.models import ArchiveRecord, IndexOutbox, compose_archive_code

    data = b"%PDF-1.4\n%%EOF\n"
    now = timezone.now()
    records = []
    for number, row in enumerate(rows, start=1):
        year = row["record_date"].year
        records.append(
            ArchiveRecord(
                organisation=organisation, fonds_code=organisation.fonds_code, category="WS", year=year,
                retention=retention, unit_code="", item_number=number,
                archive_code=compose_archive_code(
                    fonds_code=organisation.fonds_code, category="WS", year=year, retention=retention, unit_code="",
                    item_number=number,
                ) + f"-{number}",
                page_count=2, responsible_party=organisation.name, title=row["title"], record_date=row["record_date"],
                classification=row.get("classification", 0), doc_number=row.get("doc_number", ""),
                doc_type=row.get("doc_type", ""), source="legacy", file_name="x.pdf", content_type="application/pdf",
                file_bytes=data, sha256=sha256_hex(data), content_text=row["body"], archived_by=archivist, archived_at=now,
            )
        )
    created = ArchiveRecord.objects.bulk_create(records)
    through = ArchiveRecord.scope_departments.through
    through.objects.bulk_create([through(archiverecord_id=r.pk, department_id=organisation.pk) for r in created])
    IndexOutbox.objects.bulk_create([IndexOutbox(record=r, available_at=now) for r in created])
    return created


@pytest.fixture
def archive(personas: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """File a legacy DOCX as the 办公厅 archivist (or ``actor``) and index it after commit."""
    from search.services import archive_legacy_upload

    def _archive(
        title: str,
        body: str | list[str] = "",
        *,
        actor: Any = None,
        index: bool = True,
        refresh_index: bool = True,
        **fields: Any,
    ) -> Any:
        fields.setdefault("record_date", dt.date(2026, 3, 1))
        fields.setdefault("retention", "Y")
        fields.setdefault("classification", 0)
        with django_capture_on_commit_callbacks(execute=index), transaction.atomic():
            record = archive_legacy_upload(
                actor=actor or personas.archivist,
                file_name=fields.pop("file_name", "doc.docx"),
                file_bytes=fields.pop("file_bytes", None) or make_docx(title, body),
                title=title,
                **fields,
            )
        if index and refresh_index:
            refresh()
        return record

    return _archive


__all__ = ["drop_indices", "drop_live_indices", "make_docx", "refresh"]
