"""Reads of the seal registry, and the permission checks that go with them.

``access_*`` fetch and authorise in one call and answer "missing" and "not allowed" with
the same 404, so ids cannot be probed.
"""

from __future__ import annotations

import io
import zipfile

from django.db.models import QuerySet
from django.utils import timezone

from officehub.audit.models import AuditEntry
from officehub.directory.models import Department, User
from seals.errors import SealNotFound, SealRecordNotFound
from seals.models import CertificateAuthority, Seal, SealKind, SealRecord, SealStatus
from seals.services import can_administer_seals

# Heavy columns no list needs; the key blob is deferred everywhere it is not used.
_SEAL_HEAVY = ("wrapped_key", "image", "certificate_pem")
_RECORD_HEAVY = ("sealed_docx", "signature")


# --------------------------------------------------------------------------- for documents


def seal_custodian_ids(seal_id: int) -> set[int]:
    """Ids of the active users who keep ``seal_id`` (empty for an unknown seal)."""
    return set(
        Seal.custodians.through.objects.filter(seal_id=seal_id, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def seals_for_organisation(org: Department) -> QuerySet[Seal]:
    """The organisation's seals usable now: active, within validity, not personal."""
    now = timezone.now()
    return (
        Seal.objects.filter(
            owner_organisation=org,
            kind__in=[SealKind.ORGANISATION, SealKind.SPECIAL],
            status=SealStatus.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
        )
        .defer(*_SEAL_HEAVY)
        .order_by("kind", "name")
    )


# --------------------------------------------------------------------------- seals


def seals_visible_to(user: User) -> QuerySet[Seal]:
    """Administrators see every seal; custodians the seals they keep; others none."""
    seals = Seal.objects.select_related("owner_organisation", "owner_person", "authority").defer(
        "wrapped_key", "certificate_pem"
    )
    if not user.is_authenticated:
        return seals.none()
    if can_administer_seals(user):
        return seals.order_by("owner_organisation__path", "kind", "name")
    return seals.filter(custodians=user).order_by("owner_organisation__path", "kind", "name")


def access_seal(user: User, seal_id: int) -> Seal:
    seal = seals_visible_to(user).filter(pk=seal_id).first()
    if seal is None:
        raise SealNotFound()
    return seal


def seal_custodians(seal: Seal) -> list[User]:
    # .all() so a prefetch_related("custodians") on the list is used.
    return sorted(seal.custodians.all(), key=lambda user: user.pk)


def seal_records(seal: Seal) -> QuerySet[SealRecord]:
    return (
        SealRecord.objects.filter(seal=seal)
        .select_related("actor")
        .defer(*_RECORD_HEAVY)
        .order_by("-created_at", "-pk")
    )


def seal_audit_events(seal: Seal) -> QuerySet[AuditEntry]:
    """The audit trail of one seal (issuance, status changes, every use)."""
    return AuditEntry.objects.filter(target_type=Seal._meta.label_lower, target_id=str(seal.pk)).order_by("-seq")


# --------------------------------------------------------------------------- records

def can_download_record(user: User, record: SealRecord) -> bool:
    """The actor, the seal's custodians and administrators."""
    if not user.is_authenticated or not user.is_active:
        return False
    if record.actor_id == user.pk or can_administer_seals(user):
        return True
    return record.seal.custodians.filter(pk=user.pk).exists()


def access_seal_record(user: User, record_id: int) -> SealRecord:
    record = (
        SealRecord.objects.select_related("seal", "seal__owner_organisation", "actor")
        .filter(pk=record_id)
        .first()
    )
    if record is None or not can_download_record(user, record):
        raise SealRecordNotFound()
    return record


# --------------------------------------------------------------------------- CA material


def active_ca() -> CertificateAuthority | None:
    return CertificateAuthority.objects.filter(is_active=True).first()


def ca_certificate_pem(ca: CertificateAuthority | None = None) -> str | None:
    ca = ca or active_ca()
    return ca.certificate_pem if ca else None


def crl_pem(ca: CertificateAuthority | None = None) -> str | None:
    ca = ca or active_ca()
    return ca.crl_pem if ca and ca.crl_pem else None


def record_basename(record: SealRecord) -> str:
    """A file-name stem for the record's files: ``sealed-<id>``, ASCII-safe."""
    return f"sealed-{record.pk}"


README_TEMPLATE = """OfficeHub 电子印章用印文件包
==============================

文件：
  {docx}    用印后的公文（DOCX，签名覆盖其全部字节）
  {p7s}     分离式 CMS/PKCS#7 签名（DER，SHA-256，含签章时间和印章证书）
  ca.pem         印章根CA证书
  crl.pem        证书吊销列表（CRL）

标题：{title}
印章：{seal}
签章时间：{signing_time}
SHA-256：{sha256}

用 OpenSSL 验证（只需 CA 证书）：
  openssl cms -verify -binary -inform DER -in {p7s} -content {docx} -CAfile ca.pem -out /dev/null

同时检查吊销状态：
  cat ca.pem crl.pem > ca-crl.pem
  openssl cms -verify -binary -inform DER -in {p7s} -content {docx} -CAfile ca-crl.pem -crl_check -out /dev/null

输出 "CMS Verification successful" 即表示文件自用印后未被改动、签名来自本CA签发的印章。
文件被改动任何一个字节，验证都会失败。
"""


def seal_record_package(record: SealRecord) -> bytes:
    """ZIP of the sealed DOCX, its .p7s, the CA certificate, the CRL and a README."""
    ca = record.seal.authority
    stem = record_basename(record)
    docx_name, p7s_name = f"{stem}.docx", f"{stem}.p7s"
    readme = README_TEMPLATE.format(
        docx=docx_name,
        p7s=p7s_name,
        title=record.title,
        seal=record.seal.name,
        signing_time=timezone.localtime(record.signing_time).strftime("%Y-%m-%d %H:%M:%S %Z"),
        sha256=record.sha256,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(docx_name, bytes(record.sealed_docx))
        archive.writestr(p7s_name, bytes(record.signature))
        archive.writestr("ca.pem", ca.certificate_pem)
        if ca.crl_pem:
            archive.writestr("crl.pem", ca.crl_pem)
        archive.writestr("README.txt", readme)
    return buffer.getvalue()
