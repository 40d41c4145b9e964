"""The audit log is append-only and hash-chained; verify_audit finds the first bad entry."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction

from officehub.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from officehub.audit.services import audit, verify_chain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_chain(db: None) -> None:
    """These tests number entries from the chain's start, but the session's demo
    organisation (tests/conftest.py) wrote a chain already: empty the log inside the
    test's transaction, which rolls back, so the demo's chain is back afterwards."""
    _tamper("DELETE FROM audit_auditentry", [])
    AuditHead.objects.filter(id=1).update(last_seq=0, last_hash=GENESIS_HASH)


def _write_entries(count: int) -> list[AuditEntry]:
    entries = []
    for number in range(count):
        with transaction.atomic():
            entries.append(audit(actor=None, action="test.event", data={"n": number, "text": "核稿意见"}))
    return entries


def _tamper(sql: str, params: list[Any]) -> None:
    """Bypass the append-only trigger, as an attacker with table-owner rights could."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


def test_entries_chain_each_to_the_previous_hash() -> None:
    first, second, third = _write_entries(3)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert verify_chain() is None


def test_audit_refuses_to_run_outside_a_transaction() -> None:
    # pytest-django wraps the test in a transaction; leave it to see the guard.
    with pytest.raises(transaction.TransactionManagementError):
        transaction.get_connection().in_atomic_block = False
        try:
            audit(actor=None, action="test.outside")
        finally:
            transaction.get_connection().in_atomic_block = True


def test_database_refuses_update_and_delete() -> None:
    (entry,) = _write_entries(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()


def test_edited_entry_is_named() -> None:
    entries = _write_entries(4)
    _tamper("UPDATE audit_auditentry SET data = %s WHERE id = %s", ['{"n": 99}', entries[2].pk])
    found = verify_chain()
    assert found is not None and found.seq == 3 and "修改" in found.reason
    with pytest.raises(CommandError, match="第 3 条"):
        call_command("verify_audit")


def test_deleted_entry_is_detected_at_the_gap() -> None:
    entries = _write_entries(4)
    _tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    found = verify_chain()
    assert found is not None and found.seq == 3


def test_deleting_the_newest_entry_is_detected_through_the_head() -> None:
    entries = _write_entries(3)
    _tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[2].pk])
    found = verify_chain()
    assert found is not None and "末尾" in found.reason


def test_inserted_entry_is_detected() -> None:
    entries = _write_entries(3)
    # Make room for a forged entry with seq 2 by shifting the later entries up by one.
    _tamper("UPDATE audit_auditentry SET seq = seq + 10 WHERE seq >= 2", [])
    forged = AuditEntry(
        seq=2, created_at=entries[1].created_at, action="test.forged", data={},
        prev_hash=entries[0].hash, hash="f" * 64,
    )
    forged.save()
    found = verify_chain()
    assert found is not None and found.seq == 2


def test_reordered_entries_are_detected() -> None:
    entries = _write_entries(4)
    # Swap the positions of entries 2 and 3 (their seq and everything else stays consistent).
    _tamper("UPDATE audit_auditentry SET seq = 1000 WHERE id = %s", [entries[1].pk])
    _tamper("UPDATE audit_auditentry SET seq = 2 WHERE id = %s", [entries[2].pk])
    _tamper("UPDATE audit_auditentry SET seq = 3 WHERE id = %s", [entries[1].pk])
    found = verify_chain()
    assert found is not None and found.seq == 2


def test_verify_audit_reports_an_intact_chain(capsys: Any) -> None:
    _write_entries(2)
    call_command("verify_audit")
    assert "审计链完整：共 2 条记录" in capsys.readouterr().out


def test_hash_is_unique_so_a_duplicated_entry_cannot_be_stored() -> None:
    (entry,) = _write_entries(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.create(
            seq=2, created_at=entry.created_at, action=entry.action, data={}, prev_hash=entry.hash, hash=entry.hash
        )
