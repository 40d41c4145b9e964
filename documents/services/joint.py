"""联合发文 (joint issuance): a lead organisation (主办机关, ``Document.issuer``) and its
co-issuers.

- 拟稿/核稿: the drafter names the co-issuers (``check_co_issuers``, ``set_joint_issuers``);
- 签发: after 核稿/会签, every organisation's 签发领导 signs off in parallel, one SIGN_OFF
  step per organisation (``open_sign_off``); the document moves to 复核 only when all
  have signed, and its 成文日期 is the day of the last sign-off (GB/T 9704 7.3.5.1);
- 编号: the lead's 发文字号 only;
- 用印: one 用印申请 per organisation, decided by that organisation's custodian; the
  signed PDF gets one PAdES signature per organisation, each appended as an incremental
  update over the previous (documents/services/sealing.py).

Steps of a joint document name their organisation in ``Step.department`` (the lead's
too), so each organisation's status is read from its own rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils.translation import gettext as _

from documents import selectors
from documents.errors import DocumentInvalidInput
from documents.models import MAX_JOINT_ISSUERS, DocType, Document, JointIssuer, StepKind
from officehub.directory.models import Department, Role, User

# 纪要 are not sealed and name no issuers in a 版头 of this kind; 信函 have their own head.
JOINT_DOC_TYPES_REFUSED = frozenset({DocType.MINUTES, DocType.LETTER})


def check_co_issuers(
    ids: Sequence[int], *, issuer: Department, doc_type: str, recipient_ids: Sequence[int] = ()
) -> list[Department]:
    """Untrusted co-issuer ids as organisations, in the given order. Raises (400):
    document.duplicate_co_issuer, document.co_issuer_is_lead, document.unknown_co_issuer
    (missing, or a department that is not an issuing organisation),
    document.too_many_co_issuers, document.joint_not_supported (纪要, 信函),
    document.co_issuer_is_recipient."""
    try:
        wanted = [int(pk) for pk in ids]
    except (TypeError, ValueError):
        raise DocumentInvalidInput(_("联合发文机关格式不正确。"), extra={"field": "co_issuer_ids"}) from None
    if not wanted:
        return []
    duplicates = sorted({pk for pk in wanted if wanted.count(pk) > 1})
    if duplicates:
        raise DocumentInvalidInput(
            _("联合发文机关重复。"), code="document.duplicate_co_issuer", extra={"field": "co_issuer_ids", "ids": duplicates}
        )
    if issuer.pk in wanted:
        raise DocumentInvalidInput(
            _("主办机关不能同时作为联合发文机关。"), code="document.co_issuer_is_lead",
            extra={"field": "co_issuer_ids", "ids": [issuer.pk]},
        )
    found = {
        dept.pk: dept
        for dept in Department.objects.filter(pk__in=wanted, is_organisation=True).exclude(issuer_code="")
    }
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise DocumentInvalidInput(
            _("联合发文机关不存在或不是发文机关：%(ids)s。") % {"ids": "、".join(map(str, missing))},
            code="document.unknown_co_issuer",
            extra={"field": "co_issuer_ids", "ids": missing},
        )
    if len(wanted) + 1 > MAX_JOINT_ISSUERS:
        raise DocumentInvalidInput(
            _("联合发文机关最多 %(n)s 个（含主办机关）。") % {"n": MAX_JOINT_ISSUERS},
            code="document.too_many_co_issuers",
            extra={"field": "co_issuer_ids", "max": MAX_JOINT_ISSUERS - 1},
        )
    if doc_type in JOINT_DOC_TYPES_REFUSED:
        raise DocumentInvalidInput(
            _("“%(type)s”不能联合发文。") % {"type": DocType(doc_type).label},
            code="document.joint_not_supported",
            extra={"field": "co_issuer_ids"},
        )
    both = [pk for pk in wanted if pk in set(recipient_ids)]
    if both:
        raise DocumentInvalidInput(
            _("联合发文机关不能同时是收文机关。"), code="document.co_issuer_is_recipient",
            extra={"field": "co_issuer_ids", "ids": both},
        )
    return [found[pk] for pk in wanted]


def set_joint_issuers(document: Document, co_issuers: Sequence[Department]) -> bool:
    """Make ``document`` jointly issued by its issuer (first) and ``co_issuers``, or by
    its issuer alone when the list is empty. Returns whether anything changed."""
    wanted = [document.issuer, *co_issuers] if co_issuers else []
    current = list(document.joint_issuers.order_by("position").values_list("organisation_id", flat=True))
    if current == [org.pk for org in wanted]:
        return False
    document.joint_issuers.all().delete()
    JointIssuer.objects.bulk_create(
        [
            JointIssuer(
                document=document,
                organisation=org,
                position=position,
                signature_name=(document.signature_name or org.name) if position == 0 else org.name,
            )
            for position, org in enumerate(wanted)
        ]
    )
    return True


def joint_issuers(document: Document) -> list[JointIssuer]:
    return list(document.joint_issuers.select_related("organisation").order_by("position"))


def signing_leaders(organisation: Department) -> list[User]:
    return selectors.office_staff(organisation, role=Role.SIGNING_LEADER)


def check_signing_leaders(document: Document) -> None:
    """Every co-issuer has a 签发领导 (document.no_handler otherwise, naming it)."""
    for row in joint_issuers(document)[1:]:
        if not signing_leaders(row.organisation):
            raise DocumentInvalidInput(
                _("联合发文机关“%(name)s”没有签发领导。") % {"name": row.organisation.name},
                code="document.no_handler",
                extra={"organisation_id": row.organisation_id, "step": StepKind.SIGN_OFF},
            )


def open_sign_off(document: Document, *, now: datetime, lead_holders: Sequence[User] | None = None) -> None:
    """Open 签发: the issuer's leaders; for a joint document, one step per organisation,
    all at once (parallel), each held by that organisation's 签发领导."""
    from documents.services.flow import issuer_staff, open_step

    rows = joint_issuers(document)
    lead = list(lead_holders) if lead_holders else issuer_staff(document, Role.SIGNING_LEADER)
    if not rows:
        open_step(document, StepKind.SIGN_OFF, lead, now=now)
        return
    for row in rows:
        holders = lead if row.is_lead else signing_leaders(row.organisation)
        open_step(document, StepKind.SIGN_OFF, holders, now=now, department=row.organisation)


def seal_organisations(document: Document) -> list[Department]:
    """Whose seals the document needs: its issuer, or every joint issuer in order."""
    rows = joint_issuers(document)
    return [row.organisation for row in rows] if rows else [document.issuer]
