"""The key-encryption key, read from settings at the moment a key is needed.

Never at import: a deployment without ``OFFICEHUB_SEAL_KEK`` starts and serves every page;
only operations that open a private key fail, with ``seal.kek_missing``.
"""

from __future__ import annotations

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from seals import crypto
from seals.errors import kek_invalid, kek_missing


@sensitive_variables("text")
def current_kek() -> bytes:
    """The configured KEK; raises ``seal.kek_missing`` / ``seal.kek_invalid``."""
    text = getattr(settings, "SEAL_KEK", None)
    if not text:
        raise kek_missing()
    try:
        return crypto.parse_kek(text)
    except crypto.InvalidKEK:
        raise kek_invalid() from None


@sensitive_variables("kek")
def open_key(blob: bytes | memoryview, *, key_id: str, kek: bytes | None = None) -> crypto.PrivateKey:
    """Unwrap one stored key; a KEK that does not open it is ``seal.kek_invalid``."""
    try:
        return crypto.unwrap_private_key(bytes(blob), kek or current_kek(), key_id=key_id)
    except crypto.KeyUnwrapError:
        raise kek_invalid() from None


@sensitive_variables("private_key", "kek")
def wrap_key(private_key: crypto.PrivateKey, *, key_id: str, kek: bytes | None = None) -> bytes:
    return crypto.wrap_private_key(private_key, kek or current_kek(), key_id=key_id)
