"""Every write of the archive: archiving (documents and legacy files), refusing edits,
and the index outbox drain.

Archiving runs in the entry point's transaction (``officehub/transactions.py``): the item
number is taken under the class's sequence row lock, the 归档章 is stamped on the archived
copy, the record, its scope and an outbox row are inserted and the audit entry written.
Elasticsearch is reached only after commit (the on-commit kick or the worker's
``index_drain``), so an outage never fails an archive.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from elasticsearch import ApiError, Elasticsearch, TransportError

from documents.models import Document
from messaging.models import Message
from officehub.audit.services import audit
from officehub.directory.models import Clearance, Department, Role, User
from officehub.directory.selectors import organisation_of
from officehub.indexing.models import IndexChange, IndexKind
from officehub.transactions import in_transaction, require_transaction
from search import es, files, live_indexer
from search.errors import (
    AlreadyArchived,
    ArchiveClassifiedRefused,
    ArchiveImmutable,
    ArchiveInvalid,
    ArchiveNotAllowed,
    DocumentNotArchivable,
)
from search.indexer import BulkResult, IdIn, analysed_text, build_docs, bulk_body, send_bulk
from search.models import (
    DOC_TYPES,
    ArchiveRecord,
    ArchiveSequence,
    ArchiveSource,
    Category,
    IndexOutbox,
    Retention,
    compose_archive_code,
)
from search.selectors import access_archive_record
from search.text import fold, segment

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60


# ---------------------------------------------------------------------------- archiving


def _archivist_organisation(actor: User) -> Department:
    organisation = organisation_of(actor)
    if organisation is None or not actor.is_active or not actor.has_role(Role.ARCHIVIST):
        raise ArchiveNotAllowed("只有本机关的档案员可以归档。")
    return organisation


def _allowed_unit_codes(organisation: Department) -> set[str]:
    codes = Department.objects.filter(path__startswith=organisation.path).exclude(unit_code="")
    return set(codes.values_list("unit_code", flat=True))


def _allocate_item_number(*, fonds_code: str, category: str, year: int, retention: str, unit_code: str) -> int:
    """Take the next 件号 of the class. The sequence row stays locked until commit, so two
    archivists filing into one class queue here, and a rollback gives the number back."""
    key = {"fonds_code": fonds_code, "category": category, "year": year, "retention": retention, "unit_code": unit_code}
    ArchiveSequence.objects.bulk_create([ArchiveSequence(**key)], ignore_conflicts=True)
    sequence = ArchiveSequence.objects.select_for_update(of=("self",)).get(**key)
    if sequence.last_item >= 9999:
        raise ArchiveInvalid("该类别的件号已用尽（最多 9999 件）。", extra=key)
    sequence.last_item += 1
    sequence.save(update_fields=["last_item"])
    return sequence.last_item


@dataclass(frozen=True)
class ArchiveInput:
    """What every archive needs, from a document or from an upload."""

    title: str
    record_date: dt.date
    retention: str
    classification: int
    responsible_party: str
    doc_number: str
    doc_type: str
    unit_code: str
    note: str
    file_name: str
    file_bytes: bytes
    content_text: str | None  # None: extract from the file
    page_count: int | None  # None: count from the file


def _validate(organisation: Department, data: ArchiveInput) -> None:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = "题名不能为空。"
    if data.retention not in Retention.values:
        errors["retention"] = "保管期限只能是 Y（永久）、D30（定期30年）或 D10（定期10年）。"
    if data.doc_type and data.doc_type not in DOC_TYPES:
        errors["doc_type"] = "文种无效。"
    if data.classification not in Clearance.values:
        errors["classification"] = "密级无效。"
    if data.unit_code and data.unit_code not in _allowed_unit_codes(organisation):
        errors["unit_code"] = f"机构（问题）代码 {data.unit_code} 不属于本机关。"
    if not 1900 <= data.record_date.year <= 2100:
        errors["record_date"] = "日期年度超出范围。"
    if data.page_count is not None and data.page_count < 1:
        errors["page_count"] = "页数至少为 1。"
    if errors:
        raise ArchiveInvalid("；".join(errors.values()), extra={"fields": errors})
    if data.classification >= Clearance.SECRET and not settings.CLASSIFIED_NETWORK:
        raise ArchiveClassifiedRefused("本系统仅用于非涉密工作：秘密及以上密级的档案不能在此归档。")


def _archive_create(
    *,
    actor: User,
    organisation: Department,
    source: str,
    data: ArchiveInput,
    scope_departments: list[Department],
    readers: list[User],
    document: Document | None = None,
) -> ArchiveRecord:
    """Create the record in the caller's transaction. Validates, numbers, stamps, audits."""
    _validate(organisation, data)
    content_type = files.detect_type(data.file_bytes, data.file_name)
    # Reading the file is local CPU work and happens before any lock is taken.
    if content_type == files.DOCX_TYPE:
        text = data.content_text if data.content_text is not None else files.docx_text(data.file_bytes)
        pages = data.page_count or files.docx_page_count(data.file_bytes, text)
    else:
        text = data.content_text or ""
        pages = data.page_count or files.pdf_page_count(data.file_bytes)
    # Cut the words now, once, outside the lock: the indexer reuses them (ArchiveText).
    title_seg = segment(fold(data.title.strip()))
    body_seg = segment(fold(text))
    year = data.record_date.year
    fonds = organisation.fonds_code
    item = _allocate_item_number(
        fonds_code=fonds, category=Category.WS, year=year, retention=data.retention, unit_code=data.unit_code
    )
    stored = data.file_bytes
    if content_type == files.DOCX_TYPE:
        # The 归档章 needs the number just taken, so it is stamped under the sequence
        # lock; python-docx takes milliseconds here and touches nothing outside.
        stored = files.stamp_docx(
            data.file_bytes,
            files.StampFields(
                fonds_code=fonds,
                year=year,
                item_number=item,
                unit_code=data.unit_code,
                retention_label=str(Retention(data.retention).label),
                page_count=pages,
            ),
        )
    record = ArchiveRecord(
        organisation=organisation,
        fonds_code=fonds,
        category=Category.WS,
        year=year,
        retention=data.retention,
        unit_code=data.unit_code,
        item_number=item,
        archive_code=compose_archive_code(
            fonds_code=fonds,
            category=Category.WS,
            year=year,
            retention=data.retention,
            unit_code=data.unit_code,
            item_number=item,
        ),
        page_count=pages,
        responsible_party=data.responsible_party.strip() or organisation.name,
        title=data.title.strip(),
        record_date=data.record_date,
        classification=data.classification,
        doc_number=data.doc_number.strip(),
        doc_type=data.doc_type,
        note=data.note.strip(),
        source=source,
        file_name=data.file_name[:255],
        content_type=content_type,
        file_bytes=stored,
        sha256=files.sha256_hex(stored),
        content_text=text,
        archived_by=actor,
        archived_at=timezone.now(),
    )
    if document is not None:
        record.document = document
    try:
        # Uniqueness is guaranteed by the sequence lock and enforced by the database; the
        # check constraints mirror _validate. Skipping their per-constraint queries here
        # halves the cost of an archive.
        record.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ArchiveInvalid("；".join(exc.messages), extra={"fields": exc.message_dict}) from None
    record.save(force_insert=True)
    # The record's part of its index document, built once: the record never changes.
    analysed_text(record, title_seg=title_seg, body_seg=body_seg).save(force_insert=True)
    record.scope_departments.set(scope_departments)
    record.readers.set(readers)
    outbox = IndexOutbox.objects.create(record=record, available_at=timezone.now())
    audit(
        actor=actor,
        action="archive.created",
        target=record,
        data={"archive_code": record.archive_code, "source": source, "sha256": record.sha256},
    )
    outbox_id = outbox.pk
    transaction.on_commit(lambda: index_kick(outbox_ids=[outbox_id]))
    return record


def archive_legacy_upload(
    *,
    actor: User,
    file_name: str,
    file_bytes: bytes,
    title: str,
    record_date: dt.date,
    retention: str,
    classification: int = Clearance.PUBLIC,
    responsible_party: str = "",
    doc_number: str = "",
    doc_type: str = "",
    unit_code: str = "",
    page_count: int | None = None,
    note: str = "",
    content_text: str | None = None,
    scope_department_ids: list[int] | None = None,
    reader_ids: list[int] | None = None,
) -> ArchiveRecord:
    """File a legacy DOCX/PDF into the archivist's own fonds.

    Scope defaults to the whole organisation; scope departments must lie inside it;
    explicit readers may be anyone. Errors: ``archive.not_archivist`` (403),
    ``archive.invalid``, ``archive.file_invalid``, ``archive.classified_refused`` (400).
    """
    require_transaction()
    organisation = _archivist_organisation(actor)
    if scope_department_ids:
        scope = list(
            Department.objects.filter(pk__in=set(scope_department_ids), path__startswith=organisation.path)
        )
        if len(scope) != len(set(scope_department_ids)):
            raise ArchiveInvalid("查阅范围只能是本机关内的部门。", extra={"fields": {"scope_department_ids": "invalid"}})
    else:
        scope = [organisation]
    readers = list(User.objects.filter(pk__in=set(reader_ids or []), is_active=True))
    if len(readers) != len(set(reader_ids or [])):
        raise ArchiveInvalid("指定查阅人不存在。", extra={"fields": {"reader_ids": "invalid"}})
    return _archive_create(
        actor=actor,
        organisation=organisation,
        source=ArchiveSource.LEGACY,
        data=ArchiveInput(
            title=title,
            record_date=record_date,
            retention=retention,
            classification=classification,
            responsible_party=responsible_party,
            doc_number=doc_number,
            doc_type=doc_type,
            unit_code=unit_code,
            note=note,
            file_name=file_name,
            file_bytes=file_bytes,
            content_text=content_text,
            page_count=page_count,
        ),
        scope_departments=scope,
        readers=readers,
    )


ARCHIVABLE_STATUSES = {"outgoing": "distributed", "incoming": "concluded"}


def archive_document(
    *, document_id: int, actor: User, retention: str, unit_code: str | None = None, note: str = ""
) -> ArchiveRecord:
    """Archive a finished document: outgoing after distribution (已分发), incoming after
    conclusion (已办结), by an archivist of the organisation holding that copy.

    Runs in the entry point's transaction. The DOCX (sealed bytes when sealed) is
    fetched and its text extracted first, before any row is locked; then the document
    row is locked, the state re-checked, the record created and
    ``documents.services.document_mark_archived`` marks the document, so a document is
    marked 已归档 exactly when its record exists. Errors: ``not_found``
    (404, also for documents the archivist may not see), ``archive.not_archivist``,
    ``archive.document_not_finished``, ``archive.already_archived`` (409), and the
    validation codes of ``archive_legacy_upload``.
    """
    from documents import selectors as document_selectors
    from documents import services as document_services
    from documents.docx.render import docx_to_text

    require_transaction()
    organisation = _archivist_organisation(actor)
    document = document_selectors.access_document(actor, document_id)
    if document.organisation_id != organisation.pk:
        raise ArchiveNotAllowed("只能归档本机关的公文。")
    if ArchiveRecord.objects.filter(document_id=document.pk).exists():
        raise AlreadyArchived("该公文已归档。", extra={"document_id": document.pk})
    if ARCHIVABLE_STATUSES.get(document.direction) != document.status:
        raise DocumentNotArchivable(
            "只有已分发的发文或已办结的收文可以归档。", extra={"status": document.status, "direction": document.direction}
        )
    # Rendering or fetching the sealed DOCX is the slow part: done before any lock, so
    # the open transaction holds no row while it runs.
    docx = document_selectors.document_docx(document)
    text = docx_to_text(docx)
    readers = list(document.shared_with.filter(is_active=True))
    # Lock order (officehub/audit/services.py): the document row, then the archive
    # sequence row, and the audit head last. So the record (which takes the sequence
    # lock) is created before document_mark_archived writes its audit entry; that
    # service then re-checks the state under the lock this transaction already holds.
    document = document_selectors.access_document(actor, document.pk, lock=True)
    if ArchiveRecord.objects.filter(document_id=document.pk).exists():  # raced: the row lock serialises
        raise AlreadyArchived("该公文已归档。", extra={"document_id": document.pk})
    if ARCHIVABLE_STATUSES.get(document.direction) != document.status:  # changed meanwhile
        raise DocumentNotArchivable(
            "只有已分发的发文或已办结的收文可以归档。", extra={"status": document.status, "direction": document.direction}
        )
    record_date = document.issued_on or timezone.localdate()
    record = _archive_create(
        actor=actor,
        organisation=organisation,
        source=ArchiveSource.DOCUMENT,
        data=ArchiveInput(
            title=document.title,
            record_date=record_date,
            retention=retention,
            classification=document.classification,
            responsible_party=document.issuer.name if document.issuer_id else organisation.name,
            doc_number=document.doc_number,
            doc_type=document.doc_type,
            unit_code=organisation.unit_code if unit_code is None else unit_code,
            note=note,
            file_name=f"{document.doc_number or document.title}.docx",
            file_bytes=docx,
            content_text="\n".join([document.title, text]) if document.title not in text else text,
            page_count=None,
        ),
        scope_departments=[organisation],
        readers=readers,
        document=document,
    )
    document_services.document_mark_archived(document_id=document.pk, actor=actor)
    return record


def archive_record_update(*, record_id: int, actor: User, **changes: Any) -> ArchiveRecord:
    """Archived records never change: after the access check (404 for outsiders) this
    always raises ``archive.immutable`` (409)."""
    access_archive_record(actor, record_id)
    raise ArchiveImmutable(extra={"record_id": record_id, "fields": sorted(changes)})


def archive_record_delete(*, record_id: int, actor: User) -> None:
    access_archive_record(actor, record_id)
    raise ArchiveImmutable(extra={"record_id": record_id})


# ---------------------------------------------------------------------------- indexing


def index_kick(*, outbox_ids: list[int] | None = None) -> None:
    """Best-effort immediate indexing after commit. Never raises: the outbox row stays
    and the worker's ``index_drain_backlog`` picks it up."""
    try:
        index_drain(limit=100, outbox_ids=outbox_ids)
    except Exception:  # a side effect after commit must not fail the request
        logger.exception("index kick failed; the outbox keeps the work for the worker")


# Claimed rows go out in chunks: while one chunk is on the wire (a helper thread, network
# only) this thread reads and builds the next (the database stays on this thread). Each
# ``_bulk`` request has a fixed cost in Elasticsearch (2,000 ready documents: 4 × 500
# took ~20 % longer than 1 × 2,000, 2 × 1,000 ~8 %), so chunks are large, but the first
# is small so Elasticsearch starts early. Measured with the whole drain on 2 shared
# cores: 250 then 1,000s reached 0.71–0.72 × raw ``_bulk``, one request per claim 0.65 ×.
DRAIN_FIRST_CHUNK = 250
DRAIN_CHUNK = 1000
# What the worker drains per claim (one transaction, one UPDATE per chunk).
DRAIN_BATCH = 2000


class _Claimed(NamedTuple):
    id: int
    record_id: int
    attempts: int


def _claim(*, now: dt.datetime, limit: int, outbox_ids: list[int] | None) -> list[_Claimed]:
    """Lock up to ``limit`` due rows, skipping rows another drain holds (SKIP LOCKED), so
    concurrent drains take disjoint rows and never wait for each other. Ordered like the
    partial index ``index_outbox_pending`` (available_at, id): PostgreSQL walks it and
    stops at ``limit``; ordering by id alone sorted the whole backlog (O(backlog) per claim,
    a disk sort at 100,000 pending rows)."""
    pending = IndexOutbox.objects.filter(done_at__isnull=True, available_at__lte=now)
    if outbox_ids is not None:
        pending = pending.filter(pk__in=outbox_ids)
    claimed = pending.select_for_update(skip_locked=True).order_by("available_at", "id")[:limit]
    return [_Claimed._make(values) for values in claimed.values_list("id", "record_id", "attempts")]


def _chunks(record_ids: list[int]) -> list[list[int]]:
    chunks = [record_ids[:DRAIN_FIRST_CHUNK]]
    rest = record_ids[DRAIN_FIRST_CHUNK:]
    chunks.extend(rest[i : i + DRAIN_CHUNK] for i in range(0, len(rest), DRAIN_CHUNK))
    return [chunk for chunk in chunks if chunk]


def _mark_done(rows: list[_Claimed], now: dt.datetime) -> None:
    if rows:
        IndexOutbox.objects.filter(IdIn(F("pk"), [row.id for row in rows])).update(done_at=now, last_error="")


def _defer(rows: list[_Claimed], errors: dict[int, str], now: dt.datetime) -> None:
    """Leave the rows pending with attempts + 1, the error and an exponential backoff (at
    most a minute). One UPDATE per (attempts, error) group: when Elasticsearch is down
    every row shares one error, so thousands of rows cost a handful of statements."""
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        groups[(row.attempts, errors.get(row.record_id, "not indexed")[:2000])].append(row.id)
    for (attempts, error), ids in groups.items():
        IndexOutbox.objects.filter(IdIn(F("pk"), ids)).update(
            attempts=attempts + 1,
            last_error=error,
            available_at=now + dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts + 1, 10))),
        )


def _send_all(client: Elasticsearch, rows: list[_Claimed], versions: dict[int, int], now: dt.datetime) -> int:
    """Build and send the claimed rows chunk by chunk, one ``_bulk`` in flight while the
    next is built; mark each chunk's acknowledged rows done as its reply arrives. Returns
    how many rows were marked done; the others are deferred. Rows of one record share its
    fate: only the newest version is sent, and its acknowledgement covers the older rows."""
    rows_of: dict[int, list[_Claimed]] = defaultdict(list)
    for row in rows:
        rows_of[row.record_id].append(row)
    alias = es.alias_name()
    failed: dict[int, str] = {}
    indexed: set[int] = set()

    def settle(chunk: list[int], future: Future[BulkResult]) -> None:
        try:
            result = future.result()
        except (TransportError, ApiError) as exc:
            logger.warning("index drain: a bulk request failed (%s); %d records wait", exc, len(chunk))
            failed.update(dict.fromkeys(chunk, f"{type(exc).__name__}: {exc}"))
            return
        failed.update(result["failed"])
        indexed.update(result["ok"])
        _mark_done([row for record_id in result["ok"] for row in rows_of.get(record_id, ())], now)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-drain") as sender:
        in_flight: deque[tuple[list[int], Future[BulkResult]]] = deque()
        for chunk in _chunks(list(versions)):
            body = bulk_body(build_docs(chunk, versions))
            in_flight.append((chunk, sender.submit(send_bulk, client, alias, body, require_alias=True)))
            # With the next chunk queued behind it, settle the one on the wire, then build
            # the one after while the queued one is sent: the wire stays busy, memory stays
            # bounded whatever the limit.
            if len(in_flight) > 1:
                settle(*in_flight.popleft())
        while in_flight:
            settle(*in_flight.popleft())
    # Everything not acknowledged waits: failed items, failed requests, and (defensively)
    # any record Elasticsearch's reply did not mention.
    _defer([row for row in rows if row.record_id not in indexed], failed, now)
    return sum(1 for row in rows if row.record_id in indexed)


@in_transaction
def index_drain(*, limit: int = DRAIN_BATCH, outbox_ids: list[int] | None = None, refresh: bool = False) -> int:
    """Send due outbox rows to Elasticsearch; return how many rows were indexed (marked done).

    A worker job, so an entry point with a transaction of its own: claim (``_claim``:
    SKIP LOCKED, so concurrent drains take disjoint rows), read and build the documents,
    ``_bulk`` them with the newest outbox id of each record as external version (a late
    or repeated write can never replace a newer one; a version conflict counts as done),
    and mark a row done only once Elasticsearch has acknowledged its document. The row
    locks are held during the ``_bulk`` calls on purpose: only outbox rows are locked,
    and no one waits on them. A crash before commit leaves every row pending (re-sending
    is harmless, see above). Rows Elasticsearch did not take — server down, a failed
    request, an item rejected — stay pending with attempts, the last error and an
    exponential backoff (at most a minute).
    """
    now = timezone.now()
    rows = _claim(now=now, limit=limit, outbox_ids=outbox_ids)
    if not rows:
        return 0
    versions: dict[int, int] = {}
    for row in rows:
        versions[row.record_id] = max(versions.get(row.record_id, 0), row.id)
    try:
        client = es.client(timeout=30.0)
        es.ensure_index(client)
    except (es.SearchUnavailable, TransportError, ApiError) as exc:
        logger.warning("index drain: Elasticsearch unavailable (%s); %d rows wait", exc, len(rows))
        error = f"{type(exc).__name__}: {exc}"
        _defer(rows, dict.fromkeys(versions, error), now)
        return 0
    done = _send_all(client, rows, versions, now)
    if refresh and done:
        with contextlib.suppress(TransportError, ApiError):
            client.indices.refresh(index=es.alias_name())
    return done


def index_drain_backlog(*, batch: int = DRAIN_BATCH, budget_seconds: float = 10.0) -> int:
    """The worker's job: drain claim after claim while full batches come back, for at most
    about ``budget_seconds`` so the worker's other jobs keep their turn. Returns how many
    rows were indexed."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        drained = index_drain(limit=batch)
        total += drained
        if drained < batch or time.monotonic() >= deadline:
            return total


def index_backlog() -> int:
    return IndexOutbox.objects.filter(done_at__isnull=True).count()


def reindex_base_version() -> int:
    """A version no older than any write handed out so far (see IndexOutbox)."""
    return max(1, IndexOutbox.objects.aggregate(m=Max("id"))["m"] or 0)


# ---------------------------------------------------------------------------- 全局搜索 indexing
#
# Messages and 公文 in circulation reach Elasticsearch through the core's outbox
# (officehub.indexing: ``IndexChange`` rows written by messaging and documents in the
# transaction of the change). The drain below is the archive drain's twin: claim with
# SKIP LOCKED, build from the database as it is now, ``_bulk`` with external versions,
# and delete a row only once Elasticsearch has taken its object; rows it did not take
# stay with attempts, the error and a backoff.

CHANGE_CHUNK = 1000


class _Change(NamedTuple):
    id: int
    kind: str
    object_id: int
    attempts: int


def _claim_changes(*, now: dt.datetime, limit: int, change_ids: list[int] | None) -> list[_Change]:
    """Lock up to ``limit`` due rows, skipping rows another drain holds (SKIP LOCKED)."""
    due = IndexChange.objects.filter(available_at__lte=now)
    if change_ids is not None:
        due = due.filter(pk__in=change_ids)
    claimed = due.select_for_update(skip_locked=True).order_by("available_at", "id")[:limit]
    return [_Change._make(values) for values in claimed.values_list("id", "kind", "object_id", "attempts")]


def _defer_changes(rows: list[_Change], errors: dict[tuple[str, int], str], now: dt.datetime) -> None:
    """Pending again with attempts + 1, the error and an exponential backoff (≤ 1 minute);
    one UPDATE per (attempts, error) group."""
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        groups[(row.attempts, errors.get((row.kind, row.object_id), "not indexed")[:2000])].append(row.id)
    for (attempts, error), ids in groups.items():
        IndexChange.objects.filter(IdIn(F("pk"), ids)).update(
            attempts=attempts + 1,
            last_error=error,
            available_at=now + dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts + 1, 10))),
        )


@in_transaction
def change_drain(*, limit: int = DRAIN_BATCH, change_ids: list[int] | None = None, refresh: bool = False) -> int:
    """Index (or remove) the messages and documents of due ``IndexChange`` rows; returns how
    many rows were done (and deleted).

    A worker job with its own transaction, like ``index_drain``: the rows of one object
    collapse into one write carrying the newest row id as external version; a version
    conflict or the delete of an absent document counts as done. The row locks are held
    during the ``_bulk`` calls (only outbox rows; nobody waits on them). Elasticsearch
    down or an item refused: the rows stay, with attempts and a backoff.
    """
    now = timezone.now()
    rows = _claim_changes(now=now, limit=limit, change_ids=change_ids)
    if not rows:
        return 0
    versions: dict[str, dict[int, int]] = defaultdict(dict)
    for row in rows:
        of_kind = versions[row.kind]
        of_kind[row.object_id] = max(of_kind.get(row.object_id, 0), row.id)
    try:
        client = es.client(timeout=30.0)
        for kind in versions:
            es.ensure_index(client, live_indexer.INDEX_OF_KIND[kind])
    except (es.SearchUnavailable, TransportError, ApiError) as exc:
        logger.warning("change drain: Elasticsearch unavailable (%s); %d rows wait", exc, len(rows))
        error = f"{type(exc).__name__}: {exc}"
        _defer_changes(rows, {(row.kind, row.object_id): error for row in rows}, now)
        return 0
    indexed: set[tuple[str, int]] = set()
    failed: dict[tuple[str, int], str] = {}
    for kind, of_kind in versions.items():
        ids = sorted(of_kind)
        for start in range(0, len(ids), CHANGE_CHUNK):
            chunk = {object_id: of_kind[object_id] for object_id in ids[start : start + CHANGE_CHUNK]}
            actions = live_indexer.build_actions(kind, chunk)
            try:
                outcome = live_indexer.send_bulk(client, actions, refresh=refresh)
            except (TransportError, ApiError) as exc:
                logger.warning("change drain: a bulk request failed (%s); %d objects wait", exc, len(actions))
                failed.update({(kind, object_id): f"{type(exc).__name__}: {exc}" for object_id in chunk})
                continue
            indexed.update(outcome["ok"])
            failed.update(outcome["failed"])
    done = [row.id for row in rows if (row.kind, row.object_id) in indexed]
    if done:
        IndexChange.objects.filter(IdIn(F("pk"), done)).delete()
    _defer_changes([row for row in rows if (row.kind, row.object_id) not in indexed], failed, now)
    return len(done)


def change_drain_backlog(*, batch: int = DRAIN_BATCH, budget_seconds: float = 10.0) -> int:
    """The worker's job: drain claim after claim while full batches come back, for at most
    about ``budget_seconds``. Returns how many rows were done."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        drained = change_drain(limit=batch)
        total += drained
        if drained < batch or time.monotonic() >= deadline:
            return total


def change_backlog() -> int:
    return IndexChange.objects.count()


@in_transaction
def change_enqueue_all(*, kind: str) -> int:
    """Queue every existing message or document for indexing (first deployment, or after
    the index was lost): one INSERT … SELECT; the worker drains it like any change."""
    from django.db import connection

    kind = IndexKind(kind)
    table = {IndexKind.MESSAGE: Message._meta.db_table, IndexKind.DOCUMENT: Document._meta.db_table}[kind]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {IndexChange._meta.db_table} (kind, object_id, created_at, available_at, attempts, last_error) "  # noqa: S608
            f"SELECT %s, id, now(), now(), 0, '' FROM {table} ORDER BY id",
            [kind.value],
        )
        return int(cursor.rowcount)
