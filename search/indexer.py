"""From ArchiveRecord rows to Elasticsearch documents, and ``_bulk`` writes of them.

This is the indexer's hot path (``index_drain`` and ``search_reindex``). Nothing costly
is repeated per write: an archived record never changes, so its words (jieba) and its
part of the document (JSON written by orjson) are built once at archive time and kept in
``ArchiveText``; a write reads that JSON and the permission ids (three queries per chunk,
ids passed to PostgreSQL as one array) and sends the JSON as it is, with the permission
ids appended.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple, Protocol, TypedDict

import orjson
from django.db.models import F
from django.db.models.lookups import In
from elasticsearch import Elasticsearch

from search.es import MAPPING_VERSION
from search.models import ArchiveRecord, ArchiveText
from search.text import DICTIONARY_VERSION, fold, normalise_code, normalise_doc_number, segment


class RecordDoc(TypedDict):
    """The part of the index document that depends only on the (immutable) record and its
    segmentation: built once and kept in ``ArchiveText.document``."""

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


class IndexDoc(RecordDoc):
    """What is sent (``EncodedDoc.source``): the record's part plus who may see it, read
    at every write."""

    scope_dept_ids: list[int]
    reader_ids: list[int]


# The version of what ``record_document`` builds: bump the second part whenever it
# changes, so every kept document is rebuilt on its next write (a reindex rebuilds all).
DOCUMENT_VERSION = f"m{MAPPING_VERSION}.1"


class IdIn(In):
    """``field IN (ids)`` for integer ids, written ``field = ANY(%s::bigint[])`` with the
    ids as one text parameter on PostgreSQL. For the thousand ids of an indexer chunk,
    one parameter instead of a thousand placeholders (or a list psycopg adapts id by id)
    cuts the cost of reading the rows by more than half. Use it as an expression:
    ``.filter(IdIn(F("pk"), ids))``; ids must not be empty."""

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = "{" + ",".join(str(int(value)) for value in self.rhs) + "}"
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, ids)


class RecordFields(Protocol):
    """What ``record_document`` reads: an ArchiveRecord, or a row of its values."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def content_text(self) -> str: ...
    @property
    def archive_code(self) -> str: ...
    @property
    def doc_number(self) -> str: ...
    @property
    def responsible_party(self) -> str: ...
    @property
    def doc_type(self) -> str: ...
    @property
    def year(self) -> int: ...
    @property
    def retention(self) -> str: ...
    @property
    def classification(self) -> int: ...
    @property
    def unit_code(self) -> str: ...
    @property
    def fonds_code(self) -> str: ...
    @property
    def record_date(self) -> dt.date: ...
    @property
    def page_count(self) -> int: ...
    @property
    def organisation_id(self) -> int: ...


class _Row(NamedTuple):
    id: int
    title: str
    content_text: str
    archive_code: str
    doc_number: str
    responsible_party: str
    doc_type: str
    year: int
    retention: str
    classification: int
    unit_code: str
    fonds_code: str
    record_date: dt.date
    page_count: int
    organisation_id: int
    seg_version: str | None
    title_seg: str | None
    body_seg: str | None


_ROW_FIELDS = (
    "id", "title", "content_text", "archive_code", "doc_number", "responsible_party", "doc_type", "year",
    "retention", "classification", "unit_code", "fonds_code", "record_date", "page_count", "organisation_id",
    "segmented__dictionary_version", "segmented__title_seg", "segmented__body_seg",
)


def record_document(record: RecordFields, *, title_seg: str, body_seg: str) -> RecordDoc:
    return {
        "record_id": record.id,
        "title_seg": title_seg,
        "body_seg": body_seg,
        "title_std": fold(record.title),
        "body_std": fold(record.content_text),
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
    }


def analysed_text(record: RecordFields, *, title_seg: str | None = None, body_seg: str | None = None) -> ArchiveText:
    """The record's ArchiveText row (unsaved): its segmentation (cut now unless given) and
    its document. The archive service calls this at archive time, inside its transaction."""
    if title_seg is None or body_seg is None:
        title_seg, body_seg = segment(fold(record.title)), segment(fold(record.content_text))
    document = record_document(record, title_seg=title_seg, body_seg=body_seg)
    return ArchiveText(
        record_id=record.id,
        dictionary_version=DICTIONARY_VERSION,
        title_seg=title_seg,
        body_seg=body_seg,
        document_version=DOCUMENT_VERSION,
        document=orjson.dumps(document).decode(),
    )


def store_analysed(texts: list[ArchiveText]) -> None:
    if texts:
        ArchiveText.objects.bulk_create(
            texts,
            update_conflicts=True,
            unique_fields=["record"],
            update_fields=["dictionary_version", "title_seg", "body_seg", "document_version", "document"],
        )


def _analyse(record_ids: list[int]) -> dict[int, str]:
    """Build (and keep) the documents of records whose kept one is missing or stale: reuse
    the segmentation when it is of the current dictionary, else cut again."""
    texts = []
    for values in ArchiveRecord.objects.filter(IdIn(F("pk"), record_ids)).values_list(*_ROW_FIELDS):
        row = _Row._make(values)
        if row.seg_version == DICTIONARY_VERSION and row.title_seg is not None and row.body_seg is not None:
            texts.append(analysed_text(row, title_seg=row.title_seg, body_seg=row.body_seg))
        else:
            texts.append(analysed_text(row))
    store_analysed(texts)
    return {text.record_id: text.document for text in texts}


def _permissions(record_ids: list[int]) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Scope departments and explicit readers by record id."""
    scopes: dict[int, list[int]] = defaultdict(list)
    scope_links = ArchiveRecord.scope_departments.through.objects.filter(IdIn(F("archiverecord_id"), record_ids))
    for record_id, department_id in scope_links.values_list("archiverecord_id", "department_id"):
        scopes[record_id].append(department_id)
    readers: dict[int, list[int]] = defaultdict(list)
    reader_links = ArchiveRecord.readers.through.objects.filter(IdIn(F("archiverecord_id"), record_ids))
    for record_id, user_id in reader_links.values_list("archiverecord_id", "user_id"):
        readers[record_id].append(user_id)
    return scopes, readers


class EncodedDoc(NamedTuple):
    """One document ready for ``_bulk``: its JSON (an ``IndexDoc``) and external version."""

    record_id: int
    version: int
    source: str


def _ids_json(ids: Iterable[int]) -> str:
    return "[" + ",".join(str(value) for value in sorted(ids)) + "]"


def build_docs(record_ids: Collection[int], versions: dict[int, int] | int) -> list[EncodedDoc]:
    """Documents with their external versions, in record id order: the kept record
    documents (built now for records whose kept one is missing or stale) with the current
    permission ids appended. Three queries per call when every document is kept; ids of
    records that no longer exist are left out.

    The kept JSON is not parsed: decoding and re-encoding 2 KB of Chinese text per record
    cost more than everything else here. It is one flat object written by orjson (so it
    ends with ``}``), and the permission fields are appended before that brace.
    """
    ids = sorted(record_ids)
    if not ids:
        return []
    kept = ArchiveText.objects.filter(
        IdIn(F("record_id"), ids), dictionary_version=DICTIONARY_VERSION, document_version=DOCUMENT_VERSION
    )
    documents: dict[int, str] = dict(kept.values_list("record_id", "document"))
    missing = [record_id for record_id in ids if record_id not in documents]
    if missing:
        documents.update(_analyse(missing))
    scopes, readers = _permissions(ids)
    docs: list[EncodedDoc] = []
    for record_id in ids:
        document = documents.get(record_id)
        if document is None:
            continue
        source = (
            f'{document[:-1]},"scope_dept_ids":{_ids_json(scopes.get(record_id, ()))},'
            f'"reader_ids":{_ids_json(readers.get(record_id, ()))}}}'
        )
        docs.append(EncodedDoc(record_id, versions if isinstance(versions, int) else versions[record_id], source))
    return docs


def bulk_body(docs: Iterable[EncodedDoc]) -> bytes:
    """NDJSON for ``_bulk``: one ``index`` action per document, external version each,
    encoded to UTF-8 once for the whole body."""
    lines: list[str] = []
    for doc in docs:
        lines.append(f'{{"index":{{"_id":"{doc.record_id}","version":{doc.version},"version_type":"external"}}}}')
        lines.append(doc.source)
    lines.append("")  # _bulk wants a final newline
    return "\n".join(lines).encode()


class BulkResult(TypedDict):
    ok: list[int]
    failed: dict[int, str]


def bulk_write(es: Elasticsearch, index: str, docs: list[EncodedDoc], *, refresh: bool = False) -> BulkResult:
    if not docs:
        return {"ok": [], "failed": {}}
    return send_bulk(es, index, bulk_body(docs), refresh=refresh)


def send_bulk(
    es: Elasticsearch, index: str, body: bytes, *, refresh: bool = False, require_alias: bool = False
) -> BulkResult:
    """Send one ``_bulk``; a version conflict means a newer (or the same) write is already
    there, which is success for us. Transport errors propagate to the caller. Only ids,
    statuses and errors come back (``filter_path``): parsing the full reply of a large
    bulk costs more than building it. ``require_alias``: items fail rather than create a
    concrete index with dynamic mappings under the alias's name if the alias is gone."""
    result: BulkResult = {"ok": [], "failed": {}}
    response = es.bulk(
        index=index,
        body=body,  # type: ignore[arg-type]  # ready NDJSON bytes (the stubs know only lists of actions)
        refresh=refresh,
        require_alias=require_alias,
        filter_path="errors,items.*._id,items.*.status,items.*.error",
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
