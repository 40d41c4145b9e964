"""Private keys at rest: AES-256-GCM under a key-encryption key (KEK) kept outside the
database. Nothing here logs, formats or reprs key material.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Final

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from seals.crypto.pki import PrivateKey


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

