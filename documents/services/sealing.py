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
from documents.errors import DocumentInvalidInput, DocumentInvalidTransition, SealingFailed
from documents.models import (
    Document,
    DocumentStatus,
    SealRequest,
    SealRequestStatus,
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
from officehub.audit.services import audit
from officehub.directory.models import Department, User
from officehub.errors import NotFound
from officehub.transactions import require_transaction
from officehub.transitions import Transitions
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


def seal_requesters(document: Document) -> list[User]:
    """Who may file the 用印申请: the issuing office's staff and the drafter."""
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
    custodians = custodians_for(seal_id=seal_id, organisation=document.issuer)
    if not custodians:
        if seal_id is not None:
            # The organisation's own seal, suspended or revoked: say so (seal.suspended …).
            seal_services.seal_refuse_if_unusable(seal_id=seal_id, organisation=document.issuer)
        raise DocumentInvalidInput(
            _("印章不存在、不属于本机关或没有印章管理员。"), code="document.unknown_seal", extra={"field": "seal_id"}
        )
    now = timezone.now()
    request = SealRequest(document=document, seal_id=seal_id, requested_by=actor, reason=reason.strip()[:300], created_at=now)
    request.full_clean(exclude=["document"])
    request.save()
    close_step(step, actor=actor, now=now, outcome="requested", opinion=request.reason)
    open_step(document, StepKind.SEAL, custodians, now=now, role="approve")
    document.save(update_fields=["updated_at"])
    audit(actor=actor, action="document.seal_requested", target=document,
          data={"seal_request": request.pk, "seal_id": seal_id})
    return request


def seal_request_decide(*, seal_request_id: int, actor: User, approve: bool, reason: str = "") -> SealRequest:
    """The seal's custodian approves (seal applied, → 分发) or rejects with a reason.

    Approval renders the DOCX with the seal image and signs it first, holding no lock (it
    runs inside the entry point's transaction but before its first row lock); then, in
    the lock order of docs/locking.md, it locks the document, then the request, re-checks
    both, moves the steps, and only then stores the sealing (which locks the seal row and
    writes ``seal.used``) and writes ``document.sealed``.
    Sealing fails closed: if no signed SealRecord results, the error propagates, the
    caller's transaction rolls back and the request stays pending with the document at
    用印 (no audit entry, no notification).
    Raises not_found, document.not_assigned, document.invalid_transition,
    document.reason_required, document.seal_failed and the seals app's coded errors.
    """
    require_transaction()
    action = "seal.approve" if approve else "seal.reject"
    request = SealRequest.objects.filter(pk=seal_request_id).first()
    if request is None:
        raise NotFound()
    document = selectors.access_document(actor, request.document_id)
    DOCUMENT_FLOW.check(document, action)
    holder_step(document, actor, StepKind.SEAL, role="approve")
    SEAL_REQUEST_FLOW.check(request, action)
    if not approve:
        reason = require_text(reason, _("驳回时请填写理由。"), "reason")
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
    step = holder_step(document, actor, StepKind.SEAL, role="approve")
    SEAL_REQUEST_FLOW.move(request, action)
    now = timezone.now()
    request.decided_by, request.decided_at = actor, now
    request.decision_reason = reason.strip()[:300]
    if not approve:
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        close_step(step, actor=actor, now=now, outcome="rejected", opinion=request.decision_reason, state=StepState.RETURNED)
        open_step(document, StepKind.SEAL, seal_requesters(document), now=now, role="request", notify="todo.returned")
        document.save(update_fields=["updated_at"])
        audit(actor=actor, action="document.seal_rejected", target=document,
              data={"seal_request": request.pk, "reason": request.decision_reason})
        return request
    assert signed is not None
    close_step(step, actor=actor, now=now, outcome="sealed", opinion=request.decision_reason)
    DOCUMENT_FLOW.move(document, "seal.approve")
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

