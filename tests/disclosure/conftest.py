"""政务公开 test helpers: a clean portal index per test (real Elasticsearch), documents
taken through the real flow to distribution with a 公开属性, and the drain."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from documents import services as document_services
from documents.models import Document
from officehub.directory.models import Clearance
from tests.documents import flow

# Test indices get their own prefix (as tests/search does), so a test run never drops the
# portal index of an OfficeHub served from the same Elasticsearch.
_prefix = os.environ.get("OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX") or "officehub"
TEST_INDEX_PREFIX = _prefix if _prefix.endswith("-test") else f"{_prefix}-test"
os.environ["OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX"] = TEST_INDEX_PREFIX


@pytest.fixture(autouse=True)
def _test_index_prefix(settings: Any) -> None:
    settings.ELASTICSEARCH_INDEX_PREFIX = TEST_INDEX_PREFIX


def drop_portal_indices() -> None:
    from disclosure.index import alias_name
    from search import es

    client = es.client()
    names = list(client.indices.get(index=f"{alias_name()}-v*", allow_no_indices=True, expand_wildcards="all"))
    if names:
        client.indices.delete(index=",".join(names), ignore_unavailable=True)


@pytest.fixture
def portal_index(settings: Any) -> Iterator[None]:
    """No portal index for this test's prefix (the first drain creates it)."""
    from tests.search.conftest import wait_for_elasticsearch

    url = settings.ELASTICSEARCH_URL
    assert url, "these tests need the real Elasticsearch (OFFICEHUB_ELASTICSEARCH_URL)"
    wait_for_elasticsearch()
    drop_portal_indices()
    yield
    settings.ELASTICSEARCH_URL = url
    drop_portal_indices()


def drain() -> int:
    """What the on-commit kick and the worker do (tests run in a transaction that never
    commits, so the kick does not fire): index what is queued, searchable at once."""
    from disclosure.services import portal_drain

    return portal_drain(refresh=True)


def distributed(p: Any, *, disclosure: str = "proactive", sealed: bool = False, **overrides: Any) -> Document:
    """An outgoing document drafted with ``disclosure`` and distributed through the real
    services. Unsealed by default (``needs_seal=False`` skips 用印, which is slow and not
    what these tests are about); ``sealed=True`` goes through the seal step too."""
    overrides.setdefault("classification", Clearance.PUBLIC)
    overrides["disclosure"] = disclosure
    if sealed:
        return flow.distributed(p, **overrides)
    overrides.setdefault("needs_seal", False)
    document = flow.to_numbering(p, **overrides)
    flow.act(document_services.document_assign_number, document_id=document.pk, actor=p.reviewer)
    flow.act(document_services.document_distribute, document_id=document.pk, actor=p.reviewer)
    return flow.refresh(document)


def bulk_publications(rows: list[dict[str, Any]]) -> list[Any]:
    """Published documents straight into the tables (with their outbox rows), bypassing
    the flow whose own tests cover it: for search-quality tests that need a corpus. A
    row's 发文字号 prefix picks its issuer (浙数局发: the 大数据局, else the 办公厅)."""
    from django.utils import timezone

    from disclosure.models import PortalOutbox, Publication
    from documents.models import Direction, Document, DocumentStatus
    from officehub.directory.models import Department, User

    office = Department.objects.get(name="浙江省人民政府办公厅")
    bureau = Department.objects.get(name="浙江省大数据发展管理局")
    drafter = User.objects.get(username="wangfang")
    now = timezone.now()
    documents = Document.objects.bulk_create([
        Document(
            direction=Direction.OUTGOING, doc_type=row["doc_type"], status=DocumentStatus.DISTRIBUTED,
            classification=Clearance.PUBLIC, disclosure="proactive",
            issuer=bureau if row.get("doc_number", "").startswith("浙数局发") else office,
            doc_number=row.get("doc_number", ""), title=row["title"], body=row["body"], issued_on=row["record_date"],
            drafter=drafter, drafting_department=drafter.department,
        )
        for row in rows
    ])
    publications = Publication.objects.bulk_create([
        Publication(
            document=document, issuer=document.issuer, issuer_name=document.issuer.name, title=document.title,
            doc_number=document.doc_number, doc_type=document.doc_type, issued_on=document.issued_on,
            year=document.issued_on.year, body=document.body, published_at=now, changed_at=now,
        )
        for document in documents
    ])
    PortalOutbox.objects.bulk_create([PortalOutbox(publication=p, available_at=now) for p in publications])
    return publications


def act(service: Any, **kwargs: Any) -> Any:
    with transaction.atomic():
        return service(**kwargs)


__all__ = ["act", "bulk_publications", "distributed", "drain", "drop_portal_indices"]
