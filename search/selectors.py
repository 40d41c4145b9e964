"""Reads of the archive: who may open a record, and search (Elasticsearch or database).

A user may open a record when its 密级 is at most their clearance and they are in its
scope: a member of one of its scope departments (or of a sub-department), an explicit
reader, or an archivist of the record's organisation (fonds). Search applies the same rule
twice: as an Elasticsearch filter, and again in the database for every hit shown.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from elasticsearch import ApiError, TransportError

from officehub.directory.models import Clearance, Role, User
from officehub.errors import NotFound
from search import es
from search.models import DOC_TYPES, ArchiveRecord, Retention
from search.query import (
    FACET_FIELDS,
    MAX_RESULT_WINDOW,
    SearchParams,
    Viewer,
    highlight_html,
    search_body,
)
from search.text import fold, normalise_code, normalise_doc_number

if TYPE_CHECKING:
    from documents.models import Document

logger = logging.getLogger(__name__)

DEGRADED_NOTICE = (
    "全文检索服务暂时不可用，当前为数据库简易检索结果："
    "仅按题名、正文、文号和档号逐字匹配，按日期排序，无相关度排序。"
)


def viewer_of(user: User) -> Viewer:
    department = user.department
    department_ids: tuple[int, ...] = tuple(department.ancestor_ids) if department is not None else ()
    archivist_org_id = None
    if department is not None and user.has_role(Role.ARCHIVIST):
        organisation = department.organisation()
        archivist_org_id = organisation.pk if organisation else None
    return Viewer(
        user_id=user.pk,
        clearance=int(user.clearance),
        department_ids=department_ids,
        archivist_org_id=archivist_org_id,
    )


def visible_records(user: User | AnonymousUser, *, viewer: Viewer | None = None) -> QuerySet[ArchiveRecord]:
    """Records the user may open (the database side of the permission rule)."""
    if not isinstance(user, User) or not user.is_active:
        return ArchiveRecord.objects.none()
    viewer = viewer or viewer_of(user)
    # Correlated EXISTS: a handful of index probes per candidate row. (An IN over the
    # through table would read every record of a large organisation's scope.)
    scoped = ArchiveRecord.scope_departments.through.objects.filter(
        archiverecord_id=OuterRef("pk"), department_id__in=viewer.department_ids
    )
    reading = ArchiveRecord.readers.through.objects.filter(archiverecord_id=OuterRef("pk"), user_id=viewer.user_id)
    allowed = Exists(scoped) | Exists(reading)
    if viewer.archivist_org_id is not None:
        allowed |= Q(organisation_id=viewer.archivist_org_id)
    return ArchiveRecord.objects.filter(allowed, classification__lte=viewer.clearance)


def access_archive_record(user: User | AnonymousUser, record_id: int, *, with_file: bool = False) -> ArchiveRecord:
    """The record, or NotFound for both "missing" and "not allowed"."""
    records = visible_records(user).select_related("organisation", "archived_by")
    if not with_file:
        records = records.defer("file_bytes")
    record = records.filter(pk=record_id).first()
    if record is None:
        raise NotFound()
    return record


# ---------------------------------------------------------------------------- search


class FacetBucket(TypedDict):
    value: str
    label: str
    count: int


class SearchHit(TypedDict):
    id: int
    archive_code: str
    doc_number: str
    title: str
    title_html: str
    snippets_html: list[str]
    responsible_party: str
    record_date: str
    catalogue_date: str
    year: int
    page_count: int
    classification: int
    classification_label: str
    doc_type: str
    doc_type_label: str
    retention: str
    retention_label: str
    unit_code: str
    note: str
    score: float | None


class SearchResult(TypedDict):
    total: int
    page: int
    page_size: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetBucket]]
    degraded: bool
    notice: str


_LIST_FIELDS = (
    "id", "archive_code", "doc_number", "title", "responsible_party", "record_date", "year", "page_count",
    "classification", "doc_type", "retention", "unit_code", "note", "content_text",
)


def _facet_label(name: str, value: Any) -> str:
    if name == "doc_type":
        return DOC_TYPES.get(str(value), str(value))
    if name == "retention":
        return str(Retention(value).label) if value in Retention.values else str(value)
    if name == "classification":
        return str(Clearance(int(value)).label)
    if name == "year":
        return f"{value}年"
    return str(value)


def _hit(record: ArchiveRecord, *, title_html: str, snippets: list[str], score: float | None) -> SearchHit:
    return {
        "id": record.pk,
        "archive_code": record.archive_code,
        "doc_number": record.doc_number,
        "title": record.title,
        "title_html": title_html,
        "snippets_html": snippets,
        "responsible_party": record.responsible_party,
        "record_date": record.record_date.isoformat(),
        "catalogue_date": record.catalogue_date,
        "year": record.year,
        "page_count": record.page_count,
        "classification": record.classification,
        "classification_label": str(Clearance(record.classification).label),
        "doc_type": record.doc_type,
        "doc_type_label": record.doc_type_label,
        "retention": record.retention,
        "retention_label": str(Retention(record.retention).label),
        "unit_code": record.unit_code,
        "note": record.note,
        "score": score,
    }


def validate_params(params: SearchParams) -> None:
    from search.errors import SearchQueryInvalid

    if params.page < 1 or not 1 <= params.page_size <= 100:
        raise SearchQueryInvalid("分页参数无效：页码从 1 开始，每页 1 至 100 条。")
    if params.page * params.page_size > MAX_RESULT_WINDOW:
        raise SearchQueryInvalid(f"最多只能翻阅前 {MAX_RESULT_WINDOW} 条结果，请增加筛选条件。")
    if params.year_from and params.year_to and params.year_from > params.year_to:
        raise SearchQueryInvalid("起始年度不能晚于截止年度。")
    if len(params.q) > 200:
        raise SearchQueryInvalid("检索词过长（最多 200 字）。")
    if params.sort not in ("relevance", "date", "date_asc"):
        raise SearchQueryInvalid("排序方式无效。")


def archive_search(*, user: User, params: SearchParams, facets: bool = True) -> SearchResult:
    """Search the archive as ``user``; falls back to the database when Elasticsearch fails.

    Raises ``search.invalid_query`` for bad paging or ranges. Never raises for an
    Elasticsearch outage: the result then has ``degraded`` set and a Chinese notice.
    """
    validate_params(params)
    viewer = viewer_of(user)
    try:
        return _search_es(user, viewer, params, facets=facets)
    except (es.SearchUnavailable, TransportError, ApiError) as exc:
        if isinstance(exc, ApiError) and getattr(exc, "status_code", 500) == 400:
            logger.exception("archive search: Elasticsearch rejected the query")
        else:
            logger.warning("archive search degraded: %s", exc)
        return _search_db(user, viewer, params, facets=facets)


def _search_es(user: User, viewer: Viewer, params: SearchParams, *, facets: bool) -> SearchResult:
    client = es.client(timeout=5.0)
    response = client.search(index=es.alias_name(), body=search_body(viewer, params, with_facets=facets))
    hits = response["hits"]["hits"]
    ids = [int(hit["_id"]) for hit in hits]
    # Re-check every hit in the database: the index only proposes, the database decides.
    records = {r.pk: r for r in visible_records(user, viewer=viewer).filter(pk__in=ids).only(*_LIST_FIELDS[:-1])}
    out: list[SearchHit] = []
    for hit in hits:
        record = records.get(int(hit["_id"]))
        if record is None:
            continue
        highlight = hit.get("highlight", {})
        title_html = highlight_html(highlight["title_std"][0]) if "title_std" in highlight else html.escape(record.title)
        snippets = [highlight_html(fragment) for fragment in highlight.get("body_std", [])]
        out.append(_hit(record, title_html=title_html, snippets=snippets, score=hit.get("_score")))
    facet_counts: dict[str, list[FacetBucket]] = {}
    for name in FACET_FIELDS if facets else ():
        buckets = response.get("aggregations", {}).get(name, {}).get("buckets", [])
        facet_counts[name] = [
            {"value": str(b["key"]), "label": _facet_label(name, b["key"]), "count": int(b["doc_count"])}
            for b in buckets
            if b["key"] != ""
        ]
    return {
        "total": int(response["hits"]["total"]["value"]),
        "page": params.page,
        "page_size": params.page_size,
        "hits": out,
        "facets": facet_counts,
        "degraded": False,
        "notice": "",
    }


def _db_queryset(user: User, viewer: Viewer, params: SearchParams) -> QuerySet[ArchiveRecord]:
    records = visible_records(user, viewer=viewer)
    raw = fold(params.q).strip().strip("\"“”")
    parts = params.parts()
    if parts:
        text = Q()
        for part in parts:
            text &= Q(title__icontains=part) | Q(content_text__icontains=part)
        records = records.filter(
            text | Q(doc_number=normalise_doc_number(raw)) | Q(archive_code__iexact=normalise_code(raw))
        )
    if params.year_from is not None:
        records = records.filter(year__gte=params.year_from)
    if params.year_to is not None:
        records = records.filter(year__lte=params.year_to)
    if params.doc_types:
        records = records.filter(doc_type__in=params.doc_types)
    if params.issuers:
        records = records.filter(responsible_party__in=params.issuers)
    if params.retentions:
        records = records.filter(retention__in=params.retentions)
    if params.unit_codes:
        records = records.filter(unit_code__in=params.unit_codes)
    if params.classifications:
        records = records.filter(classification__in=params.classifications)
    return records


def _plain_highlight(text: str, parts: list[str], *, width: int = 90) -> str:
    """A safe snippet around the first match, for the database fallback."""
    folded = fold(text)
    lower = folded.casefold()
    starts = [(lower.find(p.casefold()), p) for p in parts if lower.find(p.casefold()) >= 0]
    if not starts:
        return ""
    start, _ = min(starts)
    begin = max(0, start - width // 3)
    snippet = folded[begin : begin + width]
    escaped = html.escape(snippet)
    for part in sorted(set(parts), key=len, reverse=True):
        escaped = escaped.replace(html.escape(part), f"<em>{html.escape(part)}</em>")
    return escaped


def _search_db(user: User, viewer: Viewer, params: SearchParams, *, facets: bool) -> SearchResult:
    records = _db_queryset(user, viewer, params)
    db_field = {"issuer": "responsible_party"}
    facet_counts: dict[str, list[FacetBucket]] = {}
    for name in FACET_FIELDS if facets else ():
        column = db_field.get(name, name)
        rows = records.order_by().values(column).annotate(n=Count("pk")).order_by("-n", column)[:50]
        facet_counts[name] = [
            {"value": str(row[column]), "label": _facet_label(name, row[column]), "count": row["n"]}
            for row in rows
            if row[column] != ""
        ]
    order = ["record_date", "pk"] if params.sort == "date_asc" else ["-record_date", "-pk"]
    total = records.count()
    start = (params.page - 1) * params.page_size
    page = list(records.order_by(*order).only(*_LIST_FIELDS)[start : start + params.page_size])
    parts = params.parts()
    hits = []
    for record in page:
        title_html = _plain_highlight(record.title, parts, width=500) or html.escape(record.title)
        snippet = _plain_highlight(record.content_text, parts)
        hits.append(_hit(record, title_html=title_html, snippets=[snippet] if snippet else [], score=None))
    return {
        "total": total,
        "page": params.page,
        "page_size": params.page_size,
        "hits": hits,
        "facets": facet_counts,
        "degraded": True,
        "notice": DEGRADED_NOTICE,
    }


def archive_count_db(*, user: User, params: SearchParams) -> int:
    """How many records the database search finds (全局搜索's 档案 count while
    Elasticsearch is down; same rule and matching as the degraded search)."""
    return _db_queryset(user, viewer_of(user), params).count()


def archive_export_rows(*, user: User, params: SearchParams, limit: int = 5000) -> tuple[list[SearchHit], bool]:
    """Every hit of the current search (up to ``limit``), in result order, for the
    归档文件目录 export; the second value tells whether the result was degraded."""
    rows: list[SearchHit] = []
    degraded = False
    page_size = 100
    page = 1
    while len(rows) < limit and page * page_size <= MAX_RESULT_WINDOW:
        result = archive_search(
            user=user,
            params=SearchParams(**{**params.__dict__, "page": page, "page_size": page_size}),
            facets=False,
        )
        degraded = degraded or result["degraded"]
        rows.extend(result["hits"])
        if page * page_size >= result["total"]:
            break
        page += 1
    return rows[:limit], degraded


def archivable_documents(user: User) -> QuerySet[Document]:
    """Finished documents of the archivist's organisation that have no record yet."""
    from documents.models import Direction, Document, DocumentStatus

    if not user.has_role(Role.ARCHIVIST) or user.department is None:
        return Document.objects.none()
    organisation = user.department.organisation()
    if organisation is None:
        return Document.objects.none()
    return (
        Document.objects.filter(
            Q(direction=Direction.OUTGOING, issuer=organisation, status=DocumentStatus.DISTRIBUTED)
            | Q(direction=Direction.INCOMING, recipient_organisation=organisation, status=DocumentStatus.CONCLUDED),
            archive_record__isnull=True,
            classification__lte=user.clearance,
        )
        .select_related("issuer")
        .order_by("-issued_on", "-pk")
    )
