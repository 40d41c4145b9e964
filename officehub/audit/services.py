"""``audit(...)``: the one way any service records what happened.

Lock order (one for the whole platform, so no two transactions can wait on each other):

1. entity rows first, each table in the order of the list below and, within a table,
   rows in primary-key order (``select_for_update().order_by("pk")``):
   ``Department`` → ``Document`` → ``SealRequest`` → ``NumberSequence`` /
   ``ArchiveSequence`` → ``CertificateAuthority`` → ``Seal``; a row that ``UPDATE``
   changes without an explicit lock (a Step, a TodoItem) counts as locked at that moment;
2. the audit head (``AuditHead``, one global row) last.

Every ``audit()`` call locks the audit head until the transaction commits, and every
audited write in the system queues on it. So after its first ``audit()`` call a
transaction may only write rows it has already locked or has just inserted; it must not
lock or update another existing row. A transaction that audited first and then waited
for a document row held by someone who waits for the audit head would deadlock — and,
while PostgreSQL waits to detect that, block every audited write on the platform.
Slow work that needs no lock (rendering, signing) runs before the first lock, as in
``documents.services.seal_request_decide`` (sign, lock the document and the request,
then ``seals.services.seal_record_signed`` locks the seal and audits). The worker's
催办 claims Step rows with SKIP LOCKED, so it never waits for an entity row.
``docs/locking.md`` describes the order and the test that holds it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from officehub.audit.chain import ChainBreak, canonical_json, entry_hash, first_break
from officehub.audit.models import AuditEntry, AuditHead

if TYPE_CHECKING:
    from officehub.directory.models import User


def audit(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction.

    Locks the chain head, so concurrent writers append one at a time; the lock is held
    until the caller commits, which keeps the chain order equal to commit order. Call it
    after the transaction's last entity lock (see the lock order above). Raises
    ``TransactionManagementError`` when called outside a transaction: an audit entry that
    could commit apart from the change it records would be worthless.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("audit() must run inside the change's transaction")
    # INSERT .. ON CONFLICT DO NOTHING: creating a missing head never races.
    AuditHead.objects.bulk_create([AuditHead(id=1)], ignore_conflicts=True)
    head = AuditHead.objects.select_for_update().get(id=1)
    actor_id = getattr(actor, "pk", None)
    actor_label = "" if actor is None else f"{getattr(actor, 'username', '')}:{actor}"
    target_type = "" if target is None else target._meta.label_lower
    target_id = "" if target is None else str(target.pk)
    payload = _jsonable(data or {})
    seq = head.last_seq + 1
    created_at = timezone.now()
    digest = entry_hash(
        seq=seq,
        created_at=created_at,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=payload,
        prev_hash=head.last_hash,
    )
    entry = AuditEntry.objects.create(
        seq=seq,
        created_at=created_at,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=payload,
        prev_hash=head.last_hash,
        hash=digest,
    )
    AuditHead.objects.filter(id=1).update(last_seq=seq, last_hash=digest)
    return entry


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through the canonical encoder so what is hashed is what is stored."""
    return json.loads(canonical_json(data))


def verify_chain() -> ChainBreak | None:
    """Return the first break in the chain, or ``None`` when every entry checks out.

    Also compares the head with the last entry, so deleting the newest entries is caught.
    """
    entries = AuditEntry.objects.order_by("seq").iterator(chunk_size=2000)
    found = first_break(entries)
    if found is not None:
        return found
    head = AuditHead.objects.filter(id=1).first()
    last = AuditEntry.objects.order_by("-seq").first()
    if head and (last is None or last.seq != head.last_seq or last.hash != head.last_hash):
        if last is None and head.last_seq == 0:
            return None
        return ChainBreak(head.last_seq, 0, "链尾与最后一条记录不符（末尾记录被删除）")
    return None
