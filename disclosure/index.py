"""The portal's own Elasticsearch index: public documents only.

Index ``{prefix}-portal-v{N}`` behind the alias ``{prefix}-portal``, apart from the
archive's: nothing internal is ever written to it, so a query on it cannot match what
is not published whatever the query says (and every hit is re-checked in the database
all the same). The Chinese text is handled exactly as the archive's (``search.text``:
jieba words in whitespace-analysed ``*_seg`` fields for ranking, one token per Han
character in ``standard`` ``*_std`` fields for exact phrases and highlights), so search
quality is the same.

Writes come from ``PortalOutbox`` rows (``disclosure.services.portal_drain``): a published
publication is indexed, a withdrawn (or vanished) one deleted, each with the outbox id
as external version.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any, NamedTuple, TypedDict

import orjson
from django.conf import settings
from django.db.models import F
from elasticsearch import BadRequestError, Elasticsearch

from disclosure.models import Publication, PublicationState, PublicationText
from search.indexer import IdIn
from search.text import DICTIONARY_VERSION, fold, normalise_doc_number, segment

MAPPING_VERSION = 1


def alias_name() -> str:
    return f"{settings.ELASTICSEARCH_INDEX_PREFIX}-portal"


def index_name(version: int) -> str:
    return f"{alias_name()}-v{version}"


def index_body() -> dict[str, Any]:
    std = {"type": "text", "analyzer": "standard", "index_options": "offsets"}
    seg = {"type": "text", "analyzer": "whitespace", "norms": True}
    return {
        "settings": {
            "number_of_shards": settings.ELASTICSEARCH_SHARDS,
            "number_of_replicas": settings.ELASTICSEARCH_REPLICAS,
            "refresh_interval": "1s",
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"mapping_version": MAPPING_VERSION},
            "properties": {
                "publication_id": {"type": "long"},
                "document_id": {"type": "long"},
                "title_seg": seg,
                "body_seg": seg,
                "title_std": std,
                "body_std": std,
                "doc_number": {"type": "keyword", "fields": {"std": {"type": "text", "analyzer": "standard"}}},
                "issuer": {"type": "keyword"},
                "issuer_id": {"type": "long"},
                "doc_type": {"type": "keyword"},
                "year": {"type": "integer"},
                "issued_on": {"type": "date", "format": "yyyy-MM-dd"},
                "analysis_version": {"type": "keyword"},
            },
        },
    }


def current_index(es: Elasticsearch) -> str | None:
    found = es.options(ignore_status=404).indices.get_alias(name=alias_name())
    if found.meta.status == 404:
        return None
    return next(iter(found.body))


def ensure_index(es: Elasticsearch) -> str:
    """The alias's index, creating ``v1`` together with its alias when there is none (one
    request, so concurrent drains agree; all but one are told it exists)."""
    existing = current_index(es)
    if existing:
        return existing
    name = index_name(1)
    try:
        es.indices.create(index=name, aliases={alias_name(): {}}, **index_body())
    except BadRequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
    return current_index(es) or name


class PortalDoc(TypedDict):
    publication_id: int
    document_id: int
    title_seg: str
    body_seg: str
    title_std: str
    body_std: str
    doc_number: str
    issuer: str
    issuer_id: int
    doc_type: str
    year: int
    issued_on: str
    analysis_version: str


class Action(NamedTuple):
    """One ``_bulk`` action: ``source`` is the JSON to index, or None to delete."""

    publication_id: int
    version: int
    source: str | None


_FIELDS = ("id", "document_id", "state", "title", "body", "doc_number", "issuer_name", "issuer_id", "doc_type",
           "year", "issued_on")


def analysed(publication_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(title words, body words) per publication: kept ones of the current dictionary,
    the others cut now and kept."""
    kept = PublicationText.objects.filter(
        IdIn(F("publication_id"), publication_ids), dictionary_version=DICTIONARY_VERSION
    ).values_list("publication_id", "title_seg", "body_seg")
    found = {pk: (title, body) for pk, title, body in kept}
    missing = [pk for pk in publication_ids if pk not in found]
    if missing:
        texts = []
        for pk, title, body in Publication.objects.filter(IdIn(F("pk"), missing)).values_list("id", "title", "body"):
            found[pk] = (segment(fold(title)), segment(fold(body)))
            texts.append(PublicationText(publication_id=pk, dictionary_version=DICTIONARY_VERSION,
                                         title_seg=found[pk][0], body_seg=found[pk][1]))
        PublicationText.objects.bulk_create(
            texts, update_conflicts=True, unique_fields=["publication"],
            update_fields=["dictionary_version", "title_seg", "body_seg"],
        )
    return found


def build_actions(publication_ids: Collection[int], versions: dict[int, int]) -> list[Action]:
    """What to send for each publication: its document while published, a delete
    otherwise (withdrawn, or the row is gone). Three queries when the words are kept."""
    ids = sorted(publication_ids)
    if not ids:
        return []
    rows = {row[0]: row for row in Publication.objects.filter(IdIn(F("pk"), ids)).values_list(*_FIELDS)}
    published = [pk for pk in ids if pk in rows and rows[pk][2] == PublicationState.PUBLISHED]
    words = analysed(published) if published else {}
    actions = []
    for pk in ids:
        if pk not in words:
            actions.append(Action(pk, versions[pk], None))
            continue
        _id, document_id, _state, title, body, doc_number, issuer_name, issuer_id, doc_type, year, issued_on = rows[pk]
        doc: PortalDoc = {
            "publication_id": pk,
            "document_id": document_id,
            "title_seg": words[pk][0],
            "body_seg": words[pk][1],
            "title_std": fold(title),
            "body_std": fold(body),
            "doc_number": normalise_doc_number(doc_number) if doc_number else "",
            "issuer": issuer_name,
            "issuer_id": issuer_id,
            "doc_type": doc_type,
            "year": year,
            "issued_on": issued_on.isoformat(),
            "analysis_version": DICTIONARY_VERSION,
        }
        actions.append(Action(pk, versions[pk], orjson.dumps(doc).decode()))
    return actions


def bulk_body(actions: list[Action]) -> bytes:
    lines: list[str] = []
    for action in actions:
        meta = f'{{"_id":"{action.publication_id}","version":{action.version},"version_type":"external"}}'
        if action.source is None:
            lines.append(f'{{"delete":{meta}}}')
        else:
            lines.append(f'{{"index":{meta}}}')
            lines.append(action.source)
    lines.append("")
    return "\n".join(lines).encode()


class BulkOutcome(TypedDict):
    ok: list[int]
    failed: dict[int, str]


def send_bulk(es: Elasticsearch, body: bytes) -> BulkOutcome:
    """One ``_bulk`` to the alias (``require_alias``: never a concrete index by accident).
    A version conflict means a newer or equal write is there already, and a delete of a
    missing document finds what it wants: both count as done."""
    outcome: BulkOutcome = {"ok": [], "failed": {}}
    response = es.bulk(
        index=alias_name(),
        body=body,  # type: ignore[arg-type]  # ready NDJSON bytes
        require_alias=True,
        filter_path="errors,items.*._id,items.*.status,items.*.error",
    )
    for item in response.get("items", []):
        kind, result = next(iter(item.items()))
        publication_id = int(result["_id"])
        status = result.get("status", 500)
        if status < 300 or status == 409 or (kind == "delete" and status == 404):
            outcome["ok"].append(publication_id)
        else:
            outcome["failed"][publication_id] = json.dumps(result.get("error", {}), ensure_ascii=False)[:2000]
    return outcome
