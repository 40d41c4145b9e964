"""Reads of the seal registry, and the permission checks that go with them.

``access_*`` fetch and authorise in one call and answer "missing" and "not allowed" with
the same 404, so ids cannot be probed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

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


def seal_images(seal_ids: list[int]) -> dict[int, bytes]:
    """The seal pictures (印模) of ``seal_ids``, for drawing several seals into one copy
    (联合发文); the signing step checks each seal again before it is applied."""
    return {pk: bytes(image) for pk, image in Seal.objects.filter(pk__in=seal_ids).values_list("pk", "image")}


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
  {pdf}     签章版式文件（PDF/A，印章签名在文件内，PAdES）——收文、归档以此为准
  {docx}    用印后的公文（DOCX，流式文件；签名覆盖其全部字节）
  {p7s}     DOCX 的分离式 CMS/PKCS#7 签名（DER，SHA-256，CAdES-BES，含签章时间和印章证书）
  ca.pem         印章根CA证书
  crl.pem        证书吊销列表（CRL，也可从 {crl_url} 获取最新版）

标题：{title}
印章：{seal}
签章时间：{signing_time}
DOCX SHA-256：{sha256}
PDF SHA-256：{pdf_sha256}

一、用 poppler 的 pdfsig 验证签章 PDF
  certutil -N -d sql:nssdb --empty-password
  certutil -A -d sql:nssdb -n "OfficeHub Seal CA" -t "C,C,C" -a -i ca.pem
  openssl crl -in crl.pem -outform DER -out crl.der && crlutil -I -d sql:nssdb -i crl.der -t 1
  pdfsig -nssdir nssdb {pdf}
输出 "Signature is Valid." 和 "Certificate is Trusted." 即表示有效；"Total document signed"
表示签名后文件未追加任何内容。注意：联合发文时先盖章的机关的签名会显示 "Not total
document signed"（其后追加的是其他机关的签章），用印后若被改动文字也显示同样的话——
两者的区别请用本系统验章页面（它分析签名后追加的内容）确认。

二、用 OpenSSL 验证 DOCX 与 .p7s（只需 CA 证书）
  openssl cms -verify -binary -inform DER -in {p7s} -content {docx} -CAfile ca.pem -out /dev/null

同时检查吊销状态：
  cat ca.pem crl.pem > ca-crl.pem
  openssl cms -verify -binary -inform DER -in {p7s} -content {docx} -CAfile ca-crl.pem -crl_check -out /dev/null

输出 "CMS Verification successful" 即表示文件自用印后未被改动、签名来自本CA签发的印章。
文件被改动任何一个字节，验证都会失败。

关于 -crl_check 与吊销：OpenSSL 按“现在”检查吊销状态。印章若在用印之后才被吊销，
OpenSSL 同样报告 "certificate revoked"；加 -attime <签章时间> 则报告 "CRL is not yet
valid"（CRL 签发于签章之后）。所以 OpenSSL 无法判断“用印时有效、其后吊销”。本系统的
规则是：吊销时间晚于签章时间、且吊销原因不是密钥泄露或CA泄露时，用印有效（显示“签章
有效；印章其后已吊销”）；因密钥泄露吊销的印章，其全部签章均不可信。
"""


def seal_record_package(record: SealRecord, *, also: Sequence[SealRecord] = ()) -> bytes:
    """ZIP of the signed PDF, the sealed DOCX and its .p7s, the CA certificate, the CRL and
    a README saying how to verify each with standard tools. ``also``: other seals' records
    over the very same DOCX (联合发文: one per organisation), whose .p7s files are added."""
    from seals.services import public_crl_url

    ca = record.seal.authority
    stem = record_basename(record)
    docx_name, p7s_name, pdf_name = f"{stem}.docx", f"{stem}.p7s", f"{stem}.pdf"
    readme = README_TEMPLATE.format(
        pdf=pdf_name if record.signed_pdf is not None else "（无：此次用印早于版式文件）",
        docx=docx_name,
        p7s=p7s_name,
        title=record.title,
        seal=record.seal.name,
        signing_time=timezone.localtime(record.signing_time).strftime("%Y-%m-%d %H:%M:%S %Z"),
        sha256=record.sha256,
        pdf_sha256=record.pdf_sha256 or "—",
        crl_url=public_crl_url(),
    )
    others = [other for other in also if other.pk != record.pk and other.sha256 == record.sha256]
    if others:
        listed = "\n".join(f"  {record_basename(other)}.p7s  {other.seal.name}" for other in others)
        readme += (
            "\n三、联合发文：其他发文机关对同一 DOCX 的签名\n" + listed
            + f"\n每个都可按第二节的命令验证（-content {docx_name}）。签章 PDF 内含各机关的签名，pdfsig 逐一列出。\n"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if record.signed_pdf is not None:
            archive.writestr(pdf_name, bytes(record.signed_pdf))
        archive.writestr(docx_name, bytes(record.sealed_docx))
        archive.writestr(p7s_name, bytes(record.signature))
        for other in others:
            archive.writestr(f"{record_basename(other)}.p7s", bytes(other.signature))
        archive.writestr("ca.pem", ca.certificate_pem)
        if ca.crl_pem:
            archive.writestr("crl.pem", ca.crl_pem)
        archive.writestr("README.txt", readme)
    return buffer.getvalue()
