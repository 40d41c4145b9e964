"""The Elasticsearch client, index names and mappings.

Index ``{prefix}-archives-v{N}`` sits behind the alias ``{prefix}-archives``; reads and
writes go through the alias, reindexing builds ``v{N+1}`` and swaps the alias atomically.
Messages and 公文 in circulation (全局搜索) have their own indices the same way:
``{prefix}-messages`` and ``{prefix}-documents`` (the ``name`` argument below).
The server is the integ-test build (DESIGN.md §7): only core analyzers exist, so the
mapping uses ``whitespace`` (words cut by jieba in text.py) and ``standard`` (one token per
Han character) and nothing from ``analysis-common``.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from django.conf import settings
from elasticsearch import BadRequestError, Elasticsearch

MAPPING_VERSION = 1

_clients: dict[tuple[str, float], Elasticsearch] = {}
_clients_lock = threading.Lock()


class SearchUnavailable(Exception):
    """Elasticsearch is not configured or does not answer."""


def client(*, timeout: float = 5.0) -> Elasticsearch:
    """A pooled client for the configured URL (settings are read per call, not at import).

    No client-side retries: callers either degrade (search) or leave the outbox row for
    the next drain, both better than holding a request for several timeouts.
    """
    url = settings.ELASTICSEARCH_URL
    if not url:
        raise SearchUnavailable("ELASTICSEARCH_URL is not set")
    key = (url, timeout)
    found = _clients.get(key)
    if found is None:
        with _clients_lock:
            found = _clients.get(key)
            if found is None:
                found = Elasticsearch(url, request_timeout=timeout, max_retries=0, retry_on_timeout=False)
                _clients[key] = found
    return found


ARCHIVES = "archives"
MESSAGES = "messages"
DOCUMENTS = "documents"


def alias_name(name: str = ARCHIVES) -> str:
    return f"{settings.ELASTICSEARCH_INDEX_PREFIX}-{name}"


def index_name(version: int, name: str = ARCHIVES) -> str:
    return f"{alias_name(name)}-v{version}"


def _keyword() -> dict[str, Any]:
    return {"type": "keyword"}


def _std() -> dict[str, Any]:
    """One token per Han character (``standard``), with offsets for highlighting."""
    return {"type": "text", "analyzer": "standard", "index_options": "offsets"}


def _seg() -> dict[str, Any]:
    """Words cut by jieba in text.py, split on white space."""
    return {"type": "text", "analyzer": "whitespace", "norms": True}


def _settings() -> dict[str, Any]:
    return {
        "number_of_shards": settings.ELASTICSEARCH_SHARDS,
        "number_of_replicas": settings.ELASTICSEARCH_REPLICAS,
        "refresh_interval": "1s",
    }


def index_body(name: str = ARCHIVES) -> dict[str, Any]:
    """Settings and mapping of one index version of ``name``."""
    if name == MESSAGES:
        return message_index_body()
    if name == DOCUMENTS:
        return document_index_body()
    std = _std()
    seg = _seg()
    return {
        "settings": _settings(),
        "mappings": {
            "dynamic": "strict",
            "_meta": {"mapping_version": MAPPING_VERSION},
            "properties": {
                "record_id": {"type": "long"},
                # Ranking: jieba words, whitespace-analysed.
                "title_seg": seg,
                "body_seg": seg,
                # Exact phrases and highlights: one token per Han character.
                "title_std": std,
                "body_std": std,
                # Codes and facets.
                "archive_code": _keyword(),
                "doc_number": {"type": "keyword", "fields": {"std": {"type": "text", "analyzer": "standard"}}},
                "issuer": _keyword(),
                "doc_type": _keyword(),
                "year": {"type": "integer"},
                "retention": _keyword(),
                "classification": {"type": "byte"},
                "unit_code": _keyword(),
                "fonds_code": _keyword(),
                "record_date": {"type": "date", "format": "yyyy-MM-dd"},
                "page_count": {"type": "integer"},
                "analysis_version": _keyword(),
                # Permission fields: who may see the record (query.permission_filter).
                "org_id": {"type": "long"},
                "scope_dept_ids": {"type": "long"},
                "reader_ids": {"type": "long"},
            },
        },
    }


def message_index_body() -> dict[str, Any]:
    """Chat messages. Who may see one is decided at query time from the database
    (membership and the history floor, search.live_query), so the document carries only
    where it sits: conversation and seq."""
    return {
        "settings": _settings(),
        "mappings": {
            "dynamic": "strict",
            "_meta": {"mapping_version": MAPPING_VERSION},
            "properties": {
                "message_id": {"type": "long"},
                "conversation_id": {"type": "long"},
                "seq": {"type": "long"},
                "sender_id": {"type": "long"},
                "kind": _keyword(),
                "created_at": {"type": "date"},
                "body_seg": _seg(),
                "body_std": _std(),
                "analysis_version": _keyword(),
            },
        },
    }


def document_index_body() -> dict[str, Any]:
    """公文 in circulation. The permission fields mirror documents.selectors' visibility
    rule and are rewritten whenever the document moves (its steps add holders and
    departments): reader_ids (drafter of an outgoing document, every step's holders and
    actors, explicit shares), dept_ids (drafting department of an outgoing document,
    every step's department), archive_org_id (the holding organisation, once finished:
    its archivists may open it) and classification."""
    return {
        "settings": _settings(),
        "mappings": {
            "dynamic": "strict",
            "_meta": {"mapping_version": MAPPING_VERSION},
            "properties": {
                "document_id": {"type": "long"},
                "title_seg": _seg(),
                "body_seg": _seg(),
                "title_std": _std(),
                "body_std": _std(),
                "doc_number": {"type": "keyword", "fields": {"std": {"type": "text", "analyzer": "standard"}}},
                "doc_type": _keyword(),
                "direction": _keyword(),
                "status": _keyword(),
                "updated_at": {"type": "date"},
                "analysis_version": _keyword(),
                "classification": {"type": "byte"},
                "reader_ids": {"type": "long"},
                "dept_ids": {"type": "long"},
                "archive_org_id": {"type": "long"},
            },
        },
    }


_VERSION_RE = re.compile(r"-v(\d+)$")


def existing_versions(es: Elasticsearch, name: str = ARCHIVES) -> list[int]:
    found = es.indices.get(index=f"{alias_name(name)}-v*", allow_no_indices=True, expand_wildcards="open")
    versions = []
    for name in found:
        match = _VERSION_RE.search(name)
        if match:
            versions.append(int(match.group(1)))
    return sorted(versions)


def current_index(es: Elasticsearch, name: str = ARCHIVES) -> str | None:
    """The index the alias points to, or None when there is no alias yet (one request: every
    drain asks)."""
    found = es.options(ignore_status=404).indices.get_alias(name=alias_name(name))
    if found.meta.status == 404:
        return None
    return next(iter(found.body))


def ensure_index(es: Elasticsearch, name: str = ARCHIVES) -> str:
    """Return the alias's index, creating ``v1`` with the alias when there is no index yet.

    Safe when drains start at once: ``v1`` is created together with its alias in one
    request, so every racer asks for the same name and all but one are told it exists.
    Versions without the alias (it was removed by hand, or an older release crashed
    between creating and aliasing) get the alias back on the newest one, which every
    racer also agrees on; no new empty version is made while data sits in an old one.
    """
    existing = current_index(es, name)
    if existing:
        return existing
    versions = existing_versions(es, name)
    index = index_name(versions[-1] if versions else 1, name)
    if versions:
        es.indices.put_alias(index=index, name=alias_name(name))
    else:
        try:
            es.indices.create(index=index, aliases={alias_name(name): {}}, **index_body(name))
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
    return current_index(es, name) or index
