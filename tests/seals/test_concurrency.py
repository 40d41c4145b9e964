"""Row locks where two people act on one seal at the same moment (real transactions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from django.db import transaction

from officehub.audit.services import verify_chain
from officehub.errors import ApplicationError
from seals import services
from seals.models import CertificateAuthority, SealRecord
from tests.concurrency import run_at_once
from tests.seals.conftest import make_docx

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*actions: Callable[[], object]) -> list[str]:
    """Each action's outcome, in its own transaction as one request's: "ok" or its error code, sorted."""
    results = run_at_once(list(actions), atomic=True, expected=ApplicationError)
    return sorted(result.code if isinstance(result, ApplicationError) else "ok" for result in results)


def test_two_simultaneous_revocations_revoke_once_and_publish_one_crl(office_seal: Any, personas: Any) -> None:
    def revoke() -> None:
        services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk, reason="superseded")

    assert run_together(revoke, revoke) == ["ok", "seal.invalid_transition"]
    ca = CertificateAuthority.objects.get(is_active=True)
    assert ca.crl_number == 2  # the initial CRL and exactly one re-issue
    crl = x509.load_pem_x509_crl(ca.crl_pem.encode())
    assert len(list(crl)) == 1
    assert verify_chain() is None


def test_simultaneous_sealings_are_both_recorded(office_seal: Any, personas: Any) -> None:
    def seal(ref: str) -> Callable[[], object]:
        return lambda: services.seal_apply(
            seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx, document_ref=ref, title="通知"
        )

    assert run_together(seal("document:1"), seal("document:2")) == ["ok", "ok"]
    assert sorted(SealRecord.objects.values_list("document_ref", flat=True)) == ["document:1", "document:2"]
    assert verify_chain() is None


def test_a_sealing_racing_a_suspension_either_lands_before_it_or_not_at_all(office_seal: Any, personas: Any) -> None:
    def seal() -> None:
        services.seal_apply(
            seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx, document_ref="document:3", title="通知"
        )

    def suspend() -> None:
        services.seal_suspend(actor=personas.admin, seal_id=office_seal.pk)

    outcomes = run_together(seal, suspend)
    records = SealRecord.objects.count()
    if outcomes == ["ok", "ok"]:
        assert records == 1  # the sealing committed before the suspension
    else:
        assert outcomes == ["ok", "seal.suspended"] and records == 0


def test_a_seal_service_outside_the_entry_points_transaction_is_refused(office_seal: Any, personas: Any) -> None:
    # Entry points (API, pages, commands, admin) open the transaction; a service never does.
    with pytest.raises(transaction.TransactionManagementError):
        services.seal_suspend(actor=personas.admin, seal_id=office_seal.pk)
    with pytest.raises(transaction.TransactionManagementError):
        services.seal_apply(
            seal_id=office_seal.pk, actor=personas.custodian, build_docx=make_docx, document_ref="document:4", title="通知"
        )
    office_seal.refresh_from_db()
    assert office_seal.status == "active" and not SealRecord.objects.exists()
