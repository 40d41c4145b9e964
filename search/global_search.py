"""全局搜索: one query over people, groups, messages, 公文 in circulation and archives.

Each tab applies the rule of the thing's own page, to its hits and to its count:

- 联系人 (people): the 通讯录 — every signed-in user may read it: active users by name,
  username or department (the database; the directory is small);
- 群聊 (groups): group and department conversations the user is a member of, by name;
- 聊天记录 (messages): Elasticsearch, filtered to the user's conversations and above their
  history floor (search.live_query); every hit re-checked in the database (still a
  member, not recalled, not hidden history);
- 公文 (documents): Elasticsearch, filtered by the mirror of documents.selectors'
  visibility rule; every hit re-checked with ``visible_documents``;
- 档案 (archives): the archive search (search.selectors.archive_search) as it is.

Messages, documents and the archive count go to Elasticsearch in one ``_msearch``. When
Elasticsearch fails, those three tabs answer from the database (plain substring
matching, newest first) with ``degraded`` set and a notice; the outbox keeps every
change, so the index catches up when it is back.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, TypedDict
from urllib.parse import urlencode

from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from elasticsearch import ApiError, TransportError

from documents.models import Direction, DocType, Document, DocumentStatus
from documents.selectors import organisation_of_user, visible_documents
from documents.services import document_url
from messaging.models import Conversation, ConversationKind, Membership, Message, MessageKind
from officehub.directory.models import Role, User
from search import es
from search.errors import SearchQueryInvalid
from search.indexer import IdIn
from search.live_query import DocumentViewer, MessageScope, document_search_body, message_search_body
from search.query import MAX_RESULT_WINDOW, SearchParams, highlight_html, search_body
from search.selectors import archive_count_db, archive_search, viewer_of
from search.text import fold

logger = logging.getLogger(__name__)

Tab = Literal["people", "groups", "messages", "documents", "archives"]
TABS: tuple[Tab, ...] = ("people", "groups", "messages", "documents", "archives")
TAB_LABELS: dict[str, str] = {
    "people": "联系人",
    "groups": "群聊",
    "messages": "聊天记录",
    "documents": "公文",
    "archives": "档案",
}
QUERY_MAX_CHARS = 100
PAGE_SIZE = 20
DEGRADED_NOTICE = (
    "全文检索服务暂时不可用，聊天记录、公文和档案为数据库简易检索结果："
    "仅逐字匹配，按时间排序；恢复后将自动补齐索引。"
)


class PersonHit(TypedDict):
    type: Literal["person"]
    id: int
    name: str
    username: str
    department: str
    position: str
    phone: str
    url: str


class GroupHit(TypedDict):
    type: Literal["group"]
    id: int
    title: str
    title_html: str
    kind: str
    member_count: int
    url: str


class MessageHit(TypedDict):
    type: Literal["message"]
    id: int
    conversation_id: int
    conversation_title: str
    conversation_kind: str
    seq: int
    sender_name: str
    created_at: str
    time_label: str
    snippet_html: str
    url: str


class DocumentHit(TypedDict):
    type: Literal["document"]
    id: int
    title: str
    title_html: str
    snippets_html: list[str]
    doc_number: str
    doc_type_label: str
    direction_label: str
    status_label: str
    updated_at: str
    url: str


class ArchiveHit(TypedDict):
    type: Literal["archive"]
    id: int
    title: str
    title_html: str
    snippets_html: list[str]
    archive_code: str
    doc_number: str
    record_date: str
    url: str


Hit = PersonHit | GroupHit | MessageHit | DocumentHit | ArchiveHit


class GlobalSearchResult(TypedDict):
    q: str
    tab: str
    page: int
    page_size: int
    counts: dict[str, int]
    total: int
    results: list[Hit]
    degraded: bool
    notice: str


# ---------------------------------------------------------------------------- who sees what


def message_scope(user: User) -> MessageScope:
    """The user's conversations with their history floors (one indexed query)."""
    rows = Membership.objects.filter(user_id=user.pk).values_list(
        "conversation_id", "joined_seq", "conversation__history_visible"
    )
    return MessageScope({cid: 0 if visible else joined for cid, joined, visible in rows})


def document_viewer(user: User) -> DocumentViewer:
    archivist_org_id = None
    if user.department_id and user.has_role(Role.ARCHIVIST):
        organisation = organisation_of_user(user)
        archivist_org_id = organisation.pk if organisation else None
    return DocumentViewer(
        user_id=user.pk,
        department_id=user.department_id,
        clearance=int(user.clearance),
        archivist_org_id=archivist_org_id,
    )


def _visible_messages(scope: MessageScope) -> QuerySet[Message]:
    whole = [cid for cid, floor in scope.floors.items() if floor <= 0]
    allowed = Q(conversation_id__in=whole)
    for conversation_id, floor in scope.floors.items():
        if floor > 0:
            allowed |= Q(conversation_id=conversation_id, seq__gt=floor)
    return Message.objects.filter(allowed, recalled_at__isnull=True)


# ---------------------------------------------------------------------------- the database tabs


def _people(params: SearchParams) -> QuerySet[User]:
    text = Q()
    for part in params.parts():
        text &= Q(full_name__icontains=part) | Q(username__icontains=part) | Q(department__name__icontains=part)
    return User.objects.filter(text, is_active=True).select_related("department", "position")


def _person_hit(user: User) -> PersonHit:
    return {
        "type": "person",
        "id": user.pk,
        "name": user.display_name,
        "username": user.username,
        "department": user.department.name if user.department else "",
        "position": user.position.name if user.position else "",
        "phone": user.phone,
        "url": f"{reverse('messaging-index')}?{urlencode({'peer': user.pk})}",
    }


def _groups(scope: MessageScope, params: SearchParams) -> QuerySet[Conversation]:
    """Group and department conversations of the user (``scope``: read in this request)."""
    text = Q()
    for part in params.parts():
        text &= Q(title__icontains=part)
    return Conversation.objects.filter(
        IdIn(F("pk"), list(scope.floors) or [0]), text, kind__in=[ConversationKind.GROUP, ConversationKind.DEPARTMENT]
    )


def _group_hit(conversation: Conversation, parts: list[str]) -> GroupHit:
    return {
        "type": "group",
        "id": conversation.pk,
        "title": conversation.title,
        "title_html": _marked(conversation.title, parts),
        "kind": conversation.kind,
        "member_count": int(conversation.member_count),  # type: ignore[attr-defined]  # annotated by the caller
        "url": f"{reverse('messaging-index')}?{urlencode({'c': conversation.pk})}",
    }


def _marked(text: str, parts: list[str]) -> str:
    """Escaped text with every part in <em> (case-insensitive on the folded text)."""
    folded = fold(text)
    lower = folded.casefold()
    spans: list[tuple[int, int]] = []
    for part in {p.casefold() for p in parts if p}:
        start = lower.find(part)
        while start >= 0:
            spans.append((start, start + len(part)))
            start = lower.find(part, start + len(part))
    out: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start < position:
            continue
        out += [html.escape(folded[position:start]), "<em>", html.escape(folded[start:end]), "</em>"]
        position = end
    out.append(html.escape(folded[position:]))
    return "".join(out)


def _snippet(text: str, parts: list[str], *, width: int = 80) -> str:
    """A window of ``text`` around the first match, marked (database fallback)."""
    folded = fold(text)
    lower = folded.casefold()
    found = [i for i in (lower.find(p.casefold()) for p in parts if p) if i >= 0]
    begin = max(0, min(found) - width // 3) if found else 0
    window = folded[begin : begin + width]
    return ("…" if begin else "") + _marked(window, parts) + ("…" if begin + width < len(folded) else "")


# ---------------------------------------------------------------------------- messages


def _time_label(moment: dt.datetime) -> str:
    """The Chinese way, local time: 2026年1月5日 09:30."""
    local = timezone.localtime(moment)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _conversation_titles(user: User, conversations: dict[int, Conversation]) -> dict[int, str]:
    """Titles as the chat list shows them: a direct chat is named after the other person."""
    titles = {cid: c.title or "群聊" for cid, c in conversations.items()}
    direct = [cid for cid, c in conversations.items() if c.kind == ConversationKind.DIRECT]
    if direct:
        peers = Membership.objects.filter(conversation_id__in=direct).exclude(user_id=user.pk).select_related("user")
        for row in peers:
            titles[row.conversation_id] = row.user.display_name
    return titles


def _message_hits(
    user: User, scope: MessageScope, ordered_ids: list[int], highlights: dict[int, str], parts: list[str]
) -> list[MessageHit]:
    """Hits in the given order, each re-checked in the database: a member of its
    conversation, above the history floor, not recalled. Snippets: Elasticsearch's
    highlight, else the text around the first literal match."""
    rows = {
        m.pk: m
        for m in Message.objects.filter(pk__in=ordered_ids, recalled_at__isnull=True).select_related(
            "sender", "attachment", "conversation"
        )
        # The scope (memberships and floors) was read from the database in this request.
        if m.conversation_id in scope.floors and m.seq > scope.floors[m.conversation_id]
    }
    titles = _conversation_titles(user, {m.conversation_id: m.conversation for m in rows.values()})
    base = reverse("messaging-index")
    hits: list[MessageHit] = []
    for message_id in ordered_ids:
        message = rows.get(message_id)
        if message is None:
            continue
        text = message.body
        if message.kind == MessageKind.FILE and message.attachment is not None:
            text = " ".join(part for part in (message.attachment.name, message.body) if part)
        hits.append(
            {
                "type": "message",
                "id": message.pk,
                "conversation_id": message.conversation_id,
                "conversation_title": titles.get(message.conversation_id, ""),
                "conversation_kind": message.conversation.kind,
                "seq": message.seq,
                "sender_name": message.sender.display_name if message.sender else "系统",
                "created_at": message.created_at.isoformat(),
                "time_label": _time_label(message.created_at),
                "snippet_html": highlights.get(message_id) or _snippet(text, parts),
                "url": f"{base}?{urlencode({'c': message.conversation_id, 'around': message.seq})}",
            }
        )
    return hits


def _messages_db(scope: MessageScope, params: SearchParams) -> QuerySet[Message]:
    text = Q()
    for part in params.parts():
        text &= Q(body__icontains=part) | Q(kind=MessageKind.FILE, attachment__name__icontains=part)
    return _visible_messages(scope).filter(text).order_by("-created_at", "-pk")


# ---------------------------------------------------------------------------- documents


def _document_hits(
    user: User, ordered_ids: list[int], highlights: dict[int, dict[str, list[str]]], parts: list[str]
) -> list[DocumentHit]:
    rows = {d.pk: d for d in visible_documents(user).filter(pk__in=ordered_ids)}
    hits: list[DocumentHit] = []
    for document_id in ordered_ids:
        document = rows.get(document_id)
        if document is None:
            continue
        highlight = highlights.get(document_id)
        if highlight is not None:
            title_html = highlight_html(highlight["title_std"][0]) if highlight.get("title_std") else html.escape(document.title)
            snippets = [highlight_html(fragment) for fragment in highlight.get("body_std", [])]
        else:
            title_html = _marked(document.title, parts)
            body = fold(document.body).casefold()
            snippets = [_snippet(document.body, parts, width=90)] if any(p.casefold() in body for p in parts) else []
        hits.append(
            {
                "type": "document",
                "id": document.pk,
                "title": document.title,
                "title_html": title_html,
                "snippets_html": snippets,
                "doc_number": document.doc_number,
                "doc_type_label": str(DocType(document.doc_type).label) if document.doc_type in DocType.values else "",
                "direction_label": str(Direction(document.direction).label),
                "status_label": str(DocumentStatus(document.status).label),
                "updated_at": document.updated_at.isoformat(),
                "url": document_url(document),
            }
        )
    return hits


def _documents_db(user: User, params: SearchParams) -> QuerySet[Document]:
    text = Q()
    for part in params.parts():
        text &= Q(title__icontains=part) | Q(body__icontains=part) | Q(doc_number__icontains=part)
    return visible_documents(user).filter(text).order_by("-updated_at", "-pk")


# ---------------------------------------------------------------------------- archives


def _archive_hits(user: User, params: SearchParams) -> tuple[list[ArchiveHit], int, bool]:
    result = archive_search(user=user, params=params, facets=False)
    hits: list[ArchiveHit] = [
        {
            "type": "archive",
            "id": hit["id"],
            "title": hit["title"],
            "title_html": hit["title_html"],
            "snippets_html": hit["snippets_html"],
            "archive_code": hit["archive_code"],
            "doc_number": hit["doc_number"],
            "record_date": hit["record_date"],
            "url": reverse("search-record", args=[hit["id"]]),
        }
        for hit in result["hits"]
    ]
    return hits, result["total"], result["degraded"]


def _archive_count_body(user: User, params: SearchParams) -> dict[str, Any]:
    body = search_body(viewer_of(user), SearchParams(q=params.q, page=1, page_size=1), with_facets=False)
    body["size"] = 0
    for key in ("sort", "highlight", "from"):
        body.pop(key, None)
    return body


# ---------------------------------------------------------------------------- the one entry


def validate(q: str, tab: str, page: int, page_size: int) -> SearchParams:
    if tab not in TABS:
        raise SearchQueryInvalid("未知的搜索分类。", extra={"tabs": list(TABS)})
    params = SearchParams(q=q.strip(), page=page, page_size=page_size)
    if not params.parts():
        raise SearchQueryInvalid("请输入搜索内容。")
    if len(params.q) > QUERY_MAX_CHARS:
        raise SearchQueryInvalid(f"搜索内容过长（最多 {QUERY_MAX_CHARS} 字）。")
    if page < 1 or not 1 <= page_size <= 100 or page * page_size > MAX_RESULT_WINDOW:
        raise SearchQueryInvalid(f"分页参数无效：页码从 1 开始，最多翻阅前 {MAX_RESULT_WINDOW} 条结果。")
    return params


class _SearchFailed(Exception):
    """One search of an ``_msearch`` failed (its error is in the reply, not raised)."""


def _hit_ids(response: dict[str, Any]) -> tuple[list[int], dict[int, Any]]:
    ids: list[int] = []
    highlights: dict[int, Any] = {}
    for hit in response.get("hits", {}).get("hits", []):
        object_id = int(hit["_id"])
        ids.append(object_id)
        if "highlight" in hit:
            highlights[object_id] = hit["highlight"]
    return ids, highlights


def _total(response: dict[str, Any]) -> int:
    if "error" in response:
        # A missing index (nothing indexed yet) is an empty tab; anything else is an outage.
        if response["error"].get("type") == "index_not_found_exception":
            return 0
        raise _SearchFailed(str(response["error"])[:500])
    return int(response["hits"]["total"]["value"])


_sender_lock = threading.Lock()
_sender: tuple[int, ThreadPoolExecutor] | None = None


def _searches() -> ThreadPoolExecutor:
    """Threads that wait for Elasticsearch on behalf of requests (one per pid: a forked
    HTTP worker starts its own)."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            _sender = (os.getpid(), ThreadPoolExecutor(max_workers=8, thread_name_prefix="global-search"))
        return _sender[1]


def _msearch(user: User, scope: MessageScope, params: SearchParams, tab: str) -> Future[Any]:
    """Send the messages and 公文 searches (hits for the open tab, else only the total) and
    the archive count as one ``_msearch``, without waiting for the answer."""
    client = es.client(timeout=5.0)
    searches: list[dict[str, Any]] = [
        {"index": es.alias_name(es.MESSAGES), "ignore_unavailable": True},
        message_search_body(scope, params, hits=tab == "messages"),
        {"index": es.alias_name(es.DOCUMENTS), "ignore_unavailable": True},
        document_search_body(document_viewer(user), params, hits=tab == "documents"),
    ]
    if tab != "archives":
        searches += [{"index": es.alias_name(es.ARCHIVES), "ignore_unavailable": True}, _archive_count_body(user, params)]
    return _searches().submit(client.msearch, searches=searches)


def global_search(*, user: User, q: str, tab: str = "messages", page: int = 1, page_size: int = PAGE_SIZE) -> GlobalSearchResult:
    """Search everything as ``user``: the counts of every tab and one page of ``tab``.

    Raises ``search.invalid_query`` (400) for an empty or over-long query, an unknown tab
    or bad paging. Never raises for an Elasticsearch outage: the result then comes from the
    database with ``degraded`` set.
    """
    params = validate(q, tab, page, page_size)
    parts = params.parts()
    start = (page - 1) * page_size
    counts: dict[str, int] = {}
    results: list[Hit] = []
    scope = message_scope(user)
    degraded = False
    in_flight: Future[Any] | Exception
    try:
        # Elasticsearch works while this thread counts people and groups in PostgreSQL.
        in_flight = _msearch(user, scope, params, tab)
    except es.SearchUnavailable as exc:
        in_flight = exc

    people = _people(params)
    counts["people"] = people.count()
    if tab == "people":
        results += [_person_hit(u) for u in people.order_by("full_name", "pk")[start : start + page_size]]
    groups = _groups(scope, params)
    counts["groups"] = groups.count()
    if tab == "groups":
        page_rows = groups.annotate(member_count=Count("memberships")).order_by("-last_message_at", "-pk")
        results += [_group_hit(c, parts) for c in page_rows[start : start + page_size]]

    try:
        if isinstance(in_flight, Exception):
            raise in_flight
        responses = in_flight.result()["responses"]
        counts["messages"] = _total(responses[0])
        counts["documents"] = _total(responses[1])
        if tab != "archives":
            counts["archives"] = _total(responses[2])
        if tab == "messages":
            ids, highlights = _hit_ids(responses[0])
            snippets = {mid: highlight_html(h["body_std"][0]) for mid, h in highlights.items() if h.get("body_std")}
            results += _message_hits(user, scope, ids, snippets, parts)
        elif tab == "documents":
            ids, highlights = _hit_ids(responses[1])
            results += _document_hits(user, ids, highlights, parts)
    except (es.SearchUnavailable, TransportError, ApiError, _SearchFailed) as exc:
        if isinstance(exc, ApiError) and getattr(exc, "status_code", 500) == 400:
            logger.exception("global search: Elasticsearch rejected the query")
        else:
            logger.warning("global search degraded: %s", exc)
        degraded = True
        results = [hit for hit in results if hit["type"] in ("person", "group")]
        messages = _messages_db(scope, params)
        counts["messages"] = messages.count()
        documents = _documents_db(user, params)
        counts["documents"] = documents.count()
        if tab != "archives":
            counts["archives"] = archive_count_db(user=user, params=params)
        if tab == "messages":
            page_ids = list(messages.values_list("pk", flat=True)[start : start + page_size])
            results += _message_hits(user, scope, page_ids, {}, parts)
        elif tab == "documents":
            page_ids = list(documents.values_list("pk", flat=True)[start : start + page_size])
            results += _document_hits(user, page_ids, {}, parts)
    if tab == "archives":
        archive_hits, archive_total, archive_degraded = _archive_hits(user, params)
        results += archive_hits
        counts["archives"] = archive_total
        degraded = degraded or archive_degraded
    return {
        "q": params.q,
        "tab": tab,
        "page": page,
        "page_size": page_size,
        "counts": {name: counts.get(name, 0) for name in TABS},
        "total": counts.get(tab, 0),
        "results": results,
        "degraded": degraded,
        "notice": DEGRADED_NOTICE if degraded else "",
    }
