"""From ArchiveRecord rows to Elasticsearch documents, and ``_bulk`` writes of them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypedDict

from elasticsearch import Elasticsearch

from search.models import ArchiveRecord, ArchiveText
from search.text import DICTIONARY_VERSION, fold, normalise_code, normalise_doc_number, segment


class IndexDoc(TypedDict):
    record_id: int
    title_seg: str
    body_seg: str
    title_std: str
    body_std: str
    archive_code: str
    doc_number: str
    issuer: str
    doc_type: str
    year: int
    retention: str
    classification: int
    unit_code: str
    fonds_code: str
    record_date: str
    page_count: int
    analysis_version: str
    org_id: int
    scope_dept_ids: list[int]
    reader_ids: list[int]


def records_for_index() -> Any:
    """The queryset the indexer reads: no file bytes, permission relations prefetched."""
    return (
        ArchiveRecord.objects.defer("file_bytes")
        .select_related("segmented")
        .prefetch_related("scope_departments", "readers")
    )


def segmented_text(record: ArchiveRecord) -> ArchiveText:
    """The cached segmentation when it is of the current dictionary, else a fresh one
    (unsaved: the caller stores it with ``store_segmented``)."""
    try:
        cached = record.segmented
    except ArchiveText.DoesNotExist:
        cached = None
    if cached is not None and cached.dictionary_version == DICTIONARY_VERSION:
        return cached
    return ArchiveText(
        record_id=record.pk,
        dictionary_version=DICTIONARY_VERSION,
        title_seg=segment(fold(record.title)),
        body_seg=segment(fold(record.content_text)),
    )


def store_segmented(texts: list[ArchiveText]) -> None:
    if texts:
        ArchiveText.objects.bulk_create(
            texts,
            update_conflicts=True,
            unique_fields=["record"],
            update_fields=["dictionary_version", "title_seg", "body_seg"],
        )


def build_docs(records: Iterable[ArchiveRecord], versions: dict[int, int] | int) -> list[tuple[IndexDoc, int]]:
    """Documents with their external versions; refreshes stale segmentation caches."""
    docs: list[tuple[IndexDoc, int]] = []
    stale: list[ArchiveText] = []
    for record in records:
        text = segmented_text(record)
        if text._state.adding:
            stale.append(text)
        version = versions if isinstance(versions, int) else versions[record.pk]
        docs.append((build_doc(record, text), version))
    store_segmented(stale)
    return docs


def build_doc(record: ArchiveRecord, text: ArchiveText | None = None) -> IndexDoc:
    title = fold(record.title)
    body = fold(record.content_text)
    text = text or segmented_text(record)
    return {
        "record_id": record.pk,
        "title_seg": text.title_seg,
        "body_seg": text.body_seg,
        "title_std": title,
        "body_std": body,
        "archive_code": normalise_code(record.archive_code),
        "doc_number": normalise_doc_number(record.doc_number) if record.doc_number else "",
        "issuer": record.responsible_party,
        "doc_type": record.doc_type,
        "year": record.year,
        "retention": record.retention,
        "classification": record.classification,
        "unit_code": record.unit_code,
        "fonds_code": record.fonds_code,
        "record_date": record.record_date.isoformat(),
        "page_count": record.page_count,
        "analysis_version": DICTIONARY_VERSION,
        "org_id": record.organisation_id,
        "scope_dept_ids": sorted(d.pk for d in record.scope_departments.all()),
        "reader_ids": sorted(u.pk for u in record.readers.all()),
    }


def bulk_body(docs: Iterable[tuple[IndexDoc, int]]) -> bytes:
    """NDJSON for ``_bulk``: one ``index`` action per document, external version each."""
    lines: list[str] = []
    for doc, version in docs:
        action = {"index": {"_id": str(doc["record_id"]), "version": version, "version_type": "external"}}
        lines.append(json.dumps(action, separators=(",", ":")))
        lines.append(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


class BulkResult(TypedDict):
    ok: list[int]
    failed: dict[int, str]


def bulk_write(es: Elasticsearch, index: str, docs: list[tuple[IndexDoc, int]], *, refresh: bool = False) -> BulkResult:
    """Send one ``_bulk``; a version conflict means a newer (or the same) write is already
    there, which is success for us. Transport errors propagate to the caller."""
    result: BulkResult = {"ok": [], "failed": {}}
    if not docs:
        return result
    response = es.bulk(index=index, body=bulk_body(docs), refresh=refresh)
    for item in response["items"]:
        outcome = item["index"]
        record_id = int(outcome["_id"])
        status = outcome.get("status", 500)
        if status < 300 or status == 409:
            result["ok"].append(record_id)
        else:
            result["failed"][record_id] = json.dumps(outcome.get("error", {}), ensure_ascii=False)[:2000]
    return result
