"""Every change to the CA, the seal registry and the sealing records goes through here.

Each service runs inside the entry point's transaction (``require_transaction()``,
officehub/transactions.py): it checks permission, does the slow work that needs no lock
(key generation, signing) first, then locks the rows it changes (CA before seal, always,
so two services cannot deadlock; docs/locking.md), checks ``SEAL_LIFECYCLE``, saves the
changed fields and writes the audit entry. Key material is opened only in local
variables: never logged, never stored unwrapped, never part of an exception message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Final, Literal, TypedDict

from cryptography import x509
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from officehub.audit.services import audit
from officehub.directory.models import Department, Role, User
from officehub.transactions import require_transaction
from officehub.transitions import Transitions
from seals import crypto, images, pades
from seals.errors import (
    KeyUnavailable,
    NotCustodian,
    SealInvalidInput,
    SealInvalidTransition,
    SealNotFound,
    SealPermissionDenied,
    SealRecordNotFound,
    SealUnusable,
    ca_missing,
    kek_invalid,
)
from seals.keys import current_kek, open_key, wrap_key
from seals.models import (
    CertificateAuthority,
    KeyType,
    RevocationReason,
    Seal,
    SealKind,
    SealRecord,
    SealStatus,
)

CA_VALID_DAYS: Final = 3650  # ten years
# A CRL is signed for 30 days and re-signed once less than half of that remains, so a
# verifier running `openssl cms -verify -crl_check` never sees an expired CRL.
CRL_VALID_DAYS: Final = 30
CRL_REFRESH_MARGIN: Final = dt.timedelta(days=15)
DEFAULT_CA_NAME: Final = "OfficeHub 电子印章根CA"
DEFAULT_CA_ORGANISATION: Final = "OfficeHub 电子印章系统"

_CRL_REASONS: Final[dict[str, x509.ReasonFlags]] = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
}

# Statuses whose verdict rests on a certificate our CA issued: only then does it make
# sense to ask whether the seal is one we know.
_TRUSTED_STATUSES: Final = frozenset(
    {"valid", "valid_when_sealed_since_revoked", "expired_at_signing", "revoked"}
)


# --------------------------------------------------------------------------- helpers


def can_administer_seals(user: User | None) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and (user.is_superuser or user.has_role(Role.ADMINISTRATOR))
    )


def _require_admin(actor: User | None) -> None:
    if not can_administer_seals(actor):
        raise SealPermissionDenied(_("只有系统管理员可以管理印章。"))


def public_crl_url() -> str:
    """Where anyone fetches the CRL without logging in (named in every seal certificate)."""
    return settings.PUBLIC_URL.rstrip("/") + reverse("seals-crl-pem")


def _now() -> dt.datetime:
    # X.509 and CMS times have whole seconds; keeping the database on whole seconds too
    # makes the validity window in the row and in the certificate identical.
    return timezone.now().replace(microsecond=0)


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def _refuse_nul(**values: str) -> None:
    """PostgreSQL text (and the audit log's JSON) cannot hold NUL: refuse it as bad input."""
    for field, value in values.items():
        if "\x00" in (value or ""):
            raise SealInvalidInput(_("输入中含有不允许的字符（NUL）。"), extra={"field": field})


def _font_missing(exc: Exception) -> KeyUnavailable:
    return KeyUnavailable(
        _("服务器缺少中文字体，无法生成印模（请安装 fonts-wqy-zenhei 或 fonts-noto-cjk）。"),
        code="seal.font_missing",
    )


def _active_ca(*, lock: bool = False) -> CertificateAuthority:
    queryset = CertificateAuthority.objects.filter(is_active=True)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    ca = queryset.first()
    if ca is None:
        raise ca_missing()
    return ca


@sensitive_variables("ca_key")
def _publish_crl(
    ca: CertificateAuthority, *, ca_key: crypto.PrivateKey, actor: User | None, now: dt.datetime
) -> None:
    """Re-sign the CA's CRL listing all its revoked seals. The caller holds the CA lock."""
    revoked = list(
        Seal.objects.filter(authority=ca, status=SealStatus.REVOKED).values_list(
            "serial", "revoked_at", "revocation_reason"
        )
    )
    number = ca.crl_number + 1
    crl = crypto.build_crl(
        ca_key=ca_key,
        ca_cert=crypto.load_certificate(ca.certificate_pem.encode()),
        revoked=[(int(serial, 16), at) for serial, at, _reason in revoked if at is not None],
        reasons={
            int(serial, 16): _CRL_REASONS[reason] for serial, _at, reason in revoked if reason
        },
        this_update=now,
        next_update=now + dt.timedelta(days=CRL_VALID_DAYS),
        crl_number=number,
    )
    ca.crl_number = number
    ca.crl_pem = crypto.crl_to_pem(crl).decode("ascii")
    ca.crl_next_update = now + dt.timedelta(days=CRL_VALID_DAYS)
    ca.save(update_fields=["crl_number", "crl_pem", "crl_next_update"])
    audit(
        actor=actor,
        action="seal.crl_published",
        target=ca,
        data={"crl_number": number, "revoked": len(revoked)},
    )


# --------------------------------------------------------------------------- CA


@sensitive_variables("kek", "ca_key")
def ca_init(
    *,
    actor: User | None = None,
    force: bool = False,
    key_type: str = KeyType.EC,
    common_name: str = DEFAULT_CA_NAME,
    organisation: str = DEFAULT_CA_ORGANISATION,
) -> tuple[CertificateAuthority, bool]:
    """Create the root CA (10 years), or return the active one (``created=False``).

    With ``force`` a new CA replaces the active one, which is retired but kept: its seals
    and their records still verify against it. Needs the KEK (``seal.kek_missing``).
    Audits ``seal.ca_created`` (and ``seal.ca_retired``, ``seal.crl_published``).
    """
    require_transaction()
    if key_type not in KeyType.values:
        raise SealInvalidInput(_("不支持的密钥类型。"))
    kek = current_kek()
    if not force and CertificateAuthority.objects.filter(is_active=True).exists():
        return _active_ca(), False
    # Key generation (RSA-3072 takes a while) happens before the first lock.
    ca_key, ca_cert = crypto.create_root_ca(
        common_name=common_name,
        organisation=organisation,
        valid_days=CA_VALID_DAYS,
        key_type=key_type,  # type: ignore[arg-type]
        not_before=_now(),
    )
    now = _now()
    existing = (
        CertificateAuthority.objects.select_for_update(of=("self",))
        .filter(is_active=True)
        .first()
    )
    if existing is not None:
        if not force:  # another process created one meanwhile
            return existing, False
        existing.is_active = False
        existing.retired_at = now
        existing.save(update_fields=["is_active", "retired_at"])
        audit(actor=actor, action="seal.ca_retired", target=existing, data={"serial": existing.serial})
    key_id = f"ca-{uuid.uuid4().hex}"
    ca = CertificateAuthority(
        common_name=common_name,
        organisation=organisation,
        key_type=key_type,
        certificate_pem=crypto.certificate_to_pem(ca_cert).decode("ascii"),
        serial=serial_hex(ca_cert.serial_number),
        key_id=key_id,
        wrapped_key=wrap_key(ca_key, key_id=key_id, kek=kek),
        created_at=now,
    )
    ca.full_clean()
    ca.save()
    audit(
        actor=actor,
        action="seal.ca_created",
        target=ca,
        data={"serial": ca.serial, "key_type": key_type, "replaced": existing is not None},
    )
    _publish_crl(ca, ca_key=ca_key, actor=actor, now=now)
    return ca, True


@sensitive_variables("ca_key")
def ca_crl_refresh_if_due(*, ca_id: int, actor: User | None = None) -> bool:
    """Re-sign a CA's CRL when less than half its validity remains. True if re-signed.

    Needs the KEK; callers serving downloads may catch :class:`KeyUnavailable` (raised
    before anything is written) and serve the cached CRL (still correct about
    revocations, only its nextUpdate is old).
    """
    require_transaction()
    now = _now()
    ca = CertificateAuthority.objects.filter(pk=ca_id).first()
    if ca is None:
        raise ca_missing()
    if ca.crl_next_update is not None and ca.crl_next_update - now > CRL_REFRESH_MARGIN:
        return False
    ca_key = open_key(ca.wrapped_key, key_id=ca.key_id)
    ca = CertificateAuthority.objects.select_for_update(of=("self",)).get(pk=ca_id)
    if ca.crl_next_update is not None and ca.crl_next_update - now > CRL_REFRESH_MARGIN:
        return False  # refreshed by someone else meanwhile
    _publish_crl(ca, ca_key=ca_key, actor=actor, now=now)
    return True


# --------------------------------------------------------------------------- issuance


def _render_image(*, kind: str, organisation: Department, person: User | None, lower_text: str) -> bytes:
    try:
        if kind == SealKind.PERSONAL:
            assert person is not None
            return images.render_square_name_seal(name=person.full_name or person.username)
        return images.render_round_seal(
            organisation=organisation.name,
            lower_text=lower_text or None,
            diameter_mm=float(settings.SEAL_IMAGE_DIAMETER_MM),
        )
    except images.FontNotFound as exc:
        raise _font_missing(exc) from None
    except ValueError as exc:
        raise SealInvalidInput(_("无法生成印模：%(reason)s") % {"reason": exc}) from None


def _custodians(ids: Iterable[int], *, organisation: Department, kind: str) -> list[User]:
    wanted = set(ids)
    if not wanted:
        raise SealInvalidInput(_("请至少指定一名印章管理员。"))
    users = list(
        User.objects.filter(pk__in=wanted, is_active=True)
        .select_related("department")
        .prefetch_related("role_assignments")
    )
    if len(users) != len(wanted):
        raise SealInvalidInput(_("指定的印章管理员不存在或已停用。"))
    for user in users:
        if user.department is None or user.department.organisation() != organisation:
            raise SealInvalidInput(
                _("印章管理员“%(name)s”不属于%(org)s。") % {"name": user.display_name, "org": organisation.name}
            )
        if kind != SealKind.PERSONAL and not user.has_role(Role.SEAL_CUSTODIAN):
            raise SealInvalidInput(
                _("“%(name)s”不具有印章管理员角色。") % {"name": user.display_name}
            )
    return sorted(users, key=lambda user: user.pk)


@sensitive_variables("kek", "ca_key", "seal_key")
def seal_issue(
    *,
    actor: User | None,
    kind: str,
    owner_organisation_id: int,
    custodian_ids: Iterable[int],
    owner_person_id: int | None = None,
    name: str = "",
    lower_text: str = "",
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    key_type: str = KeyType.EC,
    check_permission: bool = True,
) -> Seal:
    """Issue a seal: key pair, certificate from the active CA, image; status ``issued``.

    Administrators only (``seal.permission_denied``). Needs the CA (``seal.ca_missing``)
    and KEK (``seal.kek_missing``/``seal.kek_invalid``); bad input is ``seal.invalid``.
    The validity defaults to five years from now, within the CA's validity.
    Audits ``seal.issued``.
    """
    require_transaction()
    if check_permission:
        _require_admin(actor)
    _refuse_nul(name=name, lower_text=lower_text)
    if kind not in SealKind.values:
        raise SealInvalidInput(_("印章类型无效。"))
    if key_type not in KeyType.values:
        raise SealInvalidInput(_("不支持的密钥类型。"))
    organisation = Department.objects.filter(pk=owner_organisation_id, is_organisation=True).first()
    if organisation is None:
        raise SealInvalidInput(_("所属机关不存在或不是发文机关。"))
    person: User | None = None
    if kind == SealKind.PERSONAL:
        if owner_person_id is not None:
            person = User.objects.select_related("department").filter(pk=owner_person_id, is_active=True).first()
        if person is None:
            raise SealInvalidInput(_("个人签名章须指定所属个人。"))
        if person.department is None or person.department.organisation() != organisation:
            raise SealInvalidInput(_("所属个人不属于该机关。"))
    elif owner_person_id is not None:
        raise SealInvalidInput(_("只有个人签名章可以指定所属个人。"))
    lower_text = "".join(lower_text.split())
    if kind == SealKind.SPECIAL and not lower_text:
        raise SealInvalidInput(_("专用章须填写下弦文字，如“合同专用章”。"))
    if kind != SealKind.SPECIAL and lower_text:
        raise SealInvalidInput(_("只有专用章可以填写下弦文字。"))
    if len(lower_text) > 20:
        raise SealInvalidInput(_("下弦文字不能超过 20 个字。"))
    name = name.strip() or {
        SealKind.ORGANISATION: f"{organisation.name}公章",
        SealKind.SPECIAL: f"{organisation.name}{lower_text}",
        SealKind.PERSONAL: f"{person.display_name}个人签名章" if person else "",
    }[SealKind(kind)]
    if len(name) > 100:
        raise SealInvalidInput(_("印章名称不能超过 100 个字。"))
    custodians = _custodians(custodian_ids, organisation=organisation, kind=kind)

    kek = current_kek()
    ca = _active_ca()
    ca_cert = crypto.load_certificate(ca.certificate_pem.encode())
    start = (valid_from or _now()).replace(microsecond=0)
    end = (
        valid_until.replace(microsecond=0)
        if valid_until
        else min(start + dt.timedelta(days=1826), ca_cert.not_valid_after_utc)  # ≈ 5 years
    )
    if end <= start:
        raise SealInvalidInput(_("有效期止必须晚于有效期起。"))
    if start < ca_cert.not_valid_before_utc or end > ca_cert.not_valid_after_utc:
        raise SealInvalidInput(
            _("印章有效期必须在CA证书有效期（至 %(until)s）之内。")
            % {"until": timezone.localtime(ca_cert.not_valid_after_utc).strftime("%Y-%m-%d")}
        )

    # Slow work first, before any lock: key generation, image, certificate.
    ca_key = open_key(ca.wrapped_key, key_id=ca.key_id, kek=kek)
    seal_key = crypto.generate_seal_key(key_type)  # type: ignore[arg-type]
    image = _render_image(kind=kind, organisation=organisation, person=person, lower_text=lower_text)
    certificate = crypto.issue_seal_certificate(
        ca_key=ca_key,
        ca_cert=ca_cert,
        seal_public_key=seal_key.public_key(),
        organisation=organisation.name,
        seal_name=name,
        serial_number=None,
        not_before=start,
        not_after=end,
        crl_url=public_crl_url(),
    )
    key_id = f"seal-{uuid.uuid4().hex}"
    locked_ca = CertificateAuthority.objects.select_for_update(of=("self",)).get(pk=ca.pk)
    if not locked_ca.is_active:
        raise SealInvalidTransition(_("印章CA已更换，请重试。"), code="seal.ca_changed")
    seal = Seal(
        kind=kind,
        name=name,
        lower_text=lower_text,
        owner_organisation=organisation,
        owner_person=person,
        status=SealStatus.ISSUED,
        valid_from=start,
        valid_until=end,
        authority=locked_ca,
        image=image,
        key_type=key_type,
        key_id=key_id,
        wrapped_key=wrap_key(seal_key, key_id=key_id, kek=kek),
        certificate_pem=crypto.certificate_to_pem(certificate).decode("ascii"),
        serial=serial_hex(certificate.serial_number),
        created_by=actor,
    )
    seal.full_clean()
    seal.save()
    seal.custodians.set(custodians)
    audit(
        actor=actor,
        action="seal.issued",
        target=seal,
        data={
            "name": name,
            "kind": kind,
            "organisation": organisation.pk,
            "owner_person": person.pk if person else None,
            "custodians": [user.pk for user in custodians],
            "serial": seal.serial,
            "valid_from": start.isoformat(),
            "valid_until": end.isoformat(),
        },
    )
    return seal


# --------------------------------------------------------------------------- lifecycle

# The seal lifecycle: action -> {from status: to status}. "expired" is never stored (see
# Seal.effective_status); a seal past its validity cannot be made active again.
SEAL_LIFECYCLE: Final = Transitions(
    "seal",
    {
        "activate": {SealStatus.ISSUED: SealStatus.ACTIVE},
        "suspend": {SealStatus.ACTIVE: SealStatus.SUSPENDED},
        "resume": {SealStatus.SUSPENDED: SealStatus.ACTIVE},
        "revoke": {
            SealStatus.ISSUED: SealStatus.REVOKED,
            SealStatus.ACTIVE: SealStatus.REVOKED,
            SealStatus.SUSPENDED: SealStatus.REVOKED,
        },
    },
    describe=lambda status: str(SealStatus(status).label),
    message=gettext_lazy("印章当前状态为“%(status)s”，不能执行该操作。"),
    error=SealInvalidTransition,
)
_AUDIT_ACTIONS: Final = {"activate": "seal.activated", "suspend": "seal.suspended", "resume": "seal.resumed"}
_VERB_LABELS: Final = {"activate": "启用", "suspend": "暂停", "resume": "恢复"}


def _lock_seal(seal_id: int) -> Seal:
    seal = Seal.objects.select_for_update(of=("self",)).filter(pk=seal_id).first()
    if seal is None:
        raise SealNotFound()
    return seal


def _transition(*, actor: User | None, seal_id: int, verb: str, note: str, check_permission: bool) -> Seal:
    require_transaction()
    _refuse_nul(note=note)
    seal = _lock_seal(seal_id)
    if check_permission:
        # A custodian may suspend a seal at once (a lost token, a suspected misuse);
        # everything else is for administrators.
        is_custodian = verb == "suspend" and actor is not None and seal.custodians.filter(pk=actor.pk).exists()
        if not is_custodian:
            _require_admin(actor)
    current = seal.status
    if verb in ("activate", "resume") and seal.effective_status() == SealStatus.EXPIRED:
        raise SealUnusable(_("该印章已超过有效期，不能%(verb)s。") % {"verb": _VERB_LABELS[verb]}, code="seal.expired")
    target = SEAL_LIFECYCLE.move(seal, verb)
    seal.full_clean()
    seal.save(update_fields=["status"])
    audit(actor=actor, action=_AUDIT_ACTIONS[verb], target=seal, data={"from": current, "to": target, "note": note})
    return seal


def seal_activate(*, actor: User | None, seal_id: int, check_permission: bool = True) -> Seal:
    """issued → active (administrators). Raises seal.invalid_transition / seal.expired."""
    return _transition(actor=actor, seal_id=seal_id, verb="activate", note="", check_permission=check_permission)


def seal_suspend(*, actor: User | None, seal_id: int, note: str = "", check_permission: bool = True) -> Seal:
    """active → suspended (administrators or the seal's custodians)."""
    return _transition(actor=actor, seal_id=seal_id, verb="suspend", note=note[:200], check_permission=check_permission)


def seal_resume(*, actor: User | None, seal_id: int, note: str = "", check_permission: bool = True) -> Seal:
    """suspended → active (administrators). Raises seal.expired past the window."""
    return _transition(actor=actor, seal_id=seal_id, verb="resume", note=note[:200], check_permission=check_permission)


@sensitive_variables("kek", "ca_key")
def seal_revoke(
    *,
    actor: User | None,
    seal_id: int,
    reason: str = RevocationReason.UNSPECIFIED,
    note: str = "",
    check_permission: bool = True,
) -> Seal:
    """Revoke a seal (from any status but revoked) and publish a new CRL listing it.

    Documents it sealed earlier verify as "valid when sealed; seal since revoked", unless
    the reason is ``key_compromise``. Administrators only. Needs the KEK to sign the CRL:
    without it nothing changes (``seal.kek_missing``). Audits ``seal.revoked`` and
    ``seal.crl_published``.
    """
    require_transaction()
    if check_permission:
        _require_admin(actor)
    if reason not in RevocationReason.values:
        raise SealInvalidInput(_("吊销原因无效。"))
    _refuse_nul(note=note)
    kek = current_kek()
    authority_id = Seal.objects.filter(pk=seal_id).values_list("authority_id", flat=True).first()
    if authority_id is None:
        raise SealNotFound()
    # CA before seal: the lock order every service follows.
    ca = CertificateAuthority.objects.select_for_update(of=("self",)).get(pk=authority_id)
    seal = _lock_seal(seal_id)
    previous = seal.status
    SEAL_LIFECYCLE.move(seal, "revoke")
    now = _now()
    seal.revoked_at = now
    seal.revocation_reason = reason
    seal.revocation_note = note.strip()[:200]
    seal.full_clean()
    seal.save(update_fields=["status", "revoked_at", "revocation_reason", "revocation_note"])
    audit(
        actor=actor,
        action="seal.revoked",
        target=seal,
        data={"from": previous, "reason": reason, "note": seal.revocation_note, "serial": seal.serial},
    )
    # Signing a CRL is one ECDSA signature: cheap enough to do under the lock, and
    # doing it here keeps CRL numbers in commit order.
    ca_key = open_key(ca.wrapped_key, key_id=ca.key_id, kek=kek)
    _publish_crl(ca, ca_key=ca_key, actor=actor, now=now)
    return seal


def seal_set_custodians(*, actor: User, seal_id: int, custodian_ids: Iterable[int]) -> Seal:
    """Replace a seal's custodians (administrators). Same rules as at issuance.

    Locks the seal, so a sealing in progress re-checks custodianship against the new set
    before it is recorded. Audits ``seal.custodians_changed`` with both sets.
    """
    require_transaction()
    _require_admin(actor)
    seal = _lock_seal(seal_id)
    if seal.status == SealStatus.REVOKED:
        raise SealInvalidTransition(_("该印章已吊销，不能更换印章管理员。"), extra={"status": seal.status})
    custodians = _custodians(custodian_ids, organisation=seal.owner_organisation, kind=seal.kind)
    before = sorted(seal.custodians.values_list("pk", flat=True))
    seal.custodians.set(custodians)
    audit(
        actor=actor,
        action="seal.custodians_changed",
        target=seal,
        data={"from": before, "to": [user.pk for user in custodians]},
    )
    return seal


# --------------------------------------------------------------------------- sealing


def _check_usable(seal: Seal, actor: User | None, *, at: dt.datetime) -> None:
    """Raise the coded reason why ``actor`` may not use ``seal`` at ``at``, if any."""
    if actor is None or not actor.is_active or not seal.custodians.filter(pk=actor.pk).exists():
        raise NotCustodian()
    if seal.status == SealStatus.REVOKED:
        raise SealUnusable(_("该印章已吊销，不能用印。"), code="seal.revoked")
    if seal.status == SealStatus.SUSPENDED:
        raise SealUnusable(_("该印章已暂停使用，不能用印。"), code="seal.suspended")
    if at >= seal.valid_until:
        raise SealUnusable(_("该印章已超过有效期，不能用印。"), code="seal.expired")
    if at < seal.valid_from:
        raise SealUnusable(_("该印章尚未到有效期，不能用印。"), code="seal.not_active")
    if seal.status != SealStatus.ACTIVE:
        raise SealUnusable(_("该印章尚未启用，不能用印。"), code="seal.not_active")


def seal_refuse_if_unusable(*, seal_id: int, organisation: Department) -> None:
    """For a 用印申请: if ``seal_id`` is one of ``organisation``'s own organisation seals
    that cannot be applied now, raise the true reason (seal.revoked, seal.suspended,
    seal.expired, seal.not_active). Returns for a usable seal and for any seal that is not
    the organisation's (the caller answers those as unknown, leaking nothing)."""
    seal = Seal.objects.filter(pk=seal_id, owner_organisation=organisation,
                               kind__in=[SealKind.ORGANISATION, SealKind.SPECIAL]).first()
    if seal is None:
        return
    now = timezone.now()
    if seal.status == SealStatus.REVOKED:
        raise SealUnusable(_("该印章已吊销，不能用印。"), code="seal.revoked")
    if seal.status == SealStatus.SUSPENDED:
        raise SealUnusable(_("该印章已暂停使用，不能用印。"), code="seal.suspended")
    if now >= seal.valid_until:
        raise SealUnusable(_("该印章已超过有效期，不能用印。"), code="seal.expired")
    if now < seal.valid_from or seal.status != SealStatus.ACTIVE:
        raise SealUnusable(_("该印章尚未启用，不能用印。"), code="seal.not_active")


@dataclass(frozen=True)
class SealSignature:
    """A sealed DOCX and its detached signature, made but not yet recorded.

    Made by :func:`seal_sign` without any lock or write; becomes a :class:`SealRecord` only
    through :func:`seal_record_signed` inside the caller's transaction. Holds no key.
    """

    seal_id: int
    key_id: str
    serial: str
    document_ref: str
    title: str
    docx: bytes
    signature: bytes
    sha256: str
    signing_time: dt.datetime
    # The 版式 copy with this seal's PAdES signature inside (None for a DOCX-only sealing).
    pdf: bytes | None = None


@dataclass(frozen=True)
class SealedCopy:
    """What a caller's ``build`` returns for the seal image: the sealed DOCX and,
    optionally, its PDF (unsigned; or already carrying other organisations' seals) with
    the page and rectangle (PDF points, bottom-left origin) where the seal is pressed."""

    docx: bytes
    pdf: bytes | None = None
    seal_page: int | None = None
    seal_box: tuple[float, float, float, float] | None = None


@sensitive_variables("key")
def seal_sign(
    *,
    seal_id: int,
    actor: User | None,
    build_docx: Callable[[bytes], bytes | SealedCopy],
    document_ref: str,
    title: str,
) -> SealSignature:
    """The slow half of a sealing: place the image (via ``build_docx``) and sign the bytes.

    Takes no row lock and writes nothing, so callers run it before they lock anything
    (see the lock order in ``officehub/audit/services.py``). Preconditions checked here:
    the actor is one of the seal's custodians (``seal.not_custodian``); the seal is
    active (``seal.suspended``, ``seal.revoked``, ``seal.not_active``) and within its
    validity (``seal.expired``); the KEK opens its key (``seal.kek_missing``,
    ``seal.kek_invalid``); ``build_docx`` returned a DOCX (``seal.invalid_document``).
    """
    document_ref = (document_ref or "").strip()
    title = (title or "").strip()
    _refuse_nul(document_ref=document_ref, title=title)
    if not document_ref or len(document_ref) > 100:
        raise SealInvalidInput(_("文件引用不能为空，且不能超过 100 个字符。"))
    if not title or len(title) > 300:
        raise SealInvalidInput(_("标题不能为空，且不能超过 300 个字。"))
    seal = Seal.objects.filter(pk=seal_id).first()
    if seal is None:
        raise SealNotFound()
    _check_usable(seal, actor, at=timezone.now())
    key = open_key(seal.wrapped_key, key_id=seal.key_id)
    certificate = crypto.load_certificate(seal.certificate_pem.encode())

    built = build_docx(bytes(seal.image))
    if isinstance(built, SealedCopy):
        copy = built
    else:
        copy = SealedCopy(docx=bytes(built) if isinstance(built, bytes | bytearray) else b"")
    docx = copy.docx
    if not docx.startswith(b"PK\x03\x04"):
        raise SealInvalidInput(_("生成的用印文件不是有效的 DOCX。"), code="seal.invalid_document")
    if copy.pdf is not None and not copy.pdf.startswith(b"%PDF-"):
        raise SealInvalidInput(_("生成的版式文件不是有效的 PDF。"), code="seal.invalid_document")
    ca_certificate = crypto.load_certificate(seal.authority.certificate_pem.encode())
    signature = crypto.sign_detached(docx, key=key, certificate=certificate, chain=(ca_certificate,))
    signed_pdf = None
    if copy.pdf is not None:
        signed_pdf = _sign_pdf(copy, seal=seal, key=key, certificate=certificate, ca_certificate=ca_certificate)
    del key
    # The signing time and the document's SHA-256 come from the signed attributes we
    # just made (the builder chose the time; hashing a large DOCX twice would double the
    # cost of sealing).
    attributes = crypto.read_signed_attributes(signature)
    assert attributes is not None and len(attributes.message_digest) == 32
    return SealSignature(
        seal_id=seal.pk,
        key_id=seal.key_id,
        serial=seal.serial,
        document_ref=document_ref,
        title=title,
        docx=docx,
        signature=signature,
        sha256=attributes.message_digest.hex(),
        signing_time=attributes.signing_time,
        pdf=signed_pdf,
    )


@sensitive_variables("key")
def _sign_pdf(
    copy: SealedCopy, *, seal: Seal, key: crypto.PrivateKey, certificate: x509.Certificate, ca_certificate: x509.Certificate
) -> bytes:
    """The PDF with this seal's PAdES signature appended, its visible appearance the seal
    image over the rectangle where the DOCX pressed it (found in the PDF if not given)."""
    assert copy.pdf is not None
    page, box = copy.seal_page, copy.seal_box
    if page is None or box is None:
        try:
            page, box = pades.seal_box(copy.pdf)
        except LookupError:
            raise SealInvalidInput(_("版式文件中找不到印章位置。"), code="seal.invalid_document") from None
    existing = len(pades.verify_pdf(copy.pdf, trusted_ca=ca_certificate).signatures)
    return pades.sign_pdf(
        copy.pdf,
        key=key,
        certificate=certificate,
        chain=[ca_certificate],
        field_name=f"Seal{existing + 1}",
        page=page,
        box=box,
        seal_png=bytes(seal.image),
        reason="发文用印",
        location=seal.owner_organisation.name,
        name=seal.name,
    )


def seal_record_signed(*, signed: SealSignature, actor: User) -> SealRecord:
    """The quick half of a sealing, inside the caller's transaction: lock the seal row,
    re-check it at the signing time, store the :class:`SealRecord`, audit ``seal.used``.

    Lock order: the caller locks its own rows first (e.g. the document and its
    SealRequest); the seal row is the last entity row this takes, and the audit entry
    comes after it. If the re-check fails (``seal.changed`` and the codes of
    :func:`seal_sign`), nothing is stored and the caller's transaction should roll back.
    """
    require_transaction()
    locked = _lock_seal(signed.seal_id)
    if locked.key_id != signed.key_id or locked.serial != signed.serial:
        raise SealInvalidTransition(_("印章已变更，请重试。"), code="seal.changed")
    _check_usable(locked, actor, at=signed.signing_time)
    record = SealRecord(
        seal=locked,
        document_ref=signed.document_ref,
        title=signed.title,
        sealed_docx=signed.docx,
        sha256=signed.sha256,
        signature=signed.signature,
        signing_time=signed.signing_time,
        signed_pdf=signed.pdf,
        pdf_sha256=hashlib.sha256(signed.pdf).hexdigest() if signed.pdf is not None else "",
        actor=actor,
    )
    record.full_clean()
    record.save()
    audit(
        actor=actor,
        action="seal.used",
        target=locked,
        data={
            "record": record.pk,
            "document_ref": signed.document_ref,
            "title": signed.title,
            "sha256": record.sha256,
            "pdf_sha256": record.pdf_sha256,
            "signing_time": signed.signing_time.isoformat(),
        },
    )
    return record


def seal_apply(
    *,
    seal_id: int,
    actor: User,
    build_docx: Callable[[bytes], bytes],
    document_ref: str,
    title: str,
) -> SealRecord:
    """Seal a document in one call: :func:`seal_sign` before any lock, then
    :func:`seal_record_signed`, in the caller's transaction.

    For callers that lock nothing else. A caller that locks its own rows in the same
    transaction (the document flow) must call the two halves itself, locking its rows
    between them, so the audit head is taken last. Whether the document may be sealed at
    all (approved SealRequest, signed off) is the caller's check. Raises the codes of
    both halves; if the re-check fails, the signature is discarded and nothing is stored.
    """
    require_transaction()
    signed = seal_sign(seal_id=seal_id, actor=actor, build_docx=build_docx, document_ref=document_ref, title=title)
    return seal_record_signed(signed=signed, actor=actor)


# --------------------------------------------------------------------------- verification


def _ca_material(ca: CertificateAuthority) -> tuple[x509.Certificate, x509.CertificateRevocationList | None]:
    certificate = crypto.load_certificate(ca.certificate_pem.encode())
    crl = crypto.load_crl(ca.crl_pem.encode()) if ca.crl_pem else None
    return certificate, crl


def seal_verify(*, docx: bytes, signature: bytes) -> crypto.VerificationResult:
    """Verify a DOCX and its detached signature against our CA(s) and current CRL.

    Tries the active CA first, then retired ones (a seal certified by a replaced CA still
    verifies against it). A certificate our CA signed but whose serial no seal carries
    gives ``unknown_seal`` ("未知印章"). Needs no key, so it works without the KEK.
    Raises ``seal.ca_missing`` only when no CA was ever created.
    """
    authorities = list(CertificateAuthority.objects.order_by("-is_active", "-created_at"))
    if not authorities:
        raise ca_missing()
    result: crypto.VerificationResult | None = None
    for ca in authorities:
        certificate, crl = _ca_material(ca)
        attempt = crypto.verify_detached(docx, signature, trusted_ca=certificate, crl=crl)
        if result is None:
            result = attempt
        if attempt.status != "untrusted_certificate":
            result = attempt
            break
    assert result is not None
    if (
        result.status in _TRUSTED_STATUSES
        and result.signer_serial is not None
        and not Seal.objects.filter(serial=serial_hex(result.signer_serial)).exists()
    ):
        result = replace(
            result,
            status="unknown_seal",
            reason_code="unknown_seal",
            message_zh=crypto.status_message_zh("unknown_seal"),
        )
    return result


def seal_verify_pdf(*, pdf: bytes) -> pades.PdfVerification:
    """Verify every seal signed inside a PDF against our CA(s) and current CRL — the same
    rules and reasons as :func:`seal_verify`, from the signed PDF alone (what a
    recipient holds). A seal revoked for key or CA compromise voids its earlier
    signatures too. A certificate our CA signed whose serial no seal carries is
    ``unknown_seal``. Raises ``seal.ca_missing`` only when no CA was ever created.
    """
    authorities = list(CertificateAuthority.objects.order_by("-is_active", "-created_at"))
    if not authorities:
        raise ca_missing()
    reasons = dict(
        Seal.objects.filter(status=SealStatus.REVOKED).exclude(revocation_reason="").values_list("serial", "revocation_reason")
    )
    by_serial = {int(serial, 16): reason for serial, reason in reasons.items()}
    best: pades.PdfVerification | None = None
    for ca in authorities:
        certificate, crl = _ca_material(ca)
        attempt = pades.verify_pdf(pdf, trusted_ca=certificate, crl=crl, revocation_reasons=by_serial)
        if best is None or _untrusted_count(attempt) < _untrusted_count(best):
            best = attempt
        if _untrusted_count(attempt) == 0:
            break
    assert best is not None
    known = set(Seal.objects.values_list("serial", flat=True))
    checks = [
        replace(check, status="unknown_seal", message_zh=crypto.status_message_zh("unknown_seal"))
        if check.signer_serial is not None and check.status in _TRUSTED_STATUSES and serial_hex(check.signer_serial) not in known
        else check
        for check in best.signatures
    ]
    return pades.PdfVerification(checks)


def _untrusted_count(result: pades.PdfVerification) -> int:
    return sum(1 for check in result.signatures if check.status == "untrusted_certificate")


class SealFinding(TypedDict):
    """One seal found in an uploaded file, as the public 验章 page and API report it."""

    status: str
    message: str
    valid: bool
    organisation: str | None
    seal: str | None
    signer: str | None
    signed_at: dt.datetime | None
    revoked_at: dt.datetime | None


class UploadVerification(TypedDict):
    kind: Literal["pdf", "docx"]
    status: str
    message: str
    valid: bool
    seals: list[SealFinding]
    sha256: str


def seal_verify_upload(
    *, pdf: bytes | None = None, docx: bytes | None = None, signature: bytes | None = None
) -> UploadVerification:
    """What the public 验章 page and API answer for an uploaded signed PDF, or a DOCX with
    its .p7s: the file's verdict and each seal's, with the same reasons as everywhere.
    Reads and stores nothing else. Raises ``verify.unsupported_type`` (415) for anything
    that is not a PDF, or a DOCX with a DER signature; ``verify.missing_file`` (400)."""
    if pdf is not None:
        if not pdf.startswith(b"%PDF-"):
            raise _unsupported(_("请上传 PDF 格式的签章版式文件。"))
        result = seal_verify_pdf(pdf=pdf)
        return UploadVerification(
            kind="pdf", status=result.status, message=result.message_zh, valid=result.is_valid,
            seals=[_finding(c.status, c.message_zh, c.is_valid, c.signer_subject, c.signer_serial, c.signing_time, c.revoked_at)
                   for c in result.signatures],
            sha256=hashlib.sha256(pdf).hexdigest(),
        )
    if docx is None or signature is None:
        raise SealInvalidInput(_("请上传签章 PDF，或同时上传用印后的 DOCX 与 .p7s 签名文件。"), code="verify.missing_file")
    if not docx.startswith(b"PK\x03\x04"):
        raise _unsupported(_("用印文件须为 DOCX 格式。"))
    if not signature.startswith(b"\x30"):
        raise _unsupported(_("签名文件须为 DER 编码的 .p7s。"))
    checked = seal_verify(docx=docx, signature=signature)
    finding = _finding(checked.status, checked.message_zh, checked.is_valid, checked.signer_subject, checked.signer_serial,
                       checked.signing_time, checked.revoked_at)
    return UploadVerification(kind="docx", status=checked.status, message=checked.message_zh, valid=checked.is_valid,
                              seals=[finding] if checked.status != "not_a_signature" else [], sha256=checked.content_sha256)


def _unsupported(message: str) -> SealInvalidInput:
    return SealInvalidInput(message, code="verify.unsupported_type", status=415)


def _finding(status: str, message: str, valid: bool, signer: str | None, serial: int | None,
             signed_at: dt.datetime | None, revoked_at: dt.datetime | None) -> SealFinding:
    seal = (
        Seal.objects.filter(serial=serial_hex(serial)).select_related("owner_organisation").only(
            "name", "owner_organisation__name").first()
        if serial is not None and status != "untrusted_certificate" else None
    )
    return SealFinding(
        status=status, message=message, valid=valid, signer=signer, signed_at=signed_at, revoked_at=revoked_at,
        organisation=seal.owner_organisation.name if seal else None, seal=seal.name if seal else None,
    )


def seal_record_verify(*, record_id: int) -> crypto.VerificationResult:
    """Re-verify a stored sealing against the current CRL."""
    record = SealRecord.objects.filter(pk=record_id).only("sealed_docx", "signature").first()
    if record is None:
        raise SealRecordNotFound()
    return seal_verify(docx=bytes(record.sealed_docx), signature=bytes(record.signature))


# --------------------------------------------------------------------------- KEK rotation


@sensitive_variables("old_kek", "new_kek")
def seal_keys_rewrap(*, new_kek: bytes, actor: User | None = None) -> dict[str, int]:
    """Re-wrap every private key (CAs and seals) under ``new_kek``, all or nothing.

    Every row is locked (CAs then seals, by primary key) so no sealing or revocation
    reads a half-rotated set. Any key the current KEK cannot open aborts the whole
    rotation with ``seal.kek_invalid``. Audits ``seal.keys_rewrapped`` with the counts.
    """
    require_transaction()
    old_kek = current_kek()
    if len(new_kek) != 32:
        raise SealInvalidInput(_("新的密钥加密密钥必须是 32 字节。"), code="seal.kek_invalid_new")
    if new_kek == old_kek:
        raise SealInvalidInput(_("新的密钥加密密钥与当前的相同。"), code="seal.kek_unchanged")
    authorities = list(CertificateAuthority.objects.select_for_update(of=("self",)).order_by("pk"))
    seals = list(
        Seal.objects.select_for_update(of=("self",)).order_by("pk").only("pk", "key_id", "wrapped_key")
    )
    rows: list[CertificateAuthority | Seal] = [*authorities, *seals]
    for row in rows:
        try:
            row.wrapped_key = crypto.rewrap(bytes(row.wrapped_key), old_kek, new_kek, key_id=row.key_id)
        except crypto.KeyUnwrapError:
            raise kek_invalid() from None
        row.save(update_fields=["wrapped_key"])
    counts = {"authorities": len(authorities), "seals": len(seals)}
    audit(actor=actor, action="seal.keys_rewrapped", data=counts)
    return counts


# --------------------------------------------------------------------------- demo


class SeedReport(TypedDict):
    ca_created: bool
    ca: str
    created: list[str]
    skipped: list[str]


def seal_seed_demo() -> SeedReport:
    """Create the CA and one active 公章 per issuing organisation with custodians (idempotent).

    An organisation with no ``seal_custodian`` user gets no seal (it is listed under
    ``skipped``). Needs the KEK. One transaction (the command's): all of it or nothing; it
    holds the CA row while it issues the seals one after another, which only the demo
    set-up may do.
    """
    from officehub.directory.selectors import users_with_role

    require_transaction()
    ca, ca_created = ca_init(actor=None)
    created: list[str] = []
    skipped: list[str] = []
    custodians_by_org: dict[int, list[int]] = {}
    for user in users_with_role(role=Role.SEAL_CUSTODIAN).select_related("department"):
        org = user.department.organisation() if user.department else None
        if org is not None:
            custodians_by_org.setdefault(org.pk, []).append(user.pk)
    for organisation in Department.objects.filter(is_organisation=True).order_by("path"):
        exists = Seal.objects.filter(
            owner_organisation=organisation, kind=SealKind.ORGANISATION
        ).exclude(status=SealStatus.REVOKED).exists()
        if exists:
            continue
        custodian_ids = custodians_by_org.get(organisation.pk)
        if not custodian_ids:
            skipped.append(organisation.name)
            continue
        seal = seal_issue(
            actor=None,
            kind=SealKind.ORGANISATION,
            owner_organisation_id=organisation.pk,
            custodian_ids=custodian_ids,
            check_permission=False,
        )
        seal_activate(actor=None, seal_id=seal.pk, check_permission=False)
        created.append(seal.name)
    return {"ca_created": ca_created, "ca": ca.common_name, "created": created, "skipped": skipped}
