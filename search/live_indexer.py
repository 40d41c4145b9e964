"""From messages and 公文 in circulation to Elasticsearch ``_bulk`` actions (全局搜索).

The core outbox (``officehub.indexing``) says only "message 42 changed" or "document 7
changed". The drain (``search.services.change_drain``) hands the ids here; this module
reads the objects as they are now, in a few queries per chunk, and turns each into one
action: ``index`` with the whole document, or ``delete`` when the object is gone or must
no longer be found (a recalled message). Every action carries the newest outbox id of its
object as external version, so a late or repeated write never replaces a newer one.

Text is prepared exactly as for archives (search/text.py): jieba words into ``*_seg``
(ranking), the folded text into ``*_std`` (one token per Han character: exact phrases
and highlights).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple, TypedDict

import orjson
from django.db.models import F
from elasticsearch import Elasticsearch

from documents.models import Direction, Document, Step
from documents.selectors import FINISHED_STATUSES
from messaging.models import Message, MessageKind
from officehub.indexing.models import IndexKind
from search import es
from search.indexer import IdIn
from search.text import DICTIONARY_VERSION, fold, normalise_doc_number, segment

INDEX_OF_KIND: dict[str, str] = {IndexKind.MESSAGE: es.MESSAGES, IndexKind.DOCUMENT: es.DOCUMENTS}


class MessageDoc(TypedDict):
    message_id: int
    conversation_id: int
    seq: int
    sender_id: int | None
    kind: str
    created_at: str
    body_seg: str
    body_std: str
    analysis_version: str


class DocumentDoc(TypedDict):
    document_id: int
    title_seg: str
    body_seg: str
    title_std: str
    body_std: str
    doc_number: str
    doc_type: str
    direction: str
    status: str
    updated_at: str
    analysis_version: str
    classification: int
    reader_ids: list[int]
    dept_ids: list[int]
    archive_org_id: int | None


class Action(NamedTuple):
    """One ``_bulk`` action: ``source`` is the JSON document, or None for a delete."""

    kind: str
    object_id: int
    version: int
    source: bytes | None


def message_text(kind: str, body: str, attachment_name: str | None) -> str:
    """What a message is found by: its text, or a file's name (with its caption)."""
    if kind == MessageKind.FILE:
        return " ".join(part for part in (attachment_name or "", body) if part)
    return body


def message_document(
    *, message_id: int, conversation_id: int, seq: int, sender_id: int | None, kind: str, created_at: dt.datetime, text: str
) -> MessageDoc:
    folded = fold(text)
    return {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "seq": seq,
        "sender_id": sender_id,
        "kind": kind,
        "created_at": created_at.isoformat(),
        "body_seg": segment(folded),
        "body_std": folded,
        "analysis_version": DICTIONARY_VERSION,
    }


def message_actions(versions: dict[int, int]) -> list[Action]:
    """One query for the chunk. A message that is recalled or no longer exists is deleted
    from the index; so is one with nothing to find (an empty text)."""
    rows = Message.objects.filter(IdIn(F("pk"), list(versions))).values_list(
        "id", "conversation_id", "seq", "sender_id", "kind", "body", "created_at", "recalled_at", "attachment__name"
    )
    found: dict[int, bytes | None] = {}
    for message_id, conversation_id, seq, sender_id, kind, body, created_at, recalled_at, attachment_name in rows:
        text = message_text(kind, body, attachment_name)
        if recalled_at is not None or not text.strip():
            found[message_id] = None
            continue
        found[message_id] = orjson.dumps(
            message_document(
                message_id=message_id, conversation_id=conversation_id, seq=seq, sender_id=sender_id, kind=kind,
                created_at=created_at, text=text,
            )
        )
    return [Action(IndexKind.MESSAGE, pk, versions[pk], found.get(pk)) for pk in sorted(versions)]


def _document_text(body: str, attachments: Any) -> str:
    parts = [body]
    for item in attachments if isinstance(attachments, list) else ():
        if isinstance(item, dict):
            parts += [str(item.get("title", "")), str(item.get("body", ""))]
    return "\n".join(part for part in parts if part)


def document_actions(versions: dict[int, int]) -> list[Action]:
    """Four queries for the chunk: the documents, their steps, their steps' holders and
    their explicit shares — the inputs of documents.selectors' visibility rule."""
    ids = list(versions)
    readers: dict[int, set[int]] = defaultdict(set)
    departments: dict[int, set[int]] = defaultdict(set)
    for document_id, department_id, actor_id in Step.objects.filter(IdIn(F("document_id"), ids)).values_list(
        "document_id", "department_id", "actor_id"
    ):
        if department_id is not None:
            departments[document_id].add(department_id)
        if actor_id is not None:
            readers[document_id].add(actor_id)
    holders = Step.holders.through.objects.filter(IdIn(F("step__document_id"), ids))
    for document_id, user_id in holders.values_list("step__document_id", "user_id"):
        readers[document_id].add(user_id)
    shares = Document.shared_with.through.objects.filter(IdIn(F("document_id"), ids))
    for document_id, user_id in shares.values_list("document_id", "user_id"):
        readers[document_id].add(user_id)
    found: dict[int, bytes] = {}
    rows = Document.objects.filter(IdIn(F("pk"), ids)).values_list(
        "id", "title", "body", "attachments", "doc_number", "doc_type", "direction", "status", "updated_at",
        "classification", "drafter_id", "drafting_department_id", "issuer_id", "recipient_organisation_id",
    )
    for (
        document_id, title, body, attachments, doc_number, doc_type, direction, status, updated_at, classification,
        drafter_id, drafting_department_id, issuer_id, recipient_id,
    ) in rows:
        document_readers = set(readers[document_id])
        document_departments = set(departments[document_id])
        if direction == Direction.OUTGOING:
            document_readers.add(drafter_id)
            document_departments.add(drafting_department_id)
        archive_org_id = None
        if status in FINISHED_STATUSES:
            archive_org_id = issuer_id if direction == Direction.OUTGOING else recipient_id
        title_std = fold(title)
        body_std = fold(_document_text(body, attachments))
        doc: DocumentDoc = {
            "document_id": document_id,
            "title_seg": segment(title_std),
            "body_seg": segment(body_std),
            "title_std": title_std,
            "body_std": body_std,
            "doc_number": normalise_doc_number(doc_number) if doc_number else "",
            "doc_type": doc_type,
            "direction": direction,
            "status": status,
            "updated_at": updated_at.isoformat(),
            "analysis_version": DICTIONARY_VERSION,
            "classification": classification,
            "reader_ids": sorted(document_readers),
            "dept_ids": sorted(document_departments),
            "archive_org_id": archive_org_id,
        }
        found[document_id] = orjson.dumps(doc)
    return [Action(IndexKind.DOCUMENT, pk, versions[pk], found.get(pk)) for pk in sorted(versions)]


BUILDERS = {IndexKind.MESSAGE: message_actions, IndexKind.DOCUMENT: document_actions}


def build_actions(kind: str, versions: dict[int, int]) -> list[Action]:
    """Actions for objects of one kind: object id → newest outbox id (the version)."""
    return BUILDERS[IndexKind(kind)](versions) if versions else []


def bulk_body(actions: Iterable[Action]) -> bytes:
    """NDJSON for ``_bulk``: each action names its index (the alias) and external version."""
    lines: list[bytes] = []
    for action in actions:
        meta = {
            "_index": es.alias_name(INDEX_OF_KIND[action.kind]),
            "_id": str(action.object_id),
            "version": action.version,
            "version_type": "external",
        }
        if action.source is None:
            lines.append(orjson.dumps({"delete": meta}))
        else:
            lines.append(orjson.dumps({"index": meta}))
            lines.append(action.source)
    lines.append(b"")
    return b"\n".join(lines)


class BulkOutcome(TypedDict):
    ok: list[tuple[str, int]]
    failed: dict[tuple[str, int], str]


def send_bulk(client: Elasticsearch, actions: list[Action], *, refresh: bool = False) -> BulkOutcome:
    """Send one ``_bulk`` and say which (kind, object id) Elasticsearch took. A version
    conflict means a newer (or the same) write is already there; a delete of a document
    that is not there has nothing to do: both count as done. Items come back in request
    order, so only statuses and errors are asked for. Transport errors propagate."""
    outcome: BulkOutcome = {"ok": [], "failed": {}}
    if not actions:
        return outcome
    response = client.bulk(
        body=bulk_body(actions),  # type: ignore[arg-type]  # ready NDJSON bytes
        refresh=refresh,
        require_alias=True,
        filter_path="errors,items.*.status,items.*.error",
    )
    items = response.get("items", [])
    for action, item in zip(actions, items, strict=False):
        result = next(iter(item.values()))
        status = int(result.get("status", 500))
        key = (action.kind, action.object_id)
        if status < 300 or status == 409 or (action.source is None and status == 404):
            outcome["ok"].append(key)
        else:
            outcome["failed"][key] = json.dumps(result.get("error", {}), ensure_ascii=False)[:2000]
    return outcome
