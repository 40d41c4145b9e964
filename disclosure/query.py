"""Query bodies for the portal index: the archive's Chinese matching (search.query), on
public documents, narrowed by issuer, year and 文种."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search.query import SearchParams, highlight_query
from search.text import HIGHLIGHT_POST, HIGHLIGHT_PRE, fold, normalise_doc_number, words

FACETS = ("issuer_id", "year", "doc_type")
MAX_RESULT_WINDOW = 10_000


@dataclass(frozen=True)
class PortalParams:
    q: str = ""
    issuer_id: int | None = None
    year: int | None = None
    doc_type: str = ""
    page: int = 1
    page_size: int = 20

    def text(self) -> SearchParams:
        """The archive's query parser: quoted parts are exact phrases, the rest words."""
        return SearchParams(q=self.q)

    def cache_key(self) -> str:
        return f"{fold(self.q).strip()}|{self.issuer_id}|{self.year}|{self.doc_type}|{self.page}|{self.page_size}"


def _part_query(part: str, exact: bool) -> dict[str, Any]:
    """As ``search.query``: the part as an exact phrase (character tokens) or, unless
    quoted, all of its jieba words; the title counts more than the body."""
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


def text_query(params: PortalParams) -> dict[str, Any] | None:
    terms = params.text().terms()
    if not terms:
        return None
    raw = fold(params.q).strip().strip("\"“”")
    return {
        "bool": {
            "should": [
                {"bool": {"must": [_part_query(part, exact) for part, exact in terms]}},
                # A 发文字号 however it is typed (〔〕, [], （）, leading zeros): the canonical one.
                {"term": {"doc_number": {"value": normalise_doc_number(raw), "boost": 20}}},
            ],
            "minimum_should_match": 1,
        }
    }


def filters(params: PortalParams) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if params.issuer_id is not None:
        out.append({"term": {"issuer_id": params.issuer_id}})
    if params.year is not None:
        out.append({"term": {"year": params.year}})
    if params.doc_type:
        out.append({"term": {"doc_type": params.doc_type}})
    return out


def portal_body(params: PortalParams, *, with_facets: bool = True) -> dict[str, Any]:
    text = text_query(params)
    body: dict[str, Any] = {
        "query": {"bool": {"must": [text] if text else [{"match_all": {}}], "filter": filters(params)}},
        "from": (params.page - 1) * params.page_size,
        "size": params.page_size,
        "_source": False,
        "track_total_hits": True,
        "sort": (
            ["_score", {"issued_on": "desc"}, {"publication_id": "desc"}]
            if text
            else [{"issued_on": "desc"}, {"publication_id": "desc"}]
        ),
    }
    if with_facets:
        body["aggs"] = {name: {"terms": {"field": name, "size": 100}} for name in FACETS}
    hq = highlight_query(params.text())
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
