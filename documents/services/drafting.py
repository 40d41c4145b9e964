"""拟稿 and editing: a new outgoing draft, changes at 拟稿/核稿/复核, sharing and 批注."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from documents import selectors
from documents.errors import DocumentInvalidInput, DocumentInvalidTransition, DocumentNotHolder
from documents.models import (
    Direction,
    Disclosure,
    DocType,
    Document,
    DocumentComment,
    DocumentStatus,
    StepKind,
    StepState,
    Urgency,
)
from documents.services.attachments import set_text_attachments
from documents.services.flow import (
    DOCUMENT_FLOW,
    AttachmentText,
    check_attachments,
    check_classification,
    check_disclosure,
    close_step,
    holder_step,
    issuer_staff,
    open_step,
    organisations,
    own_departments,
    require_text,
    save,
    store_version,
    validate,
)
from documents.services.joint import check_co_issuers, open_sign_off, set_joint_issuers
from officehub.audit.services import audit
from officehub.directory.models import Clearance, Department, Role, User
from officehub.indexing.services import mark_for_index
from officehub.transactions import require_transaction

S = DocumentStatus


@dataclass(frozen=True)
class DraftFields:
    """Fields a drafter (or an editor at review/recheck) may set; None leaves a field as is."""

    title: str | None = None
    body: str | None = None
    urgency: str | None = None
    classification: int | None = None
    secrecy_period: str | None = None
    copy_number: str | None = None
    note: str | None = None
    attachments: list[AttachmentText] | None = None  # 随文附件; files have their own services
    needs_seal: bool | None = None
    primary_recipient_ids: Sequence[int] | None = None
    cc_recipient_ids: Sequence[int] | None = None
    countersign_department_ids: Sequence[int] | None = None
    # 公开属性: changeable until sign-off (拟稿, 核稿), not at 复核.
    disclosure: str | None = None
    # 联合发文: the co-issuing organisations after the lead, in order ([] = issued alone);
    # changeable until sign-off (拟稿, 核稿).
    co_issuer_ids: Sequence[int] | None = None


def document_create_draft(
    *,
    actor: User,
    doc_type: str,
    title: str,
    body: str = "",
    urgency: str = Urgency.NORMAL,
    classification: int = Clearance.INTERNAL,
    secrecy_period: str = "",
    copy_number: str = "",
    note: str = "",
    attachments: list[AttachmentText] | None = None,
    needs_seal: bool | None = None,
    primary_recipient_ids: Sequence[int] = (),
    cc_recipient_ids: Sequence[int] = (),
    countersign_department_ids: Sequence[int] = (),
    disclosure: str = Disclosure.WITHHELD,
    co_issuer_ids: Sequence[int] = (),
) -> Document:
    """Start an outgoing draft in the actor's organisation (the issuer).

    Anyone with the drafter role may draft; a 纪要 (minutes) may be started by any member
    (the meetings feature drafts minutes for a meeting's host). Side effects: version 1,
    an open 拟稿 step held by the actor, audit ``document.drafted``.
    Raises document.invalid, document.classified_refused, document.clearance_too_low,
    document.unknown_recipient, document.unknown_department, document.disclosure_not_public,
    permission_denied, and for co-issuers (联合发文) the codes of ``check_co_issuers``.
    """
    require_transaction()
    if doc_type not in DocType.values:
        raise DocumentInvalidInput(_("文种不正确。"), extra={"field": "doc_type"})
    if doc_type != DocType.MINUTES and not actor.has_role(Role.DRAFTER):
        raise DocumentNotHolder(_("只有拟稿人可以起草公文。"), code="document.not_drafter")
    issuer = selectors.organisation_of_user(actor)
    if issuer is None or not issuer.issuer_code:
        raise DocumentInvalidInput(_("您所在部门不属于任何发文机关，不能起草公文。"), code="document.no_issuer")
    check_classification(classification, actor)
    now = timezone.now()
    document = Document(
        direction=Direction.OUTGOING,
        doc_type=doc_type,
        status=DocumentStatus.DRAFT,
        title=(title or "").strip(),
        body=body or "",
        urgency=urgency,
        classification=classification,
        secrecy_period=secrecy_period,
        copy_number=copy_number,
        note=note,
        disclosure=disclosure,
        needs_seal=(doc_type != DocType.MINUTES) if needs_seal is None else needs_seal,
        issuer=issuer,
        signature_name=issuer.name,
        printing_office=issuer.name,
        drafter=actor,
        drafting_department=actor.department,
        # An urgent document has a named 催办人 from the start: its drafter.
        chaser=actor if urgency != Urgency.NORMAL else None,
    )
    if not document.title:
        raise DocumentInvalidInput(_("请填写标题。"), code="document.title_required", extra={"field": "title"})
    _validate_copy_number(document.copy_number)
    check_disclosure(document)
    text_attachments = check_attachments(attachments or [])
    primary = organisations(primary_recipient_ids, field="primary_recipient_ids", issuer=issuer)
    cc = organisations(cc_recipient_ids, field="cc_recipient_ids", issuer=issuer)
    countersign = own_departments(countersign_department_ids, field="countersign_department_ids", organisation=issuer)
    co_issuers = check_co_issuers(
        co_issuer_ids, issuer=issuer, doc_type=doc_type, recipient_ids=[o.pk for o in [*primary, *cc]]
    )
    document.recipient_order = {"primary": [o.pk for o in primary], "cc": [o.pk for o in cc]}
    validate(document, validate_unique=True)
    document.save()
    document.primary_recipients.set(primary)
    document.cc_recipients.set(cc)
    document.countersign_departments.set(countersign)
    set_text_attachments(document, text_attachments, actor=actor, now=now)
    set_joint_issuers(document, co_issuers)
    store_version(document, author=actor, now=now, step_kind=StepKind.DRAFT)
    document.save(update_fields=["version"])
    open_step(document, StepKind.DRAFT, [actor], now=now, round=1)
    data: dict[str, Any] = {"doc_type": doc_type, "title": document.title}
    if co_issuers:
        data["co_issuers"] = [o.pk for o in co_issuers]
    audit(actor=actor, action="document.drafted", target=document, data=data)
    return document


def _validate_copy_number(copy_number: str) -> None:
    # GB/T 9704 7.2.1: 份号 is six Arabic digits.
    if copy_number and not (len(copy_number) == 6 and copy_number.isascii() and copy_number.isdigit()):
        raise DocumentInvalidInput(_("份号应为 6 位阿拉伯数字。"), extra={"field": "copy_number"})


def document_update(*, document_id: int, actor: User, fields: DraftFields) -> Document:
    """Edit a document at 拟稿 (drafter), 核稿 (reviewer) or 复核 (rechecker).

    A title/body change stores a new version; at 复核 such a substantive change sends the
    document back to its signer (条例 第二十五条). The 公开属性 changes only before sign-off.
    Raises document.invalid_transition, document.not_assigned and the validation codes of
    ``document_create_draft``.
    """
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "update")
    step_kind = {S.DRAFT: StepKind.DRAFT, S.REVIEW: StepKind.REVIEW, S.RECHECK: StepKind.RECHECK}[S(document.status)]
    step = holder_step(document, actor, step_kind)
    now = timezone.now()
    changed: set[str] = set()
    text_changed = False
    for name in ("title", "body", "urgency", "secrecy_period", "copy_number", "note", "needs_seal"):
        value = getattr(fields, name)
        if value is None:
            continue
        if name == "title":
            value = value.strip()
            if not value:
                raise DocumentInvalidInput(_("请填写标题。"), code="document.title_required", extra={"field": "title"})
        if name == "copy_number":
            _validate_copy_number(value)
        if getattr(document, name) != value:
            setattr(document, name, value)
            changed.add(name)
            text_changed |= name in ("title", "body")
    if fields.classification is not None and fields.classification != document.classification:
        check_classification(fields.classification, actor)
        document.classification = fields.classification
        changed.add("classification")
    text_attachments = check_attachments(fields.attachments) if fields.attachments is not None else None
    if fields.disclosure is not None and fields.disclosure != document.disclosure:
        if document.status not in (S.DRAFT, S.REVIEW):
            raise DocumentInvalidTransition(
                _("公开属性只能在签发前修改。"), status=document.status, action="update"
            )
        document.disclosure = fields.disclosure
        changed.add("disclosure")
    if changed & {"disclosure", "classification"}:
        check_disclosure(document)
    if changed:
        validate(document)  # before a version row stores the new text
    relations: dict[str, list[Department]] = {}
    if fields.primary_recipient_ids is not None:
        relations["primary_recipients"] = organisations(
            fields.primary_recipient_ids, field="primary_recipient_ids", issuer=document.issuer
        )
    if fields.cc_recipient_ids is not None:
        relations["cc_recipients"] = organisations(fields.cc_recipient_ids, field="cc_recipient_ids", issuer=document.issuer)
    if fields.countersign_department_ids is not None:
        if document.status != S.DRAFT:
            raise DocumentInvalidTransition(
                _("会签部门只能在拟稿时修改，核稿时请在审核意见中指定。"), status=document.status, action="update"
            )
        relations["countersign_departments"] = own_departments(
            fields.countersign_department_ids, field="countersign_department_ids", organisation=document.issuer
        )
    if fields.co_issuer_ids is not None or relations.keys() & {"primary_recipients", "cc_recipients"}:
        current = list(
            document.joint_issuers.filter(position__gt=0).order_by("position").values_list("organisation_id", flat=True)
        )
        wanted = list(fields.co_issuer_ids) if fields.co_issuer_ids is not None else current
        recipient_ids = [
            dept.pk for name in ("primary_recipients", "cc_recipients")
            for dept in (relations[name] if name in relations else getattr(document, name).all())
        ]
        co_issuers = check_co_issuers(
            wanted, issuer=document.issuer, doc_type=document.doc_type, recipient_ids=recipient_ids
        )
        if [o.pk for o in co_issuers] != current:
            if document.status not in (S.DRAFT, S.REVIEW):
                raise DocumentInvalidTransition(
                    _("联合发文机关只能在签发前修改。"), status=document.status, action="update"
                )
            set_joint_issuers(document, co_issuers)
            changed.add("co_issuers")
    order_keys = {"primary_recipients": "primary", "cc_recipients": "cc"}
    for name, values in relations.items():
        manager = getattr(document, name)
        key = order_keys.get(name)
        reordered = key is not None and list(document.recipient_order.get(key, [])) != [dept.pk for dept in values]
        if {dept.pk for dept in manager.all()} != {dept.pk for dept in values} or reordered:
            manager.set(values)
            if key is not None:
                document.recipient_order = {**document.recipient_order, key: [dept.pk for dept in values]}
                changed.add("recipient_order")
            changed.add(name)
            text_changed |= name == "primary_recipients"
    if text_attachments is not None and set_text_attachments(document, text_attachments, actor=actor, now=now):
        # A 随文附件 is printed with the document: a change is a change of its text.
        changed.add("attachments")
        text_changed = True
    if not changed:
        return document
    version = None
    if text_changed:
        version = store_version(document, author=actor, now=now, step_kind=step_kind)
        changed.add("version")
    save(document, [name for name in changed if name not in relations and name not in ("attachments", "co_issuers")])
    data: dict[str, Any] = {"fields": sorted(changed), "version": version.number if version else None}
    if document.status == S.RECHECK and text_changed:
        # A substantive change after sign-off needs the signer's approval again.
        DOCUMENT_FLOW.move(document, "update", to=S.SIGN_OFF)
        close_step(step, actor=actor, now=now, outcome="resign", opinion=_("复核时作实质性修改"))
        signer = document.signer
        holders = [signer] if signer and signer.is_active else issuer_staff(document, Role.SIGNING_LEADER)
        # 联合发文: every organisation signs off again.
        open_sign_off(document, now=now, lead_holders=holders)
        save(document, ["status"])
        data["back_to_signer"] = True
    audit(actor=actor, action="document.updated", target=document, data=data)
    return document


def document_share(*, document_id: int, actor: User, user_ids: Sequence[int]) -> Document:
    """Add explicit readers. The drafter or a current holder may share; readers need the
    clearance for the document's 密级."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    if document.drafter_id != actor.pk and not document.steps.filter(state=StepState.OPEN, holders=actor).exists():
        raise DocumentNotHolder(_("只有拟稿人或当前办理人可以共享公文。"), code="document.not_assigned")
    wanted = list(dict.fromkeys(int(pk) for pk in user_ids))
    users = list(User.objects.filter(pk__in=wanted, is_active=True))
    if len(users) != len(wanted) or not wanted:
        raise DocumentInvalidInput(_("共享对象不存在。"), extra={"field": "user_ids"})
    low = [user.pk for user in users if user.clearance < document.classification]
    if low:
        raise DocumentInvalidInput(_("共享对象的涉密等级不足。"), code="document.clearance_too_low",
                                   extra={"field": "user_ids", "ids": low})
    document.shared_with.add(*users)
    mark_for_index("document", document.pk)  # new readers: the search index follows
    audit(actor=actor, action="document.shared", target=document, data={"users": wanted})
    return document


def document_comment_add(*, document_id: int, actor: User, version_number: int, text: str, quote: str = "") -> DocumentComment:
    """批注 on a version; anyone who may read the document may comment."""
    require_transaction()
    document = selectors.access_document(actor, document_id)
    version = selectors.version_of(document, version_number)
    text = require_text(text, _("批注内容不能为空。"), "text")
    if len(text) > 2000 or len(quote) > 200:
        raise DocumentInvalidInput(_("批注过长。"), extra={"field": "text"})
    comment = DocumentComment.objects.create(version=version, author=actor, text=text, quote=quote.strip(),
                                             created_at=timezone.now())
    audit(actor=actor, action="document.commented", target=document, data={"version": version.number, "comment": comment.pk})
    return comment
