"""From ArchiveRecord rows to Elasticsearch documents, and ``_bulk`` writes of them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypedDict

from django.db.models import F
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


_ROW_FIELDS = (
    "id", "title", "content_text", "archive_code", "doc_number", "responsible_party", "doc_type", "year",
    "retention", "classification", "unit_code", "fonds_code", "record_date", "page_count", "organisation_id",
)


def _rows(record_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The records as plain rows with their cached segmentation and permission ids: three
    queries per batch and no model instances (the indexer's hot path)."""
    ids = list(record_ids)
    rows = list(
        ArchiveRecord.objects.filter(pk__in=ids)
        .order_by("pk")
        .values(
            *_ROW_FIELDS,
            seg_version=F("segmented__dictionary_version"),
            title_seg=F("segmented__title_seg"),
            body_seg=F("segmented__body_seg"),
        )
    )
    scopes: dict[int, list[int]] = defaultdict(list)
    for record_id, department_id in ArchiveRecord.scope_departments.through.objects.filter(
        archiverecord_id__in=ids
    ).values_list("archiverecord_id", "department_id"):
        scopes[record_id].append(department_id)
    readers: dict[int, list[int]] = defaultdict(list)
    for record_id, user_id in ArchiveRecord.readers.through.objects.filter(archiverecord_id__in=ids).values_list(
        "archiverecord_id", "user_id"
    ):
        readers[record_id].append(user_id)
    for row in rows:
        row["scope_dept_ids"] = sorted(scopes.get(row["id"], []))
        row["reader_ids"] = sorted(readers.get(row["id"], []))
    return rows


def store_segmented(texts: list[ArchiveText]) -> None:
    if texts:
        ArchiveText.objects.bulk_create(
            texts,
            update_conflicts=True,
            unique_fields=["record"],
            update_fields=["dictionary_version", "title_seg", "body_seg"],
        )


def build_docs(record_ids: Iterable[int], versions: dict[int, int] | int) -> list[tuple[IndexDoc, int]]:
    """Documents with their external versions. Uses the segmentation cached at archive
    time when it is of the current dictionary; cuts (and re-caches) the others."""
    docs: list[tuple[IndexDoc, int]] = []
    stale: list[ArchiveText] = []
    for row in _rows(record_ids):
        title = fold(row["title"])
        body = fold(row["content_text"])
        if row["seg_version"] != DICTIONARY_VERSION:
            row["title_seg"], row["body_seg"] = segment(title), segment(body)
            stale.append(
                ArchiveText(
                    record_id=row["id"], dictionary_version=DICTIONARY_VERSION,
                    title_seg=row["title_seg"], body_seg=row["body_seg"],
                )
            )
        version = versions if isinstance(versions, int) else versions[row["id"]]
        docs.append((build_doc(row, title=title, body=body), version))
    store_segmented(stale)
    return docs


def build_doc(row: dict[str, Any], *, title: str, body: str) -> IndexDoc:
    return {
        "record_id": row["id"],
        "title_seg": row["title_seg"],
        "body_seg": row["body_seg"],
        "title_std": title,
        "body_std": body,
        "archive_code": normalise_code(row["archive_code"]),
        "doc_number": normalise_doc_number(row["doc_number"]) if row["doc_number"] else "",
        "issuer": row["responsible_party"],
        "doc_type": row["doc_type"],
        "year": row["year"],
        "retention": row["retention"],
        "classification": row["classification"],
        "unit_code": row["unit_code"],
        "fonds_code": row["fonds_code"],
        "record_date": row["record_date"].isoformat(),
        "page_count": row["page_count"],
        "analysis_version": DICTIONARY_VERSION,
        "org_id": row["organisation_id"],
        "scope_dept_ids": row["scope_dept_ids"],
        "reader_ids": row["reader_ids"],
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
    if not docs:
        return {"ok": [], "failed": {}}
    return send_bulk(es, index, bulk_body(docs), refresh=refresh)


def send_bulk(es: Elasticsearch, index: str, body: bytes, *, refresh: bool = False) -> BulkResult:
    """Send one ``_bulk``; a version conflict means a newer (or the same) write is already
    there, which is success for us. Transport errors propagate to the caller. Only ids,
    statuses and errors come back (``filter_path``): parsing the full reply of a large
    bulk costs more than building it."""
    result: BulkResult = {"ok": [], "failed": {}}
    response = es.bulk(
        # Ready NDJSON bytes go out as they are (the stubs know only lists of actions).
        index=index, body=body, refresh=refresh, filter_path="errors,items.*._id,items.*.status,items.*.error"  # type: ignore[arg-type]
    )
    for item in response.get("items", []):
        outcome = item["index"]
        record_id = int(outcome["_id"])
        status = outcome.get("status", 500)
        if status < 300 or status == 409:
            result["ok"].append(record_id)
        else:
            result["failed"][record_id] = json.dumps(outcome.get("error", {}), ensure_ascii=False)[:2000]
    return result
