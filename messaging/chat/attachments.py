"""Files sent in a chat: what may be sent (the bytes decide, not the client's header) and
the one send that writes outside the database as well."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.chat.payloads import IMAGE_TYPES
from messaging.chat.selectors import access_conversation
from messaging.chat.services import (
    CONTROL_CHARS,
    SendResult,
    clean_client_id,
    existing_send,
    message_append,
    rate_limit_check,
)
from messaging.chat.thumbnails import make_thumbnail
from messaging.errors import AttachmentRejected, InvalidInput
from messaging.models import Attachment, MessageKind
from officehub.directory.models import User
from officehub.uploads import OLE_MAGIC, ZIP_MAGIC

# (magic prefix, content type, allowed extensions). ZIP- and OLE-based office formats are
# recognised by their inner structure below; anything else is refused.
_SIGNATURES: list[tuple[bytes, str, tuple[str, ...]]] = [
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"GIF87a", "image/gif", (".gif",)),
    (b"GIF89a", "image/gif", (".gif",)),
]
_ZIP_KINDS: list[tuple[str, str, tuple[str, ...]]] = [
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)),
    ("OFD.xml", "application/ofd", (".ofd",)),  # GB/T 33190 版式文档
]
_OLE_KINDS = {".doc": "application/msword", ".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint"}
_TEXT_EXTENSIONS = (".txt", ".csv")
NAME_MAX_CHARS = 200


def sniff_content_type(name: str, data: bytes) -> str:
    """Decide the content type from the bytes (not the client's header) and require the
    file name's extension to agree. Raises attachment.type_not_allowed.

    An attachment is stored and handed back for download, never opened on the server,
    so Office files need only be recognisable here, not pass ``check_office_zip``."""
    ext = PurePath(name).suffix.lower()
    refused = AttachmentRejected(
        _("不支持的文件类型：仅允许 PDF、OFD、Word/Excel/PowerPoint、图片（PNG/JPEG/GIF）和纯文本。"),
        code="attachment.type_not_allowed",
        status=415,
    )
    for magic, content_type, extensions in _SIGNATURES:
        if data.startswith(magic):
            if ext not in extensions:
                raise refused
            return content_type
    if data.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            raise refused from None
        for marker, content_type, extensions in _ZIP_KINDS:
            if any(n == marker or n.startswith(marker) for n in names) and ext in extensions:
                if marker != "OFD.xml" and "[Content_Types].xml" not in names:
                    raise refused
                return content_type
        raise refused
    if data.startswith(OLE_MAGIC):
        if ext in _OLE_KINDS:
            return _OLE_KINDS[ext]
        raise refused
    if ext in _TEXT_EXTENSIONS and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise refused from None
        return "text/plain; charset=utf-8" if ext == ".txt" else "text/csv; charset=utf-8"
    raise refused


def _clean_file_name(name: str) -> str:
    name = CONTROL_CHARS.sub("", PurePath(name.replace("\\", "/")).name).strip()
    if not name or name in (".", ".."):
        raise InvalidInput(_("文件名无效。"), code="attachment.invalid_name")
    if len(name) > NAME_MAX_CHARS:
        stem, ext = PurePath(name).stem, PurePath(name).suffix
        name = stem[: NAME_MAX_CHARS - len(ext)] + ext
    return name


def attachment_send(*, actor: User, conversation_id: int, client_id: Any, name: str, data: bytes) -> SendResult:
    """Store a file and send it as a message, all or nothing: checks membership, size
    (settings.ATTACHMENT_MAX_BYTES) and the sniffed content type before anything is
    written; if the database part fails, the stored file is deleted again.
    Raises not_found, attachment.too_large (413), attachment.type_not_allowed (415),
    attachment.empty, attachment.invalid_name, message.rate_limited, and for images
    attachment.image_too_large (413: a decompression bomb, huge dimensions) and
    attachment.image_invalid (415: not decodable). An image gets its thumbnail here,
    before the transaction (``thumbnails.make_thumbnail``).

    The one chat write that opens its own transaction, on purpose: the file goes to
    storage first (slow, with no row locked) and must be deleted again when the database
    part does not commit, which only the code that opens the transaction can know. Call
    it outside a transaction (inside one, the block below is a savepoint and a later
    rollback of the caller's transaction would leave the file behind).
    """
    client_id = clean_client_id(client_id)
    access_conversation(actor, conversation_id)
    existing = existing_send(actor, client_id, conversation_id)
    if existing is not None:
        return SendResult(existing, False)
    limit = settings.ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise AttachmentRejected(
            _("文件过大：最大 %(mb)s MB。") % {"mb": f"{limit / 1024 / 1024:g}"},
            code="attachment.too_large",
            status=413,
            extra={"max_bytes": limit},
        )
    if not data:
        raise InvalidInput(_("文件为空。"), code="attachment.empty")
    name = _clean_file_name(name)
    content_type = sniff_content_type(name, data)
    thumbnail = make_thumbnail(data) if content_type in IMAGE_TYPES else None
    rate_limit_check(actor)
    now = timezone.now()
    key = uuid.uuid4().hex
    stored = default_storage.save(f"chat/{now:%Y/%m}/{key}{PurePath(name).suffix.lower()}", ContentFile(data))
    written = [stored]
    try:
        if thumbnail is not None:
            written.append(
                default_storage.save(f"chat/thumbs/{now:%Y/%m}/{key}{thumbnail.extension}", ContentFile(thumbnail.data))
            )
        with transaction.atomic():
            attachment = Attachment.objects.create(
                conversation_id=conversation_id,
                uploader=actor,
                file=stored,
                name=name,
                size=len(data),
                content_type=content_type,
                sha256=hashlib.sha256(data).hexdigest(),
                thumbnail=written[1] if thumbnail is not None else "",
                thumb_width=thumbnail.width if thumbnail is not None else None,
                thumb_height=thumbnail.height if thumbnail is not None else None,
            )
            result = message_append(
                actor=actor,
                conversation_id=conversation_id,
                client_id=client_id,
                kind=MessageKind.FILE,
                body=name,
                attachment=attachment,
            )
            if not result.created:  # lost a race with the same client_id
                transaction.set_rollback(True)
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    if not result.created:
        for name in written:
            default_storage.delete(name)
    return result
