"""Every read of documents, and the one visibility rule.

A user sees a document when their clearance covers its 密级 and they drafted it, hold or
held one of its steps, belong to a department it reached (drafting, 会签, 承办), were
explicitly shared it, or are an archivist of the organisation holding a finished copy.
Everyone else gets the same ``NotFound`` as for a missing id.
"""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, TypedDict

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from documents.docx import render
from documents.models import (
    Attachment,
    Direction,
    DocType,
    Document,
    DocumentStatus,
    DocumentVersion,
    SealRequest,
    SealRequestStatus,
    Step,
    StepKind,
    StepState,
)
from officehub.directory.models import Department, Role, User
from officehub.errors import NotFound

if TYPE_CHECKING:
    from seals.models import SealRecord

FINISHED_STATUSES = (DocumentStatus.DISTRIBUTED, DocumentStatus.CONCLUDED, DocumentStatus.ARCHIVED)


# --- people -----------------------------------------------------------------------------


def organisation_users(organisation: Department, *, role: str | None = None) -> QuerySet[User]:
    """Active users whose nearest issuing organisation is ``organisation``.

    A nested organisation (the 办公厅 under the 省政府) keeps its own people.
    """
    users = User.objects.filter(is_active=True, department__path__startswith=organisation.path)
    nested = Department.objects.filter(path__startswith=organisation.path, is_organisation=True).exclude(
        pk=organisation.pk
    )
    for path in nested.values_list("path", flat=True):
        users = users.exclude(department__path__startswith=path)
    if role is not None:
        users = users.filter(role_assignments__role=role)
    return users.distinct().order_by("pk")


def office_staff(organisation: Department, *, role: str = Role.REVIEWER) -> list[User]:
    """Who does the office work (核稿, 编号, 分发, 签收…) of an organisation.

    An organisation without such staff of its own (a 人民政府 whose work its 办公厅 does)
    falls back to its general office's staff.
    """
    staff = list(organisation_users(organisation, role=role))
    if staff:
        return staff
    office = (
        Department.objects.filter(parent=organisation, is_organisation=True, kind="office").order_by("pk").first()
    )
    return list(organisation_users(office, role=role)) if office else []


def department_heads(department: Department) -> list[User]:
    heads = list(
        User.objects.filter(is_active=True, department=department, role_assignments__role=Role.DEPARTMENT_HEAD)
        .distinct()
        .order_by("pk")
    )
    return heads


def organisation_of_user(user: User) -> Department | None:
    department = getattr(user, "department", None)
    return department.organisation() if department is not None else None


# --- visibility -------------------------------------------------------------------------


def _visibility_q(user: User) -> Q:
    steps = Step.objects.filter(document=OuterRef("pk"))
    # The drafter and the drafting division see the outgoing document; an incoming copy
    # belongs to the recipient organisation, whose internal handling the sender does not
    # see (the sender reads returns and replies on the outgoing document instead).
    outgoing = Q(direction=Direction.OUTGOING)
    q = (
        (outgoing & Q(drafter=user))
        | Q(Exists(steps.filter(holders=user)))
        | Q(Exists(steps.filter(actor=user)))
        | Q(Exists(Document.shared_with.through.objects.filter(document=OuterRef("pk"), user=user)))
    )
    if user.department_id:
        q |= (outgoing & Q(drafting_department_id=user.department_id)) | Q(
            Exists(steps.filter(department_id=user.department_id))
        )
        if user.has_role(Role.ARCHIVIST):
            organisation = organisation_of_user(user)
            if organisation is not None:
                q |= Q(status__in=FINISHED_STATUSES) & (
                    Q(direction=Direction.OUTGOING, issuer=organisation)
                    | Q(direction=Direction.INCOMING, recipient_organisation=organisation)
                )
    return q


def visible_documents(user: User) -> QuerySet[Document]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Document.objects.none()
    return Document.objects.filter(_visibility_q(user), classification__lte=user.clearance)


def can_view_document(user: User, document: Document) -> bool:
    return visible_documents(user).filter(pk=document.pk).exists()


def access_document(user: User, document_id: int, *, lock: bool = False) -> Document:
    """Fetch a document the user may see, optionally locking its row (FOR UPDATE OF self).

    Raises ``NotFound`` alike for a missing id and for a document the user may not see.
    """
    # One query: the visibility filter and the fetch (and the row lock) together.
    documents = visible_documents(user).select_related(
        "issuer", "drafter", "drafting_department", "recipient_organisation"
    )
    if lock:
        documents = documents.select_for_update(of=("self",))
    document = documents.filter(pk=document_id).first()
    if document is None:
        raise NotFound()
    return document


# --- lists ------------------------------------------------------------------------------


def outgoing_list(user: User) -> QuerySet[Document]:
    return (
        visible_documents(user)
        .filter(direction=Direction.OUTGOING)
        .select_related("issuer", "drafter")
        .order_by("-updated_at", "-pk")
    )


def incoming_inbox(user: User) -> QuerySet[Document]:
    """收文: incoming copies addressed to the user's organisation that the user may see."""
    return (
        visible_documents(user)
        .filter(direction=Direction.INCOMING)
        .select_related("issuer", "recipient_organisation", "source_document")
        .order_by("-created_at", "-pk")
    )


def filter_documents(
    documents: QuerySet[Document], *, query: str = "", doc_type: str = "", status: str = ""
) -> QuerySet[Document]:
    """Narrow a list by title/文号 text, 文种 and status (unknown values are ignored)."""
    # NUL cannot be in a stored title or number, so it can match nothing: drop it here
    # too (the API and pages refuse it before), never hand it to PostgreSQL.
    query = query.replace("\x00", "").strip()[:50]
    if query:
        documents = documents.filter(Q(title__icontains=query) | Q(doc_number__icontains=query))
    if doc_type in DocType.values:
        documents = documents.filter(doc_type=doc_type)
    if status in DocumentStatus.values:
        documents = documents.filter(status=status)
    return documents


def open_steps(document: Document) -> list[Step]:
    return list(
        document.steps.filter(state=StepState.OPEN).prefetch_related("holders").select_related("department")
    )


def current_holders(document: Document) -> list[User]:
    seen: dict[int, User] = {}
    for step in open_steps(document):
        for holder in step.holders.all():
            seen.setdefault(holder.pk, holder)
    return list(seen.values())


def open_step_for(document: Document, user: User, kind: str, *, role: str | None = None) -> Step | None:
    steps = document.steps.filter(state=StepState.OPEN, kind=kind, holders=user)
    if role is not None:
        steps = steps.filter(role=role)
    return steps.order_by("pk").first()


def overdue_steps(user: User, *, now: datetime | None = None) -> QuerySet[Step]:
    """Open steps past due in the user's organisation (the office's 逾期 list)."""
    now = now or timezone.now()
    organisation = organisation_of_user(user)
    if organisation is None:
        return Step.objects.none()
    visible = visible_documents(user).values("pk")
    org_q = Q(document__direction=Direction.OUTGOING, document__issuer=organisation) | Q(
        document__direction=Direction.INCOMING, document__recipient_organisation=organisation
    )
    return (
        Step.objects.filter(org_q, state=StepState.OPEN, due_at__lt=now)
        .filter(Q(document__in=visible) | Q(holders=user))
        .select_related("document", "department")
        .prefetch_related("holders")
        .distinct()
        .order_by("due_at")
    )


# --- actions the user may take (pages show only these) ---------------------------------


def available_actions(user: User, document: Document) -> list[str]:
    """Action names the user may take now; the services enforce the same rules."""
    actions: list[str] = []
    mine = {
        (step.kind, step.role)
        for step in document.steps.filter(state=StepState.OPEN, holders=user).only("kind", "role")
    }
    kinds = {kind for kind, _role in mine}
    status = document.status
    if status == DocumentStatus.DRAFT and StepKind.DRAFT in kinds:
        actions += ["edit", "submit"]
    if status == DocumentStatus.REVIEW and StepKind.REVIEW in kinds:
        actions += ["edit", "review"]
    if status == DocumentStatus.COUNTERSIGN and StepKind.COUNTERSIGN in kinds:
        actions.append("countersign")
    if status == DocumentStatus.SIGN_OFF and StepKind.SIGN_OFF in kinds:
        actions.append("sign_off")
    if status == DocumentStatus.RECHECK and StepKind.RECHECK in kinds:
        actions += ["edit", "recheck"]
    if status == DocumentStatus.ASSIGN_NUMBER and StepKind.ASSIGN_NUMBER in kinds:
        actions.append("assign_number")
    if status == DocumentStatus.SEAL and (StepKind.SEAL, "request") in mine:
        actions.append("seal_request")
    if status == DocumentStatus.SEAL and (StepKind.SEAL, "approve") in mine:
        actions.append("seal_decide")
    if status == DocumentStatus.DISTRIBUTE and StepKind.DISTRIBUTE in kinds:
        actions.append("distribute")
    for kind in (StepKind.RECEIVE, StepKind.REGISTER, StepKind.SCREEN, StepKind.PROPOSE, StepKind.INSTRUCT):
        if status == kind.value and kind in kinds:
            actions.append(kind.value)
    if status == DocumentStatus.HANDLE and (StepKind.HANDLE, "assist") in mine:
        actions.append("handle")
    if status == DocumentStatus.HANDLE and (StepKind.HANDLE, "lead") in mine:
        actions.append("conclude")
    if StepKind.CIRCULATE in kinds:
        actions.append("read")
    if can_remind(user, document):
        actions.append("remind")
    if status not in (DocumentStatus.ARCHIVED,) and (document.drafter_id == user.pk or kinds):
        actions.append("share")
    if can_archive(user, document):
        actions.append("archive")
    return actions


def can_archive(user: User, document: Document) -> bool:
    """Archivists of the document's organisation file it once it is finished (条例 第二十七条)."""
    finished = (document.direction == "outgoing" and document.status == DocumentStatus.DISTRIBUTED) or (
        document.direction == "incoming" and document.status == DocumentStatus.CONCLUDED
    )
    if not finished or not user.has_role(Role.ARCHIVIST):
        return False
    return getattr(organisation_of_user(user), "pk", None) == document.organisation_id


def can_remind(user: User, document: Document) -> bool:
    if document.status in FINISHED_STATUSES or document.status in (DocumentStatus.RETURNED, DocumentStatus.DRAFT):
        return False
    if user.pk in (document.chaser_id, document.drafter_id):
        return True
    organisation_id = document.organisation_id
    return bool(
        organisation_id
        and user.has_role(Role.REVIEWER)
        and getattr(organisation_of_user(user), "pk", None) == organisation_id
    )


def pending_seal_request(document: Document, user: User | None = None) -> SealRequest | None:
    """The pending 用印申请; for a joint document (联合发文) the one of the organisation
    whose approval step ``user`` holds."""
    pending = document.seal_requests.filter(status=SealRequestStatus.PENDING)
    if user is not None and document.joint_issuers.exists():
        step = open_step_for(document, user, StepKind.SEAL, role="approve")
        if step is None:
            return None
        pending = pending.filter(organisation_id=step.department_id or document.issuer_id)
    return pending.order_by("pk").first()


def distribution_feedback(document: Document) -> QuerySet[Document]:
    """What happened to each incoming copy of an outgoing document (returns, replies)."""
    return document.incoming_copies.select_related("recipient_organisation").order_by("pk")


# --- timeline ---------------------------------------------------------------------------


class TimelineEntry(TypedDict):
    id: int
    kind: str
    kind_label: str
    role: str
    round: int
    state: str
    state_label: str
    department: str | None
    holders: list[str]
    actor: str | None
    outcome: str
    opinion: str
    started_at: datetime
    finished_at: datetime | None
    elapsed_seconds: int
    due_at: datetime | None
    overdue: bool
    reminders: int


ROLE_LABELS = {"request": "申请", "approve": "审批", "lead": "（主办）", "assist": "（协办）"}


def document_timeline(document: Document, *, now: datetime | None = None) -> list[TimelineEntry]:
    """Parcel tracking: every step in order, who holds it, how long it took, what is overdue."""
    now = now or timezone.now()
    steps = (
        document.steps.select_related("actor", "department")
        .prefetch_related(Prefetch("holders", queryset=User.objects.order_by("pk")), "reminders")
        .order_by("started_at", "pk")
    )
    entries: list[TimelineEntry] = []
    for step in steps:
        end = step.finished_at or now
        overdue = bool(step.due_at and (step.finished_at or now) > step.due_at)
        entries.append(
            {
                "id": step.pk,
                "kind": step.kind,
                "kind_label": str(step.get_kind_display()) + ROLE_LABELS.get(step.role, ""),
                "role": step.role,
                "round": step.round,
                "state": step.state,
                "state_label": str(step.get_state_display()),
                "department": step.department.name if step.department else None,
                "holders": [holder.display_name for holder in step.holders.all()],
                "actor": step.actor.display_name if step.actor else None,
                "outcome": step.outcome,
                "opinion": step.opinion,
                "started_at": step.started_at,
                "finished_at": step.finished_at,
                "elapsed_seconds": max(0, int((end - step.started_at).total_seconds())),
                "due_at": step.due_at,
                "overdue": overdue,
                "reminders": len(step.reminders.all()),
            }
        )
    return entries


# --- versions and diff ------------------------------------------------------------------


def document_versions(document: Document) -> QuerySet[DocumentVersion]:
    return document.versions.select_related("author").order_by("number")


def version_of(document: Document, number: int) -> DocumentVersion:
    version = document.versions.select_related("author").filter(number=number).first()
    if version is None:
        raise NotFound("该版本不存在。")
    return version


@dataclass(frozen=True)
class DiffOp:
    op: str  # "equal" | "insert" | "delete"
    text: str


def diff_texts(old: str, new: str) -> list[DiffOp]:
    """Character-level 修订痕迹 (Chinese has no spaces, so words would be whole sentences)."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    ops: list[DiffOp] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(DiffOp("equal", old[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            ops.append(DiffOp("delete", old[i1:i2]))
        if tag in ("insert", "replace"):
            ops.append(DiffOp("insert", new[j1:j2]))
    return ops


def diff_html(ops: list[DiffOp]) -> str:
    """Escaped HTML with <ins>/<del>; newlines become <br>."""
    parts = []
    for op in ops:
        text = html.escape(op.text).replace("\n", "<br>")
        if op.op == "insert":
            parts.append(f"<ins>{text}</ins>")
        elif op.op == "delete":
            parts.append(f"<del>{text}</del>")
        else:
            parts.append(text)
    return "".join(parts)


# "from" is a keyword, hence the functional form.
VersionDiff = TypedDict(
    "VersionDiff", {"from": DocumentVersion, "to": DocumentVersion, "title": list[DiffOp], "body": list[DiffOp]}
)


def version_diff(document: Document, from_number: int, to_number: int) -> VersionDiff:
    old = version_of(document, from_number)
    new = version_of(document, to_number)
    return {
        "from": old,
        "to": new,
        "title": diff_texts(old.title, new.title),
        "body": diff_texts(old.body, new.body),
    }


# --- 附件 --------------------------------------------------------------------------------


def current_attachments(document: Document) -> QuerySet[Attachment]:
    """The document's attachments now, in 附件说明 order (the bytes are not read)."""
    return Attachment.objects.filter(document_id=document.pk, removed_at__isnull=True).order_by("position", "pk")


def version_attachments(version: DocumentVersion) -> list[Attachment]:
    """The attachments ``version`` had, in their order then."""
    links = version.attachment_links.select_related("attachment").order_by("position")
    return [link.attachment for link in links]


def access_attachment(user: User, document_id: int, attachment_id: int) -> tuple[Document, Attachment]:
    """A file attachment of a document the user may see — the current ones and those an
    earlier version had alike; the same ``NotFound`` for a missing or hidden document, an
    attachment of another document, and a 随文附件 (it has no file)."""
    document = access_document(user, document_id)
    attachment = (
        Attachment.objects.filter(pk=attachment_id, document_id=document.pk, content__isnull=False)
        .select_related("content")
        .first()
    )
    if attachment is None:
        raise NotFound("该附件不存在。")
    return document, attachment


def attachment_bytes(attachment: Attachment) -> bytes:
    """The file's bytes, checked against the digest recorded at upload (fixity): a file
    whose bytes no longer match is never handed out as the attachment."""
    from documents.errors import AttachmentCorrupt
    from documents.files import sha256_hex

    assert attachment.content is not None
    data = bytes(attachment.content.data)
    if sha256_hex(data) != attachment.sha256:
        raise AttachmentCorrupt()
    return data


# --- DOCX -------------------------------------------------------------------------------


def sealed_docx(document: Document) -> bytes | None:
    """The exact sealed bytes that were signed (never re-rendered), or None."""
    if not document.seal_record_id:
        return None
    assert document.seal_record is not None
    return bytes(document.seal_record.sealed_docx)


def document_docx(document: Document) -> bytes:
    """The document's current DOCX: the sealed bytes when sealed, otherwise freshly rendered."""
    sealed = sealed_docx(document)
    if sealed is not None:
        return sealed
    return render.render_document(document)


def signed_pdf(document: Document) -> bytes | None:
    """The issued 版式 copy — the PDF with the seal signed inside — exactly as sealed, for
    the outgoing document and every incoming copy of it; None before sealing."""
    if not document.seal_record_id:
        return None
    assert document.seal_record is not None
    data = document.seal_record.signed_pdf
    return bytes(data) if data is not None else None


def joint_seal_records(document: Document) -> list[SealRecord]:
    """联合发文: the other organisations' sealings of the same DOCX, in the order they
    sealed (each holds that organisation's detached CMS over it); [] for one issuer.
    For an incoming copy, those of the document it came from."""
    from seals.models import SealRecord

    record = document.seal_record if document.seal_record_id else None
    if record is None:
        return []
    source = document.source_document_id or document.pk
    return list(
        SealRecord.objects.filter(document_ref=f"document:{source}", sha256=record.sha256)
        .exclude(pk=record.pk).select_related("seal").order_by("pk")
    )


class SealCheck(TypedDict):
    """One seal inside the issued PDF, as its recipient checks it."""

    organisation: str
    status: str
    message: str
    valid: bool
    signed_at: datetime | None
    revoked_at: datetime | None


class SealVerification(TypedDict):
    """What the 收文/发文 page shows of a sealed document, checked now, from the copy the
    reader holds: the signed PDF (every seal in it) and the DOCX + .p7s package."""

    status: str
    message: str
    valid: bool
    seals: list[SealCheck]
    package_status: str
    package_message: str


def document_seal_verification(document: Document) -> SealVerification | None:
    """Verify the document's sealed copies against the CA and the current CRL (None when
    the document was never sealed). Reads only."""
    from seals.services import seal_verify, seal_verify_pdf

    record = document.seal_record if document.seal_record_id else None
    if record is None:
        return None
    package = seal_verify(docx=bytes(record.sealed_docx), signature=bytes(record.signature))
    pdf = bytes(record.signed_pdf) if record.signed_pdf is not None else None
    if pdf is None:  # sealed before the 版式 copy existed: the package is the evidence
        return SealVerification(status=package.status, message=package.message_zh, valid=package.is_valid, seals=[],
                                package_status=package.status, package_message=package.message_zh)
    result = seal_verify_pdf(pdf=pdf)
    return SealVerification(
        status=result.status,
        message=result.message_zh,
        valid=result.is_valid,
        seals=[
            SealCheck(organisation=_organisation_of(check.signer_subject), status=check.status, message=check.message_zh,
                      valid=check.is_valid, signed_at=check.signing_time, revoked_at=check.revoked_at)
            for check in result.signatures
        ],
        package_status=package.status,
        package_message=package.message_zh,
    )


def _organisation_of(subject: str | None) -> str:
    """The O= of a certificate subject as pyHanko renders it ("Common Name: …, Organization: …")."""
    for part in (subject or "").split(", "):
        key, _, value = part.partition(": ")
        if key == "Organization":
            return value
    return subject or ""


def recipients(document: Document, kind: Literal["primary", "cc"]) -> list[Department]:
    """主送 or 抄送 organisations in the order the drafter entered them."""
    related = document.primary_recipients if kind == "primary" else document.cc_recipients
    found = {organisation.pk: organisation for organisation in related.all()}
    order = [pk for pk in (document.recipient_order or {}).get(kind, []) if pk in found]
    return [found[pk] for pk in order] + [found[pk] for pk in sorted(found) if pk not in order]


class JointIssuerStatus(TypedDict):
    """One organisation of a joint document (联合发文) and where it stands."""

    id: int
    name: str
    signature_name: str
    is_lead: bool
    sign_off: Literal["pending", "open", "signed"]
    signed_by: str | None
    signed_at: datetime | None
    seal: Literal["pending", "requested", "sealed", "rejected"]
    sealed_at: datetime | None


def joint_issuer_status(document: Document) -> list[JointIssuerStatus]:
    """Every issuing organisation of a joint document, lead first, with its 签发 (its own
    step in the latest round) and its 用印 (its latest request); [] for one issuer."""
    rows = list(document.joint_issuers.select_related("organisation").order_by("position"))
    if not rows:
        return []
    steps: dict[int, Step] = {}
    for sign_off_step in document.steps.filter(kind=StepKind.SIGN_OFF).exclude(state=StepState.CANCELLED).select_related(
        "actor"
    ).order_by("started_at", "pk"):
        if sign_off_step.department_id is not None:
            steps[sign_off_step.department_id] = sign_off_step
    requests: dict[int, SealRequest] = {}
    for seal_request in document.seal_requests.order_by("created_at", "pk"):
        if seal_request.organisation_id is not None:
            requests[seal_request.organisation_id] = seal_request
    out: list[JointIssuerStatus] = []
    for row in rows:
        step = steps.get(row.organisation_id)
        request = requests.get(row.organisation_id)
        sign_off: Literal["pending", "open", "signed"] = "pending"
        if step is not None and step.state == StepState.OPEN:
            sign_off = "open"
        elif step is not None and step.state == StepState.DONE:
            sign_off = "signed"
        seal: Literal["pending", "requested", "sealed", "rejected"] = "pending"
        if request is not None and request.status == SealRequestStatus.PENDING:
            seal = "requested"
        elif request is not None and request.status == SealRequestStatus.APPROVED:
            seal = "sealed"
        elif request is not None:
            seal = "rejected"
        out.append(JointIssuerStatus(
            id=row.organisation_id, name=row.organisation.name, signature_name=row.signature_name, is_lead=row.is_lead,
            sign_off=sign_off,
            signed_by=step.actor.display_name if sign_off == "signed" and step is not None and step.actor else None,
            signed_at=step.finished_at if sign_off == "signed" and step is not None else None,
            seal=seal, sealed_at=request.decided_at if request is not None and seal == "sealed" else None,
        ))
    return out


class SealOption(TypedDict):
    id: int
    name: str
    kind: str


def seal_options(document: Document, user: User | None = None) -> list[SealOption]:
    """The seals a 用印申请 may name now: usable, and kept by a custodian who can approve
    it; the issuer's, or for a joint document the organisation whose request step
    ``user`` holds (联合发文: each organisation requests its own seal)."""
    from seals.selectors import seal_custodian_ids, seals_for_organisation

    organisation = document.issuer
    if user is not None:
        step = open_step_for(document, user, StepKind.SEAL, role="request")
        if step is not None and step.department is not None:
            organisation = step.department
    return [
        SealOption(id=seal.pk, name=seal.name, kind=seal.kind)
        for seal in seals_for_organisation(organisation)
        if seal_custodian_ids(seal.pk)
    ]
