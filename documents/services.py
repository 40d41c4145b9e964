"""Every write to documents: drafting, each flow transition, numbering, sealing, 催办.

Each transition follows STYLE §2: the caller opens the transaction; we lock the document
row (``access_document(..., lock=True)``), check the status against ``TRANSITIONS``,
check that the actor holds the open step, change fields with ``full_clean`` and
``save(update_fields=...)``, write one audit entry, and open/close 待办 items whose
pushes run on commit. Step rows of a document only change under its row lock, so parallel
holders (会签 heads, two 核稿 reviewers) are serialised on that one lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from documents import sealing, selectors
from documents.errors import (
    ClassifiedRefused,
    DocumentInvalidInput,
    DocumentInvalidTransition,
    DocumentNotHolder,
    UnknownRecipient,
)
from documents.models import (
    Direction,
    DocType,
    Document,
    DocumentComment,
    DocumentStatus,
    DocumentVersion,
    NumberSequence,
    Reminder,
    SealRequest,
    SealRequestStatus,
    Step,
    StepKind,
    StepState,
    Urgency,
)
from officehub.audit.services import audit
from officehub.directory.models import Clearance, Department, Role, User
from officehub.errors import NotFound
from officehub.workbench.models import TodoKind
from officehub.workbench.services import notify_user, todo_close, todo_open

S = DocumentStatus

# The one table of allowed moves: action -> {from status: allowed target statuses}.
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "update": {S.DRAFT: (S.DRAFT,), S.REVIEW: (S.REVIEW,), S.RECHECK: (S.RECHECK, S.SIGN_OFF)},
    "submit": {S.DRAFT: (S.REVIEW,)},
    "review.approve": {S.REVIEW: (S.COUNTERSIGN, S.SIGN_OFF)},
    "review.return": {S.REVIEW: (S.DRAFT,)},
    "countersign.concur": {S.COUNTERSIGN: (S.COUNTERSIGN, S.SIGN_OFF)},
    "countersign.return": {S.COUNTERSIGN: (S.DRAFT,)},
    "sign_off.approve": {S.SIGN_OFF: (S.RECHECK,)},
    "sign_off.return": {S.SIGN_OFF: (S.DRAFT,)},
    "recheck.pass": {S.RECHECK: (S.ASSIGN_NUMBER,)},
    "recheck.return": {S.RECHECK: (S.DRAFT,)},
    "assign_number": {S.ASSIGN_NUMBER: (S.SEAL, S.DISTRIBUTE)},
    "seal.request": {S.SEAL: (S.SEAL,)},
    "seal.approve": {S.SEAL: (S.DISTRIBUTE,)},
    "seal.reject": {S.SEAL: (S.SEAL,)},
    "distribute": {S.DISTRIBUTE: (S.DISTRIBUTED,)},
    "receive": {S.RECEIVE: (S.REGISTER,)},
    "register": {S.REGISTER: (S.SCREEN,)},
    "screen.accept": {S.SCREEN: (S.PROPOSE,)},
    "screen.return": {S.SCREEN: (S.RETURNED,)},
    "propose": {S.PROPOSE: (S.INSTRUCT,)},
    "instruct": {S.INSTRUCT: (S.HANDLE,)},
    "handle": {S.HANDLE: (S.HANDLE,)},
    "read": {S.HANDLE: (S.HANDLE,), S.CONCLUDED: (S.CONCLUDED,), S.ARCHIVED: (S.ARCHIVED,)},
    "conclude": {S.HANDLE: (S.CONCLUDED,)},
    "archive": {S.DISTRIBUTED: (S.ARCHIVED,), S.CONCLUDED: (S.ARCHIVED,)},
}

# Default time allowed per step, by 紧急程度 (urgent documents get shorter deadlines).
STEP_DUE = {
    Urgency.NORMAL: timedelta(days=3),
    Urgency.URGENT: timedelta(days=1),
    Urgency.EXTRA_URGENT: timedelta(hours=4),
}
# Default 办理时限 for the handling of an incoming document, by 紧急程度.
HANDLING_DUE = {
    Urgency.NORMAL: timedelta(days=15),
    Urgency.URGENT: timedelta(days=5),
    Urgency.EXTRA_URGENT: timedelta(days=2),
}

STEP_TODO_KIND = {StepKind.SEAL: TodoKind.SEAL_REQUEST}


def _check_transition(document: Document, action: str) -> tuple[str, ...]:
    allowed = TRANSITIONS[action].get(document.status)
    if allowed is None:
        raise DocumentInvalidTransition(
            _("公文当前处于“%(status)s”环节，不能执行该操作。") % {"status": document.get_status_display()},
            status=document.status,
            action=action,
        )
    return allowed


def _set_status(document: Document, action: str, new_status: str) -> None:
    allowed = _check_transition(document, action)
    if new_status not in allowed:  # a programming error, never user input
        raise AssertionError(f"{action}: {document.status} -> {new_status} not in table")
    document.status = new_status


# Foreign keys are set from rows this transaction already loaded and are enforced by the
# database; full_clean would re-SELECT each of them on every save.
DOCUMENT_FK_FIELDS = [f.name for f in Document._meta.concrete_fields if f.is_relation]


DOCUMENT_TEXT_FIELDS = [
    f.name for f in Document._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)
]


def _validate(document: Document, *, validate_unique: bool = False) -> None:
    """``full_clean`` as a coded error: a bad choice or an over-long field from a page
    form is document.invalid (400) naming the fields, never a 500; a NUL byte, which
    PostgreSQL text cannot store, likewise."""
    nul = [name for name in DOCUMENT_TEXT_FIELDS if "\x00" in (getattr(document, name) or "")]
    if nul:
        raise DocumentInvalidInput(_("内容中含有不允许的字符（NUL）。"), extra={"fields": {name: ["nul"] for name in nul}})
    try:
        document.full_clean(exclude=DOCUMENT_FK_FIELDS, validate_unique=validate_unique, validate_constraints=False)
    except ValidationError as exc:
        raise DocumentInvalidInput("；".join(exc.messages), extra={"fields": exc.message_dict}) from None


def _save(document: Document, fields: Iterable[str]) -> None:
    # Unique and check constraints are enforced by PostgreSQL in the same transaction.
    _validate(document)
    document.save(update_fields=[*set(fields), "updated_at"])


def document_url(document: Document) -> str:
    return reverse("documents-detail", args=[document.pk])


def _due_for(document: Document, kind: str, now: datetime) -> datetime | None:
    if kind in (StepKind.DRAFT, StepKind.CIRCULATE):
        return None
    due = now + STEP_DUE[Urgency(document.urgency)]
    if document.deadline and kind in (StepKind.HANDLE, StepKind.CONCLUDE):
        due = document.deadline
    return due


def _open_step(
    document: Document,
    kind: str,
    holders: Sequence[User],
    *,
    now: datetime,
    department: Department | None = None,
    role: str = "",
    round: int | None = None,
    notify: str = "todo.new",
    due_at: datetime | None = None,
) -> Step:
    holders = list({holder.pk: holder for holder in holders}.values())
    if not holders:
        raise DocumentInvalidInput(
            _("“%(step)s”环节没有可办理的人员，请联系管理员配置角色。") % {"step": StepKind(kind).label},
            code="document.no_handler",
            extra={"step": kind},
        )
    step = Step(
        document=document,
        kind=kind,
        department=department,
        role=role,
        round=round if round is not None else _current_round(document),
        started_at=now,
        due_at=due_at if due_at is not None else _due_for(document, kind, now),
    )
    step.full_clean(exclude=["document", "department", "actor"], validate_unique=False, validate_constraints=False)
    step.save()
    Step.holders.through.objects.bulk_create(
        [Step.holders.through(step_id=step.pk, user_id=holder.pk) for holder in holders]
    )
    label = str(StepKind(kind).label)
    if department is not None:
        label = f"{label}（{department.name}）"
    for holder in holders:
        todo_open(
            user=holder,
            kind=STEP_TODO_KIND.get(kind, TodoKind.DOCUMENT),
            target=step,
            step=label,
            title=document.title,
            url=document_url(document),
            due_at=step.due_at,
            notify=notify,
        )
    return step


def _close_step(
    step: Step, *, actor: User | None, now: datetime, outcome: str, opinion: str = "", state: str = StepState.DONE
) -> None:
    step.state = state
    step.actor = actor
    step.outcome = outcome
    step.opinion = opinion
    step.finished_at = now
    step.save(update_fields=["state", "actor", "outcome", "opinion", "finished_at"])
    todo_close(target=step, outcome=_outcome_label(outcome))


def _cancel_open_steps(document: Document, *, now: datetime, kinds: Iterable[str] | None = None) -> None:
    steps = document.steps.filter(state=StepState.OPEN)
    if kinds is not None:
        steps = steps.filter(kind__in=list(kinds))
    for step in steps:
        _close_step(step, actor=None, now=now, outcome="cancelled", state=StepState.CANCELLED)


OUTCOME_LABELS = {
    "submitted": "已送审",
    "approved": "同意",
    "returned": "退回",
    "concurred": "同意会签",
    "signed": "已签发",
    "passed": "复核通过",
    "resign": "实质修改，退回签发人",
    "numbered": "已编号",
    "requested": "已申请用印",
    "sealed": "已用印",
    "rejected": "驳回",
    "distributed": "已分发",
    "received": "已签收",
    "registered": "已登记",
    "accepted": "初审通过",
    "proposed": "已拟办",
    "instructed": "已批办",
    "handled": "已办理",
    "read": "已阅",
    "concluded": "已办结",
    "cancelled": "已撤销",
}


def _outcome_label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)


def _current_round(document: Document) -> int:
    """The flow round (1 + returns to the drafter), memoised on the locked instance."""
    cached = getattr(document, "_flow_round", None)
    if cached is None:
        last = document.steps.filter(kind=StepKind.DRAFT).order_by("-round").values_list("round", flat=True).first()
        cached = document._flow_round = last or 1  # type: ignore[attr-defined]
    return int(cached)


def _holder_step(document: Document, actor: User, kind: str, *, role: str | None = None) -> Step:
    step = selectors.open_step_for(document, actor, kind, role=role)
    if step is None:
        raise DocumentNotHolder(
            _("您不是“%(step)s”环节的办理人。") % {"step": StepKind(kind).label},
            extra={"step": kind},
        )
    return step


def _require_text(value: str, message: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DocumentInvalidInput(message, code="document.reason_required", extra={"field": field})
    return value


def _issuer_staff(document: Document, role: str = Role.REVIEWER) -> list[User]:
    return selectors.office_staff(document.issuer, role=role)


# --- validation helpers -------------------------------------------------------------------


def _check_classification(classification: int, actor: User) -> None:
    if classification not in Clearance.values:
        raise DocumentInvalidInput(_("密级不正确。"), extra={"field": "classification"})
    if classification >= Clearance.SECRET and not settings.CLASSIFIED_NETWORK:
        raise ClassifiedRefused(
            _("本系统用于非涉密办公：标注“%(level)s”的公文须通过国家批准的涉密网络传输，不能在此起草或流转。")
            % {"level": Clearance(classification).label},
            extra={"field": "classification"},
        )
    if classification > actor.clearance:
        raise DocumentInvalidInput(
            _("公文密级不能高于您的涉密等级。"), code="document.clearance_too_low", extra={"field": "classification"}
        )


def _organisations(ids: Iterable[int], *, field: str, issuer: Department) -> list[Department]:
    wanted = list(dict.fromkeys(int(pk) for pk in ids))
    found = {dept.pk: dept for dept in Department.objects.filter(pk__in=wanted, is_organisation=True)}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise UnknownRecipient(
            _("收文机关不存在或不是发文机关：%(ids)s。") % {"ids": "、".join(map(str, missing))},
            extra={"field": field, "ids": missing},
        )
    if issuer.pk in found:
        raise UnknownRecipient(_("不能将公文发给本机关。"), extra={"field": field, "ids": [issuer.pk]})
    return [found[pk] for pk in wanted]


def _own_departments(ids: Iterable[int], *, field: str, organisation: Department) -> list[Department]:
    wanted = list(dict.fromkeys(int(pk) for pk in ids))
    departments = {dept.pk: dept for dept in Department.objects.filter(pk__in=wanted)}
    bad = [pk for pk in wanted if pk not in departments or departments[pk].organisation() != organisation]
    if bad:
        raise DocumentInvalidInput(
            _("部门不存在或不属于本机关：%(ids)s。") % {"ids": "、".join(map(str, bad))},
            code="document.unknown_department",
            extra={"field": field, "ids": bad},
        )
    return [departments[pk] for pk in wanted]


def _check_attachments(attachments: Any) -> list[dict[str, str]]:
    if not isinstance(attachments, list) or len(attachments) > 20:
        raise DocumentInvalidInput(_("附件格式不正确。"), extra={"field": "attachments"})
    cleaned = []
    for item in attachments:
        if not isinstance(item, dict) or not str(item.get("title", "")).strip():
            raise DocumentInvalidInput(_("每个附件都需要名称。"), extra={"field": "attachments"})
        if "\x00" in str(item.get("title", "")) + str(item.get("body", "")):
            raise DocumentInvalidInput(_("内容中含有不允许的字符（NUL）。"), extra={"field": "attachments"})
        cleaned.append({"title": str(item["title"]).strip()[:100], "body": str(item.get("body", ""))[:100_000]})
    return cleaned


def _store_version(document: Document, *, author: User, now: datetime, step_kind: str = "") -> DocumentVersion:
    number = (document.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = DocumentVersion.objects.create(
        document=document, number=number, title=document.title, body=document.body,
        author=author, step_kind=step_kind, created_at=now,
    )
    document.version = number
    return version


# --- drafting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftFields:
    """Fields a drafter (or an editor at review/recheck) may set."""

    title: str | None = None
    body: str | None = None
    urgency: str | None = None
    classification: int | None = None
    secrecy_period: str | None = None
    copy_number: str | None = None
    note: str | None = None
    attachments: list[dict[str, str]] | None = None
    needs_seal: bool | None = None
    primary_recipient_ids: Sequence[int] | None = None
    cc_recipient_ids: Sequence[int] | None = None
    countersign_department_ids: Sequence[int] | None = None


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
    attachments: list[dict[str, str]] | None = None,
    needs_seal: bool | None = None,
    primary_recipient_ids: Sequence[int] = (),
    cc_recipient_ids: Sequence[int] = (),
    countersign_department_ids: Sequence[int] = (),
) -> Document:
    """Start an outgoing draft in the actor's organisation (the issuer).

    Anyone with the drafter role may draft; a 纪要 (minutes) may be started by any member
    (the meetings feature drafts minutes for a meeting's host). Side effects: version 1,
    an open 拟稿 step held by the actor, audit ``document.drafted``.
    Raises document.invalid, document.classified_refused, document.clearance_too_low,
    document.unknown_recipient, document.unknown_department, permission_denied.
    """
    if doc_type not in DocType.values:
        raise DocumentInvalidInput(_("文种不正确。"), extra={"field": "doc_type"})
    if doc_type != DocType.MINUTES and not actor.has_role(Role.DRAFTER):
        raise DocumentNotHolder(_("只有拟稿人可以起草公文。"), code="document.not_drafter")
    issuer = selectors.organisation_of_user(actor)
    if issuer is None or not issuer.issuer_code:
        raise DocumentInvalidInput(_("您所在部门不属于任何发文机关，不能起草公文。"), code="document.no_issuer")
    _check_classification(classification, actor)
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
        attachments=_check_attachments(attachments or []),
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
    primary = _organisations(primary_recipient_ids, field="primary_recipient_ids", issuer=issuer)
    cc = _organisations(cc_recipient_ids, field="cc_recipient_ids", issuer=issuer)
    countersign = _own_departments(countersign_department_ids, field="countersign_department_ids", organisation=issuer)
    _validate(document, validate_unique=True)
    document.save()
    document.primary_recipients.set(primary)
    document.cc_recipients.set(cc)
    document.countersign_departments.set(countersign)
    _store_version(document, author=actor, now=now, step_kind=StepKind.DRAFT)
    document.save(update_fields=["version"])
    _open_step(document, StepKind.DRAFT, [actor], now=now, round=1)
    audit(actor=actor, action="document.drafted", target=document, data={"doc_type": doc_type, "title": document.title})
    return document


def _validate_copy_number(copy_number: str) -> None:
    # GB/T 9704 7.2.1: 份号 is six Arabic digits.
    if copy_number and not (len(copy_number) == 6 and copy_number.isascii() and copy_number.isdigit()):
        raise DocumentInvalidInput(_("份号应为 6 位阿拉伯数字。"), extra={"field": "copy_number"})


def document_update(*, document_id: int, actor: User, fields: DraftFields) -> Document:
    """Edit a document at 拟稿 (drafter), 核稿 (reviewer) or 复核 (rechecker).

    A title/body change stores a new version; at 复核 such a substantive change sends the
    document back to its signer (条例 第二十五条). Raises document.invalid_transition,
    document.not_assigned and the validation codes of ``document_create_draft``.
    """
    document = selectors.access_document(actor, document_id, lock=True)
    allowed = _check_transition(document, "update")
    step_kind = {S.DRAFT: StepKind.DRAFT, S.REVIEW: StepKind.REVIEW, S.RECHECK: StepKind.RECHECK}[document.status]
    step = _holder_step(document, actor, step_kind)
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
        _check_classification(fields.classification, actor)
        document.classification = fields.classification
        changed.add("classification")
    if fields.attachments is not None:
        document.attachments = _check_attachments(fields.attachments)
        changed.add("attachments")
    if changed:
        _validate(document)  # before a version row stores the new text
    relations: dict[str, list[Department]] = {}
    if fields.primary_recipient_ids is not None:
        relations["primary_recipients"] = _organisations(
            fields.primary_recipient_ids, field="primary_recipient_ids", issuer=document.issuer
        )
    if fields.cc_recipient_ids is not None:
        relations["cc_recipients"] = _organisations(fields.cc_recipient_ids, field="cc_recipient_ids", issuer=document.issuer)
    if fields.countersign_department_ids is not None:
        if document.status != S.DRAFT:
            raise DocumentInvalidTransition(
                _("会签部门只能在拟稿时修改，核稿时请在审核意见中指定。"), status=document.status, action="update"
            )
        relations["countersign_departments"] = _own_departments(
            fields.countersign_department_ids, field="countersign_department_ids", organisation=document.issuer
        )
    for name, values in relations.items():
        manager = getattr(document, name)
        if {dept.pk for dept in manager.all()} != {dept.pk for dept in values}:
            manager.set(values)
            changed.add(name)
            text_changed |= name == "primary_recipients"
    if not changed:
        return document
    version = None
    if text_changed:
        version = _store_version(document, author=actor, now=now, step_kind=step_kind)
        changed.add("version")
    _save(document, [name for name in changed if name not in relations])
    data: dict[str, Any] = {"fields": sorted(changed), "version": version.number if version else None}
    if document.status == S.RECHECK and text_changed:
        # A substantive change after sign-off needs the signer's approval again.
        _set_status(document, "update", S.SIGN_OFF)
        if S.SIGN_OFF not in allowed:  # pragma: no cover - guarded by the table above
            raise AssertionError
        _close_step(step, actor=actor, now=now, outcome="resign", opinion=_("复核时作实质性修改"))
        signer = document.signer
        holders = [signer] if signer and signer.is_active else _issuer_staff(document, Role.SIGNING_LEADER)
        _open_step(document, StepKind.SIGN_OFF, holders, now=now)
        _save(document, ["status"])
        data["back_to_signer"] = True
    audit(actor=actor, action="document.updated", target=document, data=data)
    return document


# --- outgoing flow --------------------------------------------------------------------------


def document_submit(*, document_id: int, actor: User) -> Document:
    """拟稿 → 核稿. Only the drafter holding the draft step.

    Checks completeness (正文, 主送机关; a 请示 has exactly one 主送机关) and that each
    会签 department has a head. Raises document.invalid_transition, document.not_assigned,
    document.incomplete, document.no_handler.
    """
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "submit")
    step = _holder_step(document, actor, StepKind.DRAFT)
    _check_complete(document)
    for department in document.countersign_departments.all():
        _countersign_heads(department)
    now = timezone.now()
    _close_step(step, actor=actor, now=now, outcome="submitted")
    _set_status(document, "submit", S.REVIEW)
    document.return_reason = ""
    _open_step(document, StepKind.REVIEW, _issuer_staff(document), now=now)
    _save(document, ["status", "return_reason"])
    audit(actor=actor, action="document.submitted", target=document, data={"version": document.version})
    return document


def _check_complete(document: Document) -> None:
    problems = []
    if not document.body.strip():
        problems.append(_("正文不能为空"))
    primary = document.primary_recipients.count()
    if document.doc_type == DocType.MINUTES:
        if primary + document.cc_recipients.count() == 0:
            problems.append(_("请至少选择一个分送机关"))
    elif primary == 0:
        problems.append(_("请至少选择一个主送机关"))
    nobody = [
        org.name
        for org in [*document.primary_recipients.all(), *document.cc_recipients.all()]
        if not _receivers(org)
    ]
    if nobody:
        problems.append(_("收文机关没有收文人员，无法分发：%(names)s") % {"names": "、".join(nobody)})
    if document.doc_type == DocType.REQUEST and primary > 1:
        # 条例 第十五条: 请示应当一文一事，一般只写一个主送机关。
        problems.append(_("请示只能有一个主送机关"))
    if problems:
        raise DocumentInvalidInput("；".join(problems) + "。", code="document.incomplete", extra={"problems": problems})


def _countersign_heads(department: Department) -> list[User]:
    heads = selectors.department_heads(department)
    if not heads:
        raise DocumentInvalidInput(
            _("会签部门“%(name)s”没有部门负责人。") % {"name": department.name},
            code="document.no_handler",
            extra={"department_id": department.pk},
        )
    return heads


def _return_to_drafter(document: Document, *, action: str, actor: User, reason: str, now: datetime) -> None:
    _set_status(document, action, S.DRAFT)
    _cancel_open_steps(document, now=now)
    document.return_reason = reason
    round_ = _current_round(document) + 1
    document._flow_round = round_  # type: ignore[attr-defined]
    holder = document.drafter if document.drafter.is_active else actor
    _open_step(document, StepKind.DRAFT, [holder], now=now, round=round_, notify="todo.returned")
    _save(document, ["status", "return_reason"])


def _return_step(
    document: Document, step: Any, *, stage: str, actor: User, opinion: str, now: datetime,
    extra: dict[str, Any] | None = None,
) -> Document:
    """The shared "退回拟稿人" branch of review, countersign, sign-off and recheck."""
    reason = _require_text(opinion, _("退回时请填写退回理由。"), "opinion")
    _close_step(step, actor=actor, now=now, outcome="returned", opinion=reason, state=StepState.RETURNED)
    _return_to_drafter(document, action=f"{stage}.return", actor=actor, reason=reason, now=now)
    audit(actor=actor, action=f"document.{stage}_returned", target=document, data={**(extra or {}), "reason": reason})
    return document


def document_review(
    *,
    document_id: int,
    actor: User,
    approve: bool,
    opinion: str = "",
    countersign_department_ids: Sequence[int] | None = None,
) -> Document:
    """核稿: approve (→ 会签 if departments are named, else → 签发) or return with a reason.

    Any one reviewer of the issuing organisation may act; the document row lock makes a
    second, simultaneous approval fail with document.invalid_transition.
    """
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "review.approve" if approve else "review.return")
    step = _holder_step(document, actor, StepKind.REVIEW)
    now = timezone.now()
    if not approve:
        return _return_step(document, step, stage="review", actor=actor, opinion=opinion, now=now)
    if countersign_department_ids is not None:
        departments = _own_departments(
            countersign_department_ids, field="countersign_department_ids", organisation=document.issuer
        )
        document.countersign_departments.set(departments)
    else:
        departments = list(document.countersign_departments.order_by("pk"))
    heads = {department.pk: _countersign_heads(department) for department in departments}
    _close_step(step, actor=actor, now=now, outcome="approved", opinion=opinion.strip())
    if departments:
        _set_status(document, "review.approve", S.COUNTERSIGN)
        for department in departments:
            _open_step(document, StepKind.COUNTERSIGN, heads[department.pk], now=now, department=department)
    else:
        _set_status(document, "review.approve", S.SIGN_OFF)
        _open_step(document, StepKind.SIGN_OFF, _issuer_staff(document, Role.SIGNING_LEADER), now=now)
    _save(document, ["status"])
    audit(
        actor=actor, action="document.reviewed", target=document,
        data={"opinion": opinion.strip(), "countersign": [d.pk for d in departments]},
    )
    return document


def document_countersign(*, document_id: int, actor: User, concur: bool, opinion: str = "") -> Document:
    """会签 (串联改并联): each requested department's head acts independently.

    The step completes (→ 签发) when every department has concurred; any one may return
    the document to the drafter, which closes the other departments' open steps.
    """
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "countersign.concur" if concur else "countersign.return")
    step = _holder_step(document, actor, StepKind.COUNTERSIGN)
    now = timezone.now()
    department = step.department.name if step.department else ""
    if not concur:
        return _return_step(
            document, step, stage="countersign", actor=actor, opinion=opinion, now=now, extra={"department": department}
        )
    _close_step(step, actor=actor, now=now, outcome="concurred", opinion=opinion.strip())
    remaining = document.steps.filter(kind=StepKind.COUNTERSIGN, state=StepState.OPEN).count()
    if remaining == 0:
        _set_status(document, "countersign.concur", S.SIGN_OFF)
        _open_step(document, StepKind.SIGN_OFF, _issuer_staff(document, Role.SIGNING_LEADER), now=now)
        _save(document, ["status"])
    else:
        document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.countersigned", target=document,
          data={"department": department, "opinion": opinion.strip(), "remaining": remaining})
    return document


def document_sign_off(*, document_id: int, actor: User, approve: bool, opinion: str = "") -> Document:
    """签发: the leader records opinion, name and full date (圈阅 counts as approval) → 复核."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "sign_off.approve" if approve else "sign_off.return")
    step = _holder_step(document, actor, StepKind.SIGN_OFF)
    now = timezone.now()
    if not approve:
        return _return_step(document, step, stage="sign_off", actor=actor, opinion=opinion, now=now)
    opinion = opinion.strip() or _("圈阅")
    _close_step(step, actor=actor, now=now, outcome="signed", opinion=opinion)
    document.signer = actor
    document.issued_on = timezone.localdate(now)
    _set_status(document, "sign_off.approve", S.RECHECK)
    _open_step(document, StepKind.RECHECK, _issuer_staff(document), now=now)
    _save(document, ["status", "signer", "issued_on"])
    audit(actor=actor, action="document.signed_off", target=document,
          data={"opinion": opinion, "issued_on": document.issued_on.isoformat()})
    return document


def document_recheck(*, document_id: int, actor: User, approve: bool, opinion: str = "") -> Document:
    """复核: pass (→ 编号) or return to the drafter. Substantive edits go through
    ``document_update``, which sends the document back to the signer."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "recheck.pass" if approve else "recheck.return")
    step = _holder_step(document, actor, StepKind.RECHECK)
    now = timezone.now()
    if not approve:
        return _return_step(document, step, stage="recheck", actor=actor, opinion=opinion, now=now)
    _close_step(step, actor=actor, now=now, outcome="passed", opinion=opinion.strip())
    _set_status(document, "recheck.pass", S.ASSIGN_NUMBER)
    _open_step(document, StepKind.ASSIGN_NUMBER, _issuer_staff(document), now=now)
    _save(document, ["status"])
    audit(actor=actor, action="document.rechecked", target=document, data={"opinion": opinion.strip()})
    return document


def format_doc_number(issuer_code: str, year: int, serial: int) -> str:
    # GB/T 9704 7.2.4: 〔〕 (U+3014/U+3015), no 第, no leading zeros.
    return f"{issuer_code}\u3014{year}\u3015{serial}号"


def _next_serial(issuer: Department, year: int) -> int:
    # INSERT .. ON CONFLICT DO NOTHING, then lock the row: concurrent assignments queue
    # on it, and a rolled-back transition rolls the counter back too, so there are no gaps.
    NumberSequence.objects.bulk_create([NumberSequence(issuer=issuer, year=year)], ignore_conflicts=True)
    sequence = NumberSequence.objects.select_for_update().get(issuer=issuer, year=year)
    sequence.last_serial += 1
    sequence.save(update_fields=["last_serial"])
    return sequence.last_serial


def document_assign_number(*, document_id: int, actor: User) -> Document:
    """编号: ``{issuer_code}〔{year}〕{n}号``, gapless per issuer and year → 用印 (or 分发
    when the document needs no seal, e.g. a 纪要)."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "assign_number")
    step = _holder_step(document, actor, StepKind.ASSIGN_NUMBER)
    if not document.issuer.issuer_code:
        raise DocumentInvalidInput(_("发文机关没有机关代字，无法编号。"), code="document.no_issuer_code")
    now = timezone.now()
    year = timezone.localdate(now).year
    serial = _next_serial(document.issuer, year)
    document.doc_year, document.doc_serial = year, serial
    document.doc_number = format_doc_number(document.issuer.issuer_code, year, serial)
    _close_step(step, actor=actor, now=now, outcome="numbered", opinion=document.doc_number)
    if document.needs_seal:
        _set_status(document, "assign_number", S.SEAL)
        _open_step(document, StepKind.SEAL, _seal_requesters(document), now=now, role="request")
    else:
        _set_status(document, "assign_number", S.DISTRIBUTE)
        _open_step(document, StepKind.DISTRIBUTE, _issuer_staff(document), now=now)
    _save(document, ["status", "doc_year", "doc_serial", "doc_number"])
    audit(actor=actor, action="document.numbered", target=document, data={"doc_number": document.doc_number})
    return document


def _seal_requesters(document: Document) -> list[User]:
    people = {user.pk: user for user in _issuer_staff(document)}
    if document.drafter.is_active:
        people.setdefault(document.drafter_id, document.drafter)
    return list(people.values())


def seal_request_create(*, document_id: int, actor: User, seal_id: int | None, reason: str = "") -> SealRequest:
    """用印申请 for a signed-off, numbered document, naming the seal to use.

    Held by the drafter and the office; the request goes to that seal's custodians.
    Raises document.unknown_seal, document.not_assigned, document.invalid_transition.
    """
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "seal.request")
    step = _holder_step(document, actor, StepKind.SEAL, role="request")
    custodians = sealing.custodians_for(seal_id=seal_id, organisation=document.issuer)
    if not custodians:
        raise DocumentInvalidInput(
            _("印章不存在、不属于本机关或没有印章管理员。"), code="document.unknown_seal", extra={"field": "seal_id"}
        )
    now = timezone.now()
    request = SealRequest(document=document, seal_id=seal_id, requested_by=actor, reason=reason.strip()[:300], created_at=now)
    request.full_clean(exclude=["document"])
    request.save()
    _close_step(step, actor=actor, now=now, outcome="requested", opinion=request.reason)
    _open_step(document, StepKind.SEAL, custodians, now=now, role="approve")
    document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.seal_requested", target=document,
          data={"seal_request": request.pk, "seal_id": seal_id})
    return request


def seal_request_decide(*, seal_request_id: int, actor: User, approve: bool, reason: str = "") -> SealRequest:
    """The seal's custodian approves (seal applied, → 分发) or rejects with a reason.

    Approval renders the DOCX with the seal image and signs it first, holding no lock;
    then, in the lock order of ``officehub/audit/services.py``, it locks the document,
    then the request, re-checks both, moves the steps, and only then stores the sealing
    (which locks the seal row and writes ``seal.used``) and writes ``document.sealed``.
    Sealing fails closed: if no signed SealRecord results, the error propagates, the
    caller's transaction rolls back and the request stays pending with the document at
    用印 (no audit entry, no notification).
    Raises not_found, document.not_assigned, document.invalid_transition,
    document.reason_required, document.seal_failed and the seals app's coded errors.
    """
    request = SealRequest.objects.filter(pk=seal_request_id).first()
    if request is None:
        raise NotFound()
    document = selectors.access_document(actor, request.document_id)
    _check_transition(document, "seal.approve" if approve else "seal.reject")
    _holder_step(document, actor, StepKind.SEAL, role="approve")
    if request.status != SealRequestStatus.PENDING:
        raise DocumentInvalidTransition(_("该用印申请已处理。"), status=document.status, action="seal.decide")
    if not approve:
        reason = _require_text(reason, _("驳回时请填写理由。"), "reason")
    signed = None
    if approve:
        # Slow work (render, sign) first, without any lock; it writes nothing.
        signed = sealing.sign(document=document, seal_id=request.seal_id, actor=actor)
    document = selectors.access_document(actor, request.document_id, lock=True)
    request = SealRequest.objects.select_for_update().get(pk=seal_request_id)
    _check_transition(document, "seal.approve" if approve else "seal.reject")
    step = _holder_step(document, actor, StepKind.SEAL, role="approve")
    if request.status != SealRequestStatus.PENDING:
        raise DocumentInvalidTransition(_("该用印申请已处理。"), status=document.status, action="seal.decide")
    now = timezone.now()
    request.decided_by, request.decided_at = actor, now
    request.decision_reason = reason.strip()[:300]
    if not approve:
        request.status = SealRequestStatus.REJECTED
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        _close_step(step, actor=actor, now=now, outcome="rejected", opinion=request.decision_reason, state=StepState.RETURNED)
        _open_step(document, StepKind.SEAL, _seal_requesters(document), now=now, role="request", notify="todo.returned")
        document.save(update_fields=["updated_at"])
        audit(actor=actor, action="document.seal_rejected", target=document,
              data={"seal_request": request.pk, "reason": request.decision_reason})
        return request
    assert signed is not None
    _close_step(step, actor=actor, now=now, outcome="sealed", opinion=request.decision_reason)
    _set_status(document, "seal.approve", S.DISTRIBUTE)
    _open_step(document, StepKind.DISTRIBUTE, _issuer_staff(document), now=now)
    # The seal row is the last entity lock of this transaction; its audit entry follows.
    record = sealing.record(signed=signed, actor=actor)
    request.status = SealRequestStatus.APPROVED
    request.seal_record_id = record.pk
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "seal_record_id"])
    document.seal_record = record
    _save(document, ["status", "seal_record"])
    audit(actor=actor, action="document.sealed", target=document,
          data={"seal_request": request.pk, "seal_id": request.seal_id, "seal_record": record.pk})
    return request


def document_distribute(*, document_id: int, actor: User) -> Document:
    """分发/核发: creates an incoming copy (收文) for every 主送 and 抄送 organisation, each
    waiting at 签收 for that organisation's office."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "distribute")
    step = _holder_step(document, actor, StepKind.DISTRIBUTE)
    now = timezone.now()
    recipients = [(org, False) for org in document.primary_recipients.order_by("pk")]
    recipients += [(org, True) for org in document.cc_recipients.order_by("pk") if org.pk not in {o.pk for o, _ in recipients}]
    if not recipients:
        raise DocumentInvalidInput(_("没有收文机关。"), code="document.incomplete")
    document.printed_on = timezone.localdate(now)
    document.printing_office = document.printing_office or document.issuer.name
    _close_step(step, actor=actor, now=now, outcome="distributed")
    _set_status(document, "distribute", S.DISTRIBUTED)
    _save(document, ["status", "printed_on", "printing_office"])
    created = []
    for organisation, is_cc in recipients:
        created.append(_create_incoming(document, organisation, is_cc=is_cc, now=now).pk)
    audit(actor=actor, action="document.distributed", target=document,
          data={"recipients": [org.pk for org, _ in recipients], "incoming": created})
    return document


def _create_incoming(source: Document, organisation: Department, *, is_cc: bool, now: datetime) -> Document:
    incoming = Document(
        direction=Direction.INCOMING,
        doc_type=source.doc_type,
        status=DocumentStatus.RECEIVE,
        copy_number=source.copy_number,
        classification=source.classification,
        secrecy_period=source.secrecy_period,
        urgency=source.urgency,
        issuer=source.issuer,
        doc_number=source.doc_number,
        signer=source.signer,
        title=source.title,
        body=source.body,
        attachments=source.attachments,
        signature_name=source.signature_name,
        issued_on=source.issued_on,
        note=source.note,
        printing_office=source.printing_office,
        printed_on=source.printed_on,
        needs_seal=source.needs_seal,
        seal_record_id=source.seal_record_id,
        drafter=source.drafter,
        drafting_department=source.drafting_department,
        source_document=source,
        recipient_organisation=organisation,
        is_cc=is_cc,
    )
    incoming.full_clean(exclude=DOCUMENT_FK_FIELDS, validate_constraints=False)
    incoming.save()
    incoming.primary_recipients.set(source.primary_recipients.all())
    incoming.cc_recipients.set(source.cc_recipients.all())
    _store_version(incoming, author=source.drafter, now=now, step_kind=StepKind.RECEIVE)
    incoming.save(update_fields=["version"])
    _open_step(incoming, StepKind.RECEIVE, _receivers(organisation), now=now, round=1)
    return incoming


def _receivers(organisation: Department) -> list[User]:
    """Who signs for incoming documents: the office staff, else any member (at most 20)."""
    return selectors.office_staff(organisation) or list(selectors.organisation_users(organisation)[:20])


# --- incoming flow --------------------------------------------------------------------------


def _recipient_staff(document: Document, role: str = Role.REVIEWER) -> list[User]:
    return selectors.office_staff(document.recipient_organisation, role=role)


def _simple_step(document: Document, actor: User, *, action: str, kind: str, outcome: str, opinion: str,
                 next_status: str, next_kind: str, next_holders: list[User] | None = None) -> Step:
    step = _holder_step(document, actor, kind)
    now = timezone.now()
    _close_step(step, actor=actor, now=now, outcome=outcome, opinion=opinion.strip())
    _set_status(document, action, next_status)
    holders = next_holders if next_holders is not None else list(step.holders.all())
    return _open_step(document, next_kind, holders, now=now)


def document_receive(*, document_id: int, actor: User) -> Document:
    """签收 by the recipient organisation's office → 登记."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "receive")
    _simple_step(document, actor, action="receive", kind=StepKind.RECEIVE, outcome="received", opinion="",
                 next_status=S.REGISTER, next_kind=StepKind.REGISTER)
    _save(document, ["status"])
    audit(actor=actor, action="document.received", target=document)
    return document


def document_register(
    *, document_id: int, actor: User, deadline: datetime | None = None, chaser_id: int | None = None, note: str = ""
) -> Document:
    """登记: record the 办理时限 and (for urgent documents, defaulting to the registrar) a
    named 催办人 → 初审. Raises document.invalid for a past deadline or a chaser from
    another organisation."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "register")
    now = timezone.now()
    if deadline is not None and deadline <= now:
        raise DocumentInvalidInput(_("办理时限必须晚于当前时间。"), extra={"field": "deadline"})
    chaser = None
    if chaser_id is not None:
        chaser = selectors.organisation_users(document.recipient_organisation).filter(pk=chaser_id).first()
        if chaser is None:
            raise DocumentInvalidInput(_("催办人必须是本机关人员。"), extra={"field": "chaser_id"})
    if deadline is None:
        deadline = now + HANDLING_DUE[Urgency(document.urgency)]
    if chaser is None and document.urgency != Urgency.NORMAL:
        chaser = actor
    document.deadline, document.chaser = deadline, chaser
    _simple_step(document, actor, action="register", kind=StepKind.REGISTER, outcome="registered", opinion=note,
                 next_status=S.SCREEN, next_kind=StepKind.SCREEN)
    _save(document, ["status", "deadline", "chaser"])
    audit(actor=actor, action="document.registered", target=document,
          data={"deadline": deadline.isoformat(), "chaser": chaser.pk if chaser else None})
    return document


def document_screen(*, document_id: int, actor: User, accept: bool, opinion: str = "") -> Document:
    """初审: accept (→ 拟办) or return to the sender with a reason the sender sees."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "screen.accept" if accept else "screen.return")
    if accept:
        _simple_step(document, actor, action="screen.accept", kind=StepKind.SCREEN, outcome="accepted",
                     opinion=opinion, next_status=S.PROPOSE, next_kind=StepKind.PROPOSE)
        _save(document, ["status"])
        audit(actor=actor, action="document.screened", target=document, data={"opinion": opinion.strip()})
        return document
    step = _holder_step(document, actor, StepKind.SCREEN)
    reason = _require_text(opinion, _("退回来文单位时请填写理由。"), "opinion")
    now = timezone.now()
    _close_step(step, actor=actor, now=now, outcome="returned", opinion=reason, state=StepState.RETURNED)
    _set_status(document, "screen.return", S.RETURNED)
    document.return_reason = reason
    _save(document, ["status", "return_reason"])
    source = document.source_document
    if source is not None:
        notify_user(
            user_id=source.drafter_id, event="todo.returned",
            title=_("%(org)s 退回了《%(title)s》：%(reason)s")
            % {"org": document.recipient_organisation.name, "title": source.title, "reason": reason},
            url=document_url(source),
        )
    audit(actor=actor, action="document.returned_to_sender", target=document, data={"reason": reason})
    return document


def document_propose(*, document_id: int, actor: User, opinion: str) -> Document:
    """拟办: the office proposes how to handle it → 批办 by a leader of the organisation."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "propose")
    opinion = _require_text(opinion, _("请填写拟办意见。"), "opinion")
    leaders = _recipient_staff(document, Role.SIGNING_LEADER) or _recipient_staff(document)
    _simple_step(document, actor, action="propose", kind=StepKind.PROPOSE, outcome="proposed", opinion=opinion,
                 next_status=S.INSTRUCT, next_kind=StepKind.INSTRUCT, next_holders=leaders)
    _save(document, ["status"])
    audit(actor=actor, action="document.proposed", target=document, data={"opinion": opinion})
    return document


def _department_handlers(department: Department) -> list[User]:
    return selectors.department_heads(department) or list(
        User.objects.filter(is_active=True, department=department).order_by("pk")
    )


def document_instruct(
    *,
    document_id: int,
    actor: User,
    opinion: str,
    lead_department_id: int | None = None,
    assisting_department_ids: Sequence[int] = (),
    reader_ids: Sequence[int] = (),
) -> Document:
    """批办: the leader names a 主办部门 (plus 协办) and/or 传阅 readers → 承办.

    Without a lead department the office concludes it once read. Raises
    document.unknown_department, document.invalid (reader not in the organisation).
    """
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "instruct")
    step = _holder_step(document, actor, StepKind.INSTRUCT)
    opinion = _require_text(opinion, _("请填写批办意见。"), "opinion")
    organisation = document.recipient_organisation
    lead = None
    if lead_department_id is not None:
        lead = _own_departments([lead_department_id], field="lead_department_id", organisation=organisation)[0]
    assisting = _own_departments(assisting_department_ids, field="assisting_department_ids", organisation=organisation)
    if lead is not None:
        assisting = [dept for dept in assisting if dept.pk != lead.pk]
    elif assisting:
        raise DocumentInvalidInput(_("指定协办部门时必须指定主办部门。"), extra={"field": "lead_department_id"})
    wanted = list(dict.fromkeys(int(pk) for pk in reader_ids))
    readers = list(selectors.organisation_users(organisation).filter(pk__in=wanted))
    if len(readers) != len(wanted):
        bad = sorted(set(wanted) - {user.pk for user in readers})
        raise DocumentInvalidInput(_("传阅人员必须是本机关人员：%(ids)s。") % {"ids": "、".join(map(str, bad))},
                                   extra={"field": "reader_ids", "ids": bad})
    if lead is None and not readers:
        raise DocumentInvalidInput(_("请指定主办部门或传阅人员。"), extra={"field": "lead_department_id"})
    lead_handlers = _department_handlers(lead) if lead else _recipient_staff(document)
    for department in assisting:
        if not _department_handlers(department):
            raise DocumentInvalidInput(_("协办部门“%(name)s”没有人员。") % {"name": department.name},
                                       code="document.no_handler")
    now = timezone.now()
    _close_step(step, actor=actor, now=now, outcome="instructed", opinion=opinion)
    _set_status(document, "instruct", S.HANDLE)
    document.lead_department = lead
    _open_step(document, StepKind.HANDLE, lead_handlers, now=now, department=lead, role="lead")
    for department in assisting:
        _open_step(document, StepKind.HANDLE, _department_handlers(department), now=now, department=department, role="assist")
    for reader in readers:
        _open_step(document, StepKind.CIRCULATE, [reader], now=now, department=reader.department)
    _save(document, ["status", "lead_department"])
    audit(actor=actor, action="document.instructed", target=document, data={
        "opinion": opinion, "lead": lead.pk if lead else None,
        "assisting": [d.pk for d in assisting], "readers": [u.pk for u in readers],
    })
    return document


def document_handle(*, document_id: int, actor: User, opinion: str) -> Document:
    """协办: an assisting department records its handling opinion."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "handle")
    step = _holder_step(document, actor, StepKind.HANDLE, role="assist")
    opinion = _require_text(opinion, _("请填写办理意见。"), "opinion")
    _close_step(step, actor=actor, now=timezone.now(), outcome="handled", opinion=opinion)
    document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.handled", target=document,
          data={"department": step.department_id, "opinion": opinion})
    return document


def document_mark_read(*, document_id: int, actor: User) -> Document:
    """传阅: the reader marks the document read; the timeline shows who has read."""
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "read")
    step = _holder_step(document, actor, StepKind.CIRCULATE)
    _close_step(step, actor=actor, now=timezone.now(), outcome="read")
    document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.read", target=document)
    return document


def document_conclude(*, document_id: int, actor: User, reply: str, opinion: str = "") -> Document:
    """办结 by the lead department (or the office) with a 答复 the sender sees.

    Every assisting department must have handled it first (document.assist_pending).
    """
    document = selectors.access_document(actor, document_id, lock=True)
    _check_transition(document, "conclude")
    step = _holder_step(document, actor, StepKind.HANDLE, role="lead")
    reply = _require_text(reply, _("办结时请填写答复意见。"), "reply")
    pending = document.steps.filter(kind=StepKind.HANDLE, role="assist", state=StepState.OPEN)
    if pending.exists():
        names = "、".join(step.department.name for step in pending.select_related("department") if step.department)
        raise DocumentInvalidTransition(
            _("协办部门尚未办理完毕：%(names)s。") % {"names": names},
            status=document.status, action="conclude", code="document.assist_pending",
        )
    now = timezone.now()
    _close_step(step, actor=actor, now=now, outcome="concluded", opinion=(opinion or reply).strip())
    _set_status(document, "conclude", S.CONCLUDED)
    document.reply = reply
    _save(document, ["status", "reply"])
    source = document.source_document
    if source is not None:
        notify_user(
            user_id=source.drafter_id, event="document.replied",
            title=_("%(org)s 已办结《%(title)s》") % {"org": document.recipient_organisation.name, "title": source.title},
            url=document_url(source),
        )
    audit(actor=actor, action="document.concluded", target=document, data={"reply": reply})
    return document


def document_mark_archived(*, document_id: int, actor: User) -> Document:
    """Mark a finished document 已归档; called by the search app's archiving service
    inside its transaction. Outgoing must be 已分发, incoming 已办结. Only an archivist of
    the organisation holding the copy. Raises not_found, document.not_archivist,
    document.invalid_transition."""
    document = selectors.access_document(actor, document_id, lock=True)
    organisation = selectors.organisation_of_user(actor)
    if not actor.has_role(Role.ARCHIVIST) or organisation is None or organisation.pk != document.organisation_id:
        raise DocumentNotHolder(_("只有本机关档案员可以归档。"), code="document.not_archivist")
    _set_status(document, "archive", S.ARCHIVED)
    _save(document, ["status"])
    audit(actor=actor, action="document.archived", target=document)
    return document


# --- sharing, comments ---------------------------------------------------------------------


def document_share(*, document_id: int, actor: User, user_ids: Sequence[int]) -> Document:
    """Add explicit readers. The drafter or a current holder may share; readers need the
    clearance for the document's 密级."""
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
    audit(actor=actor, action="document.shared", target=document, data={"users": wanted})
    return document


def document_comment_add(*, document_id: int, actor: User, version_number: int, text: str, quote: str = "") -> DocumentComment:
    """批注 on a version; anyone who may read the document may comment."""
    document = selectors.access_document(actor, document_id)
    version = selectors.version_of(document, version_number)
    text = _require_text(text, _("批注内容不能为空。"), "text")
    if len(text) > 2000 or len(quote) > 200:
        raise DocumentInvalidInput(_("批注过长。"), extra={"field": "text"})
    comment = DocumentComment.objects.create(version=version, author=actor, text=text, quote=quote.strip(),
                                             created_at=timezone.now())
    audit(actor=actor, action="document.commented", target=document, data={"version": version.number, "comment": comment.pk})
    return comment


# --- 催办 ------------------------------------------------------------------------------------


def _remind_step(step: Step, *, actor: User | None, message: str, now: datetime, automatic: bool) -> Reminder:
    holders = list(step.holders.all())
    reminder = Reminder.objects.create(
        step=step, actor=actor, message=message[:300], automatic=automatic,
        recipient_ids=[holder.pk for holder in holders], created_at=now,
    )
    step.last_reminded_at = now
    step.save(update_fields=["last_reminded_at"])
    document = step.document
    event = "todo.overdue" if automatic else "todo.reminder"
    title = (_("【逾期】%(title)s") if automatic else _("【催办】%(title)s")) % {"title": document.title}
    for holder in holders:
        notify_user(user_id=holder.pk, event=event, title=title, url=document_url(document),
                    step=str(StepKind(step.kind).label), message=message)
    return reminder


def document_remind(*, document_id: int, actor: User, message: str = "") -> list[Reminder]:
    """催办 by the named chaser, the drafter or the office: notify every current holder."""
    document = selectors.access_document(actor, document_id, lock=True)
    if not selectors.can_remind(actor, document):
        raise DocumentNotHolder(_("只有催办人、拟稿人或办公室人员可以催办。"), code="document.not_chaser")
    steps = list(document.steps.filter(state=StepState.OPEN).exclude(kind=StepKind.CIRCULATE).select_related("document"))
    if not steps:
        raise DocumentInvalidTransition(_("当前没有待办理的环节。"), status=document.status, action="remind")
    now = timezone.now()
    reminders = [_remind_step(step, actor=actor, message=message.strip(), now=now, automatic=False) for step in steps]
    audit(actor=actor, action="document.reminded", target=document, data={"steps": [s.pk for s in steps]})
    return reminders


def document_remind_overdue(*, now: datetime, batch: int = 200) -> int:
    """Worker entry point: record a 催办 for every overdue open step and notify its holders
    (and the document's chaser), at most once per ``DOCUMENT_REMIND_INTERVAL_SECONDS``
    per step. Rows are claimed with SKIP LOCKED, so two workers never remind twice.
    Returns the number of reminders recorded."""
    interval = timedelta(seconds=settings.DOCUMENT_REMIND_INTERVAL_SECONDS)
    count = 0
    with transaction.atomic():
        steps = (
            Step.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(state=StepState.OPEN, due_at__lt=now)
            .exclude(last_reminded_at__gt=now - interval)
            .select_related("document")
            .order_by("due_at", "pk")[:batch]
        )
        for step in steps:
            _remind_step(step, actor=None, message=_("已超过办理时限，请尽快办理。"), now=now, automatic=True)
            chaser_id = step.document.chaser_id
            if chaser_id:
                notify_user(user_id=chaser_id, event="todo.overdue",
                            title=_("【逾期】%(title)s") % {"title": step.document.title},
                            url=document_url(step.document), step=str(StepKind(step.kind).label))
            audit(actor=None, action="document.overdue_reminded", target=step.document,
                  data={"step": step.pk, "kind": step.kind})
            count += 1
    return count

