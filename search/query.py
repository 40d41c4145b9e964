"""Elasticsearch query bodies: text, filters, facets, highlights and the permission filter.

Every body built here has the viewer's permission filter in its ``bool.filter``; facets
are aggregations of that same filtered query, so no count includes a record the viewer
may not open.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from search.text import (
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
    fold,
    normalise_code,
    normalise_doc_number,
    words,
)

_QUOTED_RE = re.compile(r'["“]([^"“”]*)["”]')
FACET_FIELDS = ("year", "doc_type", "issuer", "retention", "unit_code", "classification")
MAX_RESULT_WINDOW = 10_000


@dataclass(frozen=True)
class Viewer:
    """What the permission filter needs to know about the person searching."""

    user_id: int
    clearance: int
    department_ids: tuple[int, ...]  # the user's department and every ancestor
    archivist_org_id: int | None  # archivists see their whole fonds


@dataclass
class SearchParams:
    q: str = ""
    year_from: int | None = None
    year_to: int | None = None
    doc_types: list[str] = field(default_factory=list)
    issuers: list[str] = field(default_factory=list)
    retentions: list[str] = field(default_factory=list)
    unit_codes: list[str] = field(default_factory=list)
    classifications: list[int] = field(default_factory=list)
    sort: str = "relevance"  # or "date" (newest first) / "date_asc"
    page: int = 1
    page_size: int = 20

    def terms(self) -> list[tuple[str, bool]]:
        """The query's parts as (text, exact): a part in quotes ("…" or “…”) is an exact
        phrase; other parts are separated by white space."""
        out: list[tuple[str, bool]] = []
        folded = fold(self.q)
        position = 0
        for match in _QUOTED_RE.finditer(folded):
            out += [(part, False) for part in folded[position : match.start()].split()]
            inner = match.group(1).strip()
            if inner:
                out.append((inner, True))
            position = match.end()
        out += [(part, False) for part in folded[position:].replace('"', " ").replace("“", " ").replace("”", " ").split()]
        return out

    def parts(self) -> list[str]:
        return [text for text, _exact in self.terms()]


def permission_filter(viewer: Viewer) -> dict[str, Any]:
    scope: list[dict[str, Any]] = [{"term": {"reader_ids": viewer.user_id}}]
    if viewer.department_ids:
        scope.append({"terms": {"scope_dept_ids": list(viewer.department_ids)}})
    if viewer.archivist_org_id is not None:
        scope.append({"term": {"org_id": viewer.archivist_org_id}})
    return {
        "bool": {
            "filter": [
                {"range": {"classification": {"lte": viewer.clearance}}},
                {"bool": {"should": scope, "minimum_should_match": 1}},
            ]
        }
    }


def user_filters(params: SearchParams) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if params.year_from is not None or params.year_to is not None:
        bounds: dict[str, int] = {}
        if params.year_from is not None:
            bounds["gte"] = params.year_from
        if params.year_to is not None:
            bounds["lte"] = params.year_to
        filters.append({"range": {"year": bounds}})
    for name, values in (
        ("doc_type", params.doc_types),
        ("issuer", params.issuers),
        ("retention", params.retentions),
        ("unit_code", params.unit_codes),
        ("classification", params.classifications),
    ):
        if values:
            filters.append({"terms": {name: list(values)}})
    return filters


def _part_query(part: str, exact: bool) -> dict[str, Any]:
    """One part of the query: an exact phrase (character tokens) or, unless quoted, all of
    its jieba words; title counts more than body."""
    should: list[dict[str, Any]] = [
        {"match_phrase": {"title_std": {"query": part, "boost": 6}}},
        {"match_phrase": {"body_std": {"query": part, "boost": 2}}},
        {"match_phrase": {"doc_number.std": {"query": part, "boost": 4}}},
    ]
    seg = "" if exact else " ".join(words(part))
    if seg:
        should += [
            {"match": {"title_seg": {"query": seg, "operator": "and", "boost": 3}}},
            {"match": {"body_seg": {"query": seg, "operator": "and"}}},
        ]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def text_query(params: SearchParams) -> dict[str, Any] | None:
    terms = params.terms()
    if not terms:
        return None
    raw = fold(params.q).strip().strip("\"“”")
    return {
        "bool": {
            "should": [
                {"bool": {"must": [_part_query(part, exact) for part, exact in terms]}},
                # doc_number and archive_code are exact: the whole query, canonicalised.
                {"term": {"doc_number": {"value": normalise_doc_number(raw), "boost": 20}}},
                {"term": {"archive_code": {"value": normalise_code(raw), "boost": 20}}},
            ],
            "minimum_should_match": 1,
        }
    }


def highlight_query(params: SearchParams) -> dict[str, Any] | None:
    """Highlight the parts as phrases and, for word matches, each jieba word."""
    should: list[dict[str, Any]] = []
    for part, exact in params.terms():
        terms = {part} if exact else {part} | {w for w in words(part) if len(w) > 1}
        for term in sorted(terms):
            for name in ("title_std", "body_std"):
                should.append({"match_phrase": {name: term}})
    return {"bool": {"should": should}} if should else None


def search_body(viewer: Viewer, params: SearchParams, *, with_facets: bool = True) -> dict[str, Any]:
    text = text_query(params)
    body: dict[str, Any] = {
        "query": {
            "bool": {
                "must": [text] if text else [{"match_all": {}}],
                "filter": [permission_filter(viewer), *user_filters(params)],
            }
        },
        "from": (params.page - 1) * params.page_size,
        "size": params.page_size,
        "_source": False,
        "track_total_hits": True,
    }
    if params.sort == "date" or (params.sort == "relevance" and text is None):
        body["sort"] = [{"record_date": "desc"}, {"record_id": "desc"}]
    elif params.sort == "date_asc":
        body["sort"] = [{"record_date": "asc"}, {"record_id": "asc"}]
    else:
        body["sort"] = ["_score", {"record_date": "desc"}, {"record_id": "desc"}]
    if with_facets:
        body["aggs"] = {name: {"terms": {"field": name, "size": 50}} for name in FACET_FIELDS}
    hq = highlight_query(params)
    if hq:
        body["highlight"] = {
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
            "highlight_query": hq,
            "fields": {
                "title_std": {"number_of_fragments": 0},
                "body_std": {"fragment_size": 90, "number_of_fragments": 2, "no_match_size": 0},
            },
        }
    return body


def highlight_html(fragment: str) -> str:
    """Escape everything, then turn our private-use markers into ``<em>`` tags.

    The markers cannot occur in indexed text (text.fold strips them), so the only tags in
    the output are the ones made here.
    """
    escaped = html.escape(fragment, quote=True)
    marked = escaped.replace(HIGHLIGHT_PRE, "<em>").replace(HIGHLIGHT_POST, "</em>")
    # The standard analyzer highlights a phrase character by character: join the runs.
    return marked.replace("</em><em>", "")
