"""Seal errors with stable codes (``seal.*``); messages are the Chinese UI text."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from officehub.errors import (
    ApplicationError,
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDeniedError,
)


class SealNotFound(NotFound):
    default_code = "seal.not_found"


class SealRecordNotFound(NotFound):
    default_code = "seal.record_not_found"


class SealPermissionDenied(PermissionDeniedError):
    default_code = "seal.permission_denied"


class NotCustodian(PermissionDeniedError):
    default_code = "seal.not_custodian"

    def __init__(self) -> None:
        super().__init__(str(_("您不是该印章的印章管理员，不能用印。")))


class SealUnusable(ConflictError):
    """The seal exists but its state forbids use; the code names the state."""

    default_code = "seal.not_active"


class SealInvalidTransition(InvalidTransition):
    default_code = "seal.invalid_transition"


class SealInvalidInput(InvalidInput):
    default_code = "seal.invalid"


class KeyUnavailable(ApplicationError):
    """Key material cannot be opened on this server: configuration, not the caller's fault.

    503 because the rest of the service works; only operations needing a private key stop.
    """

    default_code = "seal.kek_missing"
    default_status = 503


def kek_missing() -> KeyUnavailable:
    return KeyUnavailable(
        str(_("服务器未配置印章密钥加密密钥（OFFICEHUB_SEAL_KEK），暂时无法用印或签发印章，请联系系统管理员。")),
        code="seal.kek_missing",
    )


def kek_invalid() -> KeyUnavailable:
    return KeyUnavailable(
        str(_("印章密钥加密密钥不正确，无法解开印章私钥，请联系系统管理员。")),
        code="seal.kek_invalid",
    )


def ca_missing() -> KeyUnavailable:
    return KeyUnavailable(
        str(_("印章CA尚未初始化，请系统管理员运行 manage.py seal_init_ca。")),
        code="seal.ca_missing",
    )
