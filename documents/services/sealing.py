"""用印: the SealRequest step of the outgoing flow, and its one door into the seals app.

Approving a 用印申请 seals and signs the DOCX through ``seals.services``; seals knows no
document workflow (DESIGN §1), so it is called with a ``build_docx`` callback and an
opaque ``document:<id>`` reference. documents depends on seals (``Document.seal_record``
is a foreign key to it), so seals is imported directly: a broken seals app fails at
import, never by quietly approving a request unsealed.

Sealing fails closed: anything short of a stored, signed SealRecord raises, so the
caller's transaction rolls back and the request stays pending.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from documents import selectors
from documents.docx.issue import issue_copy
from documents.errors import DocumentInvalidInput, DocumentInvalidTransition, DocumentNotHolder, SealingConflict, SealingFailed
from documents.models import (
    Document,
    DocumentStatus,
    JointIssuer,
    SealRequest,
    SealRequestStatus,
    Step,
    StepKind,
    StepState,
)
from documents.services.flow import (
    DOCUMENT_FLOW,
    close_step,
    holder_step,
    issuer_staff,
    open_step,
    require_text,
    save,
)
from documents.services.joint import joint_issuers
from officehub.audit.services import audit
from officehub.directory.models import Department, User
from officehub.errors import NotFound
from officehub.transactions import require_transaction
from officehub.transitions import Transitions
from seals import pades
from seals import selectors as seal_selectors
from seals import services as seal_services
from seals.models import SealRecord
from seals.services import SealedCopy, SealSignature

S = DocumentStatus
R = SealRequestStatus

# A request is decided once. Its refusals carry the document flow's code
# (document.invalid_transition, 409), as clients have always been told.
SEAL_REQUEST_FLOW: Final = Transitions(
    "document",
    {"seal.approve": {R.PENDING: R.APPROVED}, "seal.reject": {R.PENDING: R.REJECTED}},
    describe=lambda status: str(SealRequestStatus(status).label),
    message=gettext_lazy("该用印申请已处理（%(status)s）。"),
    error=DocumentInvalidTransition,
)


def seal_requesters(document: Document, organisation: Department | None = None) -> list[User]:
    """Who may file the 用印申请: the issuing office's staff and the drafter; for a
    co-issuer of a joint document (联合发文), that organisation's office staff."""
    if organisation is not None and organisation.pk != document.issuer_id:
        return selectors.office_staff(organisation)
    people = {user.pk: user for user in issuer_staff(document)}
    if document.drafter.is_active:
        people.setdefault(document.drafter_id, document.drafter)
    return list(people.values())


def seal_request_create(*, document_id: int, actor: User, seal_id: int | None, reason: str = "") -> SealRequest:
    """用印申请 for a signed-off, numbered document, naming the seal to use.

    Held by the drafter and the office; the request goes to that seal's custodians.
    Raises document.unknown_seal, document.not_assigned, document.invalid_transition.
    """
    require_transaction()
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "seal.request")
    step = holder_step(document, actor, StepKind.SEAL, role="request")
    # 联合发文: the step names its organisation; each files for its own seal.
    organisation = step.department or document.issuer
    custodians = custodians_for(seal_id=seal_id, organisation=organisation)
    if not custodians:
        if seal_id is not None:
            # The organisation's own seal, suspended or revoked: say so (seal.suspended …).
            seal_services.seal_refuse_if_unusable(seal_id=seal_id, organisation=organisation)
        raise DocumentInvalidInput(
            _("印章不存在、不属于本机关或没有印章管理员。"), code="document.unknown_seal", extra={"field": "seal_id"}
        )
    if step.department_id is not None:
        fixed = JointIssuer.objects.filter(document=document, organisation=organisation).values_list(
            "layout_seal_id", flat=True
        ).first()
        if fixed is not None and fixed != seal_id:
            # Sealing has begun: this organisation's seal picture is in the signed bytes.
            raise DocumentInvalidInput(
                _("联合发文已开始用印，本机关须使用版面上的印章。"), code="document.seal_fixed",
                extra={"field": "seal_id", "seal_id": fixed},
            )
    now = timezone.now()
    request = SealRequest(document=document, seal_id=seal_id, organisation=organisation, requested_by=actor,
                          reason=reason.strip()[:300], created_at=now)
    request.full_clean(exclude=["document", "organisation"])
    request.save()
    close_step(step, actor=actor, now=now, outcome="requested", opinion=request.reason)
    open_step(document, StepKind.SEAL, custodians, now=now, role="approve", department=step.department)
    document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.seal_requested", target=document,
          data={"seal_request": request.pk, "seal_id": seal_id, "organisation": organisation.pk})
    return request


def seal_request_decide(*, seal_request_id: int, actor: User, approve: bool, reason: str = "") -> SealRequest:
    """The seal's custodian approves (seal applied, → 分发) or rejects with a reason.

    Approval renders the DOCX with the seal image and signs it first, holding no lock (it
    runs inside the entry point's transaction but before its first row lock); then, in
    the lock order of docs/locking.md, it locks the document, then the request, re-checks
    both, moves the steps, and only then stores the sealing (which locks the seal row and
    writes ``seal.used``) and writes ``document.sealed``.
    联合发文: each organisation's custodian decides its own organisation's request; the
    document moves to 分发 once every organisation has sealed (see ``_seal_joint``).
    Sealing fails closed: if no signed SealRecord results, the error propagates, the
    caller's transaction rolls back and the request stays pending with the document at
    用印 (no audit entry, no notification).
    Raises not_found, document.not_assigned, document.invalid_transition,
    document.reason_required, document.seal_failed, document.seal_requests_incomplete,
    document.seal_fixed and the seals app's coded errors.
    """
    require_transaction()
    action = "seal.approve" if approve else "seal.reject"
    request = SealRequest.objects.filter(pk=seal_request_id).first()
    if request is None:
        raise NotFound()
    document = selectors.access_document(actor, request.document_id)
    DOCUMENT_FLOW.check(document, action)
    _approve_step(document, actor, request)
    SEAL_REQUEST_FLOW.check(request, action)
    if not approve:
        reason = require_text(reason, _("驳回时请填写理由。"), "reason")
    joint = joint_issuers(document)
    if approve and joint:
        return _seal_joint(document, request, joint, actor=actor, reason=reason)
    signed = None
    if approve:
        # The 版记's 印发机关 and 印发日期 are fixed now, before sealing: every signed copy
        # carries them, and 分发 never changes them (a signed DOCX is never re-rendered).
        issue_fields(document, today=timezone.localdate())
        # Slow work (render, convert to PDF, sign) first, without any lock; it writes nothing.
        signed = sign(document=document, seal_id=request.seal_id, actor=actor)
        printed_on, printing_office = document.printed_on, document.printing_office
    document = selectors.access_document(actor, request.document_id, lock=True)
    request = SealRequest.objects.select_for_update().get(pk=seal_request_id)
    DOCUMENT_FLOW.check(document, action)
    step = _approve_step(document, actor, request)
    SEAL_REQUEST_FLOW.move(request, action)
    now = timezone.now()
    request.decided_by, request.decided_at = actor, now
    request.decision_reason = reason.strip()[:300]
    if not approve:
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        close_step(step, actor=actor, now=now, outcome="rejected", opinion=request.decision_reason, state=StepState.RETURNED)
        organisation = step.department
        open_step(document, StepKind.SEAL, seal_requesters(document, organisation), now=now, role="request",
                  notify="todo.returned", department=organisation)
        document.save(update_fields=["updated_at"])
        audit(actor=actor, action="document.seal_rejected", target=document,
              data={"seal_request": request.pk, "reason": request.decision_reason})
        return request
    assert signed is not None
    close_step(step, actor=actor, now=now, outcome="sealed", opinion=request.decision_reason)
    DOCUMENT_FLOW.move(document, "seal.approve", to=S.DISTRIBUTE)
    open_step(document, StepKind.DISTRIBUTE, issuer_staff(document), now=now)
    # The seal row is the last entity lock of this transaction; its audit entry follows.
    seal_record = record(signed=signed, actor=actor)
    request.seal_record_id = seal_record.pk
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "seal_record_id"])
    document.seal_record = seal_record
    document.printed_on, document.printing_office = printed_on, printing_office
    save(document, ["status", "seal_record", "printed_on", "printing_office"])
    audit(actor=actor, action="document.sealed", target=document,
          data={"seal_request": request.pk, "seal_id": request.seal_id, "seal_record": seal_record.pk})
    return request


def _approve_step(document: Document, actor: User, request: SealRequest) -> Step:
    """The actor's open approval step for ``request``: of its organisation when the
    document is joint (a custodian never decides another organisation's request)."""
    steps = document.steps.filter(state=StepState.OPEN, kind=StepKind.SEAL, role="approve", holders=actor)
    if request.organisation_id is not None and request.organisation_id != document.issuer_id:
        steps = steps.filter(department_id=request.organisation_id)
    elif document.joint_issuers.exists():
        steps = steps.filter(department_id=document.issuer_id)
    step = steps.order_by("pk").first()
    if step is None:
        raise DocumentNotHolder(
            _("您不是“%(step)s”环节的办理人。") % {"step": StepKind.SEAL.label}, extra={"step": StepKind.SEAL}
        )
    return step


# --- 联合发文: one signature per organisation in one PDF --------------------------------------


def _joint_base(document: Document) -> SealRecord | None:
    """The latest sealing of a joint document: its PDF carries every seal applied so far
    and is what the next organisation signs over (an incremental update)."""
    ids = document.seal_requests.filter(status=R.APPROVED, seal_record_id__isnull=False).values_list(
        "seal_record_id", flat=True
    )
    return SealRecord.objects.filter(pk__in=list(ids)).order_by("-pk").first()


def _layout_seal_ids(document: Document, joint: list[JointIssuer]) -> list[int | None]:
    """The seal each organisation's pending or approved request names, in issuer order."""
    requests = {
        request.organisation_id: request.seal_id
        for request in document.seal_requests.filter(status__in=[R.PENDING, R.APPROVED]).order_by("pk")
    }
    return [requests.get(row.organisation_id) for row in joint]


def _seal_joint(
    document: Document, request: SealRequest, joint: list[JointIssuer], *, actor: User, reason: str
) -> SealRequest:
    """联合发文 approval. The first organisation to seal fixes the copy: rendered once,
    without any lock, with every organisation's seal picture side by side (GB/T 9704
    7.3.5.1), which is why every organisation must have filed its request first. Each
    approval appends its organisation's PAdES signature over the latest sealed PDF, so the
    second signature covers the first; the append is quick (no conversion) and runs under
    the document row lock, which serialises custodians sealing at the same moment. Once
    sealing has begun the page is fixed, and an organisation seals whenever its own
    request is approved. The document moves to 分发 when every organisation has sealed; its ``seal_record`` is then
    the last sealing, whose PDF carries all signatures."""
    layout = _layout_seal_ids(document, joint)
    started = _joint_base(document) is not None
    if not started and any(seal_id is None for seal_id in layout):
        missing = [row.organisation.name for row, seal_id in zip(joint, layout, strict=True) if seal_id is None]
        raise DocumentInvalidTransition(
            _("联合发文须各机关都提出用印申请后才能用印，尚未申请：%(names)s。") % {"names": "、".join(missing)},
            code="document.seal_requests_incomplete", status=document.status, action="seal.approve",
        )
    issue_fields(document, today=timezone.localdate())
    printed_on, printing_office = document.printed_on, document.printing_office
    rendered = None
    if not started:
        # The slow half (render + convert), holding nothing.
        images = seal_selectors.seal_images([seal_id for seal_id in layout if seal_id is not None])
        pngs = [images.get(seal_id or 0) for seal_id in layout]
        if any(png is None for png in pngs):
            raise _refused()
        rendered = issue_copy(document, seal_png=None, printed_on=printed_on or timezone.localdate(),
                              created=timezone.now(), joint_seal_pngs=[png for png in pngs if png is not None])
    document = selectors.access_document(actor, request.document_id, lock=True)
    request = SealRequest.objects.select_for_update().get(pk=request.pk)
    DOCUMENT_FLOW.check(document, "seal.approve")
    step = _approve_step(document, actor, request)
    SEAL_REQUEST_FLOW.check(request, "seal.approve")
    joint = joint_issuers(document)
    base = _joint_base(document)
    if base is not None:
        # Another organisation sealed first (perhaps a moment ago): sign over its copy.
        docx, pdf = bytes(base.sealed_docx), bytes(base.signed_pdf or b"")
        boxes = pades.seal_boxes(pdf)
        printed_on, printing_office = document.printed_on, document.printing_office
    else:
        if rendered is None or _layout_seal_ids(document, joint) != layout:
            raise SealingConflict()
        docx, pdf, boxes = rendered.docx, rendered.pdf, list(rendered.seal_boxes)
        for row, seal_id in zip(joint, layout, strict=True):
            row.layout_seal_id = seal_id
        JointIssuer.objects.bulk_update(joint, ["layout_seal_id"])
    row = next(row for row in joint if row.organisation_id == request.organisation_id)
    if row.layout_seal_id != request.seal_id:
        raise DocumentInvalidInput(
            _("联合发文已开始用印，本机关须使用版面上的印章。"), code="document.seal_fixed",
            extra={"field": "seal_id", "seal_id": row.layout_seal_id},
        )
    if len(boxes) != len(joint) or not pdf.startswith(b"%PDF-"):
        raise _refused()
    page, box = boxes[row.position]

    def build(_seal_png: bytes) -> SealedCopy:
        return SealedCopy(docx=docx, pdf=pdf, seal_page=page, seal_box=box)

    assert request.seal_id is not None
    signed = seal_services.seal_sign(
        seal_id=request.seal_id, actor=actor, build_docx=build, document_ref=f"document:{document.pk}", title=document.title
    )
    if not isinstance(signed, SealSignature) or signed.seal_id != request.seal_id or signed.pdf is None:
        raise _refused()
    now = timezone.now()
    SEAL_REQUEST_FLOW.move(request, "seal.approve")
    request.decided_by, request.decided_at = actor, now
    request.decision_reason = reason.strip()[:300]
    close_step(step, actor=actor, now=now, outcome="sealed", opinion=request.decision_reason)
    sealed = set(
        document.seal_requests.filter(status=R.APPROVED).values_list("organisation_id", flat=True)
    ) | {request.organisation_id}
    remaining = [r.organisation.name for r in joint if r.organisation_id not in sealed]
    fields = ["status", "printed_on", "printing_office"]
    if remaining:
        DOCUMENT_FLOW.move(document, "seal.approve", to=S.SEAL)
    else:
        DOCUMENT_FLOW.move(document, "seal.approve", to=S.DISTRIBUTE)
        open_step(document, StepKind.DISTRIBUTE, issuer_staff(document), now=now)
    seal_record = record(signed=signed, actor=actor)
    request.seal_record_id = seal_record.pk
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "seal_record_id"])
    if not remaining:
        document.seal_record = seal_record
        fields.append("seal_record")
    document.printed_on, document.printing_office = printed_on, printing_office
    save(document, fields)
    audit(actor=actor, action="document.sealed", target=document,
          data={"seal_request": request.pk, "seal_id": request.seal_id, "seal_record": seal_record.pk,
                "organisation": request.organisation_id, "remaining": remaining})
    return request


# --- the door into the seals app ------------------------------------------------------------


def custodians_for(*, seal_id: int | None, organisation: Department) -> list[User]:
    """The people who may approve a 用印申请 for ``seal_id`` of ``organisation``: the
    active custodians of that seal, which must be a usable seal of the organisation.
    Nobody for any other seal id (unknown, another organisation's, suspended, personal)."""
    if seal_id is None or not seal_selectors.seals_for_organisation(organisation).filter(pk=seal_id).exists():
        return []
    ids = seal_selectors.seal_custodian_ids(seal_id)
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def _refused() -> SealingFailed:
    return SealingFailed(_("用印失败：未能生成盖章签名的公文，用印申请仍待审批。"))


def issue_fields(document: Document, *, today: date) -> None:
    """印发机关 and 印发日期 as the issued copy will carry them (in memory; the caller saves)."""
    document.printed_on = document.printed_on or today
    document.printing_office = document.printing_office or document.issuer.name


def sign(*, document: Document, seal_id: int | None, actor: User) -> SealSignature:
    """Render the document with the seal image, convert it to the 版式 PDF and sign both
    (CMS over the DOCX, PAdES inside the PDF): the slow half, which takes no lock and
    writes nothing. A conversion failure refuses the sealing (pdf.* codes, 503): never an
    unsigned or half-made copy. Raises the seals app's codes or document.seal_failed."""
    if seal_id is None:
        raise _refused()

    printed_on = document.printed_on or timezone.localdate()
    now = timezone.now()

    def build_docx(seal_png: bytes) -> SealedCopy:
        # The DOCX and the PDF made from exactly those bytes, the 版记 on an even page.
        copy = issue_copy(document, seal_png=seal_png, printed_on=printed_on, created=now)
        return SealedCopy(docx=copy.docx, pdf=copy.pdf, seal_page=copy.seal_page, seal_box=copy.seal_box)

    signed = seal_services.seal_sign(
        seal_id=seal_id,
        actor=actor,
        build_docx=build_docx,
        document_ref=f"document:{document.pk}",
        title=document.title,
    )
    if not isinstance(signed, SealSignature) or signed.seal_id != seal_id:
        raise _refused()
    return signed


def record(*, signed: SealSignature, actor: User) -> SealRecord:
    """Store the signed sealing inside the caller's transaction (locks the seal row, then
    writes the ``seal.used`` audit entry: call it after locking every document-side row
    and before the document's own audit entry)."""
    stored = seal_services.seal_record_signed(signed=signed, actor=actor)
    if not isinstance(stored, SealRecord) or stored.pk is None:
        raise _refused()
    return stored

