"""The seal registry: the internal CA, seals with their certificates, and sealing records.

Private keys exist here only as AES-256-GCM blobs (``wrapped_key``) under a KEK that lives
outside the database (DESIGN.md §6). The blobs are ``editable=False`` so no ModelForm or
admin ever renders them, and no ``__str__``/``__repr__`` mentions them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KeyType(models.TextChoices):
    EC = "ec", _("ECDSA P-256")
    RSA = "rsa", _("RSA-3072")


class CertificateAuthority(models.Model):
    """The deployment's root CA; exactly one is active, retired ones stay for verification.

    The current CRL is cached on the row (``crl_pem``/``crl_number``) and re-signed on
    every revocation, so serving ``/seals/crl.pem`` needs no key.
    """

    common_name = models.CharField(_("名称"), max_length=200)
    organisation = models.CharField(_("机构"), max_length=200)
    key_type = models.CharField(_("密钥类型"), max_length=8, choices=KeyType.choices, default=KeyType.EC)
    certificate_pem = models.TextField(_("CA证书"), editable=False)
    serial = models.CharField(_("证书序列号"), max_length=64, editable=False)
    key_id = models.CharField(max_length=64, unique=True, editable=False)
    wrapped_key = models.BinaryField(editable=False)
    is_active = models.BooleanField(_("当前CA"), default=True)
    crl_number = models.PositiveBigIntegerField(_("CRL编号"), default=0, editable=False)
    crl_pem = models.TextField(_("证书吊销列表"), blank=True, editable=False)
    crl_next_update = models.DateTimeField(_("CRL下次更新"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("印章CA")
        verbose_name_plural = _("印章CA")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="seals_one_active_ca"
            ),
        ]

    def __str__(self) -> str:
        return self.common_name


class SealKind(models.TextChoices):
    ORGANISATION = "organisation", _("公章")
    SPECIAL = "special", _("专用章")
    PERSONAL = "personal", _("个人签名章")


class SealStatus(models.TextChoices):
    ISSUED = "issued", _("已签发")
    ACTIVE = "active", _("启用")
    SUSPENDED = "suspended", _("暂停")
    REVOKED = "revoked", _("已吊销")
    EXPIRED = "expired", _("已过期")


class RevocationReason(models.TextChoices):
    """The RFC 5280 CRLReason values an administrator may choose."""

    UNSPECIFIED = "unspecified", _("未说明")
    KEY_COMPROMISE = "key_compromise", _("密钥泄露")
    AFFILIATION_CHANGED = "affiliation_changed", _("机构变更")
    SUPERSEDED = "superseded", _("已被替换")
    CESSATION_OF_OPERATION = "cessation_of_operation", _("停止使用")


class Seal(models.Model):
    """One seal: its image, its key pair (wrapped) and its X.509 certificate.

    The stored ``status`` never says "expired" by itself: a seal past ``valid_until``
    behaves as expired whatever its stored status (see :meth:`effective_status`), so no
    background job is needed for expiry to take effect.
    """

    kind = models.CharField(_("类型"), max_length=16, choices=SealKind.choices)
    name = models.CharField(_("印章名称"), max_length=100)
    lower_text = models.CharField(_("下弦文字"), max_length=20, blank=True)
    owner_organisation = models.ForeignKey(
        "directory.Department",
        verbose_name=_("所属机关"),
        on_delete=models.PROTECT,
        related_name="seals",
    )
    owner_person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("所属个人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="personal_seals",
    )
    custodians = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("印章管理员"), related_name="custodian_of_seals"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=SealStatus.choices, default=SealStatus.ISSUED
    )
    valid_from = models.DateTimeField(_("有效期起"))
    valid_until = models.DateTimeField(_("有效期止"))
    authority = models.ForeignKey(
        CertificateAuthority, verbose_name=_("签发CA"), on_delete=models.PROTECT, related_name="seals"
    )
    image = models.BinaryField(_("印模"), editable=False)
    key_type = models.CharField(_("密钥类型"), max_length=8, choices=KeyType.choices, default=KeyType.EC)
    key_id = models.CharField(max_length=64, unique=True, editable=False)
    wrapped_key = models.BinaryField(editable=False)
    certificate_pem = models.TextField(_("印章证书"), editable=False)
    # Hex, lower case: serials are up to 159 bits, too wide for any integer column.
    serial = models.CharField(_("证书序列号"), max_length=64, unique=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True, editable=False)
    revocation_reason = models.CharField(
        _("吊销原因"), max_length=32, choices=RevocationReason.choices, blank=True, editable=False
    )
    revocation_note = models.CharField(_("吊销说明"), max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("签发时间"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签发人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("电子印章")
        verbose_name_plural = _("电子印章")
        ordering = ["owner_organisation__path", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")), name="seal_validity_window"
            ),
            # A personal seal belongs to a person; organisation seals to nobody in person.
            models.CheckConstraint(
                condition=Q(kind="personal", owner_person__isnull=False)
                | (~Q(kind="personal") & Q(owner_person__isnull=True)),
                name="seal_owner_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="revoked", revoked_at__isnull=False)
                | (~Q(status="revoked") & Q(revoked_at__isnull=True)),
                name="seal_revoked_at_iff_revoked",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def effective_status(self, at: dt.datetime | None = None) -> str:
        """The status a user sees: a live seal past its window reads as expired."""
        at = at or timezone.now()
        if self.status == SealStatus.REVOKED:
            return SealStatus.REVOKED
        if at >= self.valid_until:
            return SealStatus.EXPIRED
        return self.status

    def get_effective_status_display(self) -> str:
        return str(SealStatus(self.effective_status()).label)


class SealRecord(models.Model):
    """One sealing: the exact sealed DOCX bytes and their detached CMS signature, and the
    signed PDF made from that DOCX.

    ``document_ref`` is an opaque reference chosen by the caller ("document:42"): seals
    knows no workflow. The DOCX is kept in the row (not a file) so a rolled-back sealing
    leaves nothing behind; large deployments may move it to object storage.
    """

    seal = models.ForeignKey(Seal, verbose_name=_("印章"), on_delete=models.PROTECT, related_name="records")
    document_ref = models.CharField(_("文件引用"), max_length=100, db_index=True)
    title = models.CharField(_("标题"), max_length=300)
    sealed_docx = models.BinaryField(_("用印文件"), editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    signature = models.BinaryField(_("签名"), editable=False)
    signing_time = models.DateTimeField(_("签章时间"), editable=False)
    # The 版式 copy (PDF/A) with this seal signed inside (PAdES); what recipients receive.
    signed_pdf = models.BinaryField(_("签章版式文件"), null=True, blank=True, editable=False)
    pdf_sha256 = models.CharField(_("版式文件 SHA-256"), max_length=64, blank=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用印人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("用印记录")
        verbose_name_plural = _("用印记录")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["seal", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.title}（{self.seal_id}）"
