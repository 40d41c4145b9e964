"""Seal cryptography: CA, certificates, CRLs, key wrapping, CMS signing and verification.

Pure library tests: no database, no Django. Expected values come from first principles
(hashlib, the clock we set, OpenSSL's own verdict), never from the code under test.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import time_machine
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from seals import crypto
from seals.crypto import (
    CRLMismatch,
    InvalidKEK,
    KeyUnwrapError,
    build_crl,
    create_root_ca,
    generate_seal_key,
    issue_seal_certificate,
    parse_kek,
    read_signing_time,
    rewrap,
    sign_detached,
    unwrap_private_key,
    verify_detached,
    wrap_private_key,
)

ORG = "某某市人民政府办公室"
SEAL_NAME = "某某市人民政府办公室公章"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DOCX = b"PK\x03\x04" + os.urandom(4096) + "红头文件正文".encode()


@dataclasses.dataclass(frozen=True)
class Authority:
    key: crypto.PrivateKey
    cert: x509.Certificate


@dataclasses.dataclass(frozen=True)
class Seal:
    key: crypto.PrivateKey
    cert: x509.Certificate


def make_ca(
    common_name: str = "OfficeHub 印章CA", organisation: str = ORG, **kw: object
) -> Authority:
    key, cert = create_root_ca(
        common_name=common_name,
        organisation=organisation,
        not_before=NOW - dt.timedelta(days=365),
        **kw,  # type: ignore[arg-type]
    )
    return Authority(key, cert)


def make_seal(
    ca: Authority,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key_type: crypto.KeyType = "ec",
    serial_number: int | None = None,
) -> Seal:
    key = generate_seal_key(key_type)
    cert = issue_seal_certificate(
        ca_key=ca.key,
        ca_cert=ca.cert,
        seal_public_key=key.public_key(),
        organisation=ORG,
        seal_name=SEAL_NAME,
        serial_number=serial_number,
        not_before=not_before or NOW - dt.timedelta(days=30),
        not_after=not_after or NOW + dt.timedelta(days=365),
    )
    return Seal(key, cert)


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture(scope="module")
def seal(ca: Authority) -> Seal:
    return make_seal(ca)


@pytest.fixture(scope="module")
def signature(seal: Seal) -> bytes:
    return sign_detached(DOCX, key=seal.key, certificate=seal.cert)


def flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# --------------------------------------------------------------------------- CA and certificates


def test_root_ca_is_a_path_length_zero_ca_that_signs_itself(ca: Authority) -> None:
    cert = ca.cert
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # raises if the self-signature is wrong
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=7300)


def test_root_ca_serials_are_random() -> None:
    assert make_ca().cert.serial_number != make_ca().cert.serial_number


def test_rsa_root_ca_uses_a_3072_bit_key() -> None:
    _, cert = create_root_ca(common_name="CA", organisation=ORG, key_type="rsa")
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 3072


def test_seal_certificate_names_organisation_and_seal(ca: Authority, seal: Seal) -> None:
    subject = seal.cert.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ORG
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SEAL_NAME
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CN"
    assert seal.cert.issuer == ca.cert.subject
    seal.cert.verify_directly_issued_by(ca.cert)


def test_names_longer_than_x509_allows_are_shortened_at_a_character_boundary(ca: Authority) -> None:
    # ub-common-name / ub-organization-name = 64; cryptography counts the common name in
    # UTF-8 bytes, so 21 Chinese characters (63 bytes) fit and 22 do not.
    assert crypto.fit_name_attribute("国" * 21) == "国" * 21
    assert crypto.fit_name_attribute("国" * 22) == "国" * 20 + "…"
    assert crypto.fit_name_attribute("a" * 64) == "a" * 64
    assert crypto.fit_name_attribute("a" * 65) == "a" * 61 + "…"
    assert crypto.fit_name_attribute("  某某  公章 ") == "某某 公章"
    with pytest.raises(ValueError):
        crypto.fit_name_attribute("   ")
    organisation = "中华人民共和国" + "某某省某某市某某区人民政府办公室" * 6  # a 103-character name
    key = generate_seal_key("ec")
    cert = issue_seal_certificate(
        ca_key=ca.key, ca_cert=ca.cert, seal_public_key=key.public_key(), organisation=organisation,
        seal_name=organisation + "公章", serial_number=None,
        not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=30),
    )
    org_name = str(cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value)
    common_name = str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    assert len(org_name) <= 64 and organisation.startswith(org_name[:-1])
    assert len(common_name.encode()) <= 64 and organisation.startswith(common_name[:-1])
    cert.verify_directly_issued_by(ca.cert)
    _key, long_ca = create_root_ca(common_name="长" * 40, organisation=organisation)
    assert len(str(long_ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value).encode()) <= 64


def test_seal_certificate_is_an_end_entity_for_signing_documents(ca: Authority, seal: Seal) -> None:
    extensions = seal.cert.extensions
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36") in eku  # RFC 9336 documentSigning
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest


def test_seal_certificate_keeps_an_explicit_serial(ca: Authority) -> None:
    assert make_seal(ca, serial_number=4242).cert.serial_number == 4242


def test_seal_validity_must_lie_within_the_ca_validity(ca: Authority) -> None:
    with pytest.raises(ValueError, match="within"):
        make_seal(ca, not_after=ca.cert.not_valid_after_utc + dt.timedelta(days=1))


def test_seal_certificate_refuses_a_key_that_is_not_the_cas(ca: Authority) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        issue_seal_certificate(
            ca_key=generate_seal_key(),
            ca_cert=ca.cert,
            seal_public_key=generate_seal_key().public_key(),
            organisation=ORG,
            seal_name=SEAL_NAME,
            serial_number=None,
            not_before=NOW,
            not_after=NOW + dt.timedelta(days=1),
        )


def test_naive_datetimes_are_refused(ca: Authority) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_seal(ca, not_before=dt.datetime(2026, 1, 1))


def test_pem_helpers_round_trip(ca: Authority) -> None:
    pem = crypto.certificate_to_pem(ca.cert)
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert crypto.load_certificate(pem) == ca.cert
    assert crypto.load_certificate(crypto.certificate_to_der(ca.cert)) == ca.cert


# --------------------------------------------------------------------------- CRL


def test_crl_lists_revoked_serials_and_is_signed_by_the_ca(ca: Authority) -> None:
    revoked_at = NOW - dt.timedelta(hours=2)
    crl = build_crl(
        ca_key=ca.key,
        ca_cert=ca.cert,
        revoked=[(1001, revoked_at), (1002, NOW)],
        this_update=NOW,
        next_update=NOW + dt.timedelta(days=7),
        crl_number=17,
    )
    assert crl.issuer == ca.cert.subject
    assert crl.is_signature_valid(ca.cert.public_key())
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 17
    entry = crl.get_revoked_certificate_by_serial_number(1001)
    assert entry is not None and entry.revocation_date_utc == revoked_at
    assert crl.get_revoked_certificate_by_serial_number(1003) is None
    reloaded = crypto.load_crl(crypto.crl_to_pem(crl))
    assert reloaded.get_revoked_certificate_by_serial_number(1002) is not None


# --------------------------------------------------------------------------- sign and verify


def test_sealed_document_verifies(ca: Authority, seal: Seal, signature: bytes) -> None:
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert)
    assert result.status == "valid" and result.is_valid
    assert result.message_zh == "签章有效"
    assert result.signer_serial == seal.cert.serial_number
    assert result.signer_subject is not None and SEAL_NAME in result.signer_subject
    assert result.content_sha256 == hashlib.sha256(DOCX).hexdigest()
    assert result.signing_time is not None
    assert abs(result.signing_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_rsa_sealed_document_verifies(ca: Authority) -> None:
    rsa_seal = make_seal(ca, key_type="rsa")
    signature = sign_detached(DOCX, key=rsa_seal.key, certificate=rsa_seal.cert)
    assert verify_detached(DOCX, signature, trusted_ca=ca.cert).status == "valid"
    assert verify_detached(DOCX + b"x", signature, trusted_ca=ca.cert).status == "content_changed"


def test_signing_time_is_the_clock_at_signing(seal: Seal) -> None:
    moment = dt.datetime(2026, 3, 8, 9, 30, 15, tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        signature = sign_detached(DOCX, key=seal.key, certificate=seal.cert)
    assert read_signing_time(signature) == moment


def test_signature_is_detached_der_with_sha256(signature: bytes) -> None:
    assert signature[0] == 0x30  # DER SEQUENCE, not PEM or S/MIME
    assert DOCX[100:400] not in signature  # the content is not embedded
    sha256_oid_der = bytes.fromhex("0609608648016503040201")
    assert sha256_oid_der in signature


def test_signature_is_cades_bes_bound_to_the_seal_certificate(signature: bytes, seal: Seal) -> None:
    """ESS signingCertificateV2 names the SHA-256 of exactly the seal's certificate."""
    from asn1crypto import tsp

    signer_info = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
    attributes = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert set(attributes) == {"content_type", "signing_time", "message_digest", "signing_certificate_v2"}
    certificate_id = attributes["signing_certificate_v2"]["certs"][0]
    assert isinstance(attributes["signing_certificate_v2"], tsp.SigningCertificateV2)
    der = seal.cert.public_bytes(serialization.Encoding.DER)
    assert certificate_id["cert_hash"].native == hashlib.sha256(der).digest()
    assert certificate_id["issuer_serial"]["serial_number"].native == seal.cert.serial_number


def test_seal_certificate_names_where_its_crl_is(ca: Authority) -> None:
    key = generate_seal_key()
    cert = issue_seal_certificate(
        ca_key=ca.key, ca_cert=ca.cert, seal_public_key=key.public_key(), organisation=ORG, seal_name=SEAL_NAME,
        serial_number=None, not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=30),
        crl_url="https://oa.example.gov.cn/seals/crl.pem",
    )
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [name.value for point in points for name in point.full_name] == ["https://oa.example.gov.cn/seals/crl.pem"]


def test_one_changed_byte_is_reported_as_content_changed(ca: Authority, signature: bytes) -> None:
    tampered = flip_byte(DOCX, len(DOCX) // 2)
    result = verify_detached(tampered, signature, trusted_ca=ca.cert)
    assert result.status == "content_changed" and not result.is_valid
    assert result.message_zh == "内容已被篡改"
    assert result.content_sha256 == hashlib.sha256(tampered).hexdigest()


def test_appended_bytes_are_reported_as_content_changed(ca: Authority, signature: bytes) -> None:
    assert verify_detached(DOCX + b"\0", signature, trusted_ca=ca.cert).status == "content_changed"


def test_flipped_signature_bytes_are_signature_invalid(ca: Authority, seal: Seal) -> None:
    signature = sign_detached(DOCX, key=seal.key, certificate=seal.cert)
    signer_info = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
    raw_signature = signer_info["signature"].native
    assert signature.count(raw_signature) == 1
    # ECDSA-Sig-Value is SEQUENCE { r INTEGER, s INTEGER }: flipping the last byte of s
    # keeps the structure parseable, the messageDigest intact, and the maths wrong.
    forged = signature.replace(raw_signature, flip_byte(raw_signature, len(raw_signature) - 1))
    result = verify_detached(DOCX, forged, trusted_ca=ca.cert)
    assert result.status == "signature_invalid" and result.reason_code == "bad_signature"
    assert result.message_zh == "签名无效"


def test_backdating_the_signing_time_breaks_the_signature(ca: Authority, seal: Seal) -> None:
    with time_machine.travel(dt.datetime(2026, 5, 5, 5, 5, 5, tzinfo=dt.UTC), tick=False):
        signature = sign_detached(DOCX, key=seal.key, certificate=seal.cert)
    assert signature.count(b"260505050505Z") == 1  # UTCTime YYMMDDhhmmssZ
    backdated = signature.replace(b"260505050505Z", b"250505050505Z")
    result = verify_detached(DOCX, backdated, trusted_ca=ca.cert)
    assert result.status == "signature_invalid"


def test_signature_from_another_ca_is_untrusted(ca: Authority) -> None:
    foreign_ca = make_ca(common_name="Other CA", organisation="别的单位")
    foreign_seal = make_seal(foreign_ca)
    signature = sign_detached(DOCX, key=foreign_seal.key, certificate=foreign_seal.cert)
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert)
    assert result.status == "untrusted_certificate" and not result.is_valid
    assert result.message_zh == "证书不是本机构CA签发"
    # ...while it is, of course, valid for its own CA.
    assert verify_detached(DOCX, signature, trusted_ca=foreign_ca.cert).status == "valid"


def test_impostor_ca_with_identical_names_is_untrusted(ca: Authority, seal: Seal) -> None:
    impostor = make_ca()  # same CN and O as our CA, different key
    assert impostor.cert.subject == ca.cert.subject
    impostor_seal = make_seal(impostor, serial_number=seal.cert.serial_number)
    assert impostor_seal.cert.subject == seal.cert.subject
    assert impostor_seal.cert.issuer == seal.cert.issuer
    signature = sign_detached(DOCX, key=impostor_seal.key, certificate=impostor_seal.cert)
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert)
    assert result.status == "untrusted_certificate"


def test_the_ca_key_itself_cannot_seal_documents(ca: Authority) -> None:
    signature = sign_detached(DOCX, key=ca.key, certificate=ca.cert)
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert)
    assert result.status == "untrusted_certificate"
    assert result.reason_code == "not_a_seal_certificate"


def test_seal_used_after_expiry_is_expired_at_signing(ca: Authority) -> None:
    expired = make_seal(
        ca, not_before=NOW - dt.timedelta(days=60), not_after=NOW - dt.timedelta(days=1)
    )
    signature = sign_detached(DOCX, key=expired.key, certificate=expired.cert)
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert)
    assert result.status == "expired_at_signing" and not result.is_valid
    assert result.message_zh == "签章时印章已过期"


def test_document_sealed_while_the_seal_was_valid_stays_valid_after_expiry(ca: Authority) -> None:
    short_lived = make_seal(
        ca, not_before=NOW - dt.timedelta(days=60), not_after=NOW - dt.timedelta(days=1)
    )
    with time_machine.travel(NOW - dt.timedelta(days=30), tick=False):
        signature = sign_detached(DOCX, key=short_lived.key, certificate=short_lived.cert)
    assert verify_detached(DOCX, signature, trusted_ca=ca.cert).status == "valid"


def test_seal_used_before_its_validity_is_expired_at_signing(ca: Authority) -> None:
    future = make_seal(ca, not_before=NOW + dt.timedelta(days=1))
    signature = sign_detached(DOCX, key=future.key, certificate=future.cert)
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert)
    assert result.status == "expired_at_signing"
    assert result.reason_code == "certificate_not_yet_valid"


# --------------------------------------------------------------------------- revocation


def crl_revoking(
    ca: Authority,
    serial: int,
    revoked_at: dt.datetime,
    reason: x509.ReasonFlags | None = None,
) -> x509.CertificateRevocationList:
    return build_crl(
        ca_key=ca.key,
        ca_cert=ca.cert,
        revoked=[(serial, revoked_at)],
        this_update=NOW - dt.timedelta(minutes=1),
        next_update=NOW + dt.timedelta(days=7),
        crl_number=2,
        reasons={serial: reason} if reason else None,
    )


def test_document_sealed_before_revocation_is_valid_with_a_note(ca: Authority) -> None:
    revoked_seal = make_seal(ca)
    with time_machine.travel(NOW - dt.timedelta(days=3), tick=False):
        signature = sign_detached(DOCX, key=revoked_seal.key, certificate=revoked_seal.cert)
    revoked_at = NOW - dt.timedelta(days=1)
    crl = crl_revoking(ca, revoked_seal.cert.serial_number, revoked_at)
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert, crl=crl)
    assert result.status == "valid_when_sealed_since_revoked" and result.is_valid
    assert result.message_zh == "签章有效；印章其后已吊销"
    assert result.revoked_at == revoked_at


def test_document_sealed_after_revocation_is_revoked(ca: Authority) -> None:
    revoked_seal = make_seal(ca)
    revoked_at = NOW - dt.timedelta(days=1)
    signature = sign_detached(DOCX, key=revoked_seal.key, certificate=revoked_seal.cert)
    crl = crl_revoking(ca, revoked_seal.cert.serial_number, revoked_at)
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert, crl=crl)
    assert result.status == "revoked" and not result.is_valid
    assert result.message_zh == "印章已吊销"
    assert result.revoked_at == revoked_at


def test_key_compromise_revokes_even_back_dated_documents(ca: Authority) -> None:
    # signingTime is asserted by whoever holds the key, so after a key compromise a date
    # before the revocation proves nothing.
    stolen = make_seal(ca)
    with time_machine.travel(NOW - dt.timedelta(days=3), tick=False):
        signature = sign_detached(DOCX, key=stolen.key, certificate=stolen.cert)
    crl = crl_revoking(
        ca, stolen.cert.serial_number, NOW - dt.timedelta(days=1), x509.ReasonFlags.key_compromise
    )
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert, crl=crl)
    assert result.status == "revoked" and result.reason_code == "revoked_key_compromise"


def test_crl_not_listing_the_seal_leaves_it_valid(ca: Authority, signature: bytes) -> None:
    crl = crl_revoking(ca, 1, NOW - dt.timedelta(days=1))
    assert verify_detached(DOCX, signature, trusted_ca=ca.cert, crl=crl).status == "valid"


def test_crl_from_another_ca_is_refused(ca: Authority, signature: bytes) -> None:
    other = make_ca()
    with pytest.raises(CRLMismatch):
        verify_detached(DOCX, signature, trusted_ca=ca.cert, crl=crl_revoking(other, 1, NOW))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x00",
        b"not a signature at all",
        b"\x30\x82\xff\xff",  # a SEQUENCE header promising bytes that never come
        os.urandom(512),
    ],
    ids=["empty", "nul", "text", "truncated-header", "random"],
)
def test_garbage_is_not_a_signature(ca: Authority, garbage: bytes) -> None:
    result = verify_detached(DOCX, garbage, trusted_ca=ca.cert)
    assert result.status == "not_a_signature" and not result.is_valid
    assert result.signer_serial is None


def test_other_der_objects_are_not_signatures(ca: Authority, signature: bytes) -> None:
    for der in (crypto.certificate_to_der(ca.cert), signature[:-10], signature + b"\0"):
        assert verify_detached(DOCX, der, trusted_ca=ca.cert).status == "not_a_signature"


def test_no_single_byte_corruption_raises_or_verifies(
    ca: Authority, seal: Seal, signature: bytes
) -> None:
    # Every byte outside the embedded certificate is covered by the signature or checked
    # for structure; inside it, the CA's signature covers all but the encoding of that
    # signature itself (a BIT STRING's unused-bits byte is not signed by anyone).
    certificate_der = crypto.certificate_to_der(seal.cert)
    cert_start = signature.index(certificate_der)
    cert_end = cert_start + len(certificate_der)
    for index in range(len(signature)):
        result = verify_detached(DOCX, flip_byte(signature, index), trusted_ca=ca.cert)
        if not cert_start <= index < cert_end:
            assert not result.is_valid, index


def test_verification_result_is_immutable(ca: Authority, signature: bytes) -> None:
    result = verify_detached(DOCX, signature, trusted_ca=ca.cert)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "revoked"  # type: ignore[misc]


# --------------------------------------------------------------------------- OpenSSL interop

needs_openssl = pytest.mark.needs_tool("openssl", install="the Debian package openssl")


def openssl_verify(tmp_path: Path, data: bytes, signature: bytes, ca_bundle: bytes, *extra: str):
    (tmp_path / "doc.docx").write_bytes(data)
    (tmp_path / "doc.p7s").write_bytes(signature)
    (tmp_path / "ca.pem").write_bytes(ca_bundle)
    # The documented command, verbatim (plus optional CRL flags).
    return subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", "doc.p7s", "-content", "doc.docx", "-CAfile", "ca.pem",
            *extra, "-out", "/dev/null",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


@needs_openssl
def test_openssl_verifies_our_signature(tmp_path: Path, ca: Authority, signature: bytes) -> None:
    run = openssl_verify(tmp_path, DOCX, signature, crypto.certificate_to_pem(ca.cert))
    assert run.returncode == 0, run.stderr
    assert "Verification successful" in run.stderr


@needs_openssl
def test_openssl_verifies_an_rsa_seal(tmp_path: Path, ca: Authority) -> None:
    rsa_seal = make_seal(ca, key_type="rsa")
    signature = sign_detached(DOCX, key=rsa_seal.key, certificate=rsa_seal.cert)
    run = openssl_verify(tmp_path, DOCX, signature, crypto.certificate_to_pem(ca.cert))
    assert run.returncode == 0, run.stderr


@needs_openssl
def test_openssl_rejects_a_tampered_document(
    tmp_path: Path, ca: Authority, signature: bytes
) -> None:
    tampered = flip_byte(DOCX, 10)
    run = openssl_verify(tmp_path, tampered, signature, crypto.certificate_to_pem(ca.cert))
    assert run.returncode != 0
    assert "Verification failure" in run.stderr


@needs_openssl
def test_openssl_rejects_a_foreign_ca(tmp_path: Path, signature: bytes) -> None:
    run = openssl_verify(tmp_path, DOCX, signature, crypto.certificate_to_pem(make_ca().cert))
    assert run.returncode != 0


@needs_openssl
def test_openssl_crl_check_rejects_a_revoked_seal(
    tmp_path: Path, ca: Authority, seal: Seal, signature: bytes
) -> None:
    # OpenSSL 3's `cms` has no -CRLfile; a CRL in the -CAfile bundle is picked up.
    pem = crypto.certificate_to_pem(ca.cert)
    clean = crl_revoking(ca, 1, NOW - dt.timedelta(hours=1))
    run = openssl_verify(tmp_path, DOCX, signature, pem + crypto.crl_to_pem(clean), "-crl_check")
    assert run.returncode == 0, run.stderr
    revoked = crl_revoking(ca, seal.cert.serial_number, NOW - dt.timedelta(hours=1))
    run = openssl_verify(tmp_path, DOCX, signature, pem + crypto.crl_to_pem(revoked), "-crl_check")
    assert run.returncode != 0
    assert "certificate revoked" in run.stderr


@needs_openssl
@pytest.mark.parametrize("signer_id", [[], ["-keyid"]], ids=["issuer-serial", "key-id"])
def test_we_verify_a_signature_made_by_openssl(
    tmp_path: Path, ca: Authority, seal: Seal, signer_id: list[str]
) -> None:
    (tmp_path / "doc.docx").write_bytes(DOCX)
    (tmp_path / "seal.pem").write_bytes(crypto.certificate_to_pem(seal.cert))
    (tmp_path / "seal.key").write_bytes(
        seal.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    subprocess.run(
        [
            "openssl", "cms", "-sign", "-binary", "-md", "sha256", "-in", "doc.docx",
            "-signer", "seal.pem", "-inkey", "seal.key", "-outform", "DER", "-out", "doc.p7s",
            *signer_id,
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )  # fmt: skip
    signature = (tmp_path / "doc.p7s").read_bytes()
    assert verify_detached(DOCX, signature, trusted_ca=ca.cert).status == "valid"
    assert verify_detached(DOCX[:-1], signature, trusted_ca=ca.cert).status == "content_changed"


# --------------------------------------------------------------------------- key wrapping


@pytest.fixture
def kek() -> bytes:
    return os.urandom(32)


def pkcs8(key: crypto.PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_wrapped_key_unwraps_to_the_same_key(kek: bytes, key_type: crypto.KeyType) -> None:
    key = generate_seal_key(key_type)
    blob = wrap_private_key(key, kek, key_id="seal-1")
    assert pkcs8(unwrap_private_key(blob, kek, key_id="seal-1")) == pkcs8(key)


def test_wrapped_blob_does_not_contain_the_key(kek: bytes) -> None:
    key = generate_seal_key()
    blob = wrap_private_key(key, kek, key_id="seal-1")
    plaintext = pkcs8(key)
    assert plaintext not in blob
    private_scalar = key.private_numbers().private_value.to_bytes(32, "big")
    assert private_scalar not in blob
    # version byte + 12-byte nonce + ciphertext of the same length + 16-byte GCM tag
    assert blob[0] == 1 and len(blob) == 1 + 12 + len(plaintext) + 16


def test_wrapping_twice_uses_fresh_nonces(kek: bytes) -> None:
    key = generate_seal_key()
    assert wrap_private_key(key, kek, key_id="a") != wrap_private_key(key, kek, key_id="a")


def test_wrong_kek_cannot_unwrap(kek: bytes) -> None:
    blob = wrap_private_key(generate_seal_key(), kek, key_id="seal-1")
    with pytest.raises(KeyUnwrapError) as excinfo:
        unwrap_private_key(blob, os.urandom(32), key_id="seal-1")
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


def test_blob_moved_to_another_key_id_cannot_unwrap(kek: bytes) -> None:
    blob = wrap_private_key(generate_seal_key(), kek, key_id="seal-1")
    with pytest.raises(KeyUnwrapError):
        unwrap_private_key(blob, kek, key_id="seal-2")


@pytest.mark.parametrize("where", [0, 1, 13, -1])
def test_tampered_blob_cannot_unwrap(kek: bytes, where: int) -> None:
    blob = wrap_private_key(generate_seal_key(), kek, key_id="seal-1")
    with pytest.raises(KeyUnwrapError):
        unwrap_private_key(flip_byte(blob, where % len(blob)), kek, key_id="seal-1")


def test_truncated_blob_cannot_unwrap(kek: bytes) -> None:
    blob = wrap_private_key(generate_seal_key(), kek, key_id="seal-1")
    for cut in (0, 5, 20, len(blob) - 1):
        with pytest.raises(KeyUnwrapError):
            unwrap_private_key(blob[:cut], kek, key_id="seal-1")


def test_unwrap_error_message_reveals_no_key_material(kek: bytes) -> None:
    key = generate_seal_key()
    blob = wrap_private_key(key, kek, key_id="seal-1")
    with pytest.raises(KeyUnwrapError) as excinfo:
        unwrap_private_key(blob, flip_byte(kek, 0), key_id="seal-1")
    text = str(excinfo.value) + repr(excinfo.value)
    for secret in (kek, flip_byte(kek, 0), pkcs8(key)):
        assert secret.hex() not in text and base64.b64encode(secret).decode() not in text


def test_rewrap_moves_the_key_to_the_new_kek(kek: bytes) -> None:
    key = generate_seal_key()
    new_kek = os.urandom(32)
    old_blob = wrap_private_key(key, kek, key_id="seal-1")
    new_blob = rewrap(old_blob, kek, new_kek, key_id="seal-1")
    assert pkcs8(unwrap_private_key(new_blob, new_kek, key_id="seal-1")) == pkcs8(key)
    with pytest.raises(KeyUnwrapError):
        unwrap_private_key(new_blob, kek, key_id="seal-1")


def test_parse_kek_accepts_base64_of_32_bytes() -> None:
    raw = os.urandom(32)
    assert parse_kek(base64.b64encode(raw).decode()) == raw
    assert parse_kek(base64.b64encode(raw).decode() + "\n") == raw  # as read from a file


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64!!",
        base64.b64encode(os.urandom(16)).decode(),
        base64.b64encode(os.urandom(31)).decode(),
        base64.b64encode(os.urandom(33)).decode(),
        base64.b64encode(os.urandom(32)).decode().rstrip("="),  # padding stripped
        "密钥" * 22,
    ],
    ids=["empty", "junk", "16-bytes", "31-bytes", "33-bytes", "unpadded", "non-ascii"],
)
def test_parse_kek_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidKEK):
        parse_kek(text)


def test_wrap_refuses_a_short_kek() -> None:
    with pytest.raises(InvalidKEK):
        wrap_private_key(generate_seal_key(), os.urandom(16), key_id="seal-1")
