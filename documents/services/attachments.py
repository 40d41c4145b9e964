"""附件 on a draft: files uploaded, removed and reordered by the drafter; 随文附件 (name and
text) set with the other fields of an edit; and the copies that travel with the document.

Each change is one new version: a version lists the attachments it had, so the versions
page shows when a file came or went, and an old version keeps its files. Rows never change
but for their place in the current list: removal sets ``removed_at``. A file's bytes are
stored once by digest (``AttachmentContent``); checking them (type by content, the zip and
image limits) is local CPU work done before the document row is locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from documents import files, selectors
from documents.errors import DocumentInvalidInput, TooManyAttachments
from documents.models import Attachment, AttachmentContent, AttachmentKind, Document, StepKind
from documents.services.flow import DOCUMENT_FLOW, AttachmentText, holder_step, save, store_version
from officehub.audit.services import audit
from officehub.directory.models import User
from officehub.errors import NotFound
from officehub.transactions import require_transaction
from officehub.uploads import UnsafeFile


def attachment_upload(*, document_id: int, actor: User, file_name: str, data: bytes, name: str = "") -> Attachment:
    """Add a file to the end of the draft's 附件 list, under ``name`` (default: the file
    name without its extension) in the 附件说明.

    Only the drafter holding the 拟稿 step, while the document is at 拟稿. The bytes decide
    the type (PDF, DOCX, XLSX, OFD, PNG, JPEG), and the extension must agree; Office zips
    pass the limits every Office upload shares. Side effects: a new version listing the
    file, audit ``document.attachment_added`` (with the SHA-256).
    Raises not_found (404, also for documents the actor may not see),
    document.invalid_transition (409), document.not_assigned (403), file.too_large (413),
    file.wrong_type (415), the other ``file.*`` codes of ``documents.files.identify``,
    document.attachment_name_required, document.too_many_attachments.
    """
    require_transaction()
    # Read the caller's view first so an outsider learns nothing (404) from a bad file.
    selectors.access_document(actor, document_id)
    limit = settings.DOCUMENT_ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise UnsafeFile(
            _("文件过大：最大 %(mb)s MB。") % {"mb": f"{limit / 1024 / 1024:g}"},
            code="file.too_large", status=413, extra={"field": "file", "max_bytes": limit},
        )
    identified = files.identify(data, file_name)  # slow part, before the row lock
    digest = files.sha256_hex(data)
    label = files.attachment_name(name, file_name=identified.file_name)
    if not label:
        raise DocumentInvalidInput(_("请填写附件名称。"), code="document.attachment_name_required", extra={"field": "name"})
    document = _editable(actor, document_id)
    current = list(selectors.current_attachments(document))
    if len(current) >= settings.DOCUMENT_ATTACHMENT_MAX_COUNT:
        raise TooManyAttachments(
            _("附件最多 %(n)d 个。") % {"n": settings.DOCUMENT_ATTACHMENT_MAX_COUNT},
            extra={"limit": settings.DOCUMENT_ATTACHMENT_MAX_COUNT},
        )
    now = timezone.now()
    attachment = Attachment(
        document=document,
        position=len(current) + 1,
        name=label,
        kind=identified.kind,
        file_name=identified.file_name,
        content_type=identified.content_type,
        content=_content(data, digest, now=now),
        size=len(data),
        sha256=digest,
        uploaded_by=actor,
        created_at=now,
    )
    attachment.full_clean(exclude=["document", "content", "uploaded_by", "source"], validate_constraints=False)
    attachment.save(force_insert=True)
    version = _new_version(document, actor=actor, now=now)
    audit(actor=actor, action="document.attachment_added", target=document, data={
        "attachment": attachment.pk, "name": attachment.name, "file_name": attachment.file_name,
        "kind": attachment.kind, "size": attachment.size, "sha256": attachment.sha256, "version": version,
    })
    return attachment


def attachment_remove(*, document_id: int, attachment_id: int, actor: User) -> Document:
    """Take an attachment out of the draft's list (earlier versions keep it). Same actor
    and state rules as ``attachment_upload``. Side effects: a new version, audit
    ``document.attachment_removed``. Raises not_found, document.invalid_transition,
    document.not_assigned."""
    require_transaction()
    document = _editable(actor, document_id)
    current = list(selectors.current_attachments(document))
    removed = next((row for row in current if row.pk == attachment_id), None)
    if removed is None:
        raise NotFound(_("该附件不存在。"))
    now = timezone.now()
    removed.removed_at = now
    removed.save(update_fields=["removed_at"])
    _renumber([row for row in current if row.pk != attachment_id])
    version = _new_version(document, actor=actor, now=now)
    audit(actor=actor, action="document.attachment_removed", target=document,
          data={"attachment": removed.pk, "name": removed.name, "sha256": removed.sha256, "version": version})
    return document


def attachment_reorder(*, document_id: int, actor: User, attachment_ids: Sequence[int]) -> Document:
    """Put the draft's attachments in the order given (every current one, once). Same
    actor and state rules as ``attachment_upload``. Side effects: a new version when the
    order changed, audit ``document.attachments_reordered``. Raises not_found,
    document.invalid_transition, document.not_assigned, document.invalid."""
    require_transaction()
    document = _editable(actor, document_id)
    current = {row.pk: row for row in selectors.current_attachments(document)}
    wanted = [int(pk) for pk in attachment_ids]
    if sorted(wanted) != sorted(current) or len(set(wanted)) != len(wanted):
        raise DocumentInvalidInput(_("附件顺序须包含每个附件各一次。"), extra={"field": "attachment_ids"})
    if wanted == list(current):
        return document
    _renumber([current[pk] for pk in wanted])
    now = timezone.now()
    version = _new_version(document, actor=actor, now=now)
    audit(actor=actor, action="document.attachments_reordered", target=document, data={"order": wanted, "version": version})
    return document


# --- shared with drafting and distribution ---------------------------------------------------


def set_text_attachments(document: Document, items: list[AttachmentText], *, actor: User, now: datetime) -> bool:
    """Make the document's 随文附件 ``items`` (already checked), keeping its files where they
    are: the n-th 随文附件 takes the place of the n-th one before it, extra ones go last,
    missing ones leave the list. Returns whether anything changed (the caller stores the
    version). Call with the document row locked."""
    current = list(selectors.current_attachments(document))
    pending = list(items)
    kept: list[Attachment] = []
    changed = False
    for row in current:
        if row.is_file:
            kept.append(row)
            continue
        item = pending.pop(0) if pending else None
        if item is not None and (row.name, row.text) == (item["title"], item["body"]):
            kept.append(row)
            continue
        row.removed_at = now
        row.save(update_fields=["removed_at"])
        changed = True
        if item is not None:
            kept.append(_text_row(document, item, actor=actor, now=now))
    for item in pending:
        kept.append(_text_row(document, item, actor=actor, now=now))
        changed = True
    if len([row for row in kept if row.is_file]) + len(items) > settings.DOCUMENT_ATTACHMENT_MAX_COUNT:
        raise TooManyAttachments(
            _("附件最多 %(n)d 个。") % {"n": settings.DOCUMENT_ATTACHMENT_MAX_COUNT},
            extra={"limit": settings.DOCUMENT_ATTACHMENT_MAX_COUNT},
        )
    if changed:
        _renumber(kept)
    return changed


def copy_attachments(source: Document, target: Document, *, now: datetime) -> list[Attachment]:
    """The sender's current attachments as ``target``'s own rows (an incoming copy), in the
    same order, pointing at the same stored bytes — the recipient holds exactly the files
    sent. Insert only."""
    rows = [
        Attachment(
            document=target, position=row.position, name=row.name, kind=row.kind, file_name=row.file_name,
            content_type=row.content_type, content_id=row.content_id, size=row.size, sha256=row.sha256,
            text=row.text, source=row, uploaded_by_id=row.uploaded_by_id, created_at=now,
        )
        for row in selectors.current_attachments(source)
    ]
    return Attachment.objects.bulk_create(rows)


def _text_row(document: Document, item: AttachmentText, *, actor: User, now: datetime) -> Attachment:
    # Placed by _renumber; 0 until then.
    return Attachment.objects.create(
        document=document, position=0, name=item["title"], kind=AttachmentKind.TEXT, text=item["body"],
        uploaded_by=actor, created_at=now,
    )


def _editable(actor: User, document_id: int) -> Document:
    """The draft, locked, when ``actor`` holds its 拟稿 step."""
    document = selectors.access_document(actor, document_id, lock=True)
    DOCUMENT_FLOW.check(document, "attach")
    holder_step(document, actor, StepKind.DRAFT)
    return document


def _renumber(rows: list[Attachment]) -> None:
    changed = []
    for position, row in enumerate(rows, start=1):
        if row.position != position:
            row.position = position
            changed.append(row)
    if changed:
        Attachment.objects.bulk_update(changed, ["position"])


def _new_version(document: Document, *, actor: User, now: datetime) -> int:
    version = store_version(document, author=actor, now=now, step_kind=StepKind.DRAFT)
    save(document, ["version"])
    return version.number


def _content(data: bytes, digest: str, *, now: datetime) -> AttachmentContent:
    """The stored bytes for ``digest``, inserted if new. ON CONFLICT DO NOTHING: two
    uploads of the same file at once both end up with the one row, neither fails."""
    AttachmentContent.objects.bulk_create(
        [AttachmentContent(sha256=digest, size=len(data), data=data, created_at=now)], ignore_conflicts=True
    )
    return AttachmentContent.objects.only("pk", "sha256", "size").get(sha256=digest)
