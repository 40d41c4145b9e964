"""The attachment manifest inside the issued DOCX: one ``sha256sum`` line per 附件 file.

The sealing signs the DOCX's exact bytes with a detached CMS signature, so a manifest
carried inside it is signed too: ``openssl cms -verify`` proves the DOCX, and
``unzip -p <docx> officehub/attachments.sha256`` then ``sha256sum -c`` proves each file.
The manifest is an OPC part of its own (a package relationship of our own type, plain
text): Word and LibreOffice ignore relationships they do not know, so the document looks
and converts the same.
"""

from __future__ import annotations

import io
import zipfile
from typing import Final
from xml.sax.saxutils import quoteattr

MANIFEST_PART: Final = "officehub/attachments.sha256"
RELATIONSHIP_TYPE: Final = "urn:officehub:relationships:attachment-manifest"
RELATIONSHIP_ID: Final = "rIdOfficeHubAttachments"


def with_manifest(docx: bytes, manifest: str) -> bytes:
    """``docx`` with ``manifest`` as the part ``officehub/attachments.sha256``; entries keep
    their order and stamps (the new one takes the first entry's), so the result is as
    reproducible as the input. An empty manifest leaves the bytes unchanged."""
    if not manifest:
        return docx
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        infos = source.infolist()
        stamp = infos[0].date_time if infos else (1980, 1, 1, 0, 0, 0)
        for item in infos:
            blob = source.read(item)
            if item.filename == "[Content_Types].xml":
                blob = _with_default_type(blob)
            elif item.filename == "_rels/.rels":
                blob = _with_relationship(blob)
            info = zipfile.ZipInfo(item.filename, date_time=item.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            target.writestr(info, blob)
        info = zipfile.ZipInfo(MANIFEST_PART, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        target.writestr(info, manifest.encode("utf-8"))
    return out.getvalue()


def read_manifest(docx: bytes) -> str | None:
    """The manifest carried by ``docx`` (trusted: a DOCX we issued), or None."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        if MANIFEST_PART not in archive.namelist():
            return None
        return archive.read(MANIFEST_PART).decode("utf-8")


def _with_default_type(blob: bytes) -> bytes:
    text = blob.decode("utf-8")
    if 'Extension="sha256"' in text:
        return blob
    default = '<Default Extension="sha256" ContentType="text/plain"/>'
    return text.replace("</Types>", default + "</Types>", 1).encode("utf-8")


def _with_relationship(blob: bytes) -> bytes:
    text = blob.decode("utf-8")
    relationship = (
        f"<Relationship Id={quoteattr(RELATIONSHIP_ID)} Type={quoteattr(RELATIONSHIP_TYPE)} "
        f"Target={quoteattr(MANIFEST_PART)}/>"
    )
    return text.replace("</Relationships>", relationship + "</Relationships>", 1).encode("utf-8")
