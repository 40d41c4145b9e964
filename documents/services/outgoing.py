"""发文 after 拟稿: 送审 → 核稿 → 会签 → 签发 → 复核 → 编号 → (用印, in sealing.py) → 分发.

Review, countersign, sign-off and recheck take ``approve`` (the API's word): true moves
the document on, false returns it to the drafter with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from documents import selectors
from documents.errors import DocumentInvalidInput
from documents.models import (
    Direction,
    DocType,
    Document,
    DocumentStatus,
    NumberSequence,
    Step,
    StepKind,
    StepState,
)
from documents.services.attachments import copy_attachments
from documents.services.flow import (
    DOCUMENT_FK_FIELDS,
    DOCUMENT_FLOW,
    cancel_open_steps,
    close_step,
    current_round,
    holder_step,
    issuer_staff,
    open_step,
    own_departments,
    receivers,
    require_text,
    save,
    set_round,
    store_version,
)
from documents.services.joint import check_signing_leaders, open_sign_off, seal_organisations
from documents.services.sealing import seal_requesters
from officehub.audit.services import audit
from officehub.directory.models import Department, User
from officehub.hooks import DOCUMENT_DISTRIBUTED, run_hooks
from officehub.transactions import require_transaction

S = DocumentStatus


def document_submit(*, document_id: int, actor: User) -> Document:
    """拟稿 → 核稿. Only the drafter holding the draft step.

    Checks completeness (正文, 主送机关; a 请示 has exactly one 主送机关) and that each
    会签 department has a head. Raises document.invalid_transition, document.not_assigned,
    document.incomplete, document.no_handler.
    """
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "submit")
    step = holder_step(document, actor, StepKind.DRAFT)
    _check_complete(document)
    for department in document.countersign_departments.all():
        _countersign_heads(department)
    check_signing_leaders(document)
    now = timezone.now()
    close_step(step, actor=actor, now=now, outcome="submitted")
    DOCUMENT_FLOW.move(document, "submit")
    document.return_reason = ""
    open_step(document, StepKind.REVIEW, issuer_staff(document), now=now)
    save(document, ["status", "return_reason"])
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
        if not receivers(org)
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


def _return_step(
    document: Document, step: Step, *, stage: str, actor: User, opinion: str, now: datetime,
    extra: dict[str, Any] | None = None,
) -> Document:
    """The shared "退回拟稿人" branch of review, countersign, sign-off and recheck."""
    reason = require_text(opinion, _("退回时请填写退回理由。"), "opinion")
    close_step(step, actor=actor, now=now, outcome="returned", opinion=reason, state=StepState.RETURNED)
    DOCUMENT_FLOW.move(document, f"{stage}.return")
    cancel_open_steps(document, now=now)
    document.return_reason = reason
    round_ = current_round(document) + 1
    set_round(document, round_)
    holder = document.drafter if document.drafter.is_active else actor
    open_step(document, StepKind.DRAFT, [holder], now=now, round=round_, notify="todo.returned")
    save(document, ["status", "return_reason"])
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
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "review.approve" if approve else "review.return")
    step = holder_step(document, actor, StepKind.REVIEW)
    now = timezone.now()
    if not approve:
        return _return_step(document, step, stage="review", actor=actor, opinion=opinion, now=now)
    if countersign_department_ids is not None:
        departments = own_departments(
            countersign_department_ids, field="countersign_department_ids", organisation=document.issuer
        )
        document.countersign_departments.set(departments)
    else:
        departments = list(document.countersign_departments.order_by("pk"))
    heads = {department.pk: _countersign_heads(department) for department in departments}
    close_step(step, actor=actor, now=now, outcome="approved", opinion=opinion.strip())
    if departments:
        DOCUMENT_FLOW.move(document, "review.approve", to=S.COUNTERSIGN)
        for department in departments:
            open_step(document, StepKind.COUNTERSIGN, heads[department.pk], now=now, department=department)
    else:
        DOCUMENT_FLOW.move(document, "review.approve", to=S.SIGN_OFF)
        open_sign_off(document, now=now)
    save(document, ["status"])
    audit(
        actor=actor, action="document.reviewed", target=document,
        data={"opinion": opinion.strip(), "countersign": [d.pk for d in departments]},
    )
    return document


def document_countersign(*, document_id: int, actor: User, approve: bool, opinion: str = "") -> Document:
    """会签 (串联改并联): each requested department's head acts independently.

    The step completes (→ 签发) when every department has approved (同意会签); any one may
    return the document to the drafter, which closes the other departments' open steps.
    """
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "countersign.concur" if approve else "countersign.return")
    step = holder_step(document, actor, StepKind.COUNTERSIGN)
    now = timezone.now()
    department = step.department.name if step.department else ""
    if not approve:
        return _return_step(
            document, step, stage="countersign", actor=actor, opinion=opinion, now=now, extra={"department": department}
        )
    close_step(step, actor=actor, now=now, outcome="concurred", opinion=opinion.strip())
    remaining = document.steps.filter(kind=StepKind.COUNTERSIGN, state=StepState.OPEN).count()
    if remaining == 0:
        DOCUMENT_FLOW.move(document, "countersign.concur", to=S.SIGN_OFF)
        open_sign_off(document, now=now)
        save(document, ["status"])
    else:
        document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.countersigned", target=document,
          data={"department": department, "opinion": opinion.strip(), "remaining": remaining})
    return document


def document_sign_off(*, document_id: int, actor: User, approve: bool, opinion: str = "") -> Document:
    """签发: the leader records opinion, name and full date (圈阅 counts as approval) → 复核.

    联合发文: each organisation's 签发领导 signs off its own step, in parallel; the document
    moves to 复核 once every organisation has signed (the row lock serialises them), and
    its 成文日期 is the day of the last sign-off (GB/T 9704 7.3.5.1). The 签发人 is the
    lead's. Any one may return the document, which closes the others' open steps.
    """
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "sign_off.approve" if approve else "sign_off.return")
    step = holder_step(document, actor, StepKind.SIGN_OFF)
    now = timezone.now()
    organisation = step.department.name if step.department else document.issuer.name
    if not approve:
        return _return_step(
            document, step, stage="sign_off", actor=actor, opinion=opinion, now=now, extra={"organisation": organisation}
        )
    opinion = opinion.strip() or _("圈阅")
    close_step(step, actor=actor, now=now, outcome="signed", opinion=opinion)
    fields = ["status"]
    if step.department_id in (None, document.issuer_id):
        document.signer = actor  # the 签发人 is the lead's (7.2.6)
        fields.append("signer")
    remaining = document.steps.filter(kind=StepKind.SIGN_OFF, state=StepState.OPEN).count()
    issued_on = timezone.localdate(now)
    if remaining == 0:
        document.issued_on = issued_on
        fields.append("issued_on")
        DOCUMENT_FLOW.move(document, "sign_off.approve", to=S.RECHECK)
        open_step(document, StepKind.RECHECK, issuer_staff(document), now=now)
    save(document, fields)
    audit(actor=actor, action="document.signed_off", target=document,
          data={"opinion": opinion, "issued_on": issued_on.isoformat(), "organisation": organisation, "remaining": remaining})
    return document


def document_recheck(*, document_id: int, actor: User, approve: bool, opinion: str = "") -> Document:
    """复核: pass (→ 编号) or return to the drafter. Substantive edits go through
    ``document_update``, which sends the document back to the signer."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "recheck.pass" if approve else "recheck.return")
    step = holder_step(document, actor, StepKind.RECHECK)
    now = timezone.now()
    if not approve:
        return _return_step(document, step, stage="recheck", actor=actor, opinion=opinion, now=now)
    close_step(step, actor=actor, now=now, outcome="passed", opinion=opinion.strip())
    DOCUMENT_FLOW.move(document, "recheck.pass")
    open_step(document, StepKind.ASSIGN_NUMBER, issuer_staff(document), now=now)
    save(document, ["status"])
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
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "assign_number")
    step = holder_step(document, actor, StepKind.ASSIGN_NUMBER)
    if not document.issuer.issuer_code:
        raise DocumentInvalidInput(_("发文机关没有机关代字，无法编号。"), code="document.no_issuer_code")
    now = timezone.now()
    year = timezone.localdate(now).year
    serial = _next_serial(document.issuer, year)
    document.doc_year, document.doc_serial = year, serial
    document.doc_number = format_doc_number(document.issuer.issuer_code, year, serial)
    close_step(step, actor=actor, now=now, outcome="numbered", opinion=document.doc_number)
    if document.needs_seal:
        DOCUMENT_FLOW.move(document, "assign_number", to=S.SEAL)
        if document.is_joint:
            # 联合发文: every organisation files its own 用印申请, in parallel.
            for organisation in seal_organisations(document):
                open_step(document, StepKind.SEAL, seal_requesters(document, organisation), now=now, role="request",
                          department=organisation)
        else:
            open_step(document, StepKind.SEAL, seal_requesters(document), now=now, role="request")
    else:
        DOCUMENT_FLOW.move(document, "assign_number", to=S.DISTRIBUTE)
        open_step(document, StepKind.DISTRIBUTE, issuer_staff(document), now=now)
    save(document, ["status", "doc_year", "doc_serial", "doc_number"])
    audit(actor=actor, action="document.numbered", target=document, data={"doc_number": document.doc_number})
    return document


def document_distribute(*, document_id: int, actor: User) -> Document:
    """分发/核发: creates an incoming copy (收文) for every 主送 and 抄送 organisation, each
    waiting at 签收 for that organisation's office, then runs the ``document.distributed``
    hooks (officehub/hooks.py) in this transaction."""
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "distribute")
    step = holder_step(document, actor, StepKind.DISTRIBUTE)
    now = timezone.now()
    recipients = [(org, False) for org in selectors.recipients(document, "primary")]
    recipients += [(org, True) for org in selectors.recipients(document, "cc") if org.pk not in {o.pk for o, _ in recipients}]
    if not recipients:
        raise DocumentInvalidInput(_("没有收文机关。"), code="document.incomplete")
    # A sealed document's 印发日期 was fixed at sealing (it is in the signed bytes).
    document.printed_on = document.printed_on or timezone.localdate(now)
    document.printing_office = document.printing_office or document.issuer.name
    close_step(step, actor=actor, now=now, outcome="distributed")
    DOCUMENT_FLOW.move(document, "distribute")
    save(document, ["status", "printed_on", "printing_office"])
    created = []
    for organisation, is_cc in recipients:
        created.append(_create_incoming(document, organisation, is_cc=is_cc, now=now).pk)
    audit(actor=actor, action="document.distributed", target=document,
          data={"recipients": [org.pk for org, _ in recipients], "incoming": created})
    # Followers in other apps (the 政务公开 portal publishes a 主动公开 document), in this
    # transaction, named in settings.HOOKS: documents imports none of them.
    run_hooks(DOCUMENT_DISTRIBUTED, document=document, actor=actor)
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
        signature_name=source.signature_name,
        issued_on=source.issued_on,
        note=source.note,
        disclosure=source.disclosure,
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
    incoming.recipient_order = dict(source.recipient_order or {})
    incoming.primary_recipients.set(source.primary_recipients.all())
    incoming.cc_recipients.set(source.cc_recipients.all())
    incoming.save(update_fields=["recipient_order"])
    # The files sent, as the recipient's own rows over the very same stored bytes.
    copy_attachments(source, incoming, now=now)
    store_version(incoming, author=source.drafter, now=now, step_kind=StepKind.RECEIVE)
    incoming.save(update_fields=["version"])
    open_step(incoming, StepKind.RECEIVE, receivers(organisation), now=now, round=1)
    return incoming
