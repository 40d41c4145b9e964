"""Detached CMS signatures over sealed documents: signing and verification.

Documents are signed with a detached CMS SignedData (SHA-256, signed attributes
contentType / messageDigest / signingTime) built by ``cryptography``'s
``PKCS7SignatureBuilder``; the same file verifies with stock OpenSSL::

    openssl cms -verify -binary -inform DER -in X.p7s -content X.docx \\
        -CAfile ca.pem -out /dev/null

``cryptography`` has no CMS verification API, so :func:`verify_detached` parses the
SignedData with ``asn1crypto`` and checks every signature with ``cryptography``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, TypeAlias

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from seals.crypto.pki import SIGNATURE_HASH, PrivateKey, crl_to_der

# asn1crypto.tsp adds signingCertificateV2 to CMSAttributeType's OID map when it is
# imported, but the name -> OID map is built once, on first use: if any CMS attribute was
# read before tsp's import (pyHanko, a test), the name stays unknown. Rebuild it now.
asn1_cms.CMSAttributeType._reverse_map = None


def sign_detached(
    data: bytes,
    *,
    key: PrivateKey,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...] = (),
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Detached CMS SignedData (DER) over ``data``, CAdES-BES: SHA-256, the signer's
    certificate (and ``chain``) included.

    Signed attributes: contentType, signingTime, messageDigest and ESS
    signingCertificateV2 (RFC 5035: the SHA-256 of the signer's certificate and its
    issuer and serial), which binds the signature to that one certificate — a verifier
    cannot be offered another certificate with the same key. ``cryptography``'s
    PKCS7SignatureBuilder cannot add that attribute, so asn1crypto builds the structure
    and ``cryptography`` signs the DER of the attribute set (RFC 5652 §5.4).
    ``openssl cms -verify`` accepts it unchanged. ``signing_time`` defaults to now.
    """
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    signer = asn1_x509.Certificate.load(cert_der)
    moment = (signing_time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    ess_cert_id = asn1_tsp.ESSCertIDv2(
        {
            # hashAlgorithm DEFAULT sha256: DER leaves a default value out.
            "cert_hash": hashlib.sha256(cert_der).digest(),
            "issuer_serial": {
                "issuer": [asn1_x509.GeneralName("directory_name", signer.issuer)],
                "serial_number": signer.serial_number,
            },
        }
    )
    signed_attrs = asn1_cms.CMSAttributes(
        [
            asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            asn1_cms.CMSAttribute({"type": "signing_time", "values": [asn1_cms.Time({"utc_time": moment})]}),
            asn1_cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(data).digest()]}),
            asn1_cms.CMSAttribute(
                {"type": "signing_certificate_v2", "values": [asn1_tsp.SigningCertificateV2({"certs": [ess_cert_id]})]}
            ),
        ]
    )
    to_sign = signed_attrs.dump()  # the DER SET OF: what RFC 5652 §5.4 signs
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(to_sign, ec.ECDSA(SIGNATURE_HASH))
        algorithm = "sha256_ecdsa"
    else:
        signature = key.sign(to_sign, padding.PKCS1v15(), SIGNATURE_HASH)
        algorithm = "sha256_rsa"
    signer_info = asn1_cms.SignerInfo(
        {
            "version": "v1",
            "sid": asn1_cms.SignerIdentifier(
                "issuer_and_serial_number", {"issuer": signer.issuer, "serial_number": signer.serial_number}
            ),
            "digest_algorithm": asn1_algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": asn1_algos.SignedDigestAlgorithm({"algorithm": algorithm}),
            "signature": signature,
        }
    )
    certificates = [signer, *(asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain)]
    signed_data = asn1_cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [asn1_algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "data"},  # detached: no content
            "certificates": [asn1_cms.CertificateChoices("certificate", c) for c in certificates],
            "signer_infos": [signer_info],
        }
    )
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


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
    public_key = ca.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return False  # our CAs are ECDSA or RSA (pki.generate_seal_key)
    return crl.issuer == ca.subject and crl.is_signature_valid(public_key)


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

