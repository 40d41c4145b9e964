"""Every read of 政务公开: the public portal (published documents, search, tracking) and the
staff side (who handles which organisation's requests).

Public reads answer only what is published, and the same ``NotFound`` for anything else
(missing, withdrawn, never published), so ids cannot be probed. Staff reads follow one
rule: a request is seen by the office staff of its organisation (the 收文 office: the
核稿人 of the organisation, or of its general office — ``documents.selectors.office_staff``)
and by the handlers it was assigned to; everyone else gets ``NotFound``.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, TypedDict

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from elasticsearch import ApiError, TransportError
from redis.exceptions import RedisError

from disclosure.errors import DisclosureInvalidInput, DisclosureNotAllowed
from disclosure.index import alias_name
from disclosure.models import (
    OPEN_STATUSES,
    DisclosureRequest,
    Publication,
    PublicationState,
    RequestEvent,
    RequestStatus,
)
from disclosure.query import MAX_RESULT_WINDOW, PortalParams, portal_body
from disclosure.workdays import calendar
from documents import selectors as document_selectors
from documents.models import DocType, Document
from officehub.directory.models import Department, DepartmentKind, User
from officehub.errors import NotFound
from search import es
from search.query import highlight_html
from search.text import fold, normalise_doc_number

logger = logging.getLogger(__name__)

DEGRADED_NOTICE: Final = "全文检索服务暂时不可用，当前为简易检索结果：仅按标题、正文和发文字号逐字匹配，按成文日期排序。"

# --- the public portal ------------------------------------------------------------------


def published_documents() -> QuerySet[Publication]:
    return Publication.objects.filter(state=PublicationState.PUBLISHED)


def published(document_id: int) -> Publication:
    """The publication of a document, or NotFound alike for a document that is missing,
    not published, or withdrawn."""
    publication = published_documents().filter(document_id=document_id).first()
    if publication is None:
        raise NotFound()
    return publication


def portal_changed_at() -> datetime | None:
    """When anything the portal shows last changed (a publication, a withdrawal, a batch
    reaching the index): the Last-Modified of listings and search answers. One
    index-only scan (``publication_changed``)."""
    value: datetime | None = Publication.objects.aggregate(m=Max("changed_at"))["m"]
    return value


def doc_type_label(value: str) -> str:
    return str(DocType(value).label) if value in DocType.values else value


class PortalHit(TypedDict):
    document_id: int
    title: str
    title_html: str
    snippets_html: list[str]
    doc_number: str
    issuer: str
    issuer_id: int
    doc_type: str
    doc_type_label: str
    issued_on: date
    year: int


class Facet(TypedDict):
    value: str
    label: str
    count: int


class PortalResult(TypedDict):
    total: int
    page: int
    page_size: int
    hits: list[PortalHit]
    facets: dict[str, list[Facet]]
    degraded: bool
    notice: str


_HIT_FIELDS = ("id", "document_id", "title", "doc_number", "issuer_name", "issuer_id", "doc_type", "issued_on", "year")


def _hit(publication: Publication, *, title_html: str, snippets: list[str]) -> PortalHit:
    return {
        "document_id": publication.document_id,
        "title": publication.title,
        "title_html": title_html,
        "snippets_html": snippets,
        "doc_number": publication.doc_number,
        "issuer": publication.issuer_name,
        "issuer_id": publication.issuer_id,
        "doc_type": publication.doc_type,
        "doc_type_label": doc_type_label(publication.doc_type),
        "issued_on": publication.issued_on,
        "year": publication.year,
    }


def validate_params(params: PortalParams) -> None:
    if params.page < 1 or not 1 <= params.page_size <= 50:
        raise DisclosureInvalidInput("分页参数无效：页码从 1 开始，每页 1 至 50 条。", extra={"field": "page"})
    if params.page * params.page_size > MAX_RESULT_WINDOW:
        raise DisclosureInvalidInput(f"最多只能翻阅前 {MAX_RESULT_WINDOW} 条结果，请增加筛选条件。", extra={"field": "page"})
    if len(params.q) > 100:
        raise DisclosureInvalidInput("检索词过长（最多 100 字）。", extra={"field": "q"})
    if params.doc_type and params.doc_type not in DocType.values:
        raise DisclosureInvalidInput("文种无效。", extra={"field": "doc_type"})
    if params.year is not None and not 1900 <= params.year <= 2100:
        raise DisclosureInvalidInput("年份无效。", extra={"field": "year"})


def portal_search(params: PortalParams, *, facets: bool = True) -> PortalResult:
    """Published documents matching ``params`` (an empty query lists the newest first),
    with facet counts by issuer, year and 文种. Elasticsearch proposes, the database
    decides: every hit is re-read from the published rows. With Elasticsearch down it
    answers from the database, marked ``degraded`` with a notice. Raises
    disclosure.invalid for bad paging or filters."""
    validate_params(params)
    try:
        return _search_es(params, facets=facets)
    except (es.SearchUnavailable, TransportError, ApiError) as exc:
        if isinstance(exc, ApiError) and getattr(exc, "status_code", 500) == 404:
            # No index yet: nothing has been published (the drain creates it with the
            # first publication). The database answers; nothing is wrong with the service.
            answer = _search_db(params, facets=facets)
            answer["degraded"], answer["notice"] = False, ""
            return answer
        if isinstance(exc, ApiError) and getattr(exc, "status_code", 500) == 400:
            logger.exception("portal search: Elasticsearch rejected the query")
        else:
            logger.warning("portal search degraded: %s", exc)
        return _search_db(params, facets=facets)


def portal_search_shared(params: PortalParams, *, changed_at: datetime | None) -> PortalResult:
    """``portal_search`` through the shared cache (Redis, ``PORTAL_RESULT_CACHE_SECONDS``).

    A public answer is the same for every visitor, so one visitor's search serves the
    next one's: popular searches cost one Elasticsearch query per change of the portal
    rather than one per visitor. ``changed_at`` (``portal_changed_at``) is part of the
    key, so a publication, a withdrawal or a batch reaching the index makes every cached
    answer unreachable at once — a withdrawn document is never served from here. A
    degraded answer is not kept; a cache outage only costs the search."""
    seconds = settings.PORTAL_RESULT_CACHE_SECONDS
    if not seconds:
        return portal_search(params)
    validate_params(params)
    stamp = changed_at.isoformat() if changed_at else "-"
    key = "gk:search:" + hashlib.sha256(f"{stamp}|{params.cache_key()}".encode()).hexdigest()[:40]
    try:
        cached: PortalResult | None = cache.get(key)
    except (RedisError, OSError):
        cached = None
    if cached is not None:
        return cached
    result = portal_search(params)
    if not result["degraded"]:
        try:
            cache.set(key, result, seconds)
        except (RedisError, OSError):
            logger.warning("portal search: the shared cache is unavailable")
    return result


def _issuer_names(ids: list[int]) -> dict[int, str]:
    return dict(Department.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _facet_label(name: str, value: str, issuers: dict[int, str]) -> str:
    if name == "doc_type":
        return doc_type_label(value)
    if name == "year":
        return f"{value}年"
    return issuers.get(int(value), value)


def _search_es(params: PortalParams, *, facets: bool) -> PortalResult:
    client = es.client(timeout=5.0)
    response = client.search(index=alias_name(), body=portal_body(params, with_facets=facets))
    hits = response["hits"]["hits"]
    ids = [int(hit["_id"]) for hit in hits]
    rows = {p.pk: p for p in published_documents().filter(pk__in=ids).only(*_HIT_FIELDS)} if ids else {}
    out: list[PortalHit] = []
    for hit in hits:
        publication = rows.get(int(hit["_id"]))
        if publication is None:  # withdrawn since it was indexed: the database decides
            continue
        highlight = hit.get("highlight", {})
        title_html = (
            highlight_html(highlight["title_std"][0]) if "title_std" in highlight else html.escape(publication.title)
        )
        snippets = [highlight_html(fragment) for fragment in highlight.get("body_std", [])]
        out.append(_hit(publication, title_html=title_html, snippets=snippets))
    facet_counts: dict[str, list[Facet]] = {}
    if facets:
        aggregations = response.get("aggregations", {})
        issuer_ids = [int(b["key"]) for b in aggregations.get("issuer_id", {}).get("buckets", [])]
        issuers = _issuer_names(issuer_ids)
        for name in ("issuer_id", "year", "doc_type"):
            buckets = aggregations.get(name, {}).get("buckets", [])
            facet_counts[name] = [
                {"value": str(b["key"]), "label": _facet_label(name, str(b["key"]), issuers), "count": int(b["doc_count"])}
                for b in buckets
                if str(b["key"]) != ""
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


def _search_db(params: PortalParams, *, facets: bool) -> PortalResult:
    rows = published_documents()
    parts = params.text().parts()
    if parts:
        raw = fold(params.q).strip().strip("\"“”")
        text = Q()
        for part in parts:
            text &= Q(title__icontains=part) | Q(body__icontains=part)
        rows = rows.filter(text | Q(doc_number=normalise_doc_number(raw)))
    if params.issuer_id is not None:
        rows = rows.filter(issuer_id=params.issuer_id)
    if params.year is not None:
        rows = rows.filter(year=params.year)
    if params.doc_type:
        rows = rows.filter(doc_type=params.doc_type)
    facet_counts: dict[str, list[Facet]] = {}
    if facets:
        issuer_rows = list(rows.order_by().values("issuer_id").annotate(n=Count("pk")).order_by("-n")[:100])
        issuers = _issuer_names([row["issuer_id"] for row in issuer_rows])
        facet_counts["issuer_id"] = [
            {"value": str(row["issuer_id"]), "label": issuers.get(row["issuer_id"], ""), "count": row["n"]}
            for row in issuer_rows
        ]
        for name in ("year", "doc_type"):
            grouped = rows.order_by().values(name).annotate(n=Count("pk")).order_by("-n")[:100]
            facet_counts[name] = [
                {"value": str(row[name]), "label": _facet_label(name, str(row[name]), issuers), "count": row["n"]}
                for row in grouped
            ]
    start = (params.page - 1) * params.page_size
    page = list(rows.order_by("-issued_on", "-pk").only(*_HIT_FIELDS, "body")[start : start + params.page_size])
    hits = []
    for publication in page:
        title_html = plain_highlight(publication.title, parts, width=500) or html.escape(publication.title)
        snippet = plain_highlight(publication.body, parts)
        hits.append(_hit(publication, title_html=title_html, snippets=[snippet] if snippet else []))
    return {
        "total": rows.count(),
        "page": params.page,
        "page_size": params.page_size,
        "hits": hits,
        "facets": facet_counts,
        "degraded": True,
        "notice": DEGRADED_NOTICE,
    }


def plain_highlight(text: str, parts: list[str], *, width: int = 90) -> str:
    """An escaped snippet around the first match, parts in ``<em>``: for the database
    fallback, which has no highlighter."""
    folded = fold(text)
    lower = folded.casefold()
    starts = [lower.find(part.casefold()) for part in parts if lower.find(part.casefold()) >= 0]
    if not starts:
        return ""
    begin = max(0, min(starts) - width // 3)
    escaped = html.escape(folded[begin : begin + width])
    for part in sorted(set(parts), key=len, reverse=True):
        escaped = escaped.replace(html.escape(part), f"<em>{html.escape(part)}</em>")
    return escaped


@dataclass(frozen=True)
class PublishedFile:
    data: bytes
    filename: str
    content_type: str


PDF_TYPE: Final = "application/pdf"
DOCX_TYPE: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def published_file(publication: Publication) -> PublishedFile:
    """The issued copy of a published document: the signed PDF from its sealing record;
    the rendered DOCX only for a document with no signed PDF (an unsealed one such as a
    纪要, or one sealed before PDFs existed)."""
    document = Document.objects.select_related("seal_record", "issuer").get(pk=publication.document_id)
    stem = publication.doc_number or publication.title
    pdf = document_selectors.signed_pdf(document)
    if pdf:
        return PublishedFile(bytes(pdf), f"{stem}.pdf", PDF_TYPE)
    return PublishedFile(document_selectors.document_docx(document), f"{stem}.docx", DOCX_TYPE)


# --- tracking a request (public) --------------------------------------------------------

TRACKING_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


_READ_AS: Final = str.maketrans("OIL", "011")


def normalise_tracking_number(value: str) -> str:
    """``2026-abcd-efgh`` / ``2026 ABCD EFGH`` / ``2026ABCDEFGH`` → ``2026-ABCD-EFGH``;
    O/I/L typed for 0/1/1 are read as meant (Crockford)."""
    text = fold(value or "").upper().translate(_READ_AS)
    text = "".join(char for char in text if char.isalnum())
    if len(text) != 12 or not text[:4].isdigit() or any(char not in TRACKING_ALPHABET for char in text):
        return ""
    return f"{text[:4]}-{text[4:8]}-{text[8:]}"


def tracked(tracking_number: str) -> DisclosureRequest:
    number = normalise_tracking_number(tracking_number)
    request = (
        DisclosureRequest.objects.select_related("organisation", "department").filter(tracking_number=number).first()
        if number
        else None
    )
    if request is None:
        raise NotFound("未找到该查询码对应的申请，请核对后重试。")
    return request


class TrackingStep(TypedDict):
    """One stop of the parcel-style progress: what, when (None while pending), what the
    citizen may read about it."""

    key: str
    label: str
    done: bool
    current: bool
    at: datetime | None
    detail: str


def tracking_steps(request: DisclosureRequest) -> list[TrackingStep]:
    """提交 → 登记 → 承办 → 答复 → 办结, each with its date once reached. No staff names and
    no internal notes: only the receiving organisation, the 承办 department, the deadline
    (and its extension, which the applicant must be told, 条例 第三十三条) and the reply."""
    department = request.department.name if request.department_id and request.department else ""
    stops: list[tuple[str, str, datetime | None, str]] = [
        ("submitted", "提交申请", request.submitted_at, f"已提交至{request.organisation.name}"),
        ("registered", "登记", request.registered_at,
         f"已登记受理，答复期限 {_cn_date(request.due_on)}" if request.due_on else ""),
        ("handling", "承办", request.assigned_at, f"已转{department}办理" if department else ""),
        ("replied", "答复", request.replied_at, "已答复，请查看答复内容" if request.replied_at else ""),
        ("concluded", "办结", request.concluded_at, "已办结" if request.concluded_at else ""),
    ]
    steps: list[TrackingStep] = []
    reached = [at is not None for _key, _label, at, _detail in stops]
    last = max((index for index, done in enumerate(reached) if done), default=0)
    for index, (key, label, at, detail) in enumerate(stops):
        steps.append({"key": key, "label": label, "done": at is not None, "current": index == last + 1,
                      "at": at, "detail": detail if at is not None else ""})
    return steps


def _cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the tracking page confirms whose request it is
    without spelling it out to whoever holds the number."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


# --- staff: who serves which organisation ------------------------------------------------


def served_organisations(user: User) -> list[Department]:
    """Organisations whose 依申请公开 the user handles as office staff: their own
    organisation when they are its 核稿人 (收文 office), and the organisation above it when
    theirs is its general office and it has no office staff of its own (as
    ``office_staff`` falls back)."""
    if not user.is_active or user.department_id is None:
        return []
    organisation = document_selectors.organisation_of_user(user)
    if organisation is None:
        return []
    candidates = [organisation]
    if organisation.kind == DepartmentKind.OFFICE and organisation.parent_id:
        parent = Department.objects.filter(pk=organisation.parent_id, is_organisation=True).first()
        if parent is not None:
            candidates.append(parent)
    return [org for org in candidates if any(u.pk == user.pk for u in document_selectors.office_staff(org))]


def is_office_staff(user: User, organisation_id: int) -> bool:
    return any(org.pk == organisation_id for org in served_organisations(user))


def _visible_requests(user: User) -> QuerySet[DisclosureRequest]:
    served = [org.pk for org in served_organisations(user)]
    return DisclosureRequest.objects.filter(Q(organisation_id__in=served) | Q(handlers=user)).distinct()


def access_request(user: User, request_id: int, *, lock: bool = False) -> DisclosureRequest:
    """The request, for its organisation's office staff and its handlers; NotFound alike
    for a missing id and for anyone else (another organisation's staff included)."""
    if not user.is_active:
        raise NotFound()
    visible = _visible_requests(user).values("pk")
    requests = DisclosureRequest.objects.filter(pk__in=visible).select_related("organisation", "department")
    if lock:
        requests = requests.select_for_update(of=("self",))
    request = requests.filter(pk=request_id).first()
    if request is None:
        raise NotFound()
    return request


def request_list(user: User, *, status: str = "") -> QuerySet[DisclosureRequest]:
    """The requests the user handles (office staff: their organisations'; handlers: those
    assigned to them). Raises disclosure.not_allowed (403) for staff who handle none."""
    if not served_organisations(user) and not DisclosureRequest.objects.filter(handlers=user).exists():
        raise DisclosureNotAllowed("只有受理机关的办公室（收文）人员和承办人可以办理依申请公开。")
    requests = _visible_requests(user).select_related("organisation", "department")
    if status in RequestStatus.values:
        requests = requests.filter(status=status)
    return requests.order_by("-submitted_at", "-pk")


def overdue_requests(user: User, *, today: date | None = None) -> QuerySet[DisclosureRequest]:
    """Open requests past their deadline in the organisations the user serves as office
    staff (the 逾期 list). Raises disclosure.not_allowed (403) for anyone else."""
    served = [org.pk for org in served_organisations(user)]
    if not served:
        raise DisclosureNotAllowed("只有受理机关的办公室（收文）人员可以查看逾期清单。")
    today = today or timezone.localdate()
    return (
        DisclosureRequest.objects.filter(organisation_id__in=served, status__in=OPEN_STATUSES, due_on__lt=today)
        .select_related("organisation", "department")
        .order_by("due_on", "pk")
    )


def working_days_left(request: DisclosureRequest, *, today: date | None = None) -> int | None:
    """Working days until the deadline (negative: overdue by that many), None before 登记."""
    if request.due_on is None:
        return None
    return calendar().between(today or timezone.localdate(), request.due_on)


def department_handlers(department: Department) -> list[User]:
    """Who answers for a 承办 department: its heads, else its members (as 收文 承办)."""
    return document_selectors.department_heads(department) or list(
        User.objects.filter(is_active=True, department=department).order_by("pk")
    )


def assignable_departments(organisation: Department) -> list[Department]:
    """The divisions of the organisation; for an organisation without its own (a 人民政府
    whose work its 办公厅 does), those of its general office."""
    def divisions(org: Department) -> list[Department]:
        found = Department.objects.filter(path__startswith=org.path, is_organisation=False).order_by("path")
        return [dept for dept in found if dept.organisation() == org]

    own = divisions(organisation)
    if own:
        return own
    office = Department.objects.filter(parent=organisation, is_organisation=True, kind=DepartmentKind.OFFICE).first()
    return divisions(office) if office else []


def request_actions(user: User, request: DisclosureRequest) -> list[str]:
    """What the user may do now; the services enforce the same rules."""
    actions: list[str] = []
    office = is_office_staff(user, request.organisation_id)
    status = request.status
    if office and status == RequestStatus.SUBMITTED:
        actions.append("register")
    if office and status == RequestStatus.REGISTERED:
        actions.append("assign")
    if office and status in OPEN_STATUSES and request.extended_at is None:
        actions.append("extend")
    if status == RequestStatus.HANDLING and request.handlers.filter(pk=user.pk).exists():
        actions.append("reply")
    if office and status == RequestStatus.REPLIED:
        actions.append("conclude")
    return actions


def request_events(request: DisclosureRequest) -> QuerySet[RequestEvent]:
    return request.events.select_related("actor").order_by("created_at", "pk")


# --- staff: publications ----------------------------------------------------------------


def staff_publications(user: User) -> QuerySet[Publication]:
    """Publications of the organisations the user serves as office staff. Raises
    disclosure.not_allowed (403) for anyone else."""
    served = [org.pk for org in served_organisations(user)]
    if not served:
        raise DisclosureNotAllowed("只有发文机关的办公室人员可以管理公开的公文。")
    return Publication.objects.filter(issuer_id__in=served).order_by("-published_at", "-pk")


def access_publication(user: User, publication_id: int, *, lock: bool = False) -> Publication:
    """A publication, for its issuer's office staff; NotFound alike for anyone else."""
    served = [org.pk for org in served_organisations(user)]
    publications = Publication.objects.filter(issuer_id__in=served)
    if lock:
        publications = publications.select_for_update(of=("self",))
    publication = publications.filter(pk=publication_id).first()
    if publication is None:
        raise NotFound()
    return publication


class DisclosureStateRow(TypedDict):
    state: str
    label: str
    total: int
    overdue: int
    due_soon: int


# 督办: "due soon" is a reply owed within this many working days (today included).
DUE_SOON_WORKING_DAYS = 5


def disclosure_request_summary(
    *, organisation_ids: Sequence[int], created_from: datetime, created_to: datetime, now: datetime
) -> list[DisclosureStateRow]:
    """依申请公开 requests filed with ``organisation_ids`` in ``[created_from, created_to)``
    per state that has any, in the flow's order: how many, how many are past their statutory deadline
    and still owed a reply, how many fall due within DUE_SOON_WORKING_DAYS working days.
    The 督办 dashboard's source (settings.OVERSIGHT_DISCLOSURE_SOURCE); counted in SQL."""
    today = timezone.localtime(now).date()
    soon = calendar().add(today, DUE_SOON_WORKING_DAYS)
    owed = Q(status__in=OPEN_STATUSES)
    counts = {
        row["status"]: row
        for row in DisclosureRequest.objects.filter(
            organisation_id__in=list(organisation_ids), submitted_at__gte=created_from, submitted_at__lt=created_to
        )
        .values("status")
        .annotate(
            total=Count("pk"),
            overdue=Count("pk", filter=owed & Q(due_on__lt=today)),
            due_soon=Count("pk", filter=owed & Q(due_on__gte=today, due_on__lte=soon)),
        )
    }
    return [
        {
            "state": status.value,
            "label": str(status.label),
            "total": counts.get(status.value, {}).get("total", 0),
            "overdue": counts.get(status.value, {}).get("overdue", 0),
            "due_soon": counts.get(status.value, {}).get("due_soon", 0),
        }
        for status in RequestStatus
        if status.value in counts
    ]
