"""Seal services on real PostgreSQL: CA, issuance, lifecycle, sealing and its refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from officehub.audit.models import AuditEntry
from officehub.errors import ApplicationError
from seals import crypto, selectors, services
from seals.models import CertificateAuthority, Seal, SealRecord, SealStatus
from tests.seals.conftest import OTHER_KEK, TEST_KEK, issue_seal, make_docx

pytestmark = pytest.mark.django_db


def used_events() -> int:
    return AuditEntry.objects.filter(action="seal.used").count()


def apply(seal: Any, actor: Any, build: Any = make_docx, ref: str = "document:1") -> SealRecord:
    return services.seal_apply(
        seal_id=seal.pk, actor=actor, build_docx=build, document_ref=ref, title="关于春节值班安排的通知"
    )


# --------------------------------------------------------------------------- CA


def test_ca_init_is_idempotent_and_force_retires_the_old_ca(db: None) -> None:
    first, created = services.ca_init()
    again, created_again = services.ca_init()
    assert created and not created_again and again.pk == first.pk
    cert = x509.load_pem_x509_certificate(first.certificate_pem.encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    years = (cert.not_valid_after_utc - cert.not_valid_before_utc).days / 365
    assert 9.9 < years < 10.1
    assert first.crl_number == 1 and "BEGIN X509 CRL" in first.crl_pem

    second, replaced = services.ca_init(force=True)
    first.refresh_from_db()
    assert replaced and second.pk != first.pk
    assert not first.is_active and first.retired_at is not None and second.is_active
    actions = list(AuditEntry.objects.filter(action__startswith="seal.ca_").values_list("action", flat=True))
    assert actions == ["seal.ca_created", "seal.ca_retired", "seal.ca_created"]


def test_ca_init_with_rsa_makes_an_rsa_root(db: None) -> None:
    authority, _ = services.ca_init(key_type="rsa")
    cert = x509.load_pem_x509_certificate(authority.certificate_pem.encode())
    assert cert.public_key().key_size == 3072  # type: ignore[union-attr]


# --------------------------------------------------------------------------- issuance


def test_issued_seal_certificate_names_the_organisation_and_the_key_is_only_wrapped(
    ca: Any, personas: Any, office: Any
) -> None:
    seal = issue_seal(personas, office, activate=False)
    assert seal.status == SealStatus.ISSUED and seal.name == "浙江省人民政府办公厅公章"
    cert = x509.load_pem_x509_certificate(seal.certificate_pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "浙江省人民政府办公厅"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == seal.name
    assert format(cert.serial_number, "x") == seal.serial
    ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    cert.verify_directly_issued_by(ca_cert)
    # The stored blob opens only with the KEK and holds the certificate's private key.
    stored = Seal.objects.get(pk=seal.pk)
    key = crypto.unwrap_private_key(bytes(stored.wrapped_key), crypto.parse_kek(TEST_KEK), key_id=stored.key_id)
    public_der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert public_der == cert.public_key().public_bytes(serialization.Encoding.DER, spki)
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert plain not in bytes(stored.wrapped_key)
    assert "PRIVATE KEY" not in repr(stored) and "PRIVATE KEY" not in str(stored)
    assert bytes(stored.image)[:8] == b"\x89PNG\r\n\x1a\n"
    assert AuditEntry.objects.filter(action="seal.issued", target_id=str(seal.pk)).count() == 1


def test_special_and_personal_seals(ca: Any, personas: Any, office: Any) -> None:
    special = issue_seal(personas, office, kind="special", lower_text="合同专用章", activate=False)
    assert special.name == "浙江省人民政府办公厅合同专用章"
    personal = issue_seal(
        personas, office, kind="personal", owner_person_id=personas.leader.pk,
        custodian_ids=[personas.leader.pk], activate=False,
    )
    assert personal.owner_person_id == personas.leader.pk and personal.name == "刘洋个人签名章"


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        ({"custodian_ids": []}, "至少指定一名"),
        ({"custodian_ids": ["outsider"]}, "不属于"),
        ({"custodian_ids": ["drafter"]}, "不具有印章管理员角色"),
        ({"kind": "special"}, "下弦文字"),
        ({"kind": "personal"}, "所属个人"),
        ({"valid_until": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)}, "有效期"),
        ({"valid_until": dt.datetime(2100, 1, 1, tzinfo=dt.UTC)}, "CA证书有效期"),
    ],
)
def test_bad_issuance_input_is_refused_with_nothing_written(
    ca: Any, personas: Any, office: Any, change: dict[str, Any], message_part: str
) -> None:
    if "custodian_ids" in change:
        change = {"custodian_ids": [getattr(personas, name).pk for name in change["custodian_ids"]]}
    before = AuditEntry.objects.count()
    with pytest.raises(ApplicationError) as caught:
        issue_seal(personas, office, activate=False, **change)
    assert caught.value.code == "seal.invalid" and caught.value.status == 400
    assert message_part in caught.value.message
    assert Seal.objects.count() == 0 and AuditEntry.objects.count() == before


def test_only_administrators_issue_seals(ca: Any, personas: Any, office: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        services.seal_issue(
            actor=personas.custodian, kind="organisation", owner_organisation_id=office.pk,
            custodian_ids=[personas.custodian.pk],
        )
    assert caught.value.code == "seal.permission_denied" and caught.value.status == 403
    assert Seal.objects.count() == 0


def test_issuing_without_a_ca_is_a_coded_error(personas: Any, office: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        issue_seal(personas, office)
    assert caught.value.code == "seal.ca_missing"


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle_follows_the_transition_table(office_seal: Any, personas: Any) -> None:
    admin, seal_id = personas.admin, office_seal.pk
    with pytest.raises(ApplicationError) as caught:
        services.seal_activate(actor=admin, seal_id=seal_id)  # already active
    assert caught.value.code == "seal.invalid_transition" and caught.value.status == 409
    with pytest.raises(ApplicationError) as caught:
        services.seal_resume(actor=admin, seal_id=seal_id)  # not suspended
    assert caught.value.code == "seal.invalid_transition"

    # The custodian may suspend at once, but only an administrator resumes.
    assert services.seal_suspend(actor=personas.custodian, seal_id=seal_id, note="U盾遗失").status == "suspended"
    with pytest.raises(ApplicationError) as caught:
        services.seal_resume(actor=personas.custodian, seal_id=seal_id)
    assert caught.value.code == "seal.permission_denied"
    assert services.seal_resume(actor=admin, seal_id=seal_id).status == "active"
    # Someone else's custodian may not even suspend.
    with pytest.raises(ApplicationError) as caught:
        services.seal_suspend(actor=personas.other_org_custodian, seal_id=seal_id)
    assert caught.value.code == "seal.permission_denied"

    services.seal_revoke(actor=admin, seal_id=seal_id, reason="superseded")
    with pytest.raises(ApplicationError) as caught:
        services.seal_revoke(actor=admin, seal_id=seal_id)
    assert caught.value.code == "seal.invalid_transition"
    with pytest.raises(ApplicationError) as caught:
        services.seal_resume(actor=admin, seal_id=seal_id)
    assert caught.value.code == "seal.invalid_transition"
    actions = list(
        AuditEntry.objects.filter(target_type="seals.seal", target_id=str(seal_id)).values_list("action", flat=True)
    )
    assert actions == ["seal.issued", "seal.activated", "seal.suspended", "seal.resumed", "seal.revoked"]


def test_an_expired_seal_cannot_be_resumed(office_seal: Any, personas: Any) -> None:
    services.seal_suspend(actor=personas.admin, seal_id=office_seal.pk)
    with time_machine.travel(office_seal.valid_until + dt.timedelta(seconds=1), tick=False):
        assert Seal.objects.get(pk=office_seal.pk).effective_status() == "expired"
        with pytest.raises(ApplicationError) as caught:
            services.seal_resume(actor=personas.admin, seal_id=office_seal.pk)
    assert caught.value.code == "seal.expired"


def test_revocation_publishes_a_new_crl_listing_the_seal(office_seal: Any, personas: Any, ca: Any) -> None:
    services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk, reason="key_compromise", note="私钥疑似泄露")
    ca.refresh_from_db()
    crl = x509.load_pem_x509_crl(ca.crl_pem.encode())
    assert ca.crl_number == 2
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    entry = crl.get_revoked_certificate_by_serial_number(int(office_seal.serial, 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert AuditEntry.objects.filter(action="seal.crl_published").count() == 2


def test_revocation_without_the_kek_changes_nothing(office_seal: Any, personas: Any, settings: Any) -> None:
    settings.SEAL_KEK = None
    with pytest.raises(ApplicationError) as caught:
        services.seal_revoke(actor=personas.admin, seal_id=office_seal.pk)
    assert caught.value.code == "seal.kek_missing"
    assert Seal.objects.get(pk=office_seal.pk).status == "active"


# --------------------------------------------------------------------------- sealing


def test_custodian_seals_a_document_and_the_signature_covers_the_exact_bytes(
    office_seal: Any, personas: Any, ca: Any
) -> None:
    placed: list[bytes] = []

    def build(png: bytes) -> bytes:
        placed.append(png)
        return make_docx(png)

    record = apply(office_seal, personas.custodian, build=build, ref="document:42")
    stored = SealRecord.objects.get(pk=record.pk)
    docx = bytes(stored.sealed_docx)
    assert placed == [bytes(Seal.objects.get(pk=office_seal.pk).image)]
    assert stored.sha256 == hashlib.sha256(docx).hexdigest()
    assert stored.document_ref == "document:42" and stored.actor_id == personas.custodian.pk
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        media = [archive.read(name) for name in archive.namelist() if name.startswith("word/media/")]
    assert placed[0] in media  # the seal image really is in the document
    result = crypto.verify_detached(
        docx, bytes(stored.signature), trusted_ca=crypto.load_certificate(ca.certificate_pem.encode())
    )
    assert result.status == "valid" and result.signer_serial == int(office_seal.serial, 16)
    assert abs((stored.signing_time - record.created_at).total_seconds()) < 5
    event = AuditEntry.objects.get(action="seal.used")
    assert event.target_id == str(office_seal.pk) and event.data["record"] == record.pk
    assert event.data["sha256"] == stored.sha256 and event.actor_id == personas.custodian.pk


def _suspend(seal: Any, admin: Any) -> None:
    services.seal_suspend(actor=admin, seal_id=seal.pk)


def _revoke(seal: Any, admin: Any) -> None:
    services.seal_revoke(actor=admin, seal_id=seal.pk)


@pytest.mark.parametrize(
    ("who", "prepare", "code", "status"),
    [
        ("drafter", None, "seal.not_custodian", 403),
        ("other_org_custodian", None, "seal.not_custodian", 403),
        ("custodian", _suspend, "seal.suspended", 409),
        ("custodian", _revoke, "seal.revoked", 409),
        ("custodian", "not_activated", "seal.not_active", 409),
        ("custodian", "expired", "seal.expired", 409),
        ("custodian", "unknown", "seal.not_found", 404),
        ("custodian", "no_kek", "seal.kek_missing", 503),
        ("custodian", "wrong_kek", "seal.kek_invalid", 503),
    ],
)
def test_sealing_refusals_write_nothing(
    ca: Any, personas: Any, office: Any, settings: Any, who: str, prepare: Any, code: str, status: int
) -> None:
    seal = issue_seal(personas, office, activate=prepare != "not_activated")
    if callable(prepare):
        prepare(seal, personas.admin)
    if prepare == "unknown":
        seal.pk = 999_999
    if prepare == "no_kek":
        settings.SEAL_KEK = None
    if prepare == "wrong_kek":
        settings.SEAL_KEK = OTHER_KEK
    built: list[bytes] = []
    used_before = used_events()
    travel = seal.valid_until + dt.timedelta(days=1) if prepare == "expired" else None
    with time_machine.travel(travel or dt.datetime.now(dt.UTC), tick=True):
        with pytest.raises(ApplicationError) as caught:
            apply(seal, getattr(personas, who), build=lambda png: built.append(png) or make_docx(png))
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.message  # a Chinese sentence for the user
    assert built == []  # refused before anything was rendered or signed
    assert SealRecord.objects.count() == 0 and used_events() == used_before


def test_state_is_rechecked_after_signing(office_seal: Any, personas: Any) -> None:
    """A seal suspended while the DOCX was being built is not used: nothing is stored."""

    def build_while_suspending(png: bytes) -> bytes:
        services.seal_suspend(actor=personas.admin, seal_id=office_seal.pk)
        return make_docx(png)

    with pytest.raises(ApplicationError) as caught:
        apply(office_seal, personas.custodian, build=build_while_suspending)
    assert caught.value.code == "seal.suspended"
    assert SealRecord.objects.count() == 0 and used_events() == 0


def test_sealing_refuses_a_builder_that_returns_no_docx(office_seal: Any, personas: Any) -> None:
    with pytest.raises(ApplicationError) as caught:
        apply(office_seal, personas.custodian, build=lambda png: b"not a zip")
    assert caught.value.code == "seal.invalid_document"
    assert SealRecord.objects.count() == 0 and used_events() == 0


def test_missing_kek_stops_sealing_but_not_verification(office_seal: Any, personas: Any, settings: Any) -> None:
    record = apply(office_seal, personas.custodian)
    settings.SEAL_KEK = None
    assert services.seal_record_verify(record_id=record.pk).status == "valid"
    with pytest.raises(ApplicationError) as caught:
        apply(office_seal, personas.custodian)
    assert caught.value.code == "seal.kek_missing"
    assert "OFFICEHUB_SEAL_KEK" in caught.value.message


# --------------------------------------------------------------------------- selectors


def test_selectors_the_documents_app_uses(office_seal: Any, personas: Any, office: Any, ca: Any) -> None:
    other = issue_seal(personas, office, kind="special", lower_text="合同专用章", activate=False)
    assert selectors.seal_custodian_ids(office_seal.pk) == {personas.custodian.pk}
    assert selectors.seal_custodian_ids(999_999) == set()
    assert list(selectors.seals_for_organisation(office)) == [office_seal]  # `other` not active
    services.seal_activate(actor=personas.admin, seal_id=other.pk)
    assert set(selectors.seals_for_organisation(office)) == {office_seal, other}
    services.seal_suspend(actor=personas.admin, seal_id=office_seal.pk)
    assert list(selectors.seals_for_organisation(office)) == [other]
    big_data = personas.outsider.department.organisation()
    assert list(selectors.seals_for_organisation(big_data)) == []
    with time_machine.travel(other.valid_until, tick=False):
        assert list(selectors.seals_for_organisation(office)) == []


def test_seed_demo_seals_gives_each_organisation_with_a_custodian_an_active_seal(personas: Any) -> None:
    report = services.seal_seed_demo()
    again = services.seal_seed_demo()
    assert again["created"] == [] and not again["ca_created"]
    seals = {seal.owner_organisation.name: seal for seal in Seal.objects.select_related("owner_organisation")}
    assert set(seals) == {"浙江省人民政府办公厅", "浙江省大数据发展管理局", "浙江省财政厅", "杭州市人民政府办公厅"}
    assert sorted(report["created"]) == sorted(seal.name for seal in seals.values())
    assert all(seal.status == "active" for seal in seals.values())
    assert selectors.seal_custodian_ids(seals["浙江省人民政府办公厅"].pk) == {personas.custodian.pk}
    assert selectors.seal_custodian_ids(seals["浙江省大数据发展管理局"].pk) == {personas.other_org_custodian.pk}
    assert CertificateAuthority.objects.count() == 1
