"""Seal cryptography, pure library code (no Django): the internal CA (``pki``), private
keys at rest (``keywrap``) and detached CMS signatures (``cms``). DESIGN.md §6.

The names callers use are re-exported here, so ``from seals import crypto`` and
``crypto.sign_detached(...)`` reach each of them without knowing which part holds it.
"""

from __future__ import annotations

from seals.crypto.cms import (
    CRLMismatch,
    SignedAttributes,
    VerificationResult,
    VerificationStatus,
    read_signed_attributes,
    read_signing_time,
    sign_detached,
    status_message_zh,
    verify_detached,
)
from seals.crypto.keywrap import (
    InvalidKEK,
    KeyUnwrapError,
    parse_kek,
    rewrap,
    unwrap_private_key,
    wrap_private_key,
)
from seals.crypto.pki import (
    DOCUMENT_SIGNING_EKU,
    KeyType,
    PrivateKey,
    build_crl,
    certificate_to_der,
    certificate_to_pem,
    create_root_ca,
    crl_to_der,
    crl_to_pem,
    fit_name_attribute,
    generate_seal_key,
    issue_seal_certificate,
    load_certificate,
    load_crl,
)

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
    "certificate_to_der",
    "certificate_to_pem",
    "create_root_ca",
    "crl_to_der",
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
    "sign_detached",
    "status_message_zh",
    "unwrap_private_key",
    "verify_detached",
    "wrap_private_key",
]
