"""The internal seal CA: keys, the root certificate, seal certificates and CRLs.

Pure library code — no Django imports — so the seals app, its management commands and
the tests all call the same functions (DESIGN.md §6). Seal keys are ECDSA P-256 by
default (RSA-3072 optional), certified by one internal root.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Final, Literal, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyType: TypeAlias = Literal["ec", "rsa"]

_RSA_KEY_SIZE: Final = 3072
SIGNATURE_HASH: Final = hashes.SHA256()

# RFC 9336 id-kp-documentSigning states what a seal certificate is for. emailProtection is
# listed as well because OpenSSL's default `cms -verify` purpose (smimesign) rejects a
# certificate whose EKU extension lacks it; with both, the plain documented command works
# without `-purpose any`.
DOCUMENT_SIGNING_EKU: Final = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


# --------------------------------------------------------------------------- encodings


def certificate_to_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def certificate_to_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def load_certificate(data: bytes) -> x509.Certificate:
    """Load a certificate from PEM or DER (detected by the PEM armour)."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def crl_to_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def crl_to_der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """Load a CRL from PEM or DER."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _require_aware(name: str, value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- keys and CA


def generate_seal_key(key_type: KeyType = "ec") -> PrivateKey:
    """A fresh seal (or CA) key: ECDSA P-256, or RSA-3072 with ``key_type="rsa"``."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_KEY_SIZE)
    raise ValueError(f"unsupported key type: {key_type!r}")


def create_root_ca(
    *,
    common_name: str,
    organisation: str,
    valid_days: int = 3650 * 2,
    key_type: KeyType = "ec",
    not_before: dt.datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """Create the self-signed root of the internal seal CA.

    ``path_length=0``: the root certifies seals directly, never intermediate CAs.
    ``not_before`` defaults to now; it exists so that tests (and re-keying drills) can
    issue certificates whose validity starts in the past.
    """
    if valid_days <= 0:
        raise ValueError("valid_days must be positive")
    start = not_before if not_before is not None else _now()
    _require_aware("not_before", start)
    key = generate_seal_key(key_type)
    name = _subject(organisation, common_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
            critical=False,
        )
        .sign(key, SIGNATURE_HASH)
    )
    return key, certificate


def _check_ca_pair(ca_key: PrivateKey, ca_cert: x509.Certificate) -> None:
    if ca_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != ca_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ValueError("ca_key does not belong to ca_cert")
    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise ValueError("ca_cert is not a CA certificate") from None
    if not constraints.ca:
        raise ValueError("ca_cert is not a CA certificate")


# RFC 5280 upper bounds: ub-common-name and ub-organization-name are 64. cryptography
# counts the common name's limit in UTF-8 bytes (a Chinese character takes three, so 21
# characters fit); the organisation is held to 64 characters. A longer name is cut at a
# character boundary and marked with "…": the full name stays in the seal registry, on
# the seal image and in every page, and the certificate's serial links the two.
NAME_ATTRIBUTE_MAX_BYTES: Final = 64
NAME_ATTRIBUTE_MAX_CHARS: Final = 64
_ELLIPSIS: Final = "…"


def fit_name_attribute(
    value: str, *, max_bytes: int = NAME_ATTRIBUTE_MAX_BYTES, max_chars: int = NAME_ATTRIBUTE_MAX_CHARS
) -> str:
    """``value`` if it fits both limits, else its longest prefix that fits with "…" added.

    Raises ``ValueError`` for a name that is empty after trimming whitespace.
    """
    value = " ".join(value.split())
    if not value:
        raise ValueError("a certificate name must not be empty")
    if len(value) <= max_chars and len(value.encode("utf-8")) <= max_bytes:
        return value
    budget_bytes = max_bytes - len(_ELLIPSIS.encode("utf-8"))
    budget_chars = max_chars - len(_ELLIPSIS)
    kept: list[str] = []
    used = 0
    for char in value[:budget_chars]:
        size = len(char.encode("utf-8"))
        if used + size > budget_bytes:
            break
        kept.append(char)
        used += size
    return "".join(kept).rstrip() + _ELLIPSIS


def _subject(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, fit_name_attribute(organisation)),
            x509.NameAttribute(NameOID.COMMON_NAME, fit_name_attribute(common_name)),
        ]
    )


def issue_seal_certificate(
    *,
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    seal_public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    organisation: str,
    seal_name: str,
    serial_number: int | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str | None = None,
) -> x509.Certificate:
    """Certify one seal: subject ``C=CN, O=<organisation>, CN=<seal_name>``, each name
    shortened by :func:`fit_name_attribute` when it exceeds the X.509 upper bound.

    The validity must lie inside the CA's own validity (a verifier walking the chain would
    otherwise reject the seal before it expires). ``serial_number=None`` draws a random
    159-bit serial, as RFC 5280 recommends.
    """
    _require_aware("not_before", not_before)
    _require_aware("not_after", not_after)
    if not_after <= not_before:
        raise ValueError("not_after must be later than not_before")
    if not_before < ca_cert.not_valid_before_utc or not_after > ca_cert.not_valid_after_utc:
        raise ValueError("seal validity must lie within the CA certificate's validity")
    _check_ca_pair(ca_key, ca_cert)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    subject = _subject(organisation, seal_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(seal_public_key)
        .serial_number(serial_number if serial_number is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(seal_public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
    )
    if crl_url:
        # RFC 5280 §4.2.1.13: where verifiers find the CRL. pyHanko checks the revocation
        # of a certificate that names one; pdfsig never fetches it (the CRL is imported).
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
                                        reasons=None, crl_issuer=None)]
            ),
            critical=False,
        )
    return builder.sign(ca_key, SIGNATURE_HASH)


def build_crl(
    *,
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    revoked: Iterable[tuple[int, dt.datetime]],
    this_update: dt.datetime,
    next_update: dt.datetime,
    crl_number: int,
    reasons: Mapping[int, x509.ReasonFlags] | None = None,
) -> x509.CertificateRevocationList:
    """Sign a CRL listing ``(serial, revoked_at)`` pairs.

    ``reasons`` optionally maps a serial to its CRLReason. It matters to verification:
    a seal revoked for ``key_compromise`` no longer vouches even for documents whose
    (self-asserted) signing time precedes the revocation — see :func:`verify_detached`.
    """
    _require_aware("this_update", this_update)
    _require_aware("next_update", next_update)
    if next_update <= this_update:
        raise ValueError("next_update must be later than this_update")
    if crl_number < 0:
        raise ValueError("crl_number must not be negative")
    _check_ca_pair(ca_key, ca_cert)
    reasons = reasons or {}
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
    )
    for serial, revoked_at in revoked:
        _require_aware("revoked_at", revoked_at)
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
        reason = reasons.get(serial)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca_key, SIGNATURE_HASH)

