"""Elasticsearch bodies of 全局搜索 over messages and 公文 in circulation.

Each body has the viewer's permission filter in its ``bool.filter``, so hits, totals and
highlights only ever come from objects the viewer may open (every shown hit is then
re-checked in the database, search.global_search):

- a message: its conversation is one the viewer is a member of, and its seq is above the
  viewer's history floor there (a group that hides its history from new members). The
  membership list is read from the database at every search, so joining or leaving a
  group needs no reindex;
- a 公文: the mirror of documents.selectors' visibility rule over the permission fields
  the indexer wrote (search.es.document_index_body) and the viewer's clearance.

The query text is cut exactly like the archive's (search.query.SearchParams.terms,
search.text.words): every part must match, as an exact phrase on the per-character field
or as all of its jieba words; quoted parts only as phrases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search.query import SearchParams
from search.text import HIGHLIGHT_POST, HIGHLIGHT_PRE, fold, normalise_doc_number, words


@dataclass(frozen=True)
class MessageScope:
    """The conversations a viewer belongs to: id → history floor (0 = all history)."""

    floors: dict[int, int]


@dataclass(frozen=True)
class DocumentViewer:
    user_id: int
    department_id: int | None
    clearance: int
    archivist_org_id: int | None


def message_filter(scope: MessageScope) -> dict[str, Any]:
    whole = sorted(cid for cid, floor in scope.floors.items() if floor <= 0)
    should: list[dict[str, Any]] = []
    if whole:
        should.append({"terms": {"conversation_id": whole}})
    for conversation_id, floor in sorted(scope.floors.items()):
        if floor > 0:
            should.append(
                {"bool": {"filter": [{"term": {"conversation_id": conversation_id}}, {"range": {"seq": {"gt": floor}}}]}}
            )
    if not should:
        return {"bool": {"must_not": [{"match_all": {}}]}}  # a member of nothing sees nothing
    return {"bool": {"should": should, "minimum_should_match": 1}}


def document_filter(viewer: DocumentViewer) -> dict[str, Any]:
    may_open: list[dict[str, Any]] = [{"term": {"reader_ids": viewer.user_id}}]
    if viewer.department_id is not None:
        may_open.append({"term": {"dept_ids": viewer.department_id}})
        if viewer.archivist_org_id is not None:
            may_open.append({"term": {"archive_org_id": viewer.archivist_org_id}})
    return {
        "bool": {
            "filter": [
                {"range": {"classification": {"lte": viewer.clearance}}},
                {"bool": {"should": may_open, "minimum_should_match": 1}},
            ]
        }
    }


def _part(part: str, exact: bool, *, phrases: Mapping[str, float], segmented: Mapping[str, float]) -> dict[str, Any]:
    should: list[dict[str, Any]] = [
        {"match_phrase": {name: {"query": part, "boost": boost}}} for name, boost in phrases.items()
    ]
    seg = "" if exact else " ".join(words(part))
    if seg:
        should += [{"match": {name: {"query": seg, "operator": "and", "boost": boost}}} for name, boost in segmented.items()]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def message_text_query(params: SearchParams) -> dict[str, Any] | None:
    terms = params.terms()
    if not terms:
        return None
    return {"bool": {"must": [_part(p, e, phrases={"body_std": 2}, segmented={"body_seg": 1}) for p, e in terms]}}


def document_text_query(params: SearchParams) -> dict[str, Any] | None:
    terms = params.terms()
    if not terms:
        return None
    phrases = {"title_std": 6, "body_std": 2, "doc_number.std": 4}
    segmented = {"title_seg": 3, "body_seg": 1}
    raw = fold(params.q).strip().strip("\"“”")
    return {
        "bool": {
            "should": [
                {"bool": {"must": [_part(p, e, phrases=phrases, segmented=segmented) for p, e in terms]}},
                {"term": {"doc_number": {"value": normalise_doc_number(raw), "boost": 20}}},
            ],
            "minimum_should_match": 1,
        }
    }


def _highlight(params: SearchParams, fields: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    should: list[dict[str, Any]] = []
    for part, exact in params.terms():
        terms = {part} if exact else {part} | {w for w in words(part) if len(w) > 1}
        for term in sorted(terms):
            should += [{"match_phrase": {name: term}} for name in fields]
    if not should:
        return None
    return {
        "pre_tags": [HIGHLIGHT_PRE],
        "post_tags": [HIGHLIGHT_POST],
        "highlight_query": {"bool": {"should": should}},
        "fields": fields,
    }


def _body(query: dict[str, Any] | None, permission: dict[str, Any], *, start: int, size: int) -> dict[str, Any]:
    return {
        # No text: nothing is listed (全局搜索 always has a query; the API refuses none).
        "query": {"bool": {"must": [query] if query else [{"match_none": {}}], "filter": [permission]}},
        "from": start,
        "size": size,
        "_source": False,
        "track_total_hits": True,
    }


def message_search_body(scope: MessageScope, params: SearchParams, *, hits: bool) -> dict[str, Any]:
    """Newest first (as chat search is read); with ``hits`` False only the total."""
    body = _body(
        message_text_query(params), message_filter(scope),
        start=(params.page - 1) * params.page_size if hits else 0, size=params.page_size if hits else 0,
    )
    if hits:
        body["sort"] = [{"created_at": "desc"}, {"message_id": "desc"}]
        highlight = _highlight(params, {"body_std": {"fragment_size": 80, "number_of_fragments": 1, "no_match_size": 80}})
        if highlight:
            body["highlight"] = highlight
    return body


def document_search_body(viewer: DocumentViewer, params: SearchParams, *, hits: bool) -> dict[str, Any]:
    """By relevance, then most recently changed; with ``hits`` False only the total."""
    body = _body(
        document_text_query(params), document_filter(viewer),
        start=(params.page - 1) * params.page_size if hits else 0, size=params.page_size if hits else 0,
    )
    if hits:
        body["sort"] = ["_score", {"updated_at": "desc"}, {"document_id": "desc"}]
        highlight = _highlight(
            params,
            {
                "title_std": {"number_of_fragments": 0},
                "body_std": {"fragment_size": 90, "number_of_fragments": 2, "no_match_size": 0},
            },
        )
        if highlight:
            body["highlight"] = highlight
    return body
