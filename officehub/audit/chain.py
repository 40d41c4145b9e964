"""The audit hash chain: hash_n = SHA-256(canonical JSON of entry n + hash_{n-1})."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from officehub.audit.models import GENESIS_HASH


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(
    *,
    seq: int,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    data: Any,
    prev_hash: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "created_at": created_at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "data": data,
        }
    )
    return hashlib.sha256((body + prev_hash).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    entry_id: int
    reason: str


def first_break(entries: Iterable[Any]) -> ChainBreak | None:
    """Walk entries in storage order and return the first one that does not fit the chain.

    Catches an edited entry (its hash no longer matches), a deleted one (a gap in seq and
    a prev_hash pointing at nothing), an inserted one (a prev_hash or seq out of line) and
    a reordering (seq not strictly following on from the previous entry).
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainBreak(entry.seq, entry.pk, f"序号应为 {expected_seq}，实为 {entry.seq}（记录被删除、插入或调换）")
        if entry.prev_hash != expected_prev:
            return ChainBreak(entry.seq, entry.pk, "前一条哈希不符（记录被删除、插入或调换）")
        recomputed = entry_hash(
            seq=entry.seq,
            created_at=entry.created_at,
            actor_id=entry.actor_id,
            actor_label=entry.actor_label,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            data=entry.data,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            return ChainBreak(entry.seq, entry.pk, "内容哈希不符（记录被修改）")
        expected_prev = entry.hash
        expected_seq += 1
    return None
