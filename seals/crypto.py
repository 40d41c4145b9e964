"""Seal cryptography: the internal CA, seal certificates, CRLs, key wrapping and CMS.

Pure library code — no Django imports — so the seals app, its management commands and
the tests all call the same functions (DESIGN.md §6).

* Seal keys are ECDSA P-256 by default (RSA-3072 optional), certified by one internal CA.
* Private keys are stored only as AES-256-GCM blobs under a key-encryption key (KEK) that
  lives outside the database; nothing in this module logs, formats or reprs key material.
* Documents are signed with a detached CMS SignedData (SHA-256, signed attributes
  contentType / messageDigest / signingTime) built by ``cryptography``'s
  ``PKCS7SignatureBuilder``; the same file verifies with stock OpenSSL::

      openssl cms -verify -binary -inform DER -in X.p7s -content X.docx \\
          -CAfile ca.pem -out /dev/null

* ``cryptography`` has no CMS verification API, so :func:`verify_detached` parses the
  SignedData with ``asn1crypto`` and checks every signature with ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, TypeAlias

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "CRLMismatch",
    "InvalidKEK",
    "KeyType",
    "KeyUnwrapError",
    "PrivateKey",
    "SignedAttributes",
    "VerificationResult",
    "VerificationStatus",
    "build_crl",
    "certificate_to_pem",
    "create_root_ca",
    "crl_to_pem",
    "fit_name_attribute",
    "generate_seal_key",
    "issue_seal_certificate",
    "load_certificate",
    "load_crl",
    "parse_kek",
    "read_signed_attributes",
    "read_signing_time",
    "rewrap",
    "sha256_hex",
    "sign_detached",
    "status_message_zh",
    "unwrap_private_key",
    "verify_detached",
    "wrap_private_key",
]

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyType: TypeAlias = Literal["ec", "rsa"]

_RSA_KEY_SIZE: Final = 3072
_SIGNATURE_HASH: Final = hashes.SHA256()

# RFC 9336 id-kp-documentSigning states what a seal certificate is for. emailProtection is
# listed as well because OpenSSL's default `cms -verify` purpose (smimesign) rejects a
# certificate whose EKU extension lacks it; with both, the plain documented command works
# without `-purpose any`.
DOCUMENT_SIGNING_EKU: Final = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


# --------------------------------------------------------------------------- helpers


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


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
        .sign(key, _SIGNATURE_HASH)
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


def fit_name_attribute(value: str, *, max_bytes: int = NAME_ATTRIBUTE_MAX_BYTES, max_chars: int = NAME_ATTRIBUTE_MAX_CHARS) -> str:
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
        # RFC 5280 §4.2.1.13: where verifiers find the CRL. pyHanko checks revocation of
        # a certificate that names one; pdfsig never fetches it (the CRL is imported).
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
                                        reasons=None, crl_issuer=None)]
            ),
            critical=False,
        )
    return builder.sign(ca_key, _SIGNATURE_HASH)


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
    return builder.sign(ca_key, _SIGNATURE_HASH)


# --------------------------------------------------------------------------- key wrapping


class InvalidKEK(ValueError):
    """The configured key-encryption key is not base64 of exactly 32 bytes."""


class KeyUnwrapError(Exception):
    """A wrapped key could not be opened: wrong KEK, wrong key id, or a damaged blob.

    The message never contains key material, and the underlying cause is not chained
    (``from None``) so tracebacks carry nothing either.
    """


_WRAP_VERSION: Final = 1
_KEK_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_GCM_TAG_BYTES: Final = 16


def parse_kek(text: str) -> bytes:
    """Decode the KEK from its configured text form: base64 of exactly 32 random bytes.

    Surrounding whitespace (a trailing newline in a secrets file) is ignored; anything
    else that is not strict base64 is refused. Generate one with
    ``python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"``.
    """
    try:
        kek = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidKEK("the key-encryption key is not valid base64") from None
    if len(kek) != _KEK_BYTES:
        raise InvalidKEK(
            f"the key-encryption key must decode to {_KEK_BYTES} bytes, got {len(kek)}"
        )
    return kek


def _aad(key_id: str) -> bytes:
    # The version byte is authenticated too, so a blob cannot be relabelled as another
    # format; the key id binds the blob to its database row (a blob copied onto another
    # seal does not open).
    return bytes([_WRAP_VERSION]) + key_id.encode("utf-8")


def _aesgcm(kek: bytes) -> AESGCM:
    if len(kek) != _KEK_BYTES:
        raise InvalidKEK(f"the key-encryption key must be {_KEK_BYTES} bytes")
    return AESGCM(kek)


def wrap_private_key(private_key: PrivateKey, kek: bytes, *, key_id: str) -> bytes:
    """Encrypt ``private_key`` for storage: ``version(1) || nonce(12) || AES-256-GCM(PKCS8)``.

    ``key_id`` (e.g. the seal's UUID) is authenticated as associated data.
    """
    plaintext = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _seal_bytes(plaintext, kek, key_id=key_id)


def _seal_bytes(plaintext: bytes, kek: bytes, *, key_id: str) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return bytes([_WRAP_VERSION]) + nonce + _aesgcm(kek).encrypt(nonce, plaintext, _aad(key_id))


def _open_bytes(blob: bytes, kek: bytes, *, key_id: str) -> bytes:
    if len(blob) < 1 + _NONCE_BYTES + _GCM_TAG_BYTES or blob[0] != _WRAP_VERSION:
        raise KeyUnwrapError("wrapped key blob is malformed or of an unknown version")
    nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        return _aesgcm(kek).decrypt(nonce, ciphertext, _aad(key_id))
    except InvalidTag:
        raise KeyUnwrapError(
            "wrapped key could not be opened (wrong key-encryption key, wrong key id, "
            "or damaged data)"
        ) from None


def unwrap_private_key(blob: bytes, kek: bytes, *, key_id: str) -> PrivateKey:
    """Decrypt a blob made by :func:`wrap_private_key`; raises :class:`KeyUnwrapError`."""
    plaintext = _open_bytes(blob, kek, key_id=key_id)
    try:
        key = serialization.load_der_private_key(plaintext, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyUnwrapError("wrapped key decrypted but is not a PKCS#8 private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyUnwrapError("wrapped key is of an unsupported type")
    return key


def rewrap(blob: bytes, old_kek: bytes, new_kek: bytes, *, key_id: str) -> bytes:
    """Re-encrypt a wrapped key under a new KEK (KEK rotation), with a fresh nonce."""
    return wrap_private_key(
        unwrap_private_key(blob, old_kek, key_id=key_id), new_kek, key_id=key_id
    )


# --------------------------------------------------------------------------- CMS signing


def sign_detached(data: bytes, *, key: PrivateKey, certificate: x509.Certificate) -> bytes:
    """Detached CMS SignedData (DER) over ``data``: SHA-256, signer certificate included.

    Signed attributes are contentType, messageDigest and signingTime. The builder takes
    signingTime from ``datetime.now(UTC)`` at the moment of signing (UTCTime, whole
    seconds) and offers no way to choose it, so this function has no ``signing_time``
    parameter; read it back with :func:`read_signing_time`. (Tests move the clock with
    ``time_machine``, which the builder honours because it asks Python for the time.)
    """
    options = [
        pkcs7.PKCS7Options.DetachedSignature,
        pkcs7.PKCS7Options.Binary,
        # SMIMECapabilities advertise mail ciphers; meaningless for a sealed document.
        pkcs7.PKCS7Options.NoCapabilities,
    ]
    rsa_padding = padding.PKCS1v15() if isinstance(key, rsa.RSAPrivateKey) else None
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(data)
        .add_signer(certificate, key, _SIGNATURE_HASH, rsa_padding=rsa_padding)
        .sign(serialization.Encoding.DER, options)
    )


# --------------------------------------------------------------------------- CMS verification

VerificationStatus: TypeAlias = Literal[
    "valid",
    "valid_when_sealed_since_revoked",
    "content_changed",
    "signature_invalid",
    "untrusted_certificate",
    "expired_at_signing",
    "revoked",
    "not_a_signature",
    # Never produced by verify_detached (it knows no seal registry); the seals app maps a
    # trusted certificate whose serial it does not know to this status.
    "unknown_seal",
]

_VALID_STATUSES: Final[frozenset[str]] = frozenset({"valid", "valid_when_sealed_since_revoked"})

_MESSAGES_ZH: Final[dict[str, str]] = {
    "valid": "签章有效",
    "valid_when_sealed_since_revoked": "签章有效；印章其后已吊销",
    "content_changed": "内容已被篡改",
    "signature_invalid": "签名无效",
    "untrusted_certificate": "证书不是本机构CA签发",
    "expired_at_signing": "签章时印章已过期",
    "revoked": "印章已吊销",
    "not_a_signature": "不是有效的签章文件",
    "unknown_seal": "未知印章",
}

# Finer explanations for a few reason codes; the rest use the status message.
_REASON_MESSAGES_ZH: Final[dict[str, str]] = {
    "certificate_not_yet_valid": "签章时印章证书尚未生效",
    "not_a_seal_certificate": "签名证书不是印章证书",
    "signer_certificate_missing": "签章文件中缺少印章证书",
    "revoked_key_compromise": "印章因密钥泄露已吊销，签章不可信",
}


def status_message_zh(status: str) -> str:
    """The Chinese message shown for a verification status."""
    return _MESSAGES_ZH[status]


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Outcome of :func:`verify_detached`.

    ``status`` is the category a user sees; ``reason_code`` is a stable, finer code for
    logs and audit (e.g. ``status="not_a_signature", reason_code="malformed_der"``).
    """

    status: VerificationStatus
    reason_code: str
    message_zh: str
    content_sha256: str
    signer_serial: int | None = None
    signer_subject: str | None = None
    signing_time: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    @property
    def is_valid(self) -> bool:
        """True when the document is as sealed by a then-valid seal of our CA."""
        return self.status in _VALID_STATUSES


# digestAlgorithm OIDs we accept (asn1crypto names) and the matching hash.
_DIGESTS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# signatureAlgorithm OID -> (key family, hash named by the OID or None if it names none).
_SIGNATURE_ALGORITHMS: Final[dict[str, tuple[str, str | None]]] = {
    "sha256_ecdsa": ("ec", "sha256"),
    "sha384_ecdsa": ("ec", "sha384"),
    "sha512_ecdsa": ("ec", "sha512"),
    "sha256_rsa": ("rsa", "sha256"),
    "sha384_rsa": ("rsa", "sha384"),
    "sha512_rsa": ("rsa", "sha512"),
    "rsassa_pkcs1v15": ("rsa", None),
}

# What parsing hostile DER can raise: asn1crypto reports most problems as ValueError or
# TypeError but, parsing lazily, also surfaces KeyError/IndexError/AttributeError from deep
# inside; cryptography adds its own non-ValueError classes for certificate oddities.
_PARSE_ERRORS: Final = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


@dataclass(frozen=True, slots=True)
class _ParsedSignerInfo:
    digest_algorithm: str
    signature_algorithm: str
    signature: bytes
    # DER of the signed attributes re-tagged as SET OF (0x31): what was actually signed.
    signed_attrs_der: bytes | None
    content_types: tuple[str, ...]
    message_digests: tuple[bytes, ...]
    signing_times: tuple[dt.datetime, ...]
    signer: x509.Certificate | None


class _NotASignature(Exception):
    def __init__(self, reason_code: str) -> None:
        super().__init__(reason_code)
        self.reason_code = reason_code


def _parse_signature(signature_der: bytes) -> _ParsedSignerInfo:
    """Parse everything :func:`verify_detached` needs, or raise :class:`_NotASignature`.

    asn1crypto parses lazily, so every field is touched here, inside one guard, and the
    checks that follow work on plain Python values.
    """
    try:
        content_info = asn1_cms.ContentInfo.load(signature_der, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise _NotASignature("not_signed_data")
        signed_data = content_info["content"]
        # Force a full parse: asn1crypto is lazy, and a damaged field we never read (the
        # outer digestAlgorithms, algorithm parameters) would otherwise pass unnoticed.
        # Certificates are the exception: converting them field by field in Python was
        # most of the verification time, so each is loaded by cryptography's strict DER
        # parser instead (which rejects the same damage).
        for field in ("version", "digest_algorithms", "encap_content_info", "crls", "signer_infos"):
            signed_data[field].native  # noqa: B018
        certificates: list[tuple[bytes, x509.Certificate]] = []
        for choice in signed_data["certificates"] or []:
            if choice.name == "certificate":
                der = choice.chosen.dump()
                certificates.append((der, x509.load_der_x509_certificate(der)))
            else:
                choice.native  # noqa: B018
        if signed_data["version"].native not in ("v1", "v3", "v4", "v5"):
            raise _NotASignature("unsupported_version")
        encap = signed_data["encap_content_info"]
        if encap["content"].native is not None:
            raise _NotASignature("not_detached")
        if encap["content_type"].native != "data":
            raise _NotASignature("unsupported_content_type")
        signer_infos = list(signed_data["signer_infos"])
        if len(signer_infos) != 1:
            raise _NotASignature("not_exactly_one_signer")
        signer_info = signer_infos[0]
        if signer_info["version"].native not in ("v1", "v3"):
            raise _NotASignature("unsupported_version")
        announced = {alg["algorithm"].native for alg in signed_data["digest_algorithms"]}
        if signer_info["digest_algorithm"]["algorithm"].native not in announced:
            raise _NotASignature("digest_algorithm_not_announced")
        digest_parameters = signer_info["digest_algorithm"]["parameters"].native
        if digest_parameters is not None:
            raise _NotASignature("unexpected_algorithm_parameters")
        signer_der = _find_signer_certificate(signer_info["sid"], certificates)
        signer = _load_signer(signer_der) if signer_der is not None else None

        signed_attrs = signer_info["signed_attrs"]
        content_types: list[str] = []
        message_digests: list[bytes] = []
        signing_times: list[dt.datetime] = []
        signed_attrs_der: bytes | None = None
        if signed_attrs.native is not None:
            encoded = signed_attrs.dump()
            # RFC 5652 §5.4: the signature covers the attributes' DER with the EXPLICIT
            # SET OF tag, not the [0] IMPLICIT tag under which they are transmitted.
            signed_attrs_der = b"\x31" + encoded[1:]
            for attribute in signed_attrs:
                kind = attribute["type"].native
                values = list(attribute["values"])
                # Values of repeated attributes accumulate, so "exactly one value" below
                # also rejects an attribute that occurs twice (RFC 5652 §11).
                if kind == "content_type":
                    content_types.extend(v.native for v in values)
                elif kind == "message_digest":
                    message_digests.extend(v.native for v in values)
                elif kind == "signing_time":
                    signing_times.extend(_as_utc(v.native) for v in values)
        return _ParsedSignerInfo(
            digest_algorithm=signer_info["digest_algorithm"]["algorithm"].native,
            signature_algorithm=signer_info["signature_algorithm"]["algorithm"].native,
            signature=signer_info["signature"].native,
            signed_attrs_der=signed_attrs_der,
            content_types=tuple(content_types),
            message_digests=tuple(message_digests),
            signing_times=tuple(signing_times),
            signer=signer,
        )
    except _NotASignature:
        raise
    except _PARSE_ERRORS:
        raise _NotASignature("malformed_der") from None


def _load_signer(der: bytes) -> x509.Certificate:
    """Load the signer certificate, touching every lazily parsed part the checks use."""
    cert = x509.load_der_x509_certificate(der)
    cert.public_key()
    cert.subject.rfc4514_string()
    cert.issuer.rfc4514_string()
    _ = (cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc)
    for _extension in cert.extensions:
        pass
    return cert


def _as_utc(value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError("signingTime is not an aware datetime")
    return value.astimezone(dt.UTC)


def _find_signer_certificate(
    sid: asn1_cms.SignerIdentifier, certificates: list[tuple[bytes, x509.Certificate]]
) -> bytes | None:
    """DER of the certificate ``sid`` names, or None when the signature does not carry it."""
    if sid.name == "issuer_and_serial_number":
        # Issuer names compare as DER: signers copy the issuer verbatim from the
        # certificate, and OpenSSL matches the same way.
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        for der, cert in certificates:
            if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
                return der
        return None
    if sid.name == "subject_key_identifier":
        wanted = sid.chosen.native
        for der, cert in certificates:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == wanted:
                return der
        return None
    raise _NotASignature("unknown_signer_identifier")


@dataclass(frozen=True, slots=True)
class SignedAttributes:
    signing_time: dt.datetime
    message_digest: bytes


def read_signed_attributes(signature_der: bytes) -> SignedAttributes | None:
    """signingTime (UTC) and messageDigest of a one-signer signature, or None if unreadable.

    Reads only the signed attributes (not the embedded certificates): the sealing path
    calls this right after signing, and a full parse would cost more than the signature.
    It does not verify anything — use :func:`verify_detached` for that.
    """
    try:
        content_info = asn1_cms.ContentInfo.load(signature_der, strict=True)
        if content_info["content_type"].native != "signed_data":
            return None
        signer_infos = list(content_info["content"]["signer_infos"])
        if len(signer_infos) != 1:
            return None
        times: list[dt.datetime] = []
        digests: list[bytes] = []
        for attribute in signer_infos[0]["signed_attrs"]:
            kind = attribute["type"].native
            if kind == "signing_time":
                times.extend(_as_utc(value.native) for value in attribute["values"])
            elif kind == "message_digest":
                digests.extend(value.native for value in attribute["values"])
    except _PARSE_ERRORS:
        return None
    if len(times) != 1 or len(digests) != 1:
        return None
    return SignedAttributes(signing_time=times[0], message_digest=digests[0])


def read_signing_time(signature_der: bytes) -> dt.datetime | None:
    """The signingTime attribute of a detached signature (UTC), or None if unreadable."""
    attributes = read_signed_attributes(signature_der)
    return attributes.signing_time if attributes else None


def _verify_signature(parsed: _ParsedSignerInfo, signer: x509.Certificate) -> str | None:
    """Check the signature over the signed attributes; return a reason code on failure."""
    family, oid_hash = _SIGNATURE_ALGORITHMS.get(parsed.signature_algorithm, (None, None))
    if family is None or (oid_hash is not None and oid_hash != parsed.digest_algorithm):
        return "unsupported_algorithm"
    assert parsed.signed_attrs_der is not None  # checked by the caller
    hash_algorithm = _DIGESTS[parsed.digest_algorithm]()
    public_key = signer.public_key()
    try:
        if family == "ec" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(parsed.signature, parsed.signed_attrs_der, ec.ECDSA(hash_algorithm))
        elif family == "rsa" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(
                parsed.signature, parsed.signed_attrs_der, padding.PKCS1v15(), hash_algorithm
            )
        else:
            return "key_algorithm_mismatch"
    except InvalidSignature:
        return "bad_signature"
    return None


# Whether fixed certificate (or CRL) bytes carry a valid signature by a fixed CA never
# changes, so these checks are memoised: pure functions keyed by the complete DER (a
# certificate hashes and compares by its DER), not state another process could change.
# Verifying a document then costs little more than checking its own signature.
@lru_cache(maxsize=1024)
def _is_issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_seal_certificate(cert: x509.Certificate) -> bool:
    """An end-entity certificate whose key may sign documents."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            return False
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.digital_signature or usage.content_commitment


@lru_cache(maxsize=64)
def _crl_issued_by(crl_der: bytes, ca: x509.Certificate) -> bool:
    crl = x509.load_der_x509_crl(crl_der)
    return crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())


class CRLMismatch(ValueError):
    """The CRL handed to :func:`verify_detached` was not issued and signed by the trusted CA.

    A programming or configuration error on our side, not a property of the document, so
    it raises instead of producing a result.
    """


def verify_detached(
    data: bytes,
    signature_der: bytes,
    *,
    trusted_ca: x509.Certificate,
    crl: x509.CertificateRevocationList | None = None,
) -> VerificationResult:
    """Verify a detached CMS signature over ``data`` against our CA (and CRL).

    Checks, in order, each failure giving its own status:

    1. the signature parses as a detached SignedData with one signer → ``not_a_signature``;
    2. the messageDigest attribute equals the digest of ``data`` → ``content_changed``;
    3. the signature over the signed attributes verifies with the embedded signer
       certificate → ``signature_invalid``;
    4. that certificate is a seal certificate issued and signed by ``trusted_ca`` →
       ``untrusted_certificate``;
    5. the signingTime lies within the certificate's validity → ``expired_at_signing``;
    6. if ``crl`` lists the certificate: ``valid_when_sealed_since_revoked`` when signed
       before the revocation, else ``revoked``.

    signingTime is asserted by the signer, not by a timestamp authority. That is adequate
    while seal keys never leave the server, but a stolen key could back-date; so a seal
    revoked with reason ``key_compromise`` (or ``ca_compromise``) yields ``revoked`` for
    every document, whatever its signing time.

    Never raises on bad input; raises :class:`CRLMismatch` for a CRL not from ``trusted_ca``.
    """
    if crl is not None and not _crl_issued_by(crl_to_der(crl), trusted_ca):
        raise CRLMismatch("the CRL was not issued by the trusted CA")

    sha256_digest = hashlib.sha256(data).digest()  # hashed once: documents can be large
    content_sha256 = sha256_digest.hex()
    signer_serial: int | None = None
    signer_subject: str | None = None
    signing_time: dt.datetime | None = None

    def result(
        status: VerificationStatus,
        reason_code: str | None = None,
        *,
        revoked_at: dt.datetime | None = None,
    ) -> VerificationResult:
        code = reason_code or status
        return VerificationResult(
            status=status,
            reason_code=code,
            message_zh=_REASON_MESSAGES_ZH.get(code, _MESSAGES_ZH[status]),
            content_sha256=content_sha256,
            signer_serial=signer_serial,
            signer_subject=signer_subject,
            signing_time=signing_time,
            revoked_at=revoked_at,
        )

    try:
        parsed = _parse_signature(signature_der)
    except _NotASignature as exc:
        return result("not_a_signature", exc.reason_code)

    signer = parsed.signer
    if signer is not None:
        signer_serial = signer.serial_number
        signer_subject = signer.subject.rfc4514_string()
    if len(parsed.signing_times) == 1:
        signing_time = parsed.signing_times[0]

    if parsed.signed_attrs_der is None:
        return result("signature_invalid", "missing_signed_attributes")
    if parsed.digest_algorithm not in _DIGESTS:
        return result("signature_invalid", "unsupported_algorithm")
    if len(parsed.message_digests) != 1 or parsed.content_types != ("data",):
        return result("signature_invalid", "malformed_signed_attributes")

    # 2. content
    digest = (
        sha256_digest
        if parsed.digest_algorithm == "sha256"
        else hashlib.new(parsed.digest_algorithm, data).digest()
    )
    if not hmac.compare_digest(digest, parsed.message_digests[0]):
        return result("content_changed")

    # 3. signature
    if signer is None:
        return result("untrusted_certificate", "signer_certificate_missing")
    failure = _verify_signature(parsed, signer)
    if failure is not None:
        return result("signature_invalid", failure)

    # 4. trust
    if not _is_issued_by(signer, trusted_ca):
        return result("untrusted_certificate")
    if not _is_seal_certificate(signer):
        return result("untrusted_certificate", "not_a_seal_certificate")

    # 5. validity at signing time
    if signing_time is None:
        return result("signature_invalid", "missing_signing_time")
    if signing_time < signer.not_valid_before_utc:
        return result("expired_at_signing", "certificate_not_yet_valid")
    if signing_time > signer.not_valid_after_utc:
        return result("expired_at_signing")

    # 6. revocation
    if crl is not None:
        entry = crl.get_revoked_certificate_by_serial_number(signer.serial_number)
        if entry is not None:
            revoked_at = entry.revocation_date_utc
            try:
                reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            except x509.ExtensionNotFound:
                reason = None
            if reason in (x509.ReasonFlags.key_compromise, x509.ReasonFlags.ca_compromise):
                return result("revoked", "revoked_key_compromise", revoked_at=revoked_at)
            if signing_time < revoked_at:
                return result("valid_when_sealed_since_revoked", revoked_at=revoked_at)
            return result("revoked", revoked_at=revoked_at)

    return result("valid")
