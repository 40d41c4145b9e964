"""What every step of the document flow shares: the one table of allowed moves, opening and
closing steps (with their 待办), validation helpers, versions — and 归档, the end of both
flows.

Each transition follows STYLE §2: the entry point opens the transaction; the service
locks the document row (``access_document(..., lock=True)``), asks ``DOCUMENT_FLOW``
whether the move is allowed, checks that the actor holds the open step, changes fields
with ``full_clean`` and ``save(update_fields=...)``, writes one audit entry, and
opens/closes 待办 items whose pushes run on commit. Step rows of a document only change
under its row lock, so parallel holders (会签 heads, two 核稿 reviewers) are serialised on
that one lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from documents import selectors
from documents.errors import (
    ClassifiedRefused,
    DocumentInvalidInput,
    DocumentInvalidTransition,
    DocumentNotHolder,
    UnknownRecipient,
)
from documents.models import (
    Disclosure,
    Document,
    DocumentStatus,
    DocumentVersion,
    Step,
    StepKind,
    StepState,
    Urgency,
    VersionAttachment,
)
from officehub.audit.services import audit
from officehub.directory.models import Clearance, Department, Role, User
from officehub.indexing.services import mark_for_index
from officehub.transactions import require_transaction
from officehub.transitions import Transitions
from officehub.workbench.models import TodoKind
from officehub.workbench.services import todo_close, todo_open

S = DocumentStatus

# The one table of allowed moves: action -> {from status: target status(es)}.
DOCUMENT_FLOW: Final = Transitions(
    "document",
    {
        "update": {S.DRAFT: S.DRAFT, S.REVIEW: S.REVIEW, S.RECHECK: (S.RECHECK, S.SIGN_OFF)},
        # 附件 files: uploaded, removed and reordered by the drafter while the draft is editable.
        "attach": {S.DRAFT: S.DRAFT},
        "submit": {S.DRAFT: S.REVIEW},
        "review.approve": {S.REVIEW: (S.COUNTERSIGN, S.SIGN_OFF)},
        "review.return": {S.REVIEW: S.DRAFT},
        "countersign.concur": {S.COUNTERSIGN: (S.COUNTERSIGN, S.SIGN_OFF)},
        "countersign.return": {S.COUNTERSIGN: S.DRAFT},
        "sign_off.approve": {S.SIGN_OFF: (S.SIGN_OFF, S.RECHECK)},
        "sign_off.return": {S.SIGN_OFF: S.DRAFT},
        "recheck.pass": {S.RECHECK: S.ASSIGN_NUMBER},
        "recheck.return": {S.RECHECK: S.DRAFT},
        "assign_number": {S.ASSIGN_NUMBER: (S.SEAL, S.DISTRIBUTE)},
        "seal.request": {S.SEAL: S.SEAL},
        "seal.approve": {S.SEAL: (S.SEAL, S.DISTRIBUTE)},
        "seal.reject": {S.SEAL: S.SEAL},
        "distribute": {S.DISTRIBUTE: S.DISTRIBUTED},
        "receive": {S.RECEIVE: S.REGISTER},
        "register": {S.REGISTER: S.SCREEN},
        "screen.accept": {S.SCREEN: S.PROPOSE},
        "screen.return": {S.SCREEN: S.RETURNED},
        "propose": {S.PROPOSE: S.INSTRUCT},
        "instruct": {S.INSTRUCT: S.HANDLE},
        "handle": {S.HANDLE: S.HANDLE},
        "read": {S.HANDLE: S.HANDLE, S.CONCLUDED: S.CONCLUDED, S.ARCHIVED: S.ARCHIVED},
        "conclude": {S.HANDLE: S.CONCLUDED},
        "archive": {S.DISTRIBUTED: S.ARCHIVED, S.CONCLUDED: S.ARCHIVED},
    },
    describe=lambda status: str(DocumentStatus(status).label),
    message=gettext_lazy("公文当前处于“%(status)s”环节，不能执行该操作。"),
    error=DocumentInvalidTransition,
)

# Default time allowed per step, by 紧急程度 (urgent documents get shorter deadlines).
STEP_DUE: Final = {
    Urgency.NORMAL: timedelta(days=3),
    Urgency.URGENT: timedelta(days=1),
    Urgency.EXTRA_URGENT: timedelta(hours=4),
}
# Default 办理时限 for the handling of an incoming document, by 紧急程度.
HANDLING_DUE: Final = {
    Urgency.NORMAL: timedelta(days=15),
    Urgency.URGENT: timedelta(days=5),
    Urgency.EXTRA_URGENT: timedelta(days=2),
}

STEP_TODO_KIND: Final = {StepKind.SEAL: TodoKind.SEAL_REQUEST}

OUTCOME_LABELS: Final = {
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


class AttachmentText(TypedDict):
    """One 随文附件 as a page form or the API sends it: its name and the text printed after
    the body (files are uploaded on their own: ``documents.services.attachment_upload``)."""

    title: str
    body: str


# --- saving a document ----------------------------------------------------------------------

# Foreign keys are set from rows this transaction already loaded and are enforced by the
# database; full_clean would re-SELECT each of them on every save.
DOCUMENT_FK_FIELDS: Final = [f.name for f in Document._meta.concrete_fields if f.is_relation]
DOCUMENT_TEXT_FIELDS: Final = [
    f.name for f in Document._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)
]


def validate(document: Document, *, validate_unique: bool = False) -> None:
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


def save(document: Document, fields: Iterable[str]) -> None:
    # Unique and check constraints are enforced by PostgreSQL in the same transaction.
    validate(document)
    document.save(update_fields=[*set(fields), "updated_at"])
    mark_for_index("document", document.pk)  # state or text changed: the search index follows


def document_url(document: Document) -> str:
    return reverse("documents-detail", args=[document.pk])


def store_version(document: Document, *, author: User, now: datetime, step_kind: str = "") -> DocumentVersion:
    number = (document.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = DocumentVersion.objects.create(
        document=document, number=number, title=document.title, body=document.body,
        author=author, step_kind=step_kind, created_at=now,
    )
    # The version keeps the attachments the document has now, in their order.
    VersionAttachment.objects.bulk_create([
        VersionAttachment(version=version, attachment_id=pk, position=position)
        for position, pk in enumerate(selectors.current_attachments(document).values_list("pk", flat=True), start=1)
    ])
    document.version = number
    return version


# --- steps and their 待办 -------------------------------------------------------------------


def due_for(document: Document, kind: str, now: datetime) -> datetime | None:
    if kind in (StepKind.DRAFT, StepKind.CIRCULATE):
        return None
    due = now + STEP_DUE[Urgency(document.urgency)]
    if document.deadline and kind in (StepKind.HANDLE, StepKind.CONCLUDE):
        due = document.deadline
    return due


def open_step(
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
        round=round if round is not None else current_round(document),
        started_at=now,
        due_at=due_at if due_at is not None else due_for(document, kind, now),
    )
    step.full_clean(exclude=["document", "department", "actor"], validate_unique=False, validate_constraints=False)
    step.save()
    Step.holders.through.objects.bulk_create(
        [Step.holders.through(step_id=step.pk, user_id=holder.pk) for holder in holders]
    )
    mark_for_index("document", document.pk)  # new holders and department may open it: reindex
    label = str(StepKind(kind).label)
    if department is not None:
        label = f"{label}（{department.name}）"
    for holder in holders:
        todo_open(
            user=holder,
            kind=STEP_TODO_KIND.get(StepKind(kind), TodoKind.DOCUMENT),
            target=step,
            step=label,
            title=document.title,
            url=document_url(document),
            due_at=step.due_at,
            notify=notify,
        )
    return step


def close_step(
    step: Step, *, actor: User | None, now: datetime, outcome: str, opinion: str = "", state: str = StepState.DONE
) -> None:
    step.state = state
    step.actor = actor
    step.outcome = outcome
    step.opinion = opinion
    step.finished_at = now
    step.save(update_fields=["state", "actor", "outcome", "opinion", "finished_at"])
    todo_close(target=step, outcome=OUTCOME_LABELS.get(outcome, outcome))


def cancel_open_steps(document: Document, *, now: datetime, kinds: Iterable[str] | None = None) -> None:
    steps = document.steps.filter(state=StepState.OPEN)
    if kinds is not None:
        steps = steps.filter(kind__in=list(kinds))
    for step in steps:
        close_step(step, actor=None, now=now, outcome="cancelled", state=StepState.CANCELLED)


def current_round(document: Document) -> int:
    """The flow round (1 + returns to the drafter), memoised on the locked instance."""
    cached = getattr(document, "_flow_round", None)
    if cached is None:
        last = document.steps.filter(kind=StepKind.DRAFT).order_by("-round").values_list("round", flat=True).first()
        cached = last or 1
        set_round(document, cached)
    return int(cached)


def set_round(document: Document, round_: int) -> None:
    document._flow_round = round_  # type: ignore[attr-defined]  # a memo on this instance only


def holder_step(document: Document, actor: User, kind: str, *, role: str | None = None) -> Step:
    step = selectors.open_step_for(document, actor, kind, role=role)
    if step is None:
        raise DocumentNotHolder(
            _("您不是“%(step)s”环节的办理人。") % {"step": StepKind(kind).label},
            extra={"step": kind},
        )
    return step


def issuer_staff(document: Document, role: str = Role.REVIEWER) -> list[User]:
    return selectors.office_staff(document.issuer, role=role)


def receivers(organisation: Department) -> list[User]:
    """Who signs for incoming documents: the office staff, else any member (at most 20)."""
    return selectors.office_staff(organisation) or list(selectors.organisation_users(organisation)[:20])


# --- input checks ---------------------------------------------------------------------------


def require_text(value: str, message: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DocumentInvalidInput(message, code="document.reason_required", extra={"field": field})
    return value


def check_classification(classification: int, actor: User) -> None:
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


def check_disclosure(document: Document) -> None:
    """公开属性: one of the three values; 主动公开 (published on the portal once distributed)
    only for a document whose 密级 is 公开 (the database holds the same rule)."""
    if document.disclosure not in Disclosure.values:
        raise DocumentInvalidInput(_("公开属性不正确。"), extra={"field": "disclosure"})
    if document.disclosure == Disclosure.PROACTIVE and document.classification != Clearance.PUBLIC:
        raise DocumentInvalidInput(
            _("主动公开的公文密级须为“公开”。"), code="document.disclosure_not_public", extra={"field": "disclosure"}
        )


def organisations(ids: Iterable[int], *, field: str, issuer: Department) -> list[Department]:
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


def own_departments(ids: Iterable[int], *, field: str, organisation: Department | None) -> list[Department]:
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


def check_attachments(attachments: Any) -> list[AttachmentText]:
    """Untrusted 随文附件 (from a page form or the API) as at most 20 ``AttachmentText``s."""
    if not isinstance(attachments, list) or len(attachments) > 20:
        raise DocumentInvalidInput(_("附件格式不正确。"), extra={"field": "attachments"})
    cleaned: list[AttachmentText] = []
    for item in attachments:
        if not isinstance(item, dict) or not str(item.get("title", "")).strip():
            raise DocumentInvalidInput(_("每个附件都需要名称。"), extra={"field": "attachments"})
        if "\x00" in str(item.get("title", "")) + str(item.get("body", "")):
            raise DocumentInvalidInput(_("内容中含有不允许的字符（NUL）。"), extra={"field": "attachments"})
        cleaned.append({"title": str(item["title"]).strip()[:100], "body": str(item.get("body", ""))[:100_000]})
    return cleaned


# --- the end of both flows: 归档 -------------------------------------------------------------


def document_mark_archived(*, document_id: int, actor: User) -> Document:
    """Mark a finished document 已归档; called by the search app's archiving service
    inside its transaction. Outgoing must be 已分发, incoming 已办结. Only an archivist of
    the organisation holding the copy. Raises not_found, document.not_archivist,
    document.invalid_transition."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    organisation = selectors.organisation_of_user(actor)
    if not actor.has_role(Role.ARCHIVIST) or organisation is None or organisation.pk != document.organisation_id:
        raise DocumentNotHolder(_("只有本机关档案员可以归档。"), code="document.not_archivist")
    DOCUMENT_FLOW.move(document, "archive")
    save(document, ["status"])
    audit(actor=actor, action="document.archived", target=document)
    return document
