"""Verification through ``seal_verify``: tampering, foreign signers, revocation, expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from officehub.errors import ApplicationError
from seals import crypto, services
from seals.keys import open_key
from seals.models import CertificateAuthority, Seal, SealRecord
from tests.seals.conftest import issue_seal, make_docx

pytestmark = pytest.mark.django_db


def seal_once(seal: Any, actor: Any) -> SealRecord:
    return services.seal_apply(
        seal_id=seal.pk, actor=actor, build_docx=make_docx, document_ref="document:7", title="关于春节值班安排的通知"
    )


def stored(record: SealRecord) -> tuple[bytes, bytes]:
    record = SealRecord.objects.get(pk=record.pk)
    return bytes(record.sealed_docx), bytes(record.signature)


def test_an_untouched_sealed_document_is_valid(office_seal: Any, personas: Any) -> None:
    docx, signature = stored(seal_once(office_seal, personas.custodian))
    result = services.seal_verify(docx=docx, signature=signature)
    assert (result.status, result.message_zh) == ("valid", "签章有效")
    assert "浙江省人民政府办公厅" in (result.signer_subject or "")


@pytest.mark.parametrize("position", [0, 1000, -1])
def test_one_changed_byte_is_content_changed(office_seal: Any, personas: Any, position: int) -> None:
    docx, signature = stored(seal_once(office_seal, personas.custodian))
    tampered = bytearray(docx)
    tampered[position] ^= 0x01
    result = services.seal_verify(docx=bytes(tampered), signature=signature)
    assert (result.status, result.message_zh) == ("content_changed", "内容已被篡改")
    assert not result.is_valid


def test_a_swapped_seal_image_is_content_changed(ca: Any, office_seal: Any, personas: Any, office: Any) -> None:
    docx, signature = stored(seal_once(office_seal, personas.custodian))
    contract_seal = issue_seal(personas, office, kind="special", lower_text="合同专用章")
    swapped = make_docx(bytes(Seal.objects.get(pk=contract_seal.pk).image))
    assert swapped != docx
    assert services.seal_verify(docx=swapped, signature=signature).status == "content_changed"


def test_a_document_re_signed_with_a_foreign_key_is_untrusted(office_seal: Any, personas: Any) -> None:
    docx, _signature = stored(seal_once(office_seal, personas.custodian))
    forger_key, forger_ca = crypto.create_root_ca(common_name="伪造CA", organisation="浙江省人民政府办公厅")
    forged = crypto.sign_detached(docx, key=forger_key, certificate=forger_ca)
    result = services.seal_verify(docx=docx, signature=forged)
    assert result.status == "untrusted_certificate" and not result.is_valid


def test_a_seal_certificate_from_another_ca_is_untrusted(office_seal: Any, personas: Any) -> None:
    """A look-alike seal: same organisation and seal name, certified by someone else's CA."""
    docx, _signature = stored(seal_once(office_seal, personas.custodian))
    other_key, other_ca = crypto.create_root_ca(common_name="OfficeHub 电子印章根CA", organisation="OfficeHub 电子印章系统")
    seal_key = crypto.generate_seal_key()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    lookalike = crypto.issue_seal_certificate(
        ca_key=other_key, ca_cert=other_ca, seal_public_key=seal_key.public_key(),
        organisation="浙江省人民政府办公厅", seal_name=office_seal.name,
        serial_number=int(office_seal.serial, 16),  # even the same serial as the real seal
        not_before=now, not_after=now + dt.timedelta(days=30),
    )
    result = services.seal_verify(docx=docx, signature=crypto.sign_detached(docx, key=seal_key, certificate=lookalike))
    assert (result.status, result.message_zh) == ("untrusted_certificate", "证书不是本机构CA签发")


def test_a_certificate_our_ca_signed_for_no_known_seal_is_unknown_seal(
    ca: Any, office_seal: Any, personas: Any
) -> None:
    docx, _signature = stored(seal_once(office_seal, personas.custodian))
    ca_row = CertificateAuthority.objects.get(pk=ca.pk)
    ca_key = open_key(ca_row.wrapped_key, key_id=ca_row.key_id)
    ca_cert = crypto.load_certificate(ca_row.certificate_pem.encode())
    stray_key = crypto.generate_seal_key()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stray = crypto.issue_seal_certificate(
        ca_key=ca_key, ca_cert=ca_cert, seal_public_key=stray_key.public_key(),
        organisation="浙江省人民政府办公厅", seal_name="不存在的印章", serial_number=None,
        not_before=max(now, ca_cert.not_valid_before_utc), not_after=now + dt.timedelta(days=30),
    )
    result = services.seal_verify(docx=docx, signature=crypto.sign_detached(docx, key=stray_key, certificate=stray))
    assert (result.status, result.reason_code, result.message_zh) == ("unknown_seal", "unknown_seal", "未知印章")
    assert not result.is_valid


def test_garbage_is_not_a_signature(office_seal: Any, personas: Any) -> None:
    docx, _signature = stored(seal_once(office_seal, personas.custodian))
    result = services.seal_verify(docx=docx, signature=b"\x30\x03\x02\x01\x00")
    assert result.status == "not_a_signature"


def test_documents_sealed_before_revocation_stay_valid_and_later_ones_are_refused(
    office_seal: Any, personas: Any
) -> None:
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=True):
        before = seal_once(office_seal, personas.custodian)
    with time_machine.travel(start + dt.timedelta(hours=1), tick=True):
        services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk, reason="superseded")
        # seal_apply refuses a revoked seal outright ...
        with pytest.raises(ApplicationError) as caught:
            seal_once(office_seal, personas.custodian)
        assert caught.value.code == "seal.revoked"
    # ... and a signature made with its key after revocation (a stolen copy, say) is refused.
    with time_machine.travel(start + dt.timedelta(hours=2), tick=True):
        seal_row = Seal.objects.get(pk=office_seal.pk)
        docx = make_docx(bytes(seal_row.image), text="撤销后伪造的文件")
        late = crypto.sign_detached(
            docx, key=open_key(seal_row.wrapped_key, key_id=seal_row.key_id),
            certificate=crypto.load_certificate(seal_row.certificate_pem.encode()),
        )
        earlier = services.seal_record_verify(record_id=before.pk)
        later = services.seal_verify(docx=docx, signature=late)
    assert (earlier.status, earlier.message_zh) == ("valid_when_sealed_since_revoked", "签章有效；印章其后已吊销")
    assert earlier.is_valid and earlier.revoked_at is not None
    assert (later.status, later.message_zh) == ("revoked", "印章已吊销")
    assert not later.is_valid


def test_key_compromise_revocation_distrusts_even_earlier_documents(office_seal: Any, personas: Any) -> None:
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=True):
        record = seal_once(office_seal, personas.custodian)
    with time_machine.travel(start + dt.timedelta(hours=1), tick=True):
        services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk, reason="key_compromise")
    result = services.seal_record_verify(record_id=record.pk)
    assert (result.status, result.reason_code) == ("revoked", "revoked_key_compromise")


def test_a_signature_made_after_the_validity_window_is_expired_at_signing(office_seal: Any) -> None:
    seal_row = Seal.objects.get(pk=office_seal.pk)
    docx = make_docx(bytes(seal_row.image))
    with time_machine.travel(seal_row.valid_until + dt.timedelta(days=1), tick=True):
        late = crypto.sign_detached(
            docx, key=open_key(seal_row.wrapped_key, key_id=seal_row.key_id),
            certificate=crypto.load_certificate(seal_row.certificate_pem.encode()),
        )
    result = services.seal_verify(docx=docx, signature=late)
    assert (result.status, result.message_zh) == ("expired_at_signing", "签章时印章已过期")


def test_a_seal_of_a_replaced_ca_still_verifies(office_seal: Any, personas: Any) -> None:
    record = seal_once(office_seal, personas.custodian)
    services.ca_init(force=True)
    assert services.seal_record_verify(record_id=record.pk).status == "valid"
